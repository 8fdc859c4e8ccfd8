import assert from 'node:assert/strict';
import { expertOverlay, summarizeRouting } from '../../../src/core/model/routing';
import type { Task } from '../../../src/core/model/task';
import { comparisonRun, heatmapOverlay, routingRunView, runLabel, selectionFits, type RoutedRun } from '../../../src/extension/views/routing-model';
import type { RoutingData } from '../../../src/shared/modelhost-protocol';
import { validateOverlay } from '../../../src/shared/overlay';
import type { RunInfo } from '../../../src/shared/protocol';
import { DEFAULT_HEATMAP_STYLE } from '../../../src/shared/routing-view-protocol';

/** A routing of K=2 layers, G=2 groups, E=2 experts over a 1×2×2 grid, with known numbers. */
function routing(): RoutingData {
  const K = 2;
  const N = 4;
  const G = 2;
  const E = 2;
  const probs = new Float32Array(K * N * G * E);
  for (let k = 0; k < K; k++) for (let t = 0; t < N; t++) for (let g = 0; g < G; g++) {
    // Expert 0 gets 0.2 + 0.1·t, expert 1 the rest; in layer 1 token 3 does not pick expert 1 of group 1 (top-k).
    const p0 = 0.2 + 0.1 * t;
    probs[((k * N + t) * G + g) * E] = p0;
    probs[((k * N + t) * G + g) * E + 1] = k === 1 && t === 3 && g === 1 ? 0 : 1 - p0;
  }
  return {
    groupGates: new Float32Array([0.3, 0.7, 0.6, 0.4]),
    routerProbs: probs,
    layers: [4, 5],
    groups: G,
    experts: E,
    topK: 2,
    grid: [1, 2, 2],
    groupNames: ['report', ''],
    geometry: { canonicalDims: [4, 4, 2], canonicalAffine: [[2, 0, 0, -3], [0, 2, 0, -3], [0, 0, 3, 0], [0, 0, 0, 1]] },
  };
}

function run(id: string, task: Task, startedAt: number, question?: string): RoutedRun {
  const info: RunInfo = { id, task, status: 'done', text: '', chunks: 0, startedAt, ...(question ? { question } : {}) };
  const r = routing();
  // As the model host sends it: the routing and its summary (GenerateResult.routingSummary).
  return { info, routing: r, summary: summarizeRouting(r) };
}

