// The CT Lens viewer core: a library over a DOM element with no dependency on VS Code. The extension's webview
// (webview/main.ts) feeds it streamed slabs from the extension host; the standalone page (webview/standalone.ts)
// decodes file bytes into it (open-nifti.ts). Slice views are planes of the canonical RAS grid (geometry.ts), drawn by WebGL2 (three.js)
// or, where WebGL2 is missing or renders nothing, by the CPU renderer with the same interactions.
//
// This file composes the parts, split as NiiVue splits its own: the state (state.ts) and the public API (api.ts);
// input (interaction/: pointer, wheel, keyboard, the 3D orbit); the DOM around the views (dom.ts, panels/); when
// to draw (render-loop.ts) and what (painter.ts). The Viewer turns API calls and input into state changes, repaints
// and events.

import { applyAffine } from '../../src/core/nifti/affine';
import type { NiftiHeader, VoxelArray } from '../../src/core/nifti/types';
import { OverlayStyle, OverlayVolume, validateOverlay } from '../../src/shared/overlay';
import type { ViewerLayout, ViewerRenderer, ViewerRendererChoice } from '../../src/shared/protocol';
import type { Viewer, ViewerEvents, ViewerOptions } from './api';
import { buildDom, ViewerDom, ViewName, VIEW_NAMES } from './dom';
import { Convention, displayToFileIndex, SLICE_VIEWS } from './geometry';
import { InteractionHost } from './interaction/navigation';
import { KeyboardController } from './interaction/keyboard';
import { Orbit } from './interaction/orbit';
import { PointerController } from './interaction/pointer';
import { WheelController } from './interaction/wheel';
import { createOverlayLayer } from './overlay-layer';
import { Painter } from './painter';
import { Annotations } from './panels/annotations';
import { LoadStatus } from './panels/load-status';
import { OverlayPanel } from './panels/overlay-panel';
import { SidePanel } from './panels/side-panel';
import { wireToolbar } from './panels/toolbar';
import type { VolumeRenderMode } from './render/webgl';
import { Renderers } from './renderers';
import { RenderLoop } from './render-loop';
import { ViewerModel, ViewerState } from './state';
import { ViewerVolume, voxelsFromBuffer } from './volume';
import { initialWindow, MIN_WINDOW_WIDTH, WINDOW_PRESETS, WindowPresetId } from './windowing';

export type { Viewer, ViewerEvents, ViewerOptions, ViewerState };

export function createViewer(host: HTMLElement, options: ViewerOptions = {}): Viewer {
  return new ViewerImpl(host, options);
}

class ViewerImpl implements Viewer, InteractionHost {
  readonly element: HTMLElement;
  readonly dom: ViewerDom;
  readonly model: ViewerModel;
  private readonly listeners = new Map<keyof ViewerEvents, Set<(e: never) => void>>();
  private readonly renderers: Renderers;
  private readonly loop: RenderLoop;
  private readonly painter: Painter;
  private readonly orbit: Orbit;
  private readonly keyboard: KeyboardController;
  private readonly annotations: Annotations;
  private readonly overlayPanel: OverlayPanel;
  private readonly side: SidePanel;
  private readonly status: LoadStatus;
  /** Slices arrived since the progress bar, readout and window label were last brought up to date. */
  private loadingDomStale = false;
  private loadingWindowStale = false;
  /** The GPU renderer has not been given the current volume yet (beginVolume, uploadToGpu). */
  private gpuUploadPending = false;

