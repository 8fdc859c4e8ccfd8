// The CT Lens viewer core: a library over a DOM element with no dependency on VS Code. The extension's webview
// (webview/main.ts) feeds it streamed slabs from the extension host; the standalone page (webview/standalone.ts)
// hands it file bytes. Slice views are planes of the canonical RAS grid (geometry.ts), drawn by WebGL2 (three.js)
// or, where WebGL2 is missing or renders nothing, by the CPU renderer with the same interactions.

import { PerspectiveCamera } from 'three';
import { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js';
import { applyAffine } from '../../src/core/nifti/affine';
import { decodeNifti } from '../../src/core/nifti/decode';
import type { NiftiHeader, VoxelArray } from '../../src/core/nifti/types';
import { OVERLAY_COLORMAPS, OverlayColormap, OverlayStyle, OverlayVolume, validateOverlay } from '../../src/shared/overlay';
import type { ViewerLayout, ViewerRenderer, ViewerRendererChoice } from '../../src/shared/protocol';
import { el } from '../common/element';
import { colorbar, labelSwatch } from '../common/overlay-legend';
import { appendTab, buildDom, ViewerDom, ViewName, VIEW_NAMES } from './dom';
import {
  clampDisplayIndex,
  Convention,
  defaultViewPort,
  displayToFileIndex,
  displayToScreen,
  fileToDisplayIndex,
  insideDisplay,
  panBy,
  screenToDisplay,
  SliceView,
  SLICE_VIEWS,
  Vec3,
  viewAxes,
  ViewAxes,
  ViewPort,
  zoomAt,
} from './geometry';
import { formatNumber, headerRows } from './header-info';
import { createOverlayLayer, OverlayLayer, overlayLegend, sampleOverlayAtDisplay } from './overlay-layer';
import { renderSliceCPU } from './render/slice-cpu';
import { createGpuRenderer, GpuRenderer, VolumeRenderMode } from './render/webgl';
import { ViewerVolume, voxelsFromBuffer } from './volume';
import { yieldingInflate } from './yielding-inflate';
import { dragWindow, initialWindow, MIN_WINDOW_WIDTH, presetOf, WINDOW_PRESETS, WindowLevel, WindowPresetId } from './windowing';

export interface ViewerOptions {
  renderer?: ViewerRendererChoice;
  convention?: Convention;
  layout?: ViewerLayout;
  /** The window CT volumes open with (default: the header's cal_min/cal_max, else soft tissue). */
  windowPreset?: WindowPresetId;
}

export interface ViewerState {
  /** Crosshair in file voxel indices. */
  crosshair?: Vec3;
  window?: WindowLevel;
  layout?: ViewerLayout;
  activeView?: ViewName;
  mode3d?: VolumeRenderMode;
}

export interface ViewerEvents {
  /** A slice with data was painted for the first time; ms since the page's time origin. */
  firstPaint: { ms: number; renderer: ViewerRenderer };
  /** Every slice has arrived; ms since the page's time origin. */
  loaded: { ms: number };
  rendererChanged: { renderer: ViewerRenderer; reason: string };
  /** The user pressed "Overlay…" (the host decides how to pick a file). */
  openOverlay: Record<string, never>;
  crosshair: { ijk: Vec3; value: number; world: Vec3 };
  stateChanged: ViewerState;
  error: { message: string };
}

export interface Viewer {
  readonly element: HTMLElement;
  readonly renderer: ViewerRenderer;
  readonly volume: ViewerVolume | null;
  /** Decodes a whole .nii / .nii.gz in the page, painting slices as they inflate. Rejects after showing the error. */
  open(bytes: Uint8Array | ArrayBuffer, name: string, options?: { signal?: AbortSignal; maxVoxelBytes?: number }): Promise<void>;
  /** Streamed input: the header first, then slabs of k-slices (stored values of the header's datatype). */
  beginVolume(header: NiftiHeader, name?: string): void;
  addSlices(kStart: number, kEnd: number, data: VoxelArray | ArrayBuffer): void;
  endVolume(): void;
  /** The file name shown in the toolbar (set by beginVolume/open too). */
  setTitle(name: string): void;
  /** Shows an error (e.g. a NiftiError message) in place of the views. */
  fail(message: string): void;
  /**
   * Draws an overlay (contract C2) over the volume; throws with a message naming the problem if invalid.
   * `reveal` (default true) switches the side panel to the Overlay tab.
   */
  setOverlay(overlay: OverlayVolume, options?: { reveal?: boolean }): void;
  updateOverlayStyle(style: Partial<OverlayStyle>): void;
  clearOverlay(id?: string): void;
  readonly overlay: OverlayVolume | null;
  setWindow(center: number, width: number): void;
  applyPreset(id: WindowPresetId): void;
  setLayout(layout: ViewerLayout): void;
  setConvention(convention: Convention): void;
  /** Moves the crosshair to a file voxel (i, j, k). */
  goTo(ijk: readonly number[]): void;
  /** Adds a tab to the side panel (report, chat, routing, …) and returns its content element. */
  addPanel(id: string, title: string): HTMLElement;
  showPanel(id: string): void;
  getState(): ViewerState;
  restoreState(state: ViewerState): void;
  on<K extends keyof ViewerEvents>(event: K, listener: (e: ViewerEvents[K]) => void): () => void;
  /** Resolves once nothing is left to draw: every view shows the current state at full quality. */
  settled(): Promise<void>;
  dispose(): void;
}

export function createViewer(host: HTMLElement, options: ViewerOptions = {}): Viewer {
  return new ViewerImpl(host, options);
}

/** The WebGL check against the CPU renderer compares every VERIFY_DECIMATION-th pixel in each direction. */
const VERIFY_DECIMATION = 4;

/** While slices stream in, views repaint at most this often (ms) after the first paint. */
const LOADING_REPAINT_MS = 200;

/** Plane colours of the three slice views (Slicer's convention), used for crosshair lines and captions. */
const VIEW_COLORS: Record<SliceView, string> = { axial: '#e05252', coronal: '#4caf50', sagittal: '#e6c229' };
/** The slice view whose plane is normal to each display axis (0 = R, 1 = A, 2 = S). */
const VIEW_OF_NORMAL: SliceView[] = ['sagittal', 'coronal', 'axial'];

interface Drag {
  view: SliceView | '3d';
  mode: 'crosshair' | 'pan' | 'window';
  x: number;
  y: number;
  startWindow: WindowLevel;
  startPort: ViewPort | null;
  pointerId: number;
}

class ViewerImpl implements Viewer {
  readonly element: HTMLElement;
  private readonly dom: ViewerDom;
  private readonly listeners = new Map<keyof ViewerEvents, Set<(e: never) => void>>();
  private name = '';
  private vol: ViewerVolume | null = null;
  private gpu: GpuRenderer | null = null;
  private rendererKind: ViewerRenderer = 'canvas2d';
  private convention: Convention;
  private layout: ViewerLayout;
  private activeView: ViewName = 'axial';
  private crosshair: Vec3 = [0, 0, 0];
  private followLoading = true;
  private win: WindowLevel = { center: 40, width: 400 };
  private windowChosen = false;
  private axes: Record<SliceView, ViewAxes>;
  private ports: Partial<Record<SliceView, ViewPort>> = {};
  private sizes: Partial<Record<ViewName, { w: number; h: number; dpr: number }>> = {};
  private cursor: { view: SliceView; display: Vec3 } | null = null;
  private drag: Drag | null = null;
  private layer: OverlayLayer | null = null;
  private mode3d: VolumeRenderMode = 'mip';
  private camera: PerspectiveCamera | null = null;
  private controls: OrbitControls | null = null;
  private readonly dirty = new Set<ViewName>();
  private frameRequest = 0;
  private firstPaint = false;
  private gpuChecks = 0;
  private readonly notices = new Map<string, string>();
  private pendingState: ViewerState | null = null;
  private readonly observers: ResizeObserver[] = [];
  private readonly panels = new Map<string, HTMLElement>();
  private disposed = false;
  private wheelAccum = 0;
  private hovering = false;
  private lastLoadingPaint = 0;
  private loadingTimer: ReturnType<typeof setTimeout> | 0 = 0;
  private keyListener: ((event: KeyboardEvent) => void) | null = null;
  private settledWaiters: (() => void)[] = [];
  /**
   * Each slice view's last image without the crosshair, and what it showed: a crosshair move that leaves a
   * view's slice as it was re-blits the image instead of sampling the volume again, so a slice step renders one
   * view, not three (issue 11).
   */
  private readonly sliceImages = new Map<SliceView, { key: string; canvas: HTMLCanvasElement }>();
  /** Bumped by changes to what slices show that the image key does not name (a new volume, the overlay). */
  private imageVersion = 0;
  /**
   * The frame that paints a volume's first slice draws on the CPU even with WebGL: it needs nothing from the GPU
   * process (whose first draw after the texture's allocation and first uploads cost SwiftShader 100–200 ms of
   * the time to the first slice, issue 11). The repaints after it, 200 ms later, are WebGL's, and check it.
   */
  private cpuFrame = false;
  /** The 3D camera is moving (or moved less than REFINE_AFTER_MS ago): 3D frames are coarse. */
  private rotating = false;
  /** A pointer drags the 3D view (OrbitControls between 'start' and 'end'). */
  private orbiting = false;
  private refineTimer: ReturnType<typeof setTimeout> | 0 = 0;
  private readonly windowPreset: WindowPresetId | undefined;

  constructor(host: HTMLElement, options: ViewerOptions) {
    this.dom = buildDom(host);
    this.element = this.dom.root;
    this.convention = options.convention ?? 'radiological';
    this.layout = options.layout ?? '1x3';
    this.windowPreset = options.windowPreset;
    this.axes = this.makeAxes();
    this.panels.set('info', this.dom.header);
    this.panels.set('overlay', this.dom.overlay);

    const choice = options.renderer ?? 'auto';
    if (choice !== 'canvas2d') {
      const gpu = createGpuRenderer();
      if (typeof gpu === 'string') {
        this.setNotice('renderer', `${gpu}: showing slices with the 2D renderer (no 3D view).`);
        queueMicrotask(() => this.emit('rendererChanged', { renderer: 'canvas2d', reason: gpu }));
      } else {
        this.gpu = gpu;
        this.rendererKind = 'webgl2';
        gpu.onContextLost = () => this.fallBackToCpu('the WebGL2 context was lost');
      }
    }
    this.dom.root.dataset.renderer = this.rendererKind;
    this.wireToolbar();
    for (const name of VIEW_NAMES) this.wireView(name);
    this.setLayout(this.layout);
    this.updateWindowUi();
    this.updateLabels();
    this.setNotice('empty', null);
  }

  // ---------------------------------------------------------------- public API

  get renderer(): ViewerRenderer {
    return this.rendererKind;
  }

  get volume(): ViewerVolume | null {
    return this.vol;
  }

  get overlay(): OverlayVolume | null {
    return this.layer?.overlay ?? null;
  }

  on<K extends keyof ViewerEvents>(event: K, listener: (e: ViewerEvents[K]) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as (e: never) => void);
    return () => set!.delete(listener as (e: never) => void);
  }

  settled(): Promise<void> {
    return new Promise((resolve) => {
      this.settledWaiters.push(resolve);
      this.resolveSettled();
    });
  }

  private resolveSettled(): void {
    const pending3d = this.dirty.has('3d') && this.vol !== null && this.vol.complete;
    const pending = this.frameRequest || this.loadingTimer || this.refineTimer || this.rotating || this.orbiting;
    if (pending || SLICE_VIEWS.some((v) => this.dirty.has(v)) || pending3d) return;
    const waiters = this.settledWaiters;
    this.settledWaiters = [];
    for (const w of waiters) w();
  }

  private emit<K extends keyof ViewerEvents>(event: K, payload: ViewerEvents[K]): void {
    for (const l of this.listeners.get(event) ?? []) (l as (e: ViewerEvents[K]) => void)(payload);
  }

  async open(input: Uint8Array | ArrayBuffer, name: string, options: { signal?: AbortSignal; maxVoxelBytes?: number } = {}): Promise<void> {
    const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
    this.setTitle(name);
    this.dom.root.dataset.state = 'loading';
    try {
      await decodeNifti(bytes, {
        name,
        inflate: yieldingInflate(),
        signal: options.signal,
        maxVoxelBytes: options.maxVoxelBytes,
        onHeader: (header) => this.beginVolume(header, name),
        onSlices: (kStart, kEnd, data) => {
          // The viewer shares the decoder's final array: no second copy of the volume in the page.
          this.vol?.adopt(data);
          this.slicesArrived(kStart, kEnd);
        },
      });
      this.endVolume();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.fail(message);
      throw error;
    }
  }

  setTitle(name: string): void {
    this.name = name;
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
    this.vol = volume;
    this.imageVersion++;
    this.firstPaint = false;
    this.gpuChecks = 0;
    this.windowChosen = false;
    this.followLoading = true;
    this.dom.root.dataset.state = 'loading';
    this.dom.root.dataset.dims = header.dims.join(',');
    delete this.dom.root.dataset.firstPaint;
    this.dom.error.hidden = true;
    const progress = this.dom.progress as HTMLElement & { value?: number; max: number };
    progress.hidden = false;
    progress.max = volume.nk;
    progress.value = 0;
    this.crosshair = volume.frame.dims.map((n) => Math.floor((n - 1) / 2)) as Vec3;
    this.ports = {};
    this.setNotice('frames', header.frames > 1 ? `4D file: frame 0 of ${header.frames} shown.` : null);
    if (this.gpu) {
      try {
        this.gpu.setVolume(volume);
      } catch (error) {
        this.fallBackToCpu(error instanceof Error ? error.message : String(error));
      }
    }
    this.reset3dCamera();
    if (this.pendingState) this.applyState(this.pendingState);
    this.renderHeaderPanel();
    this.updateReadout();
    this.invalidate();
  }

  addSlices(kStart: number, kEnd: number, data: VoxelArray | ArrayBuffer): void {
    const volume = this.vol;
    if (!volume) throw new Error('addSlices before beginVolume');
    const slab = data instanceof ArrayBuffer ? voxelsFromBuffer(volume.header.datatype, data) : data;
    volume.addSlab(kStart, kEnd, slab);
    this.slicesArrived(kStart, kEnd, true);
  }

  /** Bookkeeping after slices [kStart, kEnd) are in the volume's array. */
  private slicesArrived(kStart: number, kEnd: number, alreadyRecorded = false): void {
    const volume = this.vol;
    if (!volume) return;
    if (!alreadyRecorded) volume.addSlab(kStart, kEnd);
    this.gpu?.updateSlices(kStart, kEnd);
    (this.dom.progress as HTMLElement & { value?: number }).value = volume.loadedCount;
    if (!this.windowChosen) {
      const { window, preset } = initialWindow(volume, this.windowPreset);
      this.win = window;
      this.windowChosen = volume.looksLikeCT || preset !== null;
      this.updateWindowUi();
    }
    if (this.followLoading) this.followArrivingSlices();
    this.repaintWhileLoading();
  }

  /**
   * The first slab paints at the next frame; after that, views repaint at most every LOADING_REPAINT_MS while
   * slices stream in, so painting does not slow the decode down. endVolume paints the end. The 3D view waits for
   * the whole volume: a projection of part of it says little, and its redraws used to hold the first slice and
   * the decode back (issue 11).
   */
  private repaintWhileLoading(): void {
    const now = performance.now();
    const wait = this.firstPaint ? LOADING_REPAINT_MS - (now - this.lastLoadingPaint) : 0;
    if (wait > 0) {
      if (!this.loadingTimer) {
        this.loadingTimer = setTimeout(() => {
          this.loadingTimer = 0;
          this.repaintWhileLoading();
        }, wait);
      }
      return;
    }
    this.lastLoadingPaint = now;
    for (const v of SLICE_VIEWS) this.dirty.add(v);
    this.dirty.delete('3d');
    this.schedule();
  }

  /**
   * While loading, the view across the file's k axis shows the newest slice until it reaches the middle of the
   * volume: the first slice paints as soon as it is decoded, not when half the file has arrived.
   */
  private followArrivingSlices(): void {
    const volume = this.vol!;
    const axis = volume.frame.axes.findIndex((a) => a.fileAxis === 2);
    if (axis < 0 || volume.contiguous === 0) return;
    const flip = volume.frame.axes[axis]!.flip;
    const newest = flip ? volume.nk - volume.contiguous : volume.contiguous - 1;
    const middle = Math.floor((volume.frame.dims[axis]! - 1) / 2);
    const next = flip ? Math.max(middle, newest) : Math.min(middle, newest);
    this.crosshair[axis] = next;
    if (next === middle) this.followLoading = false;
    this.updateReadout();
  }

  endVolume(): void {
    const volume = this.vol;
    if (!volume) return;
    if (!volume.complete) {
      this.fail(`Truncated: only ${volume.loadedCount} of ${volume.nk} slices arrived`);
      return;
    }
    this.followLoading = false;
    if (this.loadingTimer) clearTimeout(this.loadingTimer);
    this.loadingTimer = 0;
    this.gpu?.uploadsDone();
    if (!this.windowChosen) {
      this.win = initialWindow(volume, this.windowPreset).window;
      this.windowChosen = true;
      this.updateWindowUi();
    }
    this.dom.progress.hidden = true;
    this.dom.root.dataset.state = 'ready';
    this.renderHeaderPanel();
    this.updateReadout();
    this.invalidate();
    this.emit('loaded', { ms: performance.now() });
  }

  fail(message: string): void {
    this.dom.root.dataset.state = 'error';
    this.dom.error.textContent = message;
    this.dom.error.hidden = false;
    this.dom.progress.hidden = true;
    this.emit('error', { message });
  }

  setOverlay(overlay: OverlayVolume, options: { reveal?: boolean } = {}): void {
    const problem = validateOverlay(overlay);
    if (problem) throw new Error(problem);
    if (!this.vol) throw new Error('NoVolume: open a volume before adding an overlay');
    this.layer = createOverlayLayer(this.vol.frame, overlay);
    this.imageVersion++;
    this.gpu?.setOverlay(this.layer);
    this.dom.root.dataset.overlay = overlay.id;
    this.renderOverlayPanel();
    if (options.reveal ?? true) this.showPanel('overlay');
    this.updateReadout();
    this.invalidate();
  }

  updateOverlayStyle(style: Partial<OverlayStyle>): void {
    if (!this.layer) return;
    this.layer = { ...this.layer, style: { ...this.layer.style, ...style } };
    this.imageVersion++;
    this.gpu?.setOverlay(this.layer);
    this.syncOverlayControls();
    this.renderLegend();
    this.invalidate();
  }

  /** Controls follow style changes made through the API (without rebuilding them under a dragging pointer). */
  private syncOverlayControls(): void {
    const style = this.layer?.style;
    if (!style) return;
    const q = <T extends Element>(c: string) => this.dom.overlay.querySelector<T>(`[data-control=${c}]`);
    const opacity = q<HTMLInputElement>('opacity');
    if (opacity && Number(opacity.value) !== style.opacity) opacity.value = String(style.opacity);
    const threshold = q<HTMLInputElement>('threshold');
    if (threshold && Number(threshold.value) !== style.threshold) threshold.value = formatNumber(style.threshold);
    const colormap = q<HTMLElement & { value: string }>('colormap');
    if (colormap && colormap.value !== style.colormap) colormap.value = style.colormap;
  }

  clearOverlay(id?: string): void {
    if (!this.layer || (id !== undefined && this.layer.overlay.id !== id)) return;
    this.layer = null;
    this.imageVersion++;
    this.gpu?.setOverlay(null);
    delete this.dom.root.dataset.overlay;
    this.renderOverlayPanel();
    this.renderFloatingLegend();
    this.updateReadout();
    this.invalidate();
  }

  setWindow(center: number, width: number): void {
    if (!Number.isFinite(center) || !Number.isFinite(width)) return;
    this.win = { center, width: Math.max(MIN_WINDOW_WIDTH, width) };
    this.windowChosen = true;
    this.updateWindowUi();
    // The 3D view keeps its own window (window3d), so only the slices repaint.
    for (const v of SLICE_VIEWS) this.invalidate(v);
    this.stateChanged();
  }

  applyPreset(id: WindowPresetId): void {
    const p = WINDOW_PRESETS.find((q) => q.id === id);
    if (p) this.setWindow(p.center, p.width);
  }

  setLayout(layout: ViewerLayout): void {
    this.layout = layout;
    this.dom.root.dataset.layout = layout;
    this.dom.viewsBox.dataset.layout = layout;
    for (const v of VIEW_NAMES) this.dom.views[v].root.toggleAttribute('data-active', v === this.activeView);
    for (const b of this.dom.layoutButtons) b.toggleAttribute('secondary', b.dataset.layout !== layout);
    this.invalidate();
    this.stateChanged();
  }

  setConvention(convention: Convention): void {
    this.convention = convention;
    this.axes = this.makeAxes();
    this.ports = {};
    this.updateLabels();
    this.invalidate();
  }

  goTo(ijk: readonly number[]): void {
    const volume = this.vol;
    if (!volume) return;
    const [nx, ny, nz] = volume.header.dims;
    const [i, j, k] = ijk.map((v) => Math.round(v)) as Vec3;
    if (!(i >= 0 && j >= 0 && k >= 0 && i < nx && j < ny && k < nz)) {
      throw new RangeError(`voxel (${ijk.join(', ')}) is outside 0..${nx - 1}, 0..${ny - 1}, 0..${nz - 1}`);
    }
    this.followLoading = false;
    this.crosshair = fileToDisplayIndex(volume.frame, [i, j, k]);
    this.cursor = null;
    this.crosshairMoved();
  }

  addPanel(id: string, title: string): HTMLElement {
    const existing = this.panels.get(id);
    if (existing) return existing;
    const content = el('div', { className: 'ctl-panel', attrs: { 'data-panel': id } });
    appendTab(this.dom.tabs, id, title, content);
    this.panels.set(id, content);
    return content;
  }

  showPanel(id: string): void {
    const headers = [...this.dom.tabs.querySelectorAll('vscode-tab-header')];
    const index = headers.findIndex((h) => h.getAttribute('data-tab') === id);
    if (index >= 0) this.dom.tabs.selectedIndex = index;
    delete this.dom.root.dataset.panel;
  }

  getState(): ViewerState {
    const state: ViewerState = { window: { ...this.win }, layout: this.layout, activeView: this.activeView, mode3d: this.mode3d };
    if (this.vol) state.crosshair = displayToFileIndex(this.vol.frame, this.crosshair);
    return state;
  }

  restoreState(state: ViewerState): void {
    if (state.layout) this.setLayout(state.layout);
    if (state.mode3d) this.setMode3d(state.mode3d);
    if (this.vol) this.applyState(state);
    else this.pendingState = state;
  }

  private applyState(state: ViewerState): void {
    this.pendingState = null;
    if (state.activeView) this.activeView = state.activeView;
    if (state.window) {
      this.win = { ...state.window };
      this.windowChosen = true;
      this.updateWindowUi();
    }
    const volume = this.vol;
    if (state.crosshair && volume && state.crosshair.every((v, a) => v >= 0 && v < volume.header.dims[a]!)) {
      this.crosshair = fileToDisplayIndex(volume.frame, state.crosshair);
      this.followLoading = false;
    }
    this.setLayout(this.layout);
  }

  dispose(): void {
    this.disposed = true;
    cancelAnimationFrame(this.frameRequest);
    if (this.loadingTimer) clearTimeout(this.loadingTimer);
    if (this.refineTimer) clearTimeout(this.refineTimer);
    for (const o of this.observers) o.disconnect();
    if (this.keyListener) document.removeEventListener('keydown', this.keyListener);
    this.controls?.dispose();
    this.gpu?.dispose();
    this.gpu = null;
    this.dom.root.remove();
  }

  // ---------------------------------------------------------------- rendering

  private makeAxes(): Record<SliceView, ViewAxes> {
    return {
      axial: viewAxes('axial', this.convention),
      coronal: viewAxes('coronal', this.convention),
      sagittal: viewAxes('sagittal', this.convention),
    };
  }

  private portOf(view: SliceView): ViewPort | null {
    const size = this.sizes[view];
    if (!this.vol || !size || size.w === 0 || size.h === 0) return null;
    let port = this.ports[view];
    if (!port) {
      port = defaultViewPort(this.vol.frame, this.axes[view], size.w, size.h);
      this.ports[view] = port;
    } else if (port.width !== size.w || port.height !== size.h) {
      port = { ...port, width: size.w, height: size.h };
      this.ports[view] = port;
    }
    return port;
  }

  private invalidate(view?: ViewName): void {
    if (view) this.dirty.add(view);
    else for (const v of VIEW_NAMES) this.dirty.add(v);
    this.schedule();
  }

  private schedule(): void {
    if (this.frameRequest || this.disposed) return;
    this.frameRequest = requestAnimationFrame(() => {
      this.frameRequest = 0;
      this.renderDirty();
    });
  }

  private renderDirty(): void {
    const loading = this.vol !== null && !this.vol.complete;
    this.cpuFrame = !this.firstPaint;
    const slices = SLICE_VIEWS.filter((v) => this.dirty.has(v));
    for (const v of slices) {
      this.dirty.delete(v);
      this.renderSlice(v);
    }
    // The 3D view draws in a frame of its own after the slices (so a slice never waits for a ray-march), and only
    // once every slice has arrived.
    if (this.dirty.has('3d') && !loading) {
      if (slices.length === 0) {
        this.dirty.delete('3d');
        this.render3d();
      } else this.schedule();
    }
    this.resolveSettled();
  }

  /** Coarse 3D frames while the camera moves; the full-quality frame once it has rested this long (ms). */
  private static readonly REFINE_AFTER_MS = 120;

  private cameraMoved(): void {
    this.rotating = true;
    if (this.refineTimer) clearTimeout(this.refineTimer);
    this.refineTimer = setTimeout(() => {
      this.refineTimer = 0;
      this.rotating = this.orbiting;
      if (!this.rotating) this.invalidate('3d');
      else this.resolveSettled();
    }, ViewerImpl.REFINE_AFTER_MS);
    this.invalidate('3d');
  }

  private renderSlice(view: SliceView): void {
    const volume = this.vol;
    const size = this.sizes[view];
    const port = this.portOf(view);
    const elements = this.dom.views[view];
    if (!volume || !size || !port) return;
    const ctx = elements.canvas.getContext('2d');
    if (!ctx) return;
    const width = elements.canvas.width;
    const height = elements.canvas.height;
    const axes = this.axes[view];
    const slice = this.crosshair[axes.n];
    if (volume.loadedCount === 0) {
      ctx.fillStyle = '#000';
      ctx.fillRect(0, 0, width, height);
      return;
    }
    const gpu = this.cpuFrame ? null : this.gpu;
    const key = [this.imageVersion, gpu ? 'webgl2' : 'canvas2d', this.convention, width, height, slice, port.zoom, port.centerH, port.centerV, this.win.center, this.win.width, volume.loadedCount].join('|');
    const kept = this.sliceImages.get(view);
    if (kept && kept.key === key) ctx.drawImage(kept.canvas, 0, 0);
    else {
      if (gpu) {
        if (this.gpuChecks < 3) {
          // Until the check has passed, what it reads must be this draw's alone (not the CPU-drawn first frame's).
          ctx.fillStyle = '#000';
          ctx.fillRect(0, 0, width, height);
        }
        gpu.renderSlice(ctx, width, height, { axes, port, slice, window: this.win });
        if (volume.contiguous > 0 && this.gpuChecks < 3 && !this.verifyGpu(view, ctx, width, height, port, slice)) return;
      } else {
        const image = ctx.createImageData(width, height);
        renderSliceCPU(image, { volume, axes, port, slice, window: this.win, overlay: this.layer, pixelRatio: size.dpr });
        ctx.putImageData(image, 0, 0);
      }
      this.keepImage(view, key, elements.canvas);
    }
    this.drawCrosshair(view, ctx, port, size.dpr);
    elements.info.textContent = `${slice + 1} / ${volume.frame.dims[axes.n]}`;
    if (!this.firstPaint && volume.contiguous > 0) {
      this.firstPaint = true;
      this.dom.root.dataset.firstPaint = '1';
      this.emit('firstPaint', { ms: performance.now(), renderer: this.rendererKind });
    }
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
    const volume = this.vol!;
    // The reference is drawn at a quarter of the resolution (a sixteenth of the CPU work: this check runs in the
    // first paint) and compared with the GPU pixel at the centre of each 4×4 block.
    const f = VERIFY_DECIMATION;
    const rw = Math.ceil(width / f);
    const rh = Math.ceil(height / f);
    const reference = new ImageData(rw, rh);
    const dpr = this.sizes[view]!.dpr;
    renderSliceCPU(reference, { volume, axes: this.axes[view], port, slice, window: this.win, overlay: this.layer, pixelRatio: dpr / f });
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
      this.fallBackToCpu(
        `WebGL2 drew ${gpuLit === 0 ? 'a blank image' : `an image that differs from the reference (mean difference ${meanDiff.toFixed(1)})`}`,
      );
      return false;
    }
    this.gpuChecks = 3; // verified
    return true;
  }

  private fallBackToCpu(reason: string): void {
    if (!this.gpu) return;
    const gpu = this.gpu;
    this.gpu = null;
    this.controls?.dispose();
    this.controls = null;
    try {
      gpu.dispose();
    } catch {
      // A lost context can throw on cleanup; nothing to keep.
    }
    this.rendererKind = 'canvas2d';
    this.dom.root.dataset.renderer = 'canvas2d';
    this.setNotice('renderer', `${reason}: showing slices with the 2D renderer (no 3D view).`);
    for (const v of VIEW_NAMES) this.resizeCanvas(v);
    this.emit('rendererChanged', { renderer: 'canvas2d', reason });
    this.invalidate();
  }

  private drawCrosshair(view: SliceView, ctx: CanvasRenderingContext2D, port: ViewPort, dpr: number): void {
    const frame = this.vol!.frame;
    const axes = this.axes[view];
    const [sx, sy] = displayToScreen(frame, axes, port, this.crosshair);
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

  private render3d(): void {
    const elements = this.dom.views['3d'];
    const size = this.sizes['3d'];
    if (!this.vol || !size || size.w === 0 || size.h === 0) return;
    if (!this.gpu || !this.camera) {
      elements.info.textContent = 'needs WebGL2';
      return;
    }
    const ctx = elements.canvas.getContext('2d');
    if (!ctx) return;
    this.camera.aspect = size.w / size.h;
    this.camera.updateProjectionMatrix();
    const w = this.window3d();
    const quality = this.rotating ? 'coarse' : 'full';
    this.gpu.renderVolume(ctx, elements.canvas.width, elements.canvas.height, { camera: this.camera, mode: this.mode3d, window: w, quality });
    elements.root.dataset.quality = quality;
    elements.info.textContent = `${this.mode3d === 'mip' ? 'MIP' : 'Volume'} · L ${formatNumber(w.center, 4)} W ${formatNumber(w.width, 4)}`;
  }

  /**
   * The 3D view's window: for CT the bone preset (a soft-tissue window saturates a MIP, whose brightest sample on
   * nearly every ray is bone, and hides structure in the volume render); otherwise the data range.
   */
  private window3d(): WindowLevel {
    const volume = this.vol!;
    if (volume.looksLikeCT) {
      const bone = WINDOW_PRESETS.find((p) => p.id === 'bone')!;
      return { center: bone.center, width: bone.width };
    }
    const lo = Number.isFinite(volume.min) ? volume.min : 0;
    const hi = Number.isFinite(volume.max) ? volume.max : 1;
    return { center: (lo + hi) / 2, width: Math.max(MIN_WINDOW_WIDTH, hi - lo) };
  }

  private reset3dCamera(): void {
    if (!this.gpu || !this.vol) return;
    const size = this.gpu.boxSize;
    if (!size) return;
    const radius = Math.hypot(...size) / 2;
    if (!this.camera) this.camera = new PerspectiveCamera(30, 1, 1, 100000);
    this.camera.near = radius / 50;
    this.camera.far = radius * 20;
    // Facing the patient from the front (anterior), head up: the patient's right on the screen's left.
    this.camera.up.set(0, 0, 1);
    this.camera.position.set(0, (radius / Math.tan((15 * Math.PI) / 180)) * 0.85, 0);
    this.camera.lookAt(0, 0, 0);
    if (!this.controls) {
      this.controls = new OrbitControls(this.camera, this.dom.views['3d'].canvas);
      this.controls.addEventListener('start', () => (this.orbiting = true));
      this.controls.addEventListener('end', () => {
        this.orbiting = false;
        this.cameraMoved();
      });
      this.controls.addEventListener('change', () => this.cameraMoved());
    }
    this.controls.target.set(0, 0, 0);
    this.controls.update();
  }

  private setMode3d(mode: VolumeRenderMode): void {
    this.mode3d = mode;
    this.dom.mode3d.value = mode;
    this.invalidate('3d');
  }

  // ---------------------------------------------------------------- crosshair, readout, panels

  private crosshairMoved(): void {
    this.updateReadout();
    for (const v of SLICE_VIEWS) this.dirty.add(v);
    this.schedule();
    const volume = this.vol;
    if (volume) {
      const ijk = displayToFileIndex(volume.frame, this.crosshair);
      this.emit('crosshair', { ijk, value: volume.valueAtFile(...ijk), world: applyAffine(volume.frame.fileToWorld, ijk) });
    }
    this.stateChanged();
  }

  private stateChanged(): void {
    this.emit('stateChanged', this.getState());
  }

  private updateReadout(): void {
    const volume = this.vol;
    const out = this.dom.readout;
    if (!volume) {
      out.textContent = '';
      return;
    }
    const d = this.cursor && insideDisplay(volume.frame, this.cursor.display) ? clampDisplayIndex(volume.frame, this.cursor.display) : this.crosshair;
    const ijk = displayToFileIndex(volume.frame, d);
    const value = volume.valueAtFile(...ijk);
    const world = applyAffine(volume.frame.fileToWorld, ijk);
    const label = volume.looksLikeCT ? 'HU' : 'Value';
    let text = `${label} ${Number.isNaN(value) ? '…' : formatNumber(value)} · voxel (${ijk.join(', ')}) · (${world.map((w) => w.toFixed(1)).join(', ')}) mm`;
    if (this.layer) {
      const ov = sampleOverlayAtDisplay(this.layer, d);
      text += ` · ${this.layer.overlay.name} ${Number.isNaN(ov) ? '—' : formatNumber(ov, 4)}`;
    }
    out.textContent = text;
    out.dataset.ijk = ijk.join(',');
    out.dataset.value = Number.isNaN(value) ? '' : String(value);
    out.dataset.source = this.cursor ? 'cursor' : 'crosshair';
  }

  private renderHeaderPanel(): void {
    const volume = this.vol;
    const box = this.dom.header;
    box.replaceChildren();
    if (!volume) return;
    const rows = headerRows(volume.header, volume.frame, this.name);
    if (volume.complete && Number.isFinite(volume.min)) {
      rows.push({ label: 'Value range', value: `${formatNumber(volume.min)} … ${formatNumber(volume.max)}` });
    }
    const table = el('table', { className: 'ctl-header-table' });
    for (const row of rows) {
      if (row.pre) {
        // Wide monospace blocks (the affine) get a full-width row under their label.
        table.append(el('tr', {}, [el('th', { text: row.label, attrs: { scope: 'row', colspan: '2' } })]));
        table.append(el('tr', {}, [el('td', { attrs: { colspan: '2' } }, [el('pre', { text: row.value })])]));
        continue;
      }
      table.append(el('tr', {}, [el('th', { text: row.label, attrs: { scope: 'row' } }), el('td', { text: row.value })]));
    }
    box.append(table);
  }

  private renderOverlayPanel(): void {
    const box = this.dom.overlay;
    box.replaceChildren();
    const empty = box.parentElement?.querySelector<HTMLElement>('.ctl-overlay-empty');
    const layer = this.layer;
    box.hidden = !layer;
    if (empty) empty.hidden = !!layer;
    if (!layer) return;
    const o = layer.overlay;
    const colormap = document.createElement('vscode-single-select') as unknown as HTMLElement & { value: string };
    colormap.dataset.control = 'colormap';
    for (const c of OVERLAY_COLORMAPS) {
      const opt = document.createElement('vscode-option');
      opt.setAttribute('value', c);
      if (c === layer.style.colormap) opt.setAttribute('selected', '');
      opt.textContent = c;
      colormap.append(opt);
    }
    colormap.addEventListener('change', () => this.updateOverlayStyle({ colormap: colormap.value as OverlayColormap }));

    const opacity = el('input', { attrs: { type: 'range', min: '0', max: '1', step: '0.05', 'data-control': 'opacity', 'aria-label': 'Opacity' } });
    opacity.value = String(layer.style.opacity);
    opacity.addEventListener('input', () => this.updateOverlayStyle({ opacity: Number(opacity.value) }));

    const [lo, hi] = layer.style.range;
    const step = o.kind === 'label' ? 1 : Math.max((hi - lo) / 100, 1e-6);
    const threshold = el('input', {
      attrs: { type: 'number', step: String(step), 'data-control': 'threshold', 'aria-label': 'Threshold' },
    });
    threshold.value = formatNumber(layer.style.threshold);
    threshold.addEventListener('change', () => {
      const t = Number(threshold.value);
      if (Number.isFinite(t)) this.updateOverlayStyle({ threshold: t });
    });
    const remove = document.createElement('vscode-button');
    remove.setAttribute('secondary', '');
    remove.dataset.action = 'remove-overlay';
    remove.textContent = 'Remove overlay';
    remove.addEventListener('click', () => this.clearOverlay());

    const row = (label: string, control: Node) => el('label', { className: 'ctl-field' }, [el('span', { text: label }), control]);
    box.append(
      el('div', { className: 'ctl-overlay-name', text: o.name }),
      el('div', { className: 'ctl-muted', text: `${o.kind === 'label' ? 'Label map' : 'Scalar map'} · ${o.dims.join(' × ')}` }),
      row('Colormap', colormap),
      row('Opacity', opacity),
      row(o.kind === 'label' ? 'Hide labels ≤' : 'Threshold', threshold),
      el('div', { className: 'ctl-legend' }),
      remove,
    );
    this.renderLegend();
  }

  /** The floating legend over the views: name, and for scalar maps the colour bar with its range. */
  private renderFloatingLegend(): void {
    const box = this.dom.legend;
    box.replaceChildren();
    box.hidden = !this.layer;
    if (!this.layer) return;
    const legend = overlayLegend(this.layer);
    box.append(el('div', { className: 'ctl-legend-name', text: this.layer.overlay.name }));
    if (legend.kind === 'labels') return;
    const threshold = this.layer.style.threshold > legend.range[0] ? ` · hidden ≤ ${formatNumber(this.layer.style.threshold, 3)}` : '';
    box.append(
      colorbar(this.layer.style.colormap),
      el('div', { className: 'ctl-colorbar-labels' }, [
        el('span', { text: formatNumber(legend.range[0], 3) }),
        el('span', { className: 'ctl-muted', text: threshold.replace(/^ · /, '') }),
        el('span', { text: formatNumber(legend.range[1], 3) }),
      ]),
    );
  }

  private renderLegend(): void {
    this.renderFloatingLegend();
    const box = this.dom.overlay.querySelector<HTMLElement>('.ctl-legend');
    if (!box || !this.layer) return;
    box.replaceChildren();
    const legend = overlayLegend(this.layer);
    const colormap = this.layer.style.colormap;
    if (legend.kind === 'labels') {
      for (const v of legend.labels.slice(0, 32)) {
        box.append(el('span', { className: 'ctl-legend-item' }, [labelSwatch(colormap, v), `label ${v}`]));
      }
      if (legend.labels.length === 0) box.append(el('span', { className: 'ctl-muted', text: 'no labels above 0' }));
      return;
    }
    box.append(
      colorbar(colormap),
      el('div', { className: 'ctl-colorbar-labels' }, [
        el('span', { text: formatNumber(legend.range[0], 4) }),
        el('span', { text: formatNumber(legend.range[1], 4) }),
      ]),
    );
  }

  private updateWindowUi(): void {
    const w = this.dom.window;
    w.dataset.center = formatNumber(this.win.center);
    w.dataset.width = formatNumber(this.win.width);
    w.textContent = `L ${formatNumber(this.win.center, 4)}  W ${formatNumber(this.win.width, 4)}`;
    const active = presetOf(this.win);
    for (const b of this.dom.presetButtons) b.toggleAttribute('secondary', b.dataset.preset !== active);
  }

  private updateLabels(): void {
    for (const v of SLICE_VIEWS) {
      const { labels } = this.dom.views[v];
      const l = this.axes[v].labels;
      labels.left.textContent = l.left;
      labels.right.textContent = l.right;
      labels.top.textContent = l.top;
      labels.bottom.textContent = l.bottom;
      this.dom.views[v].root.style.setProperty('--ctl-view-color', VIEW_COLORS[v]);
    }
  }

  private setNotice(key: string, text: string | null): void {
    if (text) this.notices.set(key, text);
    else this.notices.delete(key);
    const all = [...this.notices.values()];
    this.dom.notice.textContent = all.join(' ');
    this.dom.notice.hidden = all.length === 0;
  }

  // ---------------------------------------------------------------- input

  private wireToolbar(): void {
    for (const b of this.dom.layoutButtons) b.addEventListener('click', () => this.setLayout(b.dataset.layout as ViewerLayout));
    for (const b of this.dom.presetButtons) b.addEventListener('click', () => this.applyPreset(b.dataset.preset as WindowPresetId));
    this.dom.overlayButton.addEventListener('click', () => this.emit('openOverlay', {}));
    this.dom.resetButton.addEventListener('click', () => this.resetView());
    this.dom.panelButton.addEventListener('click', () => {
      if (this.dom.root.dataset.panel === 'hidden') delete this.dom.root.dataset.panel;
      else this.dom.root.dataset.panel = 'hidden';
    });
    this.dom.mode3d.addEventListener('change', () => this.setMode3d(this.dom.mode3d.value === 'vr' ? 'vr' : 'mip'));
    const goto = this.dom.goto;
    goto.addEventListener('keydown', (event) => {
      event.stopPropagation();
      if (event.key !== 'Enter') return;
      const parts = goto.value.split(/[\s,;]+/).filter(Boolean).map(Number);
      try {
        if (parts.length !== 3 || parts.some((p) => !Number.isInteger(p))) throw new RangeError('type three whole numbers: i, j, k');
        this.goTo(parts);
        goto.removeAttribute('aria-invalid');
        goto.title = 'Go to voxel i,j,k (file order), then Enter';
      } catch (error) {
        goto.setAttribute('aria-invalid', 'true');
        goto.title = error instanceof Error ? error.message : String(error);
      }
    });
    // Keys reach the viewer when focus is inside it or the pointer is over a view (nothing needs clicking first).
    this.keyListener = (event: KeyboardEvent) => {
      const focusInside = this.dom.viewsBox.contains(document.activeElement);
      if (focusInside || this.hovering) this.onKey(event);
    };
    document.addEventListener('keydown', this.keyListener);
  }

  private resetView(): void {
    const volume = this.vol;
    this.ports = {};
    if (volume) {
      this.crosshair = volume.frame.dims.map((n) => Math.floor((n - 1) / 2)) as Vec3;
      this.win = initialWindow(volume, this.windowPreset).window;
      this.updateWindowUi();
    }
    this.reset3dCamera();
    this.crosshairMoved();
    this.invalidate();
  }

  private wireView(name: ViewName): void {
    const { root, canvas } = this.dom.views[name];
    const observer = new ResizeObserver(() => {
      this.resizeCanvas(name);
      this.invalidate(name);
    });
    observer.observe(root);
    this.observers.push(observer);
    root.addEventListener('pointerenter', () => {
      this.activeView = name;
      this.hovering = true;
    });
    root.addEventListener('pointerleave', () => (this.hovering = false));
    root.addEventListener('dblclick', () => {
      this.activeView = name;
      this.setLayout(this.layout === 'single' ? '1x3' : 'single');
    });
    root.addEventListener('contextmenu', (event) => event.preventDefault());
    if (name === '3d') return; // OrbitControls handles the 3D view's pointer and wheel input
    const view = name;
    canvas.addEventListener('pointerdown', (event) => this.onPointerDown(view, event));
    canvas.addEventListener('pointermove', (event) => this.onPointerMove(view, event));
    canvas.addEventListener('pointerup', (event) => this.onPointerUp(event));
    canvas.addEventListener('pointercancel', (event) => this.onPointerUp(event));
    canvas.addEventListener('pointerleave', () => {
      this.cursor = null;
      this.updateReadout();
    });
    canvas.addEventListener('wheel', (event) => this.onWheel(view, event), { passive: false });
  }

  private resizeCanvas(name: ViewName): void {
    const { root, canvas } = this.dom.views[name];
    const rect = root.getBoundingClientRect();
    // The CPU renderer draws at CSS resolution; WebGL at device resolution up to 2×.
    const dpr = this.gpu ? Math.min(2, window.devicePixelRatio || 1) : 1;
    const w = Math.floor(rect.width);
    const h = Math.floor(rect.height);
    this.sizes[name] = { w, h, dpr };
    const cw = Math.max(1, Math.round(w * dpr));
    const ch = Math.max(1, Math.round(h * dpr));
    if (canvas.width !== cw) canvas.width = cw;
    if (canvas.height !== ch) canvas.height = ch;
  }

  private local(view: ViewName, event: MouseEvent): [number, number] {
    const rect = this.dom.views[view].canvas.getBoundingClientRect();
    return [event.clientX - rect.left, event.clientY - rect.top];
  }

  private onPointerDown(view: SliceView, event: PointerEvent): void {
    const port = this.portOf(view);
    if (!port || !this.vol) return;
    this.activeView = view;
    this.dom.views[view].root.focus({ preventScroll: true });
    const mode = event.button === 2 ? 'window' : event.button === 1 || event.shiftKey ? 'pan' : event.button === 0 ? 'crosshair' : null;
    if (!mode) return;
    event.preventDefault();
    const [x, y] = this.local(view, event);
    this.drag = { view, mode, x, y, startWindow: { ...this.win }, startPort: port, pointerId: event.pointerId };
    (event.target as Element).setPointerCapture?.(event.pointerId);
    if (mode === 'crosshair') this.moveCrosshairTo(view, x, y);
  }

  private onPointerMove(view: SliceView, event: PointerEvent): void {
    const port = this.portOf(view);
    const volume = this.vol;
    if (!port || !volume) return;
    const [x, y] = this.local(view, event);
    const axes = this.axes[view];
    this.cursor = { view, display: screenToDisplay(volume.frame, axes, port, this.crosshair[axes.n], x, y) };
    const drag = this.drag;
    if (drag && drag.view === view && drag.pointerId === event.pointerId) {
      if (drag.mode === 'crosshair') this.moveCrosshairTo(view, x, y);
      else if (drag.mode === 'pan') {
        this.ports[view] = panBy(volume.frame, axes, drag.startPort!, x - drag.x, y - drag.y);
        this.invalidate(view);
      } else {
        const w = dragWindow(drag.startWindow, x - drag.x, y - drag.y);
        this.setWindow(w.center, w.width);
      }
    }
    this.updateReadout();
  }

  private onPointerUp(event: PointerEvent): void {
    if (this.drag?.pointerId === event.pointerId) this.drag = null;
  }

  private moveCrosshairTo(view: SliceView, x: number, y: number): void {
    const volume = this.vol!;
    const port = this.portOf(view)!;
    const axes = this.axes[view];
    const d = screenToDisplay(volume.frame, axes, port, this.crosshair[axes.n], x, y);
    const c = clampDisplayIndex(volume.frame, d);
    this.followLoading = false;
    this.crosshair = [...this.crosshair];
    this.crosshair[axes.h] = c[axes.h];
    this.crosshair[axes.v] = c[axes.v];
    this.crosshairMoved();
  }

  private onWheel(view: SliceView, event: WheelEvent): void {
    event.preventDefault();
    const volume = this.vol;
    const port = this.portOf(view);
    if (!volume || !port) return;
    if (event.ctrlKey || event.metaKey) {
      const [x, y] = this.local(view, event);
      this.ports[view] = zoomAt(volume.frame, this.axes[view], port, Math.exp(-event.deltaY * 0.002), x, y);
      this.invalidate(view);
      return;
    }
    // Line-mode wheels step one slice per notch; pixel-mode trackpads step once per 50 px of scrolling.
    if (event.deltaMode === 1) this.stepSlice(view, event.deltaY < 0 ? 1 : -1);
    else {
      this.wheelAccum += event.deltaY;
      while (Math.abs(this.wheelAccum) >= 50) {
        this.stepSlice(view, this.wheelAccum < 0 ? 1 : -1);
        this.wheelAccum -= Math.sign(this.wheelAccum) * 50;
      }
    }
  }

  private stepSlice(view: SliceView, delta: number): void {
    const volume = this.vol;
    if (!volume) return;
    const n = this.axes[view].n;
    const next = Math.min(volume.frame.dims[n] - 1, Math.max(0, this.crosshair[n] + delta));
    if (next === this.crosshair[n]) return;
    this.followLoading = false;
    this.crosshair = [...this.crosshair];
    this.crosshair[n] = next;
    if (this.cursor) this.cursor.display[n] = next;
    this.crosshairMoved();
  }

  private onKey(event: KeyboardEvent): void {
    if (event.target instanceof HTMLInputElement || event.defaultPrevented) return;
    const view = this.activeView;
    if (view === '3d') return;
    const big = event.shiftKey ? 10 : 1;
    switch (event.key) {
      case 'ArrowUp':
      case 'ArrowRight':
      case 'PageUp':
        this.stepSlice(view, big);
        break;
      case 'ArrowDown':
      case 'ArrowLeft':
      case 'PageDown':
        this.stepSlice(view, -big);
        break;
      case '+':
      case '=':
      case '-': {
        const port = this.portOf(view);
        if (!port || !this.vol) return;
        this.ports[view] = zoomAt(this.vol.frame, this.axes[view], port, event.key === '-' ? 1 / 1.25 : 1.25, port.width / 2, port.height / 2);
        this.invalidate(view);
        break;
      }
      default:
        return;
    }
    event.preventDefault();
  }
}
