// The typed messages between the CT Lens custom editor (extension host) and its viewer webview. Every message is a
// member of a discriminated union on `type`, one union per direction; src/shared/messaging.ts wraps them in
// envelopes with ids so requests get replies.
//
// Flow (the webview asks, the host answers and then streams):
//   webview  → host  ready            (request; reply: init)
//   host     → view  volumeHeader     as soon as the header is parsed
//   host     → view  volumeSlices     slabs of k-slices of frame 0 as they decode (an ArrayBuffer copy each)
//   host     → view  volumeDone | volumeError
//   host     → view  setOverlay       (request; reply: overlayApplied) — `CT Lens: Open Overlay…`, routing maps
// A webview that is hidden and shown again reloads and sends `ready` again; the host replays from its document.
//
// Slab payloads are standalone ArrayBuffers (never views into the whole volume): VS Code serialises a typed-array
// view by sending its entire underlying buffer.

import type { NiftiDatatypeName, NiftiHeader } from '../core/nifti/types';
import type { OverlayVolume } from './overlay';

export type ViewerLayout = '1x3' | '2x2' | 'single';
export type ViewerConvention = 'radiological' | 'neurological';
export type ViewerRendererChoice = 'auto' | 'webgl2' | 'canvas2d';
export type ViewerRenderer = 'webgl2' | 'canvas2d';

/** Settings the webview needs (contributed as `ctlens.viewer.*`). */
export interface ViewerSettings {
  convention: ViewerConvention;
  layout: ViewerLayout;
  renderer: ViewerRendererChoice;
}

export const DEFAULT_VIEWER_SETTINGS: ViewerSettings = {
  convention: 'radiological',
  layout: '1x3',
  renderer: 'auto',
};

// ---------------------------------------------------------------- extension host → webview

export interface InitMessage {
  type: 'init';
  /** File name shown in the viewer (not a path). */
  name: string;
  settings: ViewerSettings;
}

export interface VolumeHeaderMessage {
  type: 'volumeHeader';
  header: NiftiHeader;
}

export interface VolumeSlicesMessage {
  type: 'volumeSlices';
  /** k-slices [kStart, kEnd) of frame 0. */
  kStart: number;
  kEnd: number;
  /** Stored (unscaled) values of the header's datatype, i fastest: (kEnd - kStart) · nx · ny elements. */
  datatype: NiftiDatatypeName;
  data: ArrayBuffer;
}

export interface VolumeDoneMessage {
  type: 'volumeDone';
  /** Decode time in the extension host, ms. */
  decodeMs: number;
}

export interface VolumeErrorMessage {
  type: 'volumeError';
  /** NiftiError code ('Truncated', 'NotNifti', …) or 'ReadFailed'. */
  code: string;
  /** Starts with the code: `NotNifti: …`. */
  message: string;
}

export interface SetOverlayMessage {
  type: 'setOverlay';
  overlay: OverlayVolume;
}

export interface ClearOverlayMessage {
  type: 'clearOverlay';
  /** Only clear this overlay; all when absent. */
  id?: string;
}

export interface SettingsMessage {
  type: 'settings';
  settings: ViewerSettings;
}

export type ToWebviewMessage =
  | InitMessage
  | VolumeHeaderMessage
  | VolumeSlicesMessage
  | VolumeDoneMessage
  | VolumeErrorMessage
  | SetOverlayMessage
  | ClearOverlayMessage
  | SettingsMessage;

// ---------------------------------------------------------------- webview → extension host

export interface ReadyMessage {
  type: 'ready';
}

export interface OverlayAppliedMessage {
  type: 'overlayApplied';
  id: string;
}

export interface FirstPaintMessage {
  type: 'firstPaint';
  /** ms from the webview's navigation start to the first painted slice. */
  ms: number;
  renderer: ViewerRenderer;
}

export interface RendererChangedMessage {
  type: 'rendererChanged';
  renderer: ViewerRenderer;
  /** Why (e.g. WebGL2 unavailable); shown in the viewer notice and logged once. */
  reason: string;
}

export interface LogMessage {
  type: 'log';
  level: 'info' | 'warn' | 'error';
  message: string;
}

/** The user asked for an overlay from inside the viewer (runs `ctlens.openOverlay`). */
export interface OpenOverlayMessage {
  type: 'openOverlay';
}

export interface OkMessage {
  type: 'ok';
}

export type FromWebviewMessage =
  | ReadyMessage
  | OverlayAppliedMessage
  | FirstPaintMessage
  | RendererChangedMessage
  | LogMessage
  | OpenOverlayMessage
  | OkMessage;
