// Which renderer draws: WebGL2 (three.js) where it exists and draws what the CPU renderer draws, else the CPU
// renderer (no 3D view). A failed GPU (missing, lost context, a volume over its texture limit, a blank or wrong
// image) gives way to the CPU with a notice saying why; the renderer setting can switch either way at any time.
// Canvas sizes live here too: WebGL draws at device resolution, the CPU at CSS resolution.

import type { ViewerRenderer, ViewerRendererChoice } from '../../src/shared/protocol';
import { VIEW_NAMES, ViewerDom, ViewName } from './dom';
import { createGpuRenderer, GpuRenderer } from './render/webgl';
import type { ViewerModel } from './state';

export interface RenderersHost {
  readonly model: ViewerModel;
  readonly dom: ViewerDom;
  notice(text: string | null): void;
  rendererChanged(renderer: ViewerRenderer, reason: string): void;
  /** A GPU renderer now holds the volume (and overlay), or (null) the CPU renderer took over. */
  switched(gpu: GpuRenderer | null): void;
  resized(view: ViewName): void;
}

export class Renderers {
  gpu: GpuRenderer | null = null;
  kind: ViewerRenderer = 'canvas2d';
  private readonly observers: ResizeObserver[] = [];

  constructor(
    private readonly host: RenderersHost,
    choice: ViewerRendererChoice,
  ) {
    if (choice !== 'canvas2d') this.start();
    host.dom.root.dataset.renderer = this.kind;
    for (const name of VIEW_NAMES) {
      const observer = new ResizeObserver(() => {
        this.resize(name);
        host.resized(name);
      });
      observer.observe(host.dom.views[name].root);
      this.observers.push(observer);
    }
  }

  /** The renderer setting changed: 'canvas2d' drops the GPU; 'auto' and 'webgl2' try WebGL2 if it is not in use. */
  select(choice: ViewerRendererChoice): void {
    if (choice === 'canvas2d') {
      if (this.gpu) this.useCpu(null);
      return;
    }
    if (this.gpu) return;
    const gpu = this.start();
    if (!gpu) return;
    this.host.notice(null);
    this.host.dom.root.dataset.renderer = 'webgl2';
    this.upload();
    if (this.kind !== 'webgl2') return; // the volume did not fit: fallBack has said why
    const volume = this.host.model.vol;
    if (volume?.complete) gpu.uploadsDone();
    if (this.host.model.layer) gpu.setOverlay(this.host.model.layer);
    for (const v of VIEW_NAMES) this.resize(v);
    this.host.rendererChanged('webgl2', 'the renderer setting chose WebGL2');
    this.host.switched(gpu);
  }

  /** The current volume on the GPU (the slices that have arrived); a GPU that cannot hold it gives way to the CPU. */
  upload(): void {
    if (!this.gpu || !this.host.model.vol) return;
    try {
      this.gpu.setVolume(this.host.model.vol);
    } catch (error) {
      this.fallBack(error instanceof Error ? error.message : String(error));
    }
  }

  fallBack(reason: string): void {
    if (this.gpu) this.useCpu(reason);
  }

  resize(name: ViewName): void {
    const { root, canvas } = this.host.dom.views[name];
    const rect = root.getBoundingClientRect();
    // The CPU renderer draws at CSS resolution; WebGL at device resolution up to 2×.
    const dpr = this.gpu ? Math.min(2, window.devicePixelRatio || 1) : 1;
    const w = Math.floor(rect.width);
    const h = Math.floor(rect.height);
    this.host.model.sizes[name] = { w, h, dpr };
    const cw = Math.max(1, Math.round(w * dpr));
    const ch = Math.max(1, Math.round(h * dpr));
    if (canvas.width !== cw) canvas.width = cw;
    if (canvas.height !== ch) canvas.height = ch;
  }

  dispose(): void {
    for (const o of this.observers) o.disconnect();
    this.gpu?.dispose();
    this.gpu = null;
  }

  /** Creates the WebGL2 renderer; where there is none, the notice says why and the 2D renderer stays. */
  private start(): GpuRenderer | null {
    const gpu = createGpuRenderer();
    if (typeof gpu === 'string') {
      this.host.notice(`${gpu}: showing slices with the 2D renderer (no 3D view).`);
      queueMicrotask(() => this.host.rendererChanged('canvas2d', gpu));
      return null;
    }
    this.gpu = gpu;
    this.kind = 'webgl2';
    gpu.onContextLost = () => this.fallBack('the WebGL2 context was lost');
    return gpu;
  }

  /** Drops the GPU renderer: `reason` (a failure) is shown and reported; null means the setting chose the CPU. */
  private useCpu(reason: string | null): void {
    const gpu = this.gpu!;
    this.gpu = null;
    try {
      gpu.dispose();
    } catch {
      // A lost context can throw on cleanup; nothing to keep.
    }
    this.kind = 'canvas2d';
    this.host.dom.root.dataset.renderer = 'canvas2d';
    this.host.notice(reason ? `${reason}: showing slices with the 2D renderer (no 3D view).` : null);
    for (const v of VIEW_NAMES) this.resize(v);
    this.host.rendererChanged('canvas2d', reason ?? 'the renderer setting chose the 2D renderer');
    this.host.switched(null);
  }
}