  constructor(host: HTMLElement, options: ViewerOptions) {
    this.dom = buildDom(host);
    this.element = this.dom.root;
    this.model = new ViewerModel(options);
    this.side = new SidePanel(this.dom);
    this.status = new LoadStatus(this.dom);
    this.annotations = new Annotations(this.model, this.dom);
    this.overlayPanel = new OverlayPanel({
      dom: this.dom,
      layer: () => this.model.layer,
      updateOverlayStyle: (style) => this.updateOverlayStyle(style),
      clearOverlay: () => this.clearOverlay(),
    });
    this.painter = new Painter({
      model: this.model,
      dom: this.dom,
      gpu: () => this.renderers.gpu,
      renderer: () => this.renderers.kind,
      camera: () => this.orbit.camera,
      coarse3d: () => this.loop.coarse3d,
      firstPaint: (ms, renderer) => {
        this.emit('firstPaint', { ms, renderer });
        // In a task of its own, after this frame (see beginVolume).
        setTimeout(() => this.uploadToGpu(), 0);
      },
      gpuFailed: (reason) => this.renderers.fallBack(reason),
    });
    this.loop = new RenderLoop({
      volumeState: () => (!this.model.vol ? 'none' : this.model.vol.complete ? 'complete' : 'loading'),
      painted: () => this.painter.painted,
      beginFrame: () => {
        this.syncLoadingDom();
        this.painter.beginFrame();
      },
      renderSlice: (v) => this.painter.renderSlice(v),
      render3d: () => this.painter.render3d(),
    });
    this.orbit = new Orbit(this.dom.views['3d'].canvas, {
      started: () => this.loop.orbitStarted(),
      ended: () => this.loop.orbitEnded(),
      moved: () => this.loop.cameraMoved(),
    });

    this.renderers = new Renderers(
      {
        model: this.model,
        dom: this.dom,
        notice: (text) => this.annotations.notice('renderer', text),
        rendererChanged: (renderer, reason) => this.emit('rendererChanged', { renderer, reason }),
        switched: (gpu) => {
          if (gpu) {
            this.painter.gpuChanged();
            this.model.imageVersion++;
            this.reset3dCamera();
          } else this.orbit.detach();
          this.invalidate();
        },
        resized: (view) => this.invalidate(view),
      },
      options.renderer ?? 'auto',
    );
    wireToolbar(this.dom, {
      setLayout: (layout) => this.setLayout(layout),
      applyPreset: (id) => this.applyPreset(id),
      openOverlay: () => this.emit('openOverlay', {}),
      resetView: () => this.resetView(),
      togglePanel: () => this.side.toggle(),
      setMode3d: (mode) => this.setMode3d(mode),
      goTo: (ijk) => this.goTo(ijk),
    });
    this.keyboard = new KeyboardController(this);
    const pointer = new PointerController(this);
    const wheel = new WheelController(this);
    for (const name of VIEW_NAMES) {
      pointer.attach(name);
      if (name !== '3d') wheel.attach(name);
    }
    this.setLayout(this.model.layout);
    this.annotations.window();
    this.annotations.labels();
    this.annotations.notice('empty', null);
  }

  // ---------------------------------------------------------------- public API: reading, events

  get renderer(): ViewerRenderer {
    return this.renderers.kind;
  }

  get volume(): ViewerVolume | null {
    return this.model.vol;
  }

  get overlay(): OverlayVolume | null {
    return this.model.layer?.overlay ?? null;
  }

