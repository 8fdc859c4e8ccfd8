// What the viewer shows, in one place: the volume, the crosshair, the window, the layout and the per-view ports. The
// controllers (interaction/), the panels and the painter read and change it; the Viewer (viewer.ts) turns changes
// into repaints and events. No DOM here beyond the sizes the views measured.

import type { ViewerLayout } from '../../src/shared/protocol';
import type { ViewName } from './dom';
import {
  Convention,
  defaultViewPort,
  displayToFileIndex,
  fileToDisplayIndex,
  SliceView,
  Vec3,
  viewAxes,
  ViewAxes,
  ViewPort,
} from './geometry';
import type { OverlayLayer } from './overlay-layer';
import type { VolumeRenderMode } from './render/webgl';
import type { ViewerVolume } from './volume';
import { initialWindow, WindowLevel, WindowPresetId } from './windowing';

export interface ViewerState {
  /** Crosshair in file voxel indices. */
  crosshair?: Vec3;
  window?: WindowLevel;
  layout?: ViewerLayout;
  activeView?: ViewName;
  mode3d?: VolumeRenderMode;
}

export interface ViewSize {
  w: number;
  h: number;
  dpr: number;
}

export class ViewerModel {
  name = '';
  vol: ViewerVolume | null = null;
  convention: Convention;
  layout: ViewerLayout;
  activeView: ViewName = 'axial';
  /** Crosshair in display voxel indices (geometry.ts). */
  crosshair: Vec3 = [0, 0, 0];
  /** While loading, the view across the file's k axis follows the newest slice (Viewer.followArrivingSlices). */
  followLoading = true;
  win: WindowLevel = { center: 40, width: 400 };
  /** The window came from the user, a saved state or a CT volume's preset; else loading may still pick one. */
  windowChosen = false;
  /** The window CT volumes open with (the windowPreset setting); undefined = the header's, else soft tissue. */
  windowPreset: WindowPresetId | undefined;
  axes: Record<SliceView, ViewAxes>;
  ports: Partial<Record<SliceView, ViewPort>> = {};
  sizes: Partial<Record<ViewName, ViewSize>> = {};
  /** The voxel under the pointer, when it is over a slice view. */
  cursor: { view: SliceView; display: Vec3 } | null = null;
  /** The pointer is over a view (keys reach the viewer then, focus or not). */
  hovering = false;
  layer: OverlayLayer | null = null;
  mode3d: VolumeRenderMode = 'mip';
  /** Bumped by changes to what slices show that the painter's image key does not name (a new volume, the overlay). */
  imageVersion = 0;
  /** A state restored before the volume arrived, applied when it does. */
  pendingState: ViewerState | null = null;

  constructor(options: { convention?: Convention; layout?: ViewerLayout; windowPreset?: WindowPresetId }) {
    this.convention = options.convention ?? 'radiological';
    this.layout = options.layout ?? '1x3';
    this.windowPreset = options.windowPreset;
    this.axes = this.makeAxes();
  }

  setConvention(convention: Convention): void {
    this.convention = convention;
    this.axes = this.makeAxes();
    this.ports = {};
  }

  /** A new volume: the crosshair at its centre, ports fitted anew, the window still to choose. */
  beginVolume(volume: ViewerVolume): void {
    this.vol = volume;
    this.imageVersion++;
    this.windowChosen = false;
    this.followLoading = true;
    this.centreCrosshair(volume);
    this.ports = {};
  }

  /** The crosshair at the volume's centre voxel. */
  centreCrosshair(volume: ViewerVolume): void {
    this.crosshair = volume.frame.dims.map((n) => Math.floor((n - 1) / 2)) as Vec3;
  }

  /**
   * While slices arrive and no window was chosen: the initial window of what has arrived, kept for good once the
   * volume looks like CT or a preset applies. Returns whether the window may have changed.
   */
  pickLoadingWindow(): boolean {
    if (this.windowChosen || !this.vol) return false;
    const { window, preset } = initialWindow(this.vol, this.windowPreset);
    this.win = window;
    this.windowChosen = this.vol.looksLikeCT || preset !== null;
    return true;
  }

  /** Every slice is in: the window is the initial one of the whole volume unless one was chosen. */
  settleWindow(): boolean {
    if (this.windowChosen || !this.vol) return false;
    this.win = initialWindow(this.vol, this.windowPreset).window;
    this.windowChosen = true;
    return true;
  }

  /**
   * While loading, the view across the file's k axis shows the newest slice until it reaches the middle of the
   * volume: the first slice paints as soon as it is decoded, not when half the file has arrived. Returns whether
   * the crosshair was set.
   */
  followArrivingSlices(): boolean {
    const volume = this.vol!;
    const axis = volume.frame.axes.findIndex((a) => a.fileAxis === 2);
    if (axis < 0 || volume.contiguous === 0) return false;
    const flip = volume.frame.axes[axis]!.flip;
    const newest = flip ? volume.nk - volume.contiguous : volume.contiguous - 1;
    const middle = Math.floor((volume.frame.dims[axis]! - 1) / 2);
    const next = flip ? Math.max(middle, newest) : Math.min(middle, newest);
    this.crosshair[axis] = next;
    if (next === middle) this.followLoading = false;
    return true;
  }

  /** The crosshair at a file voxel (i, j, k); a RangeError names the volume's bounds when it is outside. */
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
  }

  /** A saved state's view, window and crosshair (a crosshair outside this volume is ignored). */
  applyState(state: ViewerState): void {
    this.pendingState = null;
    if (state.activeView) this.activeView = state.activeView;
    if (state.window) {
      this.win = { ...state.window };
      this.windowChosen = true;
    }
    const volume = this.vol;
    if (state.crosshair && volume && state.crosshair.every((v, a) => v >= 0 && v < volume.header.dims[a]!)) {
      this.crosshair = fileToDisplayIndex(volume.frame, state.crosshair);
      this.followLoading = false;
    }
  }

  /** A slice view's port at its measured size (the default fit on first use); null before the view has a size. */
  portOf(view: SliceView): ViewPort | null {
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

  state(): ViewerState {
    const state: ViewerState = { window: { ...this.win }, layout: this.layout, activeView: this.activeView, mode3d: this.mode3d };
    if (this.vol) state.crosshair = displayToFileIndex(this.vol.frame, this.crosshair);
    return state;
  }

  private makeAxes(): Record<SliceView, ViewAxes> {
    return {
      axial: viewAxes('axial', this.convention),
      coronal: viewAxes('coronal', this.convention),
      sagittal: viewAxes('sagittal', this.convention),
    };
  }
}
