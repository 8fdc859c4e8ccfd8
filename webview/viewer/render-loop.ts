// When the viewer draws: views are marked dirty and drawn together at the next animation frame, slices before the
// 3D view; while slices stream in they repaint at most every LOADING_REPAINT_MS; a moving 3D camera draws coarse
// frames and one full-quality frame once it rests. `settled()` resolves when nothing is left to draw. What a frame
// draws is the painter's business (painter.ts); this module only decides when.

import { VIEW_NAMES, ViewName } from './dom';
import { SLICE_VIEWS, SliceView } from './geometry';

/** While slices stream in, views repaint at most this often (ms) after the first paint. */
const LOADING_REPAINT_MS = 200;

/** Coarse 3D frames while the camera moves; the full-quality frame once it has rested this long (ms). */
const REFINE_AFTER_MS = 120;

export interface FrameHooks {
  /** 'loading' until every slice has arrived; the 3D view waits for 'complete'. */
  volumeState(): 'none' | 'loading' | 'complete';
  /** A slice has been painted since the volume began (loading repaints are throttled after it). */
  painted(): boolean;
  beginFrame(): void;
  renderSlice(view: SliceView): void;
  render3d(): void;
}

export class RenderLoop {
  private readonly dirty = new Set<ViewName>();
  private frameRequest = 0;
  private disposed = false;
  private lastLoadingPaint = 0;
  private loadingTimer: ReturnType<typeof setTimeout> | 0 = 0;
  private refineTimer: ReturnType<typeof setTimeout> | 0 = 0;
  /** The 3D camera is moving (or moved less than REFINE_AFTER_MS ago): 3D frames are coarse. */
  private rotating = false;
  /** A pointer drags the 3D view (OrbitControls between 'start' and 'end'). */
  private orbiting = false;
  private settledWaiters: (() => void)[] = [];

  constructor(private readonly hooks: FrameHooks) {}

  /** 3D frames are coarse now (the camera moves). */
  get coarse3d(): boolean {
    return this.rotating;
  }

  invalidate(view?: ViewName): void {
    if (view) this.dirty.add(view);
    else for (const v of VIEW_NAMES) this.dirty.add(v);
    this.schedule();
  }

  /** Every slice view (a crosshair move, a window change). */
  invalidateSlices(): void {
    for (const v of SLICE_VIEWS) this.dirty.add(v);
    this.schedule();
  }

  /**
   * The first slab paints at the next frame; after that, views repaint at most every LOADING_REPAINT_MS while
   * slices stream in, so painting does not slow the decode down. endVolume paints the end. The 3D view waits for
   * the whole volume: a projection of part of it says little, and its redraws used to hold the first slice and
   * the decode back (issue 11).
   */
  repaintWhileLoading(): void {
    const now = performance.now();
    const wait = this.hooks.painted() ? LOADING_REPAINT_MS - (now - this.lastLoadingPaint) : 0;
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

  /** Every slice is in: no throttled repaint is left to come. */
  loadingEnded(): void {
    if (this.loadingTimer) clearTimeout(this.loadingTimer);
    this.loadingTimer = 0;
  }

  orbitStarted(): void {
    this.orbiting = true;
  }

  orbitEnded(): void {
    this.orbiting = false;
    this.cameraMoved();
  }

  cameraMoved(): void {
    this.rotating = true;
    if (this.refineTimer) clearTimeout(this.refineTimer);
    this.refineTimer = setTimeout(() => {
      this.refineTimer = 0;
      this.rotating = this.orbiting;
      if (!this.rotating) this.invalidate('3d');
      else this.resolveSettled();
    }, REFINE_AFTER_MS);
    this.invalidate('3d');
  }

  settled(): Promise<void> {
    return new Promise((resolve) => {
      this.settledWaiters.push(resolve);
      this.resolveSettled();
    });
  }

  dispose(): void {
    this.disposed = true;
    cancelAnimationFrame(this.frameRequest);
    if (this.loadingTimer) clearTimeout(this.loadingTimer);
    if (this.refineTimer) clearTimeout(this.refineTimer);
  }

  private schedule(): void {
    if (this.frameRequest || this.disposed) return;
    this.frameRequest = requestAnimationFrame(() => {
      this.frameRequest = 0;
      this.renderDirty();
    });
  }

  private renderDirty(): void {
    const loading = this.hooks.volumeState() === 'loading';
    this.hooks.beginFrame();
    const slices = SLICE_VIEWS.filter((v) => this.dirty.has(v));
    for (const v of slices) {
      this.dirty.delete(v);
      this.hooks.renderSlice(v);
    }
    // The 3D view draws in a frame of its own after the slices (so a slice never waits for a ray-march), and only
    // once every slice has arrived.
    if (this.dirty.has('3d') && !loading) {
      if (slices.length === 0) {
        this.dirty.delete('3d');
        this.hooks.render3d();
      } else this.schedule();
    }
    this.resolveSettled();
  }

  private resolveSettled(): void {
    const pending3d = this.dirty.has('3d') && this.hooks.volumeState() === 'complete';
    const pending = this.frameRequest || this.loadingTimer || this.refineTimer || this.rotating || this.orbiting;
    if (pending || SLICE_VIEWS.some((v) => this.dirty.has(v)) || pending3d) return;
    const waiters = this.settledWaiters;
    this.settledWaiters = [];
    for (const w of waiters) w();
  }
}
