// Parity with PyTorch on the WebGPU provider — the GPU code path, tested on every CI run without a GPU (issue 15):
// Dawn on Chromium's SwiftShader (software Vulkan), with the KV cache kept as GPU buffers between steps. Software
// Vulkan is slow, so this runs a subset that covers the report and every question type (parity.test.ts runs all
// references on the CPU):
//   fixture-00-report  the report's first 16 greedy steps (of the reference's 96 fixed steps)
//   fixture-00-q0      closed yes/no         fixture-00-q2  multiple choice
//   fixture-00-q3      open, location        fixture-00-q4  open, size
// the VQA cases free-running to the model's own stop (tokens and text equal). The model is loaded with `auto`, so
// the same run checks that auto picks WebGPU where an adapter exists, after CUDA on Linux.
//
// Without Chromium's ICD, or where Dawn finds no adapter, the suite is skipped — and fails under
// CTLENS_REQUIRE_BROWSER=1 (CI sets it; its Chromium provides the ICD).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { ProviderReport } from '../../../src/shared/modelhost-protocol';
import { REPO } from './package-fixture';
import { assertGreedy, maxAbsDiff, refs, type GreedyRun } from './parity-references';
import { webGpuEnvOrSkip } from './software-vulkan';

/** Stated tolerances on WebGPU (fp32): measured worst on SwiftShader is printed by the suite. */
export const WEBGPU_TOLERANCE = { logits: 1e-3, gates: 1e-4, features: 1e-4 };

export const WEBGPU_SUBSET = [
  { id: 'fixture-00-report', steps: 16 },
  { id: 'fixture-00-q0' },
  { id: 'fixture-00-q2' },
  { id: 'fixture-00-q3' },
  { id: 'fixture-00-q4' },
];

export interface ChildResult {
  provider: ProviderReport;
  kvCacheLocation: string | null;
  loadMs: number;
  features: { id: string; head: number[]; meanAbs: number };
  runs: GreedyRun[];
}

/** Runs parity-webgpu-child.ts under `env`; rejects with its stderr when it fails. */
export function runParityChild(env: NodeJS.ProcessEnv, choice: string, subset: { id: string; steps?: number }[], dtype?: string): Promise<{ result: ChildResult; stderr: string; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const args = ['--import', 'tsx', join(__dirname, 'parity-webgpu-child.ts'), choice, JSON.stringify(subset), ...(dtype ? [dtype] : [])];
    const child = spawn(process.execPath, args, { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`parity child exited with ${code}:\n${stderr.slice(-3000)}`));
      resolve({ result: JSON.parse(stdout.trim().split('\n').at(-1)!) as ChildResult, stderr, ms: performance.now() - t0 });
    });
  });
}

describe('core/model parity with PyTorch on WebGPU (software Vulkan)', function () {
  this.timeout(1_800_000);
  let child: { result: ChildResult; stderr: string; ms: number };

  before(async function () {
    const got = { env: await webGpuEnvOrSkip(this) };
    child = await runParityChild(got.env, 'auto', WEBGPU_SUBSET);
    console.log(`      ${WEBGPU_SUBSET.length} cases on ${child.result.provider.used} in ${(child.ms / 1000).toFixed(1)} s (load ${(child.result.loadMs / 1000).toFixed(1)} s)`);
  });

  it('auto picks WebGPU where an adapter exists, after CUDA on Linux, and lists what it tried', () => {
    const { requested, used, attempts } = child.result.provider;
    assert.equal(requested, 'auto');
    const cudaInstalled = attempts.some((a) => a.provider === 'cuda' && a.ok);
    if (cudaInstalled) return; // a machine with the CUDA provider runs it first, rightly
    assert.equal(used, 'webgpu');
    const order = attempts.map((a) => a.provider);
    assert.deepEqual(order, process.platform === 'linux' ? ['cuda', 'webgpu'] : order.slice(0, -1).concat('webgpu'));
    assert.ok(attempts.slice(0, -1).every((a) => !a.ok && typeof a.error === 'string' && a.error.length > 0), 'each failed provider says why');
    assert.equal(attempts.at(-1)!.ok, true);
  });

  it('keeps the KV cache on the device between steps (present.* as GPU buffers)', () => {
    assert.equal(child.result.kvCacheLocation, 'gpu-buffer');
  });

  it(`image features within ${WEBGPU_TOLERANCE.features} of PyTorch`, () => {
    const f = child.result.features;
    const c = refs.cases.find((x) => x.id === f.id)!;
    const diff = maxAbsDiff(f.head, c.image_features_head);
    console.log(`      image-feature max abs diff ${diff.toExponential(2)}`);
    assert.ok(diff <= WEBGPU_TOLERANCE.features, `image features max abs diff ${diff}`);
    assert.ok(Math.abs(f.meanAbs - c.image_features_mean_abs) <= WEBGPU_TOLERANCE.features * Math.max(1, c.image_features_mean_abs));
  });

  for (const w of WEBGPU_SUBSET) {
    it(`${w.id}: prefill logits ≤ ${WEBGPU_TOLERANCE.logits}, greedy tokens ${w.steps ? `(${w.steps} steps)` : 'and text'} equal`, () => {
      const run = child.result.runs.find((r) => r.id === w.id)!;
      const c = refs.cases.find((x) => x.id === w.id)!;
      if (w.steps) assert.equal(run.tokenIds.length, w.steps);
      const diff = assertGreedy(c, run, WEBGPU_TOLERANCE, w.steps === undefined).logitsDiff;
      console.log(`      logit diff ${diff.toExponential(2)}, ${run.tokenIds.length} tokens, ${(run.ms / 1000).toFixed(1)} s`);
    });
  }

  it('no Vulkan or Dawn warnings on stderr when the adapter exists', () => {
    assert.doesNotMatch(child.stderr, /Vulkan|Dawn|BackendVk/i);
  });
});
