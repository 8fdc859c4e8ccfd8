// The viewer core's public face: what a host (webview/main.ts in VS Code, webview/standalone.ts in a plain page, the
// browser tests and the benchmark) creates, calls and listens to. viewer.ts implements it.

import type { NiftiHeader, VoxelArray } from '../../src/core/nifti/types';
import type { OverlayStyle, OverlayVolume } from '../../src/shared/overlay';
import type { ViewerLayout, ViewerRenderer, ViewerRendererChoice } from '../../src/shared/protocol';
import type { Convention, Vec3 } from './geometry';
import type { ViewerState } from './state';
import type { ViewerVolume } from './volume';
import type { WindowPresetId } from './windowing';

export type { ViewerState };

export interface ViewerOptions {
  renderer?: ViewerRendererChoice;
  convention?: Convention;
  layout?: ViewerLayout;
  /** The window CT volumes open with (default: the header's cal_min/cal_max, else soft tissue). */
  windowPreset?: WindowPresetId;
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
  /**
   * Streamed input: the header first, then slabs of k-slices (stored values of the header's datatype). A whole
   * file decoded in the page goes through the same three calls (open-nifti.ts).
   */
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
  /** Switches renderers ('auto' and 'webgl2' try WebGL2 and keep the 2D renderer if it is missing). */
  setRenderer(choice: ViewerRendererChoice): void;
  /**
   * The window CT volumes open with, and the one Reset returns to; with `now`, an open CT volume takes it at once
   * (undefined: the header's cal_min/cal_max, else soft tissue).
   */
  setWindowPreset(id: WindowPresetId | undefined, options?: { now?: boolean }): void;
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
