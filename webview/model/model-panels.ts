// The Report and Chat tabs of the viewer's side panel. They only draw what the extension host says about the
// volume's model runs (src/shared/protocol.ts: modelState, runUpdate, runText) and send the user's requests back;
// the runs themselves live in the extension host, so a viewer that was hidden and reloaded shows them again.
//
// DOM contract (used by the end-to-end tests, beside C3):
//   #ctl-report[data-status=none|queued|running|done|cancelled|failed][data-run][data-chunks]
//   #ctl-report-text (the model's text only), #ctl-report-meta, #ctl-report-notices
//   [data-action=generate-report|stop-report|save-report|copy-report|report-routing]
//   #ctl-chat, .ctl-turn[data-run][data-status][data-chunks] holding .ctl-turn-question, .ctl-turn-answer and, for
//   multiple-choice questions, .ctl-choice[data-choice=0..3][data-picked]; #ctl-chat-input (Enter sends, Shift+Enter
//   new line, Escape stops); [data-action=send|stop-chat|clear-chat]; .ctl-suggestion buttons.

import type { ModelPanelState, RunInfo, RunResultInfo, RunStage, SuggestedQuestion } from '../../src/shared/protocol';
import { choiceLetter } from '../../src/shared/multiple-choice';
import { providerName } from '../../src/shared/provider-label';
import { el } from '../common/element';
import type { Viewer } from '../viewer/viewer';

export interface ModelPanelActions {
  generateReport(): void;
  ask(question: string): void;
  cancel(id?: string): void;
  saveReport(): void;
  copy(id: string): void;
  clearChat(): void;
  inspectRouting(id: string): void;
}

const STAGE_TEXT: Record<RunStage, string> = {
  loading: 'Loading the model…',
  preprocessing: 'Preparing the volume…',
  vision: 'Encoding the volume…',
  prefill: 'Reading the prompt…',
  decode: 'Writing…',
};

function vsButton(label: string, action: string, title: string, secondary = true): HTMLElement {
  const b = document.createElement('vscode-button');
  if (secondary) b.setAttribute('secondary', '');
  b.dataset.action = action;
  b.title = title;
  b.textContent = label;
  return b;
}

