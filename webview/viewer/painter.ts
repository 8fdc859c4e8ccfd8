// What a frame draws: a slice view's image (WebGL2, or the CPU renderer) with its crosshair, and the 3D view. The
// first WebGL draws are checked against the CPU renderer; a GPU that draws nothing or something else is reported
// through `gpuFailed` and the viewer switches renderers. When to draw is render-loop.ts's business.

import type { PerspectiveCamera } from 'three';
import type { ViewerRenderer } from '../../src/shared/protocol';
import type { ViewerDom } from './dom';
import { displayToScreen, SliceView, ViewPort } from './geometry';
import { formatNumber } from './header-info';
import { renderSliceCPU } from './render/slice-cpu';
import type { GpuRenderer } from './render/webgl';
import type { ViewerModel } from './state';
import { MIN_WINDOW_WIDTH, WINDOW_PRESETS, WindowLevel } from './windowing';

/** The WebGL check against the CPU renderer compares every VERIFY_DECIMATION-th pixel in each direction. */
const VERIFY_DECIMATION = 4;

/** Plane colours of the three slice views (Slicer's convention), used for crosshair lines and captions. */
export const VIEW_COLORS: Record<SliceView, string> = { axial: '#e05252', coronal: '#4caf50', sagittal: '#e6c229' };
/** The slice view whose plane is normal to each display axis (0 = R, 1 = A, 2 = S). */
const VIEW_OF_NORMAL: SliceView[] = ['sagittal', 'coronal', 'axial'];

export interface PainterHost {
  readonly model: ViewerModel;
  readonly dom: ViewerDom;
  /** The WebGL2 renderer, or null when slices are drawn on the CPU. */
  gpu(): GpuRenderer | null;
  renderer(): ViewerRenderer;
  camera(): PerspectiveCamera | null;
  /** The 3D camera moves: draw it coarse. */
  coarse3d(): boolean;
  firstPaint(ms: number, renderer: ViewerRenderer): void;
  gpuFailed(reason: string): void;
}

export class Painter {
  /** A slice with data has been painted since the volume began. */
  painted = false;
  private gpuChecks = 0;
  /**
   * Frames drawn while the volume streams in draw their slices on the CPU even with WebGL: they need nothing from
   * the GPU process. A WebGL slice is read back into its view's 2D canvas, and that read waits for every texture
   * upload queued before it: SwiftShader's first draw cost 100–200 ms of the time to the first slice, and those
   * reads 1.0 s of the big CT's 5.0 s decode in a CPU profile (issue 11). Once every slice is in, the views are WebGL's
   * (endVolume repaints them), and the first of those frames checks the GPU.
   */
  private cpuFrame = false;
  /**
   * Each slice view's last image without the crosshair, and what it showed: a crosshair move that leaves a
   * view's slice as it was re-blits the image instead of sampling the volume again, so a slice step renders one
   * view, not three (issue 11).
   */
  private readonly sliceImages = new Map<SliceView, { key: string; canvas: HTMLCanvasElement }>();

  constructor(private readonly host: PainterHost) {}

  /** A new volume: its first paint is to come, and a GPU is checked again. */
  volumeBegan(): void {
    this.painted = false;
    this.gpuChecks = 0;
  }

  /** A newly created GPU renderer is checked against the CPU renderer before it is trusted. */
  gpuChanged(): void {
    this.gpuChecks = 0;
  }

  beginFrame(): void {
    this.cpuFrame = !this.painted || this.host.model.vol?.complete === false;
  }