describe('extension/views/routing-model', () => {
  it('summarises gates and per-expert loads per layer from the router outputs', () => {
    const v = routingRunView(run('r1', 'report', 0))!;
    assert.deepEqual(v.groupNames, ['report', 'group 1'], 'an empty group name is named by its index');
    assert.equal(v.tokens, 4);
    assert.deepEqual(v.layers.map((l) => l.layer), [4, 5]);
    assert.deepEqual(v.layers[0]!.gates.map((g) => +g.toFixed(3)), [0.3, 0.7]);
    assert.equal(v.layers[0]!.chosenGroup, 1);
    assert.equal(v.layers[1]!.chosenGroup, 0);
    const e = v.layers[1]!.experts.find((x) => x.group === 1 && x.expert === 1)!;
    assert.equal(e.tokens, 3, 'token 3 did not pick it');
    assert.ok(Math.abs(e.meanProb - (0.8 + 0.7 + 0.6 + 0) / 4) < 1e-6);
    assert.equal(v.topK, 2, 'the routing’s own top-k');
    assert.equal(routingRunView({ info: run('x', 'report', 0).info }), null);
    assert.equal(routingRunView({ ...run('x', 'report', 0), summary: undefined }), null, 'no summary from the host: nothing to show');
    // The view shows the host's summary as it came; it does not recompute it from the router outputs.
    const sent = run('r2', 'report', 0);
    sent.summary = { ...sent.summary!, experts: sent.summary!.experts.map((x) => ({ ...x, tokens: 99 })) };
    assert.ok(routingRunView(sent)!.layers.every((l) => l.experts.every((x) => x.tokens === 99)));
  });

  it('draws an expert’s weight as a scalar overlay: the router probabilities, optionally × gate, on the map’s or the unit scale', () => {
    const r = routing();
    const o = heatmapOverlay('r1', r, { kind: 'expert', layerIndex: 1, group: 1, expert: 0 }, DEFAULT_HEATMAP_STYLE);
    assert.equal(validateOverlay(o), null);
    assert.equal(o.id, 'r1/routing/L5/G1/E0');
    assert.deepEqual([...o.data].map((x) => +x.toFixed(3)), [0.2, 0.3, 0.4, 0.5]);
    assert.deepEqual(o.data, expertOverlay(r, 1, 1, 0).data);
    assert.deepEqual(o.range!.map((x) => +x.toFixed(3)), [0.2, 0.5], 'map scale: the map’s own min..max');
    assert.equal(o.threshold, DEFAULT_HEATMAP_STYLE.threshold);
    const unit = heatmapOverlay('r1', r, { kind: 'expert', layerIndex: 1, group: 1, expert: 0 }, { ...DEFAULT_HEATMAP_STYLE, scale: 'unit', gated: true, colormap: 'viridis', opacity: 0.8 });
    assert.deepEqual(unit.range, [0, 1]);
    assert.deepEqual([...unit.data].map((x) => +x.toFixed(3)), [0.08, 0.12, 0.16, 0.2], '× the layer’s gate of group 1 (0.4)');
    assert.equal(unit.colormap, 'viridis');
    assert.equal(unit.opacity, 0.8);
    const flat = heatmapOverlay('r1', { ...r, routerProbs: new Float32Array(r.routerProbs.length).fill(0.5) }, { kind: 'expert', layerIndex: 0, group: 0, expert: 0 }, DEFAULT_HEATMAP_STYLE);
    assert.ok(flat.range![1] > flat.range![0], 'a constant map still gets a non-empty range');
  });

  it('draws the dominant expert as a label map and checks selections against the routing shape', () => {
    const r = routing();
    const d = heatmapOverlay('q2', r, { kind: 'dominant', layerIndex: 0 }, DEFAULT_HEATMAP_STYLE);
    assert.equal(d.kind, 'label');
    assert.equal(validateOverlay(d), null);
    // Layer 4: group 1 has gate 0.7; its expert 1 (label 1 + 1·2 + 1, weight 1 − p0) wins while p0 < 0.5; at token
    // 3 both of its experts weigh 0.35 and the first (expert 0, label 3) is kept.
    assert.deepEqual([...d.data], [4, 4, 4, 3]);
    assert.ok(selectionFits({ kind: 'expert', layerIndex: 1, group: 1, expert: 1 }, r));
    assert.ok(!selectionFits({ kind: 'expert', layerIndex: 2, group: 0, expert: 0 }, r));
    assert.ok(!selectionFits({ kind: 'expert', layerIndex: 0, group: 0, expert: 2 }, r));
    assert.ok(selectionFits({ kind: 'dominant', layerIndex: 1 }, r));
  });

  it('compares an answer with the report, and a report with the latest answer; labels runs', () => {
    const report = run('report-1', 'report', 1);
    const q1 = run('vqa-2', 'vqa', 2, 'Is there a nodule?');
    const q2 = run('vqa-3', 'vqa', 3, 'Which lobe? Choices: A. x. B. y.');
    const runs = [report, q1, q2];
    assert.equal(comparisonRun(runs, q1), report);
    assert.equal(comparisonRun(runs, report), q2);
    assert.equal(comparisonRun([q1], q1), null);
    assert.equal(runLabel(report.info), 'Report');
    assert.equal(runLabel(q2.info), 'Q: Which lobe?');
    assert.equal(runLabel(run('v', 'vqa', 0, 'x'.repeat(80)).info).length, 61);
  });
});