function ms(v: number): string {
  return v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`;
}

/** "ctlens-tghmoe-demo 1.0 · CPU (or WebGPU, CUDA) · vision 51 ms · prefill 20 ms · 192 tokens in 504 ms (379 tokens/s) · greedy" */
export function resultLine(r: RunResultInfo): string {
  const t = r.timings;
  const parts = [
    `${r.model} ${r.version}`,
    providerName(r.provider),
    `vision ${ms(t.visionMs)}`,
    `prefill ${ms(t.prefillMs)}`,
    `${t.newTokens} tokens in ${ms(t.decodeMs)}${t.tokensPerSecond > 0 ? ` (${t.tokensPerSecond.toFixed(0)} tokens/s)` : ''}`,
    `total ${ms(t.totalMs)}`,
    ...(r.firstTextMs !== undefined ? [`first text after ${ms(r.firstTextMs)}`] : []),
    r.decoding,
  ];
  if (r.finishReason === 'length') parts.push('stopped at the token limit');
  return parts.join(' · ');
}

function statusText(run: RunInfo): string {
  switch (run.status) {
    case 'queued':
      return 'Waiting for the model…';
    case 'running':
      return STAGE_TEXT[run.stage ?? 'loading'];
    case 'cancelled':
      return run.text ? 'Stopped — the text so far is kept.' : 'Stopped.';
    case 'failed':
      return run.error ?? 'Failed.';
    case 'done':
      return '';
  }
}

const unfinished = (run: RunInfo | null | undefined) => !!run && (run.status === 'queued' || run.status === 'running');

export class ModelPanels {
  private state: ModelPanelState = { report: null, chat: [], suggestions: [], researchNotice: '' };
  private readonly report: HTMLElement;
  private readonly reportText: HTMLElement;
  private readonly reportStatus: HTMLElement;
  private readonly reportMeta: HTMLElement;
  private readonly reportNotices: HTMLElement;
  private readonly reportButtons: Record<'generate' | 'stop' | 'save' | 'copy' | 'routing', HTMLElement>;
  private readonly researchNotice: HTMLElement;
  private readonly chat: HTMLElement;
  private readonly turns: HTMLElement;
  private readonly suggestions: HTMLElement;
  private readonly input: HTMLTextAreaElement;
  private readonly sendButton: HTMLElement;
  private readonly stopButton: HTMLElement;
  private readonly turnElements = new Map<string, HTMLElement>();

  constructor(
    private readonly viewer: Viewer,
    private readonly actions: ModelPanelActions,
  ) {
    // ------------------------------------------------------------ Report tab
    const reportBox = viewer.addPanel('report', 'Report');
    this.reportButtons = {
      generate: vsButton('Generate report', 'generate-report', 'Run the model on this volume (CT Lens: Generate Report)', false),
      stop: vsButton('Stop', 'stop-report', 'Stop generating (Escape)'),
      save: vsButton('Save as Markdown', 'save-report', 'Save the report beside the volume as Markdown'),
      copy: vsButton('Copy', 'copy-report', 'Copy the report and its notices'),
      routing: vsButton('Routing', 'report-routing', 'Show how the vision encoder routed this run (Routing view)'),
    };
    this.reportButtons.generate.addEventListener('click', () => this.actions.generateReport());
    this.reportButtons.stop.addEventListener('click', () => this.state.report && this.actions.cancel(this.state.report.id));
    this.reportButtons.save.addEventListener('click', () => this.actions.saveReport());
    this.reportButtons.copy.addEventListener('click', () => this.state.report && this.actions.copy(this.state.report.id));
    this.reportButtons.routing.addEventListener('click', () => this.state.report && this.actions.inspectRouting(this.state.report.id));
    this.researchNotice = el('p', { className: 'ctl-research-notice', attrs: { role: 'note' } });
    this.reportStatus = el('p', { className: 'ctl-run-status', attrs: { role: 'status', 'aria-live': 'polite' } });
    this.reportText = el('div', { id: 'ctl-report-text', className: 'ctl-run-text', attrs: { 'aria-live': 'off' } });
    this.reportMeta = el('p', { id: 'ctl-report-meta', className: 'ctl-run-meta' });
    this.reportNotices = el('ul', { id: 'ctl-report-notices', className: 'ctl-run-notices' });
    this.report = el('section', { id: 'ctl-report', className: 'ctl-report', attrs: { 'data-status': 'none', 'aria-label': 'Report' } }, [
      el('div', { className: 'ctl-button-row' }, [this.reportButtons.generate, this.reportButtons.stop]),
      this.reportStatus,
      this.reportText,
      this.reportMeta,
      this.reportNotices,
      el('div', { className: 'ctl-button-row' }, [this.reportButtons.save, this.reportButtons.copy, this.reportButtons.routing]),
      this.researchNotice,
    ]);
    reportBox.append(this.report);

    // ------------------------------------------------------------ Chat tab
    const chatBox = viewer.addPanel('chat', 'Chat');
    this.turns = el('div', { className: 'ctl-turns', attrs: { role: 'log', 'aria-label': 'Questions and answers' } });
    this.suggestions = el('div', { className: 'ctl-suggestions', attrs: { 'aria-label': 'Suggested questions' } });
    this.input = el('textarea', {
      id: 'ctl-chat-input',
      className: 'ctl-chat-input',
      attrs: {
        rows: '2',
        placeholder: 'Ask about this volume… (Enter sends, Shift+Enter new line, Escape stops)',
        'aria-label': 'Question about this volume',
        spellcheck: 'true',
      },
    });
    this.sendButton = vsButton('Ask', 'send', 'Send the question (Enter)', false);
    this.stopButton = vsButton('Stop', 'stop-chat', 'Stop the answer (Escape)');
    const clear = vsButton('Clear', 'clear-chat', 'Forget this volume’s questions and answers');
    this.sendButton.addEventListener('click', () => this.send());
    this.stopButton.addEventListener('click', () => this.stopChat());
    clear.addEventListener('click', () => this.actions.clearChat());
    this.input.addEventListener('keydown', (event) => {
      // The viewer listens for keys on the document (slice navigation); typing here must not reach it.
      event.stopPropagation();
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.send();
      } else if (event.key === 'Escape') {
        event.preventDefault();
        this.stopChat();
      }
    });
    this.chat = el('section', { id: 'ctl-chat', className: 'ctl-chat', attrs: { 'aria-label': 'Chat' } }, [
      this.turns,
      this.suggestions,
      el('div', { className: 'ctl-composer' }, [this.input, el('div', { className: 'ctl-button-row' }, [this.sendButton, this.stopButton, clear])]),
    ]);
    chatBox.append(this.chat);
    // Escape anywhere in the chat tab (a button has focus) stops too.
    this.chat.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') this.stopChat();
    });
    this.render();
  }

  setState(state: ModelPanelState): void {
    this.state = { ...state, chat: [...state.chat] };
    this.turns.replaceChildren();
    this.turnElements.clear();
    this.render();
  }

  updateRun(run: RunInfo): void {
    if (run.task === 'report') {
      this.state.report = run;
      this.renderReport();
      return;
    }
    const at = this.state.chat.findIndex((r) => r.id === run.id);
    if (at >= 0) this.state.chat[at] = run;
    else this.state.chat.push(run);
    this.renderTurn(run);
    this.renderComposer();
  }

  appendText(id: string, text: string, chunks: number): void {
    const { report } = this.state;
    if (report?.id === id) {
      report.text += text;
      report.chunks = chunks;
      this.reportText.append(text);
      this.report.dataset.chunks = String(chunks);
      return;
    }
    const run = this.state.chat.find((r) => r.id === id);
    if (!run) return;
    run.text += text;
    run.chunks = chunks;
    const turn = this.turnElements.get(id);
    if (!turn) return;
    turn.dataset.chunks = String(chunks);
    turn.querySelector('.ctl-turn-answer')?.append(text);
    this.scrollChat();
  }

  /** A command from the palette: bring the tab forward; a question pre-fills the input (the user presses Enter). */
  show(panel: 'report' | 'chat', question?: string): void {
    this.viewer.showPanel(panel);
    if (panel === 'chat') {
      if (question !== undefined) this.input.value = question;
      this.input.focus();
    }
  }

  // ---------------------------------------------------------------- rendering

  private render(): void {
    this.researchNotice.textContent = this.state.researchNotice;
    this.renderReport();
    for (const run of this.state.chat) this.renderTurn(run);
    this.renderSuggestions();
    this.renderComposer();
  }

  private renderReport(): void {
    const run = this.state.report;
    const busy = unfinished(run);
    this.report.dataset.status = run?.status ?? 'none';
    if (run) this.report.dataset.run = run.id;
    else delete this.report.dataset.run;
    this.report.dataset.chunks = String(run?.chunks ?? 0);
    this.reportText.textContent = run?.text ?? '';
    this.reportText.hidden = !run?.text;
    this.reportStatus.textContent = run ? statusText(run) : 'No report yet. Generate one, or run CT Lens: Generate Report.';
    this.reportStatus.classList.toggle('ctl-run-error', run?.status === 'failed');
    this.reportMeta.textContent = run?.result ? resultLine(run.result) : '';
    this.reportMeta.hidden = !run?.result;
    this.reportNotices.replaceChildren(...(run?.result?.notices ?? []).map((n) => el('li', { text: n })));
    this.reportNotices.hidden = !run?.result?.notices.length;
    this.reportButtons.stop.hidden = !busy;
    this.reportButtons.generate.toggleAttribute('disabled', busy);
    this.reportButtons.generate.textContent = run ? 'Generate again' : 'Generate report';
    const finished = !!run && run.status === 'done';
    for (const b of [this.reportButtons.save, this.reportButtons.copy]) b.toggleAttribute('disabled', !run?.text || busy);
    this.reportButtons.routing.toggleAttribute('disabled', !finished);
  }

  private renderTurn(run: RunInfo): void {
    let turn = this.turnElements.get(run.id);
    if (!turn) {
      turn = el('article', { className: 'ctl-turn', attrs: { 'data-run': run.id } });
      this.turnElements.set(run.id, turn);
      this.turns.append(turn);
    }
    turn.dataset.status = run.status;
    turn.dataset.chunks = String(run.chunks);
    const question = el('div', { className: 'ctl-turn-question' });
    const stem = run.choices ? (run.question ?? '').replace(/\s*Choices\s*:[\s\S]*$/i, '') : (run.question ?? '');
    question.append(el('span', { className: 'ctl-turn-who', text: 'You' }), el('span', { text: stem }));
    const parts: Node[] = [question];
    if (run.choices) {
      const picked = run.result?.pickedChoice;
      const list = el('ol', { className: 'ctl-choices', attrs: { type: 'A', 'aria-label': 'Choices' } });
      run.choices.forEach((choice, n) => {
        const item = el('li', { className: 'ctl-choice', attrs: { 'data-choice': String(n) } }, [
          el('span', { className: 'ctl-choice-letter', text: `${choiceLetter(n)}.` }),
          el('span', { text: choice }),
        ]);
        if (picked === n) {
          item.dataset.picked = 'true';
          item.append(el('span', { className: 'ctl-choice-mark', text: 'model’s answer' }));
        }
        list.append(item);
      });
      parts.push(list);
    }
    const answer = el('div', { className: 'ctl-turn-answer', text: run.text });
    answer.setAttribute('aria-label', 'Answer');
    parts.push(el('span', { className: 'ctl-turn-who', text: 'Model' }), answer);
    const status = statusText(run);
    if (status) parts.push(el('p', { className: `ctl-run-status${run.status === 'failed' ? ' ctl-run-error' : ''}`, text: status }));
    if (run.result) {
      parts.push(el('p', { className: 'ctl-run-meta', text: resultLine(run.result) }));
      const extra = run.result.notices.slice(1); // the first is the research-use line shown under the chat
      if (extra.length) parts.push(el('ul', { className: 'ctl-run-notices' }, extra.map((n) => el('li', { text: n }))));
    }
    if (run.status === 'done' || run.status === 'cancelled') {
      const copy = vsButton('Copy', 'copy-answer', 'Copy the question, answer and notices');
      copy.addEventListener('click', () => this.actions.copy(run.id));
      const row = el('div', { className: 'ctl-button-row' }, [copy]);
      if (run.status === 'done') {
        const routing = vsButton('Routing', 'answer-routing', 'Show how the vision encoder routed this question');
        routing.addEventListener('click', () => this.actions.inspectRouting(run.id));
        row.append(routing);
      }
      parts.push(row);
    }
    turn.replaceChildren(...parts);
    this.scrollChat();
  }

  private renderSuggestions(): void {
    const list = this.state.suggestions;
    this.suggestions.replaceChildren();
    this.suggestions.hidden = list.length === 0;
    if (!list.length) return;
    this.suggestions.append(el('div', { className: 'ctl-muted', text: `Suggested${this.state.suggestionsFrom ? ` (from ${this.state.suggestionsFrom})` : ''}:` }));
    for (const s of list) this.suggestions.append(this.suggestionButton(s));
  }

  private suggestionButton(s: SuggestedQuestion): HTMLElement {
    const b = el('button', { className: 'ctl-suggestion', attrs: { type: 'button' } });
    const stem = s.choices ? s.question.replace(/\s*Choices\s*:[\s\S]*$/i, '') : s.question;
    b.append(el('span', { text: stem }));
    if (s.choices) {
      b.append(
        el('span', { className: 'ctl-suggestion-choices' }, s.choices.map((c, n) => el('span', { className: 'ctl-chip', text: `${choiceLetter(n)}. ${c}` }))),
      );
    }
    b.title = 'Put this question in the input (Enter sends it)';
    b.addEventListener('click', () => {
      this.input.value = s.question;
      this.input.focus();
    });
    return b;
  }

  private renderComposer(): void {
    const busy = this.state.chat.some(unfinished);
    this.stopButton.hidden = !busy;
    this.chat.dataset.busy = busy ? 'true' : 'false';
  }

  private send(): void {
    const question = this.input.value.trim();
    if (!question) return;
    this.actions.ask(question);
    this.input.value = '';
  }

  private stopChat(): void {
    for (const run of this.state.chat) if (unfinished(run)) this.actions.cancel(run.id);
  }

  private scrollChat(): void {
    const side = this.turns.closest('.ctl-side');
    if (side) side.scrollTop = side.scrollHeight;
  }
}