  renderSlice(view: SliceView): void {
    const { model, dom } = this.host;
    const volume = model.vol;
    const size = model.sizes[view];
    const port = model.portOf(view);
    const elements = dom.views[view];
    if (!volume || !size || !port) return;
    const ctx = elements.canvas.getContext('2d');
    if (!ctx) return;
    const width = elements.canvas.width;
    const height = elements.canvas.height;
    const axes = model.axes[view];
    const slice = model.crosshair[axes.n];
    if (volume.loadedCount === 0) {
      ctx.fillStyle = '#000';
      ctx.fillRect(0, 0, width, height);
      return;
    }
    const held = this.host.gpu();
    const gpu = this.cpuFrame || !held?.holds(volume) ? null : held;
    const win = model.win;
    const key = [model.imageVersion, gpu ? 'webgl2' : 'canvas2d', model.convention, width, height, slice, port.zoom, port.centerH, port.centerV, win.center, win.width, volume.imageStateOf(axes.n, slice)].join('|');
    const kept = this.sliceImages.get(view);
    if (kept && kept.key === key) ctx.drawImage(kept.canvas, 0, 0);
    else {
      if (gpu) {
        if (this.gpuChecks < 3) {
          // Until the check has passed, what it reads must be this draw's alone (not the CPU-drawn first frame's).
          ctx.fillStyle = '#000';
          ctx.fillRect(0, 0, width, height);
        }
        gpu.renderSlice(ctx, width, height, { axes, port, slice, window: win });
        if (volume.contiguous > 0 && this.gpuChecks < 3 && !this.verifyGpu(view, ctx, width, height, port, slice)) return;
      } else {
        const image = ctx.createImageData(width, height);
        renderSliceCPU(image, { volume, axes, port, slice, window: win, overlay: model.layer, pixelRatio: size.dpr });
        ctx.putImageData(image, 0, 0);
      }
      this.keepImage(view, key, elements.canvas);
    }
    this.drawCrosshair(view, ctx, port, size.dpr);
    elements.info.textContent = `${slice + 1} / ${volume.frame.dims[axes.n]}`;
    if (!this.painted && volume.contiguous > 0) {
      this.painted = true;
      dom.root.dataset.firstPaint = '1';
      this.host.firstPaint(performance.now(), this.host.renderer());
    }
  }

  render3d(): void {
    const { model, dom } = this.host;
    const elements = dom.views['3d'];
    const size = model.sizes['3d'];
    if (!model.vol || !size || size.w === 0 || size.h === 0) return;
    const gpu = this.host.gpu();
    const camera = this.host.camera();
    if (!gpu || !camera) {
      elements.info.textContent = 'needs WebGL2';
      return;
    }
    const ctx = elements.canvas.getContext('2d');
    if (!ctx) return;
    camera.aspect = size.w / size.h;
    camera.updateProjectionMatrix();
    const w = this.window3d();
    const quality = this.host.coarse3d() ? 'coarse' : 'full';
    gpu.renderVolume(ctx, elements.canvas.width, elements.canvas.height, { camera, mode: model.mode3d, window: w, quality });
    elements.root.dataset.quality = quality;
    elements.info.textContent = `${model.mode3d === 'mip' ? 'MIP' : 'Volume'} · L ${formatNumber(w.center, 4)} W ${formatNumber(w.width, 4)}`;
  }

  /** Keeps a copy of a view's image before the crosshair goes on it (see sliceImages). */
  private keepImage(view: SliceView, key: string, canvas: HTMLCanvasElement): void {
    let kept = this.sliceImages.get(view);
    if (!kept) this.sliceImages.set(view, (kept = { key, canvas: document.createElement('canvas') }));
    kept.key = key;
    if (kept.canvas.width !== canvas.width) kept.canvas.width = canvas.width;
    if (kept.canvas.height !== canvas.height) kept.canvas.height = canvas.height;
    kept.canvas.getContext('2d')?.drawImage(canvas, 0, 0);
  }

