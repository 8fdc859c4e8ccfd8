// The run JSON and file names that `CT Lens: Save Heatmap as NIfTI` writes beside the volume.
import * as assert from 'node:assert/strict';
import { heatmapFileName, runFileName, runJson } from '../../../src/extension/views/research-export';
import { summarizeRouting } from '../../../src/core/model/routing';
import type { RoutingData } from '../../../src/shared/modelhost-protocol';
import type { RunInfo } from '../../../src/shared/protocol';

const routing = {
  groupGates: Float32Array.from([0.7, 0.3, 0.2, 0.8]),
  // 2 layers × 2 tokens × 2 groups × 2 experts
  routerProbs: Float32Array.from([1, 0, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 0, 1, 0, 1]),
  layers: [3, 7],
  groups: 2,
  experts: 2,
  grid: [1, 1, 2],
  groupNames: ['lung', 'mediastinum'],
  geometry: {},
} as unknown as RoutingData;

const info: RunInfo = {
  id: 'r1:2',
  task: 'vqa',
  question: 'Is there an effusion?',
  status: 'done',
  text: 'No.',
  chunks: 2,
  startedAt: Date.UTC(2026, 0, 2),
  result: {
    model: 'ctlens-tghmoe-demo',
    version: '0.1.0',
    provider: 'cpu',
    timings: { visionMs: 1, prefillMs: 2, decodeMs: 3, totalMs: 6, promptTokens: 10, newTokens: 2, tokensPerSecond: 5 },
    notices: [],
    finishReason: 'eos',
    decoding: 'greedy',
    firstTextMs: 40,
  },
} as RunInfo;

describe('extension/views/research-export', () => {
  it('names the files after the volume, run and selection', () => {
    assert.equal(heatmapFileName('head.nii.gz', 'r1:2', routing, { kind: 'expert', layerIndex: 1, group: 1, expert: 0 }), 'head.routing-r1_2-L7-g1e0.nii.gz');
    assert.equal(heatmapFileName('ct.dcm', 'x', routing, { kind: 'dominant', layerIndex: 0 }), 'ct.routing-x-L3-dominant.nii.gz');
    assert.equal(runFileName('head.nii', 'r1:2'), 'head.run-r1_2.json');
  });

  it('the run JSON holds text, package, provider, timings, gates and per-expert load', () => {
    const j = JSON.parse(JSON.stringify(runJson('head.nii.gz', info, { routing, summary: summarizeRouting(routing) })));
    assert.equal(j.run.question, 'Is there an effusion?');
    assert.equal(j.run.text, 'No.');
    assert.deepEqual(j.package, { model: 'ctlens-tghmoe-demo', version: '0.1.0' });
    assert.equal(j.provider, 'cpu');
    assert.equal(j.timings.firstTextMs, 40);
    assert.deepEqual(j.routing.layers, [3, 7]);
    assert.equal(j.routing.gates.length, 2);
    assert.equal(j.routing.gates[0].chosenGroupName, 'lung');
    assert.equal(j.routing.expertLoad.length, 2 * 2 * 2);
    assert.ok(j.routing.expertLoad.every((e: { tokens: number }) => Number.isInteger(e.tokens)));
  });
});
