// The viewer inside VS Code's webview: a thin shell that connects the viewer core to the extension host through the
// typed protocol (src/shared/protocol.ts). The host streams the header and slabs; the viewer paints as they arrive.

import { MessageHandler } from '../src/shared/messaging';
import { DEFAULT_VIEWER_SETTINGS, FromWebviewMessage, InitMessage, ToWebviewMessage, ViewerSettings } from '../src/shared/protocol';
import { ModelPanels } from './model/model-panels';
import { applySettings, viewerOptions } from './viewer/settings';
import { createViewer, Viewer, ViewerState } from './viewer/viewer';

interface VsCodeApi {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();

/** The viewer, made when the init reply arrives: the settings it opens with come in that reply. */
interface Opened {
  viewer: Viewer;
  panels: ModelPanels;
  /** The settings in force; a `settings` message is applied against them. */
  settings: ViewerSettings;
}
let opened: Opened | null = null;

function open(init: InitMessage): Opened {
  const viewer = createViewer(document.getElementById('app')!, viewerOptions(init.settings));
  const saved = vscode.getState() as ViewerState | undefined;
  if (saved) viewer.restoreState(saved);
  document.title = init.name;
  viewer.setTitle(init.name);
  // Report and Chat tabs: requests go to the host, which owns the runs and streams them back.
  const panels = new ModelPanels(viewer, {
    generateReport: () => channel.event({ type: 'generateReport' }),
    ask: (question) => channel.event({ type: 'ask', question }),
    cancel: (id) => channel.event({ type: 'cancelRun', id }),
    saveReport: () => channel.event({ type: 'saveReport' }),
    copy: (id) => channel.event({ type: 'copyRun', id }),
    clearChat: () => channel.event({ type: 'clearChat' }),
    inspectRouting: (id) => channel.event({ type: 'inspectRouting', id }),
  });
  viewer.on('firstPaint', ({ ms, renderer }) => channel.event({ type: 'firstPaint', ms, renderer }));
  viewer.on('rendererChanged', ({ renderer, reason }) => channel.event({ type: 'rendererChanged', renderer, reason }));
  viewer.on('openOverlay', () => channel.event({ type: 'openOverlay' }));
  viewer.on('stateChanged', (state) => vscode.setState(state));
  return { viewer, panels, settings: init.settings };
}

/** The host sends nothing but settings before its init reply (it streams after it); anything else is a bug. */
function current(type: string): Opened {
  if (!opened) throw new Error(`${type} arrived before the init reply`);
  return opened;
}

let fileName = '';

const channel = new MessageHandler<FromWebviewMessage, ToWebviewMessage>(
  (envelope, transfer) => vscode.postMessage(envelope, transfer),
  (message) => {
    switch (message.type) {
      case 'volumeHeader':
        current(message.type).viewer.beginVolume(message.header, fileName);
        return undefined;
      case 'volumeSlices':
        current(message.type).viewer.addSlices(message.kStart, message.kEnd, message.data);
        return undefined;
      case 'volumeDone':
        current(message.type).viewer.endVolume();
        return undefined;
      case 'volumeError':
        current(message.type).viewer.fail(message.message);
        return undefined;
      case 'setOverlay':
        current(message.type).viewer.setOverlay(message.overlay, { reveal: message.reveal });
        return { type: 'overlayApplied', id: message.overlay.id };
      case 'clearOverlay':
        current(message.type).viewer.clearOverlay(message.id);
        return { type: 'ok' };
      case 'settings': {
        // Before the init reply there is nothing to apply to, and the reply carries settings at least as new.
        if (!opened) return undefined;
        applySettings(opened.viewer, opened.settings, message.settings);
        opened.settings = message.settings;
        return undefined;
      }
      case 'modelState':
        current(message.type).panels.setState(message.state);
        return undefined;
      case 'runUpdate':
        current(message.type).panels.updateRun(message.run);
        return undefined;
      case 'runText':
        current(message.type).panels.appendText(message.id, message.text, message.chunks);
        return undefined;
      case 'showModelPanel':
        current(message.type).panels.show(message.panel, message.question);
        return undefined;
      case 'init':
        return undefined;
    }
  },
  (error, message) => {
    const text = error instanceof Error ? error.message : String(error);
    channel.event({ type: 'log', level: 'error', message: `viewer: ${message.type} failed: ${text}` });
  },
);
window.addEventListener('message', (event) => void channel.receive(event.data));

void channel.request<InitMessage>({ type: 'ready' }).then(
  (init) => {
    fileName = init.name;
    opened = open(init);
  },
  (error) => {
    // No init reply: a viewer with the default settings shows why.
    opened ??= open({ type: 'init', name: '', settings: DEFAULT_VIEWER_SETTINGS });
    opened.viewer.fail(`The extension did not answer: ${error instanceof Error ? error.message : String(error)}`);
  },
);