  /**
   * The WebGL output checked against the CPU renderer once there is data to see: a driver that gives a context
   * but draws black (NiiVue's VS Code extension hits this on some Linux machines) switches to the CPU renderer.
   * Returns false when it switched.
   */
  private verifyGpu(view: SliceView, ctx: CanvasRenderingContext2D, width: number, height: number, port: ViewPort, slice: number): boolean {
    const { model } = this.host;
    const volume = model.vol!;
    // The reference is drawn at a quarter of the resolution (a sixteenth of the CPU work: this check runs in the
    // first paint) and compared with the GPU pixel at the centre of each 4×4 block.
    const f = VERIFY_DECIMATION;
    const rw = Math.ceil(width / f);
    const rh = Math.ceil(height / f);
    const reference = new ImageData(rw, rh);
    const dpr = model.sizes[view]!.dpr;
    renderSliceCPU(reference, { volume, axes: model.axes[view], port, slice, window: model.win, overlay: model.layer, pixelRatio: dpr / f });
    const shown = ctx.getImageData(0, 0, width, height).data;
    const ref = reference.data;
    let lit = 0;
    let gpuLit = 0;
    let diff = 0;
    for (let y = 0; y < rh; y++) {
      const sy = Math.min(height - 1, y * f + (f >> 1));
      for (let x = 0; x < rw; x++) {
        const r = ref[(y * rw + x) * 4]!;
        const g = shown[(sy * width + Math.min(width - 1, x * f + (f >> 1))) * 4]!;
        if (r > 24) lit++;
        if (g > 24) gpuLit++;
        diff += Math.abs(r - g);
      }
    }
    const pixels = rw * rh;
    if (lit < pixels * 0.01) return true; // nothing to compare yet; check a later paint
    this.gpuChecks++;
    const meanDiff = diff / pixels;
    if (gpuLit < lit * 0.05 || meanDiff > 40) {
      this.host.gpuFailed(
        `WebGL2 drew ${gpuLit === 0 ? 'a blank image' : `an image that differs from the reference (mean difference ${meanDiff.toFixed(1)})`}`,
      );
      return false;
    }
    this.gpuChecks = 3; // verified
    return true;
  }

  private drawCrosshair(view: SliceView, ctx: CanvasRenderingContext2D, port: ViewPort, dpr: number): void {
    const { model } = this.host;
    const frame = model.vol!.frame;
    const axes = model.axes[view];
    const [sx, sy] = displayToScreen(frame, axes, port, model.crosshair);
    const x = Math.round(sx * dpr) + 0.5;
    const y = Math.round(sy * dpr) + 0.5;
    const gap = 6 * dpr;
    ctx.lineWidth = Math.max(1, Math.round(dpr));
    ctx.globalAlpha = 0.85;
    // The vertical line is the plane normal to the horizontal display axis, and vice versa.
    ctx.strokeStyle = VIEW_COLORS[VIEW_OF_NORMAL[axes.h]!];
    ctx.beginPath();
    ctx.moveTo(x, 0);
    ctx.lineTo(x, y - gap);
    ctx.moveTo(x, y + gap);
    ctx.lineTo(x, ctx.canvas.height);
    ctx.stroke();
    ctx.strokeStyle = VIEW_COLORS[VIEW_OF_NORMAL[axes.v]!];
    ctx.beginPath();
    ctx.moveTo(0, y);
    ctx.lineTo(x - gap, y);
    ctx.moveTo(x + gap, y);
    ctx.lineTo(ctx.canvas.width, y);
    ctx.stroke();
    ctx.globalAlpha = 1;
  }

  /**
   * The 3D view's window: for CT the bone preset (a soft-tissue window saturates a MIP, whose brightest sample on
   * nearly every ray is bone, and hides structure in the volume render); otherwise the data range.
   */
  private window3d(): WindowLevel {
    const volume = this.host.model.vol!;
    if (volume.looksLikeCT) {
      const bone = WINDOW_PRESETS.find((p) => p.id === 'bone')!;
      return { center: bone.center, width: bone.width };
    }
    const lo = Number.isFinite(volume.min) ? volume.min : 0;
    const hi = Number.isFinite(volume.max) ? volume.max : 1;
    return { center: (lo + hi) / 2, width: Math.max(MIN_WINDOW_WIDTH, hi - lo) };
  }
}