  on<K extends keyof ViewerEvents>(event: K, listener: (e: ViewerEvents[K]) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as (e: never) => void);
    return () => set!.delete(listener as (e: never) => void);
  }

  settled(): Promise<void> {
    return this.loop.settled();
  }

  getState(): ViewerState {
    return this.model.state();
  }

  private emit<K extends keyof ViewerEvents>(event: K, payload: ViewerEvents[K]): void {
    for (const l of this.listeners.get(event) ?? []) (l as (e: ViewerEvents[K]) => void)(payload);
  }

  // ---------------------------------------------------------------- public API: the volume

  setTitle(name: string): void {
    this.model.name = name;
    this.dom.name.textContent = name;
    this.dom.name.title = name;
  }

  beginVolume(header: NiftiHeader, name?: string): void {
    if (name !== undefined) this.setTitle(name);
    this.clearOverlay();
    let volume: ViewerVolume;
    try {
      volume = new ViewerVolume(header);
    } catch (error) {
      this.fail(`BadHeader: the affine cannot be inverted (${error instanceof Error ? error.message : String(error)})`);
      return;
    }
    const model = this.model;
    model.beginVolume(volume);
    this.painter.volumeBegan();
    this.status.loading(volume);
    this.annotations.notice('frames', header.frames > 1 ? `4D file: frame 0 of ${header.frames} shown.` : null);
    // The GPU gets the volume after the first slice is on screen (uploadToGpu): allocating its texture and
    // sending the first slabs cost 15–20 ms of the main thread before the first slice, and the GPU process's
    // work on them delayed that slice's frame, 69 → 35 ms to the big CT's first paint without them (issue 11).
    // The first frames are the CPU's anyway (painter.ts).
    this.renderers.gpu?.releaseVolume();
    this.gpuUploadPending = true;
    if (model.pendingState) this.applyState(model.pendingState);
    this.side.renderHeader(model);
    this.updateReadout();
    this.invalidate();
  }

  addSlices(kStart: number, kEnd: number, data: VoxelArray | ArrayBuffer): void {
    const volume = this.model.vol;
    if (!volume) throw new Error('addSlices before beginVolume');
    const slab = data instanceof ArrayBuffer ? voxelsFromBuffer(volume.header.datatype, data) : data;
    volume.addSlab(kStart, kEnd, slab);
    this.slicesArrived(kStart, kEnd, true);
  }

  endVolume(): void {
    const model = this.model;
    const volume = model.vol;
    if (!volume) return;
    if (!volume.complete) {
      this.fail(`Truncated: only ${volume.loadedCount} of ${volume.nk} slices arrived`);
      return;
    }
    this.syncLoadingDom();
    this.uploadToGpu();
    model.followLoading = false;
    this.loop.loadingEnded();
    this.renderers.gpu?.uploadsDone();
    if (model.settleWindow()) this.annotations.window();
    this.status.ready();
    this.side.renderHeader(model);
    this.updateReadout();
    this.invalidate();
    this.emit('loaded', { ms: performance.now() });
  }

  fail(message: string): void {
    this.status.error(message);
    this.emit('error', { message });
  }

  /** Bookkeeping after slices [kStart, kEnd) are in the volume's array. */
  private slicesArrived(kStart: number, kEnd: number, alreadyRecorded = false): void {
    const model = this.model;
    const volume = model.vol;
    if (!volume) return;
    if (!alreadyRecorded) volume.addSlab(kStart, kEnd);
    this.renderers.gpu?.updateSlices(kStart, kEnd);
    if (model.pickLoadingWindow()) this.loadingWindowStale = true;
    if (model.followLoading) model.followArrivingSlices();
    // The page itself changes in the next frame (syncLoadingDom), not per slab: a DOM change in every slab made
    // the browser lay out and paint a frame at every yield of the decoder (issue 11). Loading frames come every
    // LOADING_REPAINT_MS (render-loop.ts).
    this.loadingDomStale = true;
    this.loop.repaintWhileLoading();
  }

  /** Hands the volume, the slices that have arrived and the overlay to the GPU renderer, once per volume. */
  private uploadToGpu(): void {
    const volume = this.model.vol;
    if (!this.gpuUploadPending || !volume) return;
    this.gpuUploadPending = false;
    const gpu = this.renderers.gpu;
    if (!gpu || gpu.holds(volume)) return;
    this.renderers.upload();
    if (this.model.layer) this.renderers.gpu?.setOverlay(this.model.layer);
    this.reset3dCamera();
    this.invalidate();
  }

  /** Brings the progress bar, the readout and the window label up to the slices that have arrived. */
  private syncLoadingDom(): void {
    const volume = this.model.vol;
    if (!this.loadingDomStale || !volume) return;
    this.loadingDomStale = false;
    this.status.progress(volume.loadedCount);
    if (this.loadingWindowStale) this.annotations.window();
    this.loadingWindowStale = false;
    this.updateReadout();
  }

  // ---------------------------------------------------------------- public API: the overlay

  setOverlay(overlay: OverlayVolume, options: { reveal?: boolean } = {}): void {
    const problem = validateOverlay(overlay);
    if (problem) throw new Error(problem);
    if (!this.model.vol) throw new Error('NoVolume: open a volume before adding an overlay');
    this.model.layer = createOverlayLayer(this.model.vol.frame, overlay);
    this.model.imageVersion++;
    this.renderers.gpu?.setOverlay(this.model.layer);
    this.dom.root.dataset.overlay = overlay.id;
    this.overlayPanel.render();
    if (options.reveal ?? true) this.showPanel('overlay');
    this.updateReadout();
    this.invalidate();
  }

  updateOverlayStyle(style: Partial<OverlayStyle>): void {
    const layer = this.model.layer;
    if (!layer) return;
    this.model.layer = { ...layer, style: { ...layer.style, ...style } };
    this.model.imageVersion++;
    this.renderers.gpu?.setOverlay(this.model.layer);
    this.overlayPanel.syncControls();
    this.overlayPanel.renderLegend();
    this.invalidate();
  }

  clearOverlay(id?: string): void {
    const layer = this.model.layer;
    if (!layer || (id !== undefined && layer.overlay.id !== id)) return;
    this.model.layer = null;
    this.model.imageVersion++;
    this.renderers.gpu?.setOverlay(null);
    delete this.dom.root.dataset.overlay;
    this.overlayPanel.render();
    this.overlayPanel.renderFloatingLegend();
    this.updateReadout();
    this.invalidate();
  }

  // ---------------------------------------------------------------- public API: what the views show

  setWindow(center: number, width: number): void {
    if (!Number.isFinite(center) || !Number.isFinite(width)) return;
    this.model.win = { center, width: Math.max(MIN_WINDOW_WIDTH, width) };
    this.model.windowChosen = true;
    this.annotations.window();
    // The 3D view keeps its own window (painter.ts, window3d), so only the slices repaint.
    for (const v of SLICE_VIEWS) this.invalidate(v);
    this.stateChanged();
  }

  applyPreset(id: WindowPresetId): void {
    const p = WINDOW_PRESETS.find((q) => q.id === id);
    if (p) this.setWindow(p.center, p.width);
  }

  setWindowPreset(id: WindowPresetId | undefined, options: { now?: boolean } = {}): void {
    const model = this.model;
    model.windowPreset = id;
    // Presets are HU windows: an image that is not CT keeps its window.
    if (!options.now || !model.vol?.looksLikeCT) return;
    const { window } = initialWindow(model.vol, id);
    this.setWindow(window.center, window.width);
  }

  setLayout(layout: ViewerLayout): void {
    this.model.layout = layout;
    this.dom.root.dataset.layout = layout;
    this.dom.viewsBox.dataset.layout = layout;
    for (const v of VIEW_NAMES) this.dom.views[v].root.toggleAttribute('data-active', v === this.model.activeView);
    for (const b of this.dom.layoutButtons) b.toggleAttribute('secondary', b.dataset.layout !== layout);
    this.invalidate();
    this.stateChanged();
  }

  setConvention(convention: Convention): void {
    this.model.setConvention(convention);
    this.annotations.labels();
    this.invalidate();
  }

  goTo(ijk: readonly number[]): void {
    if (!this.model.vol) return;
    this.model.goTo(ijk);
    this.crosshairMoved();
  }

  addPanel(id: string, title: string): HTMLElement {
    return this.side.add(id, title);
  }

  showPanel(id: string): void {
    this.side.show(id);
  }

  setRenderer(choice: ViewerRendererChoice): void {
    this.renderers.select(choice);
  }

  restoreState(state: ViewerState): void {
    if (state.layout) this.setLayout(state.layout);
    if (state.mode3d) this.setMode3d(state.mode3d);
    if (this.model.vol) this.applyState(state);
    else this.model.pendingState = state;
  }

  private applyState(state: ViewerState): void {
    this.model.applyState(state);
    if (state.window) this.annotations.window();
    this.setLayout(this.model.layout);
  }

  private resetView(): void {
    const model = this.model;
    const volume = model.vol;
    model.ports = {};
    if (volume) {
      model.centreCrosshair(volume);
      model.win = initialWindow(volume, model.windowPreset).window;
      this.annotations.window();
    }
    this.reset3dCamera();
    this.crosshairMoved();
    this.invalidate();
  }

  private setMode3d(mode: VolumeRenderMode): void {
    this.model.mode3d = mode;
    this.dom.mode3d.value = mode;
    this.invalidate('3d');
  }

  dispose(): void {
    this.loop.dispose();
    this.keyboard.dispose();
    this.orbit.detach();
    this.renderers.dispose();
    this.dom.root.remove();
  }

  // ---------------------------------------------------------------- InteractionHost: what input may do

  invalidate(view?: ViewName): void {
    this.loop.invalidate(view);
  }

  crosshairMoved(): void {
    this.updateReadout();
    this.loop.invalidateSlices();
    const volume = this.model.vol;
    if (volume) {
      const ijk = displayToFileIndex(volume.frame, this.model.crosshair);
      this.emit('crosshair', { ijk, value: volume.valueAtFile(...ijk), world: applyAffine(volume.frame.fileToWorld, ijk) });
    }
    this.stateChanged();
  }

  updateReadout(): void {
    this.annotations.readout();
  }

  private stateChanged(): void {
    this.emit('stateChanged', this.getState());
  }

  private reset3dCamera(): void {
    const gpu = this.renderers.gpu;
    if (gpu && this.model.vol) this.orbit.reset(gpu.boxSize);
  }
}
