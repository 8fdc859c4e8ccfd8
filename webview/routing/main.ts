// The Routing view's webview (activity bar "CT Lens" → Routing). It draws the host's RoutingState and sends the
// user's picks back; the host builds the heatmap overlay and sends it to the viewer. Built with createElement only
// (run labels are user questions).
//
// DOM contract (end-to-end tests): #ctl-routing[data-run][data-overlay][data-volume]; #ctl-routing-run (select);
// .ctl-gate[data-layer][data-group][data-value]; .ctl-expert[data-layer-index][data-group][data-expert]
// [aria-pressed]; [data-action=dominant|clear-heatmap|generate-report]; #ctl-heatmap-legend.

import { MessageHandler } from '../../src/shared/messaging';
import type { OverlayColormap } from '../../src/shared/overlay';
import type { HeatmapStyle, RoutingHostToView, RoutingLayerView, RoutingRunView, RoutingState, RoutingViewToHost } from '../../src/shared/routing-view-protocol';
import { el } from '../common/element';
import { colorbar, labelSwatch } from '../common/overlay-legend';

interface VsCodeApi {
  postMessage(message: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const app = document.getElementById('app')!;
const root = el('main', { id: 'ctl-routing', className: 'ctl-routing' });
app.append(root);

const channel = new MessageHandler<RoutingViewToHost, RoutingHostToView>(
  (envelope) => vscode.postMessage(envelope),
  (message) => {
    if (message.type === 'routingState') render(message.state);
    return undefined;
  },
);
window.addEventListener('message', (event) => void channel.receive(event.data));
const send = (m: RoutingViewToHost) => channel.event(m);

const pct = (v: number) => `${(v * 100).toFixed(1)}%`;

function button(text: string, action: string, title: string, onClick: () => void): HTMLButtonElement {
  const b = el('button', { className: 'ctl-btn', text, title, attrs: { type: 'button', 'data-action': action } });
  b.addEventListener('click', onClick);
  return b;
}

/** One group of a layer: its gate bar (with the compared run's gate as a marker), then its experts. */
function groupBlock(
  state: RoutingState,
  run: RoutingRunView,
  layerIndex: number,
  group: number,
  compare: RoutingLayerView | undefined,
  compareLabel: string,
): HTMLElement {
  const layer = run.layers[layerIndex]!;
  const g = layer.gates[group]!;
  const name = run.groupNames[group] ?? `group ${group}`;
  const fill = el('span', { className: 'ctl-bar-fill' });
  fill.style.width = pct(g);
  const bar = el('span', { className: 'ctl-bar' }, [fill]);
  const other = compare?.gates[group];
  if (other !== undefined) {
    const mark = el('span', { className: 'ctl-bar-mark', title: `${compareLabel}: ${pct(other)}` });
    mark.style.left = pct(other);
    bar.append(mark);
  }
  const delta = other !== undefined ? ` (${g >= other ? '+' : '−'}${(Math.abs(g - other) * 100).toFixed(1)} points vs the ${compareLabel})` : '';
  const gate = el(
    'div',
    {
      className: `ctl-gate${group === layer.chosenGroup ? ' ctl-chosen' : ''}`,
      attrs: { 'data-layer': String(layer.layer), 'data-group': String(group), 'data-value': String(g) },
      title: `Text-guided gate of ${name}: ${pct(g)}${delta}`,
    },
    [el('span', { className: 'ctl-gate-name', text: name }), bar, el('span', { className: 'ctl-num', text: pct(g) })],
  );

  const sel = state.selection;
  const experts = layer.experts.filter((e) => e.group === group);
  const E = Math.max(...layer.experts.map((e) => e.expert)) + 1;
  const list = el('div', { className: 'ctl-experts', attrs: { role: 'list', 'aria-label': `Experts of ${name}, layer ${layer.layer}` } });
  for (const e of experts) {
    const selected = sel?.kind === 'expert' && sel.layerIndex === layerIndex && sel.group === e.group && sel.expert === e.expert;
    const share = run.tokens > 0 ? e.tokens / run.tokens : 0;
    const load = el('span', { className: 'ctl-bar-fill' });
    load.style.width = pct(share);
    const row = el(
      'button',
      {
        className: 'ctl-expert',
        title: `${name} · expert ${e.expert}: chosen (top-${run.topK}) by ${e.tokens} of ${run.tokens} visual tokens; mean routing probability ${e.meanProb.toFixed(3)}. Click to draw its routing weight over the volume.`,
        attrs: {
          type: 'button',
          role: 'listitem',
          'aria-pressed': String(selected),
          'aria-label': `${name}, expert ${e.expert}: ${e.tokens} tokens`,
          'data-layer-index': String(layerIndex),
          'data-group': String(e.group),
          'data-expert': String(e.expert),
        },
      },
      [
        labelSwatch('labels', 1 + e.group * E + e.expert),
        el('span', { className: 'ctl-expert-name', text: `expert ${e.expert}` }),
        el('span', { className: 'ctl-bar ctl-bar-load' }, [load]),
        el('span', { className: 'ctl-num', text: `${e.tokens}` }),
        el('span', { className: 'ctl-num ctl-muted', text: e.meanProb.toFixed(2) }),
      ],
    );
    row.addEventListener('click', () => send({ type: 'selectExpert', layerIndex, group: e.group, expert: e.expert }));
    list.append(row);
  }
  return el('div', { className: 'ctl-group-block' }, [gate, list]);
}

function styleControls(state: RoutingState): HTMLElement {
  const style = state.style;
  const set = (s: Partial<HeatmapStyle>) => send({ type: 'setStyle', style: s });
  const colormap = el('select', { attrs: { 'aria-label': 'Colormap', 'data-control': 'colormap' } });
  for (const c of ['hot', 'viridis', 'jet', 'gray'] as const) {
    const o = el('option', { text: c, attrs: { value: c } });
    if (c === style.colormap) o.selected = true;
    colormap.append(o);
  }
  colormap.addEventListener('change', () => set({ colormap: colormap.value as OverlayColormap }));
  const opacity = el('input', { attrs: { type: 'range', min: '0', max: '1', step: '0.05', 'aria-label': 'Opacity', 'data-control': 'opacity' } });
  opacity.value = String(style.opacity);
  opacity.addEventListener('change', () => set({ opacity: Number(opacity.value) }));
  const threshold = el('input', { attrs: { type: 'number', min: '0', max: '1', step: '0.01', 'aria-label': 'Threshold', 'data-control': 'threshold' } });
  threshold.value = String(style.threshold);
  threshold.addEventListener('change', () => {
    const t = Number(threshold.value);
    if (Number.isFinite(t)) set({ threshold: Math.min(1, Math.max(0, t)) });
  });
  const scale = el('select', { attrs: { 'aria-label': 'Colour scale', 'data-control': 'scale' } });
  for (const [value, label] of [
    ['map', 'this map’s range'],
    ['unit', '0 to 1 (comparable)'],
  ] as const) {
    const o = el('option', { text: label, attrs: { value } });
    if (value === style.scale) o.selected = true;
    scale.append(o);
  }
  scale.addEventListener('change', () => set({ scale: scale.value === 'unit' ? 'unit' : 'map' }));
  const gated = el('input', { attrs: { type: 'checkbox', 'data-control': 'gated' } });
  gated.checked = style.gated;
  gated.addEventListener('change', () => set({ gated: gated.checked }));
  const field = (label: string, control: HTMLElement) => el('label', { className: 'ctl-field' }, [el('span', { text: label }), control]);
  return el('div', { className: 'ctl-style' }, [
    field('Colormap', colormap),
    field('Scale', scale),
    field('Opacity', opacity),
    field('Hide ≤', threshold),
    el('label', { className: 'ctl-check', title: 'Multiply by the layer’s group gate: the weight the expert’s output actually had' }, [
      gated,
      el('span', { text: 'weight × group gate' }),
    ]),
  ]);
}

function heatmapSection(state: RoutingState, run: RoutingRunView): HTMLElement {
  const sel = state.selection;
  const box = el('section', { className: 'ctl-section', attrs: { 'aria-label': 'Heatmap' } });
  box.append(el('h2', { text: 'Heatmap' }));
  if (!sel) {
    box.append(el('p', { className: 'ctl-muted', text: 'Pick an expert above to draw its routing weight over the volume (slice views and 3D).' }));
    return box;
  }
  const layer = run.layers[sel.layerIndex];
  const title =
    sel.kind === 'expert'
      ? `Layer ${layer?.layer ?? '?'} · ${run.groupNames[sel.group] ?? `group ${sel.group}`} · expert ${sel.expert}`
      : `Layer ${layer?.layer ?? '?'} · dominant expert per token`;
  box.append(el('p', { className: 'ctl-heatmap-title', text: title }));
  const legend = el('div', { id: 'ctl-heatmap-legend', className: 'ctl-legend' });
  if (sel.kind === 'expert') {
    legend.append(
      colorbar(state.style.colormap),
      el('div', { className: 'ctl-colorbar-labels' }, [
        el('span', { text: (state.heatmapRange?.[0] ?? 0).toFixed(3) }),
        el('span', { className: 'ctl-muted', text: state.style.gated ? 'routing weight × gate' : 'routing probability' }),
        el('span', { text: (state.heatmapRange?.[1] ?? 1).toFixed(3) }),
      ]),
    );
  } else if (layer) {
    const E = Math.max(...layer.experts.map((e) => e.expert)) + 1;
    for (const e of layer.experts) {
      legend.append(el('span', { className: 'ctl-legend-item' }, [labelSwatch('labels', 1 + e.group * E + e.expert), `${run.groupNames[e.group] ?? e.group} · ${e.expert}`]));
    }
  }
  box.append(legend, styleControls(state), button('Clear heatmap', 'clear-heatmap', 'Remove the heatmap from the viewer', () => send({ type: 'clearHeatmap' })));
  if (state.error) box.append(el('p', { className: 'ctl-error', text: state.error }));
  return box;
}

function render(state: RoutingState): void {
  root.replaceChildren();
  root.dataset.volume = state.volume ?? '';
  if (state.run) root.dataset.run = state.run.id;
  else delete root.dataset.run;
  if (state.overlayId) root.dataset.overlay = state.overlayId;
  else delete root.dataset.overlay;

  if (!state.volume) {
    root.append(
      el('p', { className: 'ctl-muted', text: 'Open a CT volume in the CT Lens viewer, then generate a report or ask a question: this view shows how the model’s vision encoder routed it.' }),
      button('Open the sample chest CT', 'open-sample', 'A synthetic chest CT phantom of the kind the bundled model was trained on', () => send({ type: 'openSample' })),
    );
    return;
  }
  const run = state.run;
  if (!run) {
    root.append(
      el('p', { className: 'ctl-muted', text: `No finished report or answer for ${state.volume} yet.` }),
      button('Generate report', 'generate-report', 'CT Lens: Generate Report', () => send({ type: 'generateReport' })),
    );
    return;
  }

  const picker = el('select', { id: 'ctl-routing-run', attrs: { 'aria-label': 'Run' } });
  for (const r of state.runs) {
    const o = el('option', { text: r.label, attrs: { value: r.id } });
    if (r.id === run.id) o.selected = true;
    picker.append(o);
  }
  picker.addEventListener('change', () => send({ type: 'selectRun', id: picker.value }));
  const perGroup = run.layers[0] ? run.layers[0].experts.length / Math.max(1, run.groupNames.length) : 0;
  root.append(
    el('div', { className: 'ctl-run-picker' }, [el('label', { text: 'Run', attrs: { for: 'ctl-routing-run' } }), picker]),
    el('p', {
      className: 'ctl-muted',
      text: `${state.volume} · ${run.tokens} visual tokens (${run.grid.join('×')}) · top-${run.topK} of ${perGroup} experts in each of ${run.groupNames.length} groups`,
    }),
  );
  const compareLabel = state.compare ? (state.compare.task === 'report' ? 'report' : 'last answer') : '';
  run.layers.forEach((layer, li) => {
    const section = el('section', { className: 'ctl-section', attrs: { 'aria-label': `Layer ${layer.layer}` } });
    const chosen = run.groupNames[layer.chosenGroup] ?? `group ${layer.chosenGroup}`;
    section.append(
      el('h2', { text: `Layer ${layer.layer} · gate → ${chosen}` }),
      el('div', { className: 'ctl-columns ctl-muted' }, [el('span', { text: 'group gate · experts' }), el('span', { text: 'tokens · mean p' })]),
      ...layer.gates.map((_, g) => groupBlock(state, run, li, g, state.compare?.layers[li], compareLabel)),
      button('Dominant expert map', 'dominant', 'Per visual token, the expert with the largest gated weight in this layer', () =>
        send({ type: 'selectDominant', layerIndex: li }),
      ),
    );
    root.append(section);
  });
  if (state.compare) {
    root.append(
      el('p', {
        className: 'ctl-muted ctl-compare-note',
        text: `Markers on the gate bars: the ${compareLabel} (“${state.compare.label}”). The gate depends only on the prompt's text guidance, so it moves between a report and a question on the same volume.`,
      }),
    );
  }
  root.append(heatmapSection(state, run));
}

send({ type: 'ready' });
