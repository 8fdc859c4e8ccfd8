// The evaluation panel (CT Lens: Evaluate Dataset): the metric table and one row per finished sample, filled as the
// host reports them. DOM contract: #ctl-eval[data-status][data-rows]; #ctl-eval-metrics td[data-metric];
// .ctl-eval-row[data-id]; [data-action=save|cancel].

import { METRIC_KEYS, type Metrics } from '../../src/core/eval';
import { MessageHandler } from '../../src/shared/messaging';
import type { EvalHostToView, EvalRow, EvalState, EvalViewToHost } from '../../src/shared/eval-view-protocol';
import { el } from '../common/element';

interface VsCodeApi {
  postMessage(message: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;
const vscode = acquireVsCodeApi();

const METRIC_LABELS: Record<(typeof METRIC_KEYS)[number], string> = {
  bleu1: 'BLEU-1',
  bleu2: 'BLEU-2',
  bleu3: 'BLEU-3',
  bleu4: 'BLEU-4',
  rouge1: 'ROUGE-1',
  rougeL: 'ROUGE-L',
  meteor: 'METEOR',
  cider: 'CIDEr-D (0–10)',
  closed_vqa_accuracy: 'Closed VQA accuracy',
  open_vqa_f1: 'Open VQA token F1',
  finding_f1: 'Finding F1 (labeller)',
  n_report: 'Report samples',
  n_vqa: 'VQA samples',
};

const root = el('main', { id: 'ctl-eval', className: 'ctl-eval' });
document.getElementById('app')!.append(root);
const header = el('div', { className: 'ctl-eval-header' });
const metricsBox = el('section', { className: 'ctl-section', attrs: { 'aria-label': 'Metrics' } });
const tbody = el('tbody');
const table = el('table', { className: 'ctl-eval-table' }, [
  el('thead', {}, [
    el('tr', {}, ['#', 'id', 'task', 'question', 'reference', 'model’s prediction', 'score', 'time'].map((h) => el('th', { text: h, attrs: { scope: 'col' } }))),
  ]),
  tbody,
]);
root.append(header, metricsBox, el('section', { className: 'ctl-section', attrs: { 'aria-label': 'Samples' } }, [el('h2', { text: 'Samples' }), table]));

let state: EvalState | null = null;

const channel = new MessageHandler<EvalViewToHost, EvalHostToView>(
  (envelope) => vscode.postMessage(envelope),
  (message) => {
    if (message.type === 'evalState') {
      state = message.state;
      renderAll();
    } else if (state) {
      state.rows.push(message.row);
      state.elapsedMs = message.elapsedMs;
      tbody.append(rowElement(message.row));
      renderHeader();
    }
    return undefined;
  },
);
window.addEventListener('message', (event) => void channel.receive(event.data));

function fmt(v: number | null, key: string): string {
  if (v === null) return '—';
  if (key.startsWith('n_')) return String(v);
  return key === 'cider' ? v.toFixed(3) : v.toFixed(4);
}

function rowElement(r: EvalRow): HTMLElement {
  const score =
    r.correct !== null ? (r.correct ? 'correct' : 'wrong') : r.score !== null ? `${r.task === 'report' ? 'ROUGE-L' : 'F1'} ${r.score.toFixed(3)}` : '—';
  const tr = el('tr', { className: 'ctl-eval-row', attrs: { 'data-id': r.id } }, [
    el('td', { className: 'ctl-num', text: String(r.index + 1) }),
    el('td', { text: r.id }),
    el('td', { text: r.task }),
    el('td', { className: 'ctl-eval-text', text: r.task === 'vqa' ? r.question : '' }),
    el('td', { className: 'ctl-eval-text', text: r.reference }),
    el('td', { className: 'ctl-eval-text', text: r.prediction }),
    el('td', { className: r.correct === false ? 'ctl-wrong' : r.correct ? 'ctl-right' : '', text: score }),
    el('td', { className: 'ctl-num', text: `${Math.round(r.ms)} ms` }),
  ]);
  return tr;
}

function renderMetrics(m: Metrics | null): void {
  metricsBox.replaceChildren(el('h2', { text: 'Metrics' }));
  if (!m) {
    metricsBox.append(el('p', { className: 'ctl-muted', text: state?.status === 'running' ? 'Scored when the run ends.' : 'No sample finished.' }));
    return;
  }
  const t = el('table', { id: 'ctl-eval-metrics', className: 'ctl-metrics' });
  for (const k of METRIC_KEYS) {
    t.append(el('tr', {}, [el('th', { text: METRIC_LABELS[k], attrs: { scope: 'row' } }), el('td', { className: 'ctl-num', text: fmt(m[k], k), attrs: { 'data-metric': k } })]));
  }
  metricsBox.append(t);
  if (state && state.status !== 'done') metricsBox.append(el('p', { className: 'ctl-warning', text: `Partial: ${state.rows.length} of ${state.total} samples.` }));
}

function renderHeader(): void {
  if (!state) return;
  const s = state;
  root.dataset.status = s.status;
  root.dataset.rows = String(s.rows.length);
  const statusText = { running: 'running', done: 'done', cancelled: 'stopped', failed: 'failed' }[s.status];
  const parts = [
    el('h1', { text: `Evaluation: ${s.dataset}` }),
    el('p', {
      text: `${s.rows.length} of ${s.total} samples · ${statusText} · ${(s.elapsedMs / 1000).toFixed(1)} s` +
        (s.model ? ` · ${s.model.name} ${s.model.version} on ${s.model.provider} · greedy` : ''),
    }),
  ];
  if (s.error) parts.push(el('p', { className: 'ctl-error', text: s.error }));
  if (s.savedAs) parts.push(el('p', { className: 'ctl-muted', text: `Saved as ${s.savedAs} beside the dataset.` }));
  const buttons = el('div', { className: 'ctl-button-row' });
  if (s.status === 'running') {
    const b = el('button', { className: 'ctl-btn', text: 'Stop', attrs: { type: 'button', 'data-action': 'cancel' } });
    b.addEventListener('click', () => channel.event({ type: 'cancel' }));
    buttons.append(b);
  } else if (s.rows.length) {
    const b = el('button', { className: 'ctl-btn', text: s.savedAs ? 'Save again' : 'Save results JSON', attrs: { type: 'button', 'data-action': 'save' } });
    b.addEventListener('click', () => channel.event({ type: 'save' }));
    buttons.append(b);
  }
  parts.push(buttons, el('p', { className: 'ctl-muted ctl-small', text: 'Research use only — the demo model is trained on synthetic phantoms.' }));
  header.replaceChildren(...parts);
}

function renderAll(): void {
  if (!state) return;
  renderHeader();
  renderMetrics(state.metrics);
  tbody.replaceChildren(...state.rows.map(rowElement));
}

channel.event({ type: 'ready' });
