// The typed messages between the CT Lens custom editor (extension host) and its viewer webview. Every message is a
// member of a discriminated union on `type`, one union per direction; src/shared/messaging.ts wraps them in
// envelopes with ids so requests get replies.
//
// Flow (the webview asks, the host answers and then streams):
//   webview  → host  ready            (request; reply: init)
//   host     → view  volumeHeader     as soon as the header is parsed
//   host     → view  volumeSlices     slabs of k-slices of frame 0 as they decode (an ArrayBuffer copy each)
//   host     → view  volumeDone | volumeError
//   host     → view  settings         every change of ctlens.viewer.*: all of them (the open viewer applies what changed)
//   host     → view  setOverlay       (request; reply: overlayApplied) — `CT Lens: Open Overlay…`, routing maps
//   host     → view  modelState       after init: the document's report, chat history and suggested questions
//   host     → view  runUpdate | runText   a model run started / changed stage / ended, and its streamed text
//   view     → host  generateReport | ask | cancelRun | saveReport | copyRun | clearChat | inspectRouting
// A webview that is hidden and shown again reloads and sends `ready` again; the host replays from its document —
// the volume, any overlay, and the model state (runs live in the extension host, never only in a webview).
//
// Slab payloads are standalone ArrayBuffers (never views into the whole volume): VS Code serialises a typed-array
// view by sending its entire underlying buffer.

import type { Task } from '../core/model/task';
import type { NiftiDatatypeName, NiftiHeader } from '../core/nifti/types';
import type { WindowPresetId } from '../core/volume/windows';
import type { FinishReason, Timings } from './modelhost-protocol';
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
  /** The window a CT volume opens with; 'auto' = the header's cal_min/cal_max, else soft tissue. */
  windowPreset?: WindowPresetId | 'auto';
}

export const DEFAULT_VIEWER_SETTINGS: ViewerSettings = {
  convention: 'radiological',
  layout: '1x3',
  renderer: 'auto',
  windowPreset: 'auto',
};

// ---------------------------------------------------------------- model runs as the viewer shows them

export type RunTask = Task;
/** queued: waiting for the model host (another run is ahead); cancelled: stopped by the user, text so far kept. */
export type RunStatus = 'queued' | 'running' | 'done' | 'cancelled' | 'failed';
export type RunStage = 'loading' | 'preprocessing' | 'vision' | 'prefill' | 'decode';

/** What the runtime reported with a finished run (everything here comes from the model host's result). */
export interface RunResultInfo {
  model: string;
  version: string;
  /** Execution provider the sessions ran on. */
  provider: string;
  timings: Timings;
  /** The runtime's notices: model name + "research use only — not for diagnosis", out-of-distribution warning. */
  notices: string[];
  finishReason: FinishReason;
  /** How the text was decoded: "greedy" or "sampling (temperature 0.7, top-p 0.9)". */
  decoding: string;
  /** Multiple-choice questions: the choice (0–3) the answer picks, by the benchmark's own rule; null if none. */
  pickedChoice?: number | null;
  /**
   * ms from the request to the first streamed text, measured in the extension host: what the user waited, including
   * model loading (first run), preprocessing and the model host's queue.
   */
  firstTextMs?: number;
}

export interface RunInfo {
  id: string;
  task: RunTask;
  /** VQA: the question as asked. */
  question?: string;
  /** VQA: the options of a multiple-choice question (A, B, C, D order), when the question has them. */
  choices?: string[];
  status: RunStatus;
  stage?: RunStage;
  /** The model's text so far (all of it once done). */
  text: string;
  /** Streamed pieces received so far: more than one means the text arrived token by token. */
  chunks: number;
  /** failed: the error message (`HostCrashed: …`); cancelled: why. */
  error?: string;
  result?: RunResultInfo;
  /** Epoch ms. */
  startedAt: number;
}

export interface SuggestedQuestion {
  question: string;
  /** Multiple-choice options, when the question is one. */
  choices?: string[];
}

/** The model side of one volume, replayed to every (re)loaded viewer of it. */
export interface ModelPanelState {
  /** The latest report of this volume. */
  report: RunInfo | null;
  /** Questions and answers, oldest first. */
  chat: RunInfo[];
  suggestions: SuggestedQuestion[];
  /** Where the suggestions come from ("the model package", "dataset.jsonl beside this volume"). */
  suggestionsFrom?: string;
  /** The runtime's research-use line, shown before any run. */
  researchNotice: string;
}

// ---------------------------------------------------------------- extension host → webview

export interface InitMessage {
  type: 'init';
  /** File name shown in the viewer (not a path). */
  name: string;
  /** The settings the viewer opens with (the one way they reach it; changes follow as `settings` messages). */
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
  /** Switch the side panel to the Overlay tab (default true; routing heatmaps keep the report or chat in view). */
  reveal?: boolean;
}

export interface ClearOverlayMessage {
  type: 'clearOverlay';
  /** Only clear this overlay; all when absent. */
  id?: string;
}

/** The viewer settings changed: all of them, applied wholesale against those in force (a live change takes effect). */
export interface SettingsMessage {
  type: 'settings';
  settings: ViewerSettings;
}

export interface ModelStateMessage {
  type: 'modelState';
  state: ModelPanelState;
}

/** A run was added or changed status/stage/result (the whole run, text included). */
export interface RunUpdateMessage {
  type: 'runUpdate';
  run: RunInfo;
}

/** More streamed text of a running run. */
export interface RunTextMessage {
  type: 'runText';
  id: string;
  /** Text to append. */
  text: string;
  /** The run's chunk count after this message. */
  chunks: number;
}

/** Bring a side-panel tab forward (a command was run from the palette); `question` pre-fills the chat input. */
export interface ShowModelPanelMessage {
  type: 'showModelPanel';
  panel: 'report' | 'chat';
  question?: string;
}

export type ToWebviewMessage =
  | InitMessage
  | ModelStateMessage
  | RunUpdateMessage
  | RunTextMessage
  | ShowModelPanelMessage
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

export interface GenerateReportMessage {
  type: 'generateReport';
}

export interface AskMessage {
  type: 'ask';
  question: string;
}

/** Stop a run (queued or running); without an id, every unfinished run of this volume. */
export interface CancelRunMessage {
  type: 'cancelRun';
  id?: string;
}

export interface SaveReportMessage {
  type: 'saveReport';
}

/** Copy a run's text with its notices to the clipboard (through the host: webviews may not reach it). */
export interface CopyRunMessage {
  type: 'copyRun';
  id: string;
}

export interface ClearChatMessage {
  type: 'clearChat';
}

/** Show a run's routing in the Routing view. */
export interface InspectRoutingMessage {
  type: 'inspectRouting';
  id: string;
}

export type FromWebviewMessage =
  | ReadyMessage
  | OverlayAppliedMessage
  | FirstPaintMessage
  | RendererChangedMessage
  | LogMessage
  | OpenOverlayMessage
  | OkMessage
  | GenerateReportMessage
  | AskMessage
  | CancelRunMessage
  | SaveReportMessage
  | CopyRunMessage
  | ClearChatMessage
  | InspectRoutingMessage;
