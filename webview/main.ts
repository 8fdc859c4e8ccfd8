// The viewer inside VS Code's webview: a thin shell that connects the viewer core to the extension host through the
// typed protocol (src/shared/protocol.ts). The host streams the header and slabs; the viewer paints as they arrive.

import { MessageHandler } from '../src/shared/messaging';
import type { FromWebviewMessage, InitMessage, ToWebviewMessage } from '../src/shared/protocol';
import { createViewer, ViewerState } from './viewer/viewer';
import { ModelPanels } from './model/model-panels';
import { WINDOW_PRESETS, type WindowPresetId } from './viewer/windowing';

interface VsCodeApi {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
// Settings the first paint depends on come with the HTML (the provider writes them as data attributes), so the
// renderer is chosen before any message arrives.
const body = document.body.dataset;
const viewer = createViewer(document.getElementById('app')!, {
  renderer: body.ctlRenderer === 'canvas2d' || body.ctlRenderer === 'webgl2' ? body.ctlRenderer : 'auto',
  layout: body.ctlLayout === '2x2' || body.ctlLayout === 'single' ? body.ctlLayout : '1x3',
  convention: body.ctlConvention === 'neurological' ? 'neurological' : 'radiological',
  windowPreset: WINDOW_PRESETS.find((p) => p.id === body.ctlWindowPreset)?.id as WindowPresetId | undefined,
});
let fileName = '';

const saved = vscode.getState() as ViewerState | undefined;
if (saved) viewer.restoreState(saved);

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

const channel = new MessageHandler<FromWebviewMessage, ToWebviewMessage>(
  (envelope, transfer) => vscode.postMessage(envelope, transfer),
  (message) => {
    switch (message.type) {
      case 'volumeHeader':
        viewer.beginVolume(message.header, fileName);
        return undefined;
      case 'volumeSlices':
        viewer.addSlices(message.kStart, message.kEnd, message.data);
        return undefined;
      case 'volumeDone':
        viewer.endVolume();
        return undefined;
      case 'volumeError':
        viewer.fail(message.message);
        return undefined;
      case 'setOverlay':
        viewer.setOverlay(message.overlay, { reveal: message.reveal });
        return { type: 'overlayApplied', id: message.overlay.id };
      case 'clearOverlay':
        viewer.clearOverlay(message.id);
        return { type: 'ok' };
      case 'settings':
        viewer.setConvention(message.settings.convention);
        return undefined;
      case 'modelState':
        panels.setState(message.state);
        return undefined;
      case 'runUpdate':
        panels.updateRun(message.run);
        return undefined;
      case 'runText':
        panels.appendText(message.id, message.text, message.chunks);
        return undefined;
      case 'showModelPanel':
        panels.show(message.panel, message.question);
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

viewer.on('firstPaint', ({ ms, renderer }) => channel.event({ type: 'firstPaint', ms, renderer }));
viewer.on('rendererChanged', ({ renderer, reason }) => channel.event({ type: 'rendererChanged', renderer, reason }));
viewer.on('openOverlay', () => channel.event({ type: 'openOverlay' }));
viewer.on('stateChanged', (state) => vscode.setState(state));

void channel.request<InitMessage>({ type: 'ready' }).then(
  (init) => {
    fileName = init.name;
    document.title = init.name;
    viewer.setTitle(init.name);
  },
  (error) => viewer.fail(`The extension did not answer: ${error instanceof Error ? error.message : String(error)}`),
);
