// `auto` where no WebGPU adapter exists (issue 15): the real CLI, in an environment where Vulkan has no driver,
// falls back to the CPU quietly — no Vulkan or Dawn lines on stderr — and says why in one line.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { condenseProbeFailure, probeWebGpu } from '../../src/core/model/webgpu-probe';
import { DEMO_PACKAGE } from '../core/model/package-fixture';
import { noAdapterEnv } from '../core/model/software-vulkan';
import { ROOT } from './model-cli';

describe('cli: auto without a WebGPU adapter', function () {
  this.timeout(180_000);

  it('runs on the CPU with one reason line on stderr and no Vulkan/Dawn warnings', () => {
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), 'report', join(ROOT, 'test/fixtures/phantoms/fixture-00.nii.gz'), '--ep', 'auto', '--max-tokens', '3', '--threads', '1', '--json'],
      { cwd: ROOT, encoding: 'utf8', env: noAdapterEnv(), timeout: 170_000 },
    );
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { provider: { used: string; attempts: { provider: string; ok: boolean; error?: string }[] } };
    assert.equal(out.provider.used, 'cpu');
    const webgpu = out.provider.attempts.find((a) => a.provider === 'webgpu')!;
    assert.equal(webgpu.ok, false);
    assert.match(webgpu.error!, /^no WebGPU adapter/);
    const lines = r.stderr.split('\n').filter((l) => l.length > 0);
    assert.equal(lines.length, 1, `stderr:\n${r.stderr}`);
    assert.match(lines[0]!, /^ctlens report: running on cpu: .*webgpu: no WebGPU adapter/);
    // Dawn's own lines ("Warning: Couldn't load Vulkan: …" and its source location) are gone; their gist is in the
    // reason line, once.
    assert.doesNotMatch(r.stderr, /BackendVk\.cpp|^\s*at operator|^Warning:/m);
  });

  it('an explicit --ep webgpu fails with the reason, also without native warnings', () => {
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), 'report', join(ROOT, 'test/fixtures/phantoms/fixture-00.nii.gz'), '--ep', 'webgpu'],
      { cwd: ROOT, encoding: 'utf8', env: noAdapterEnv(), timeout: 170_000 },
    );
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^ctlens report: ProviderUnavailable: no execution provider could load the model \(webgpu: no WebGPU adapter/);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /BackendVk\.cpp|^Warning:/m);
  });
});

describe('core/model/webgpu-probe', function () {
  this.timeout(60_000);

  it('reports no adapter, with Dawn\'s reason, where Vulkan has no driver', async () => {
    const p = await probeWebGpu(join(DEMO_PACKAGE, 'onnx', 'embed_tokens.onnx'), { env: noAdapterEnv() });
    assert.equal(p.ok, false);
    assert.match(p.reason!, /^no WebGPU adapter/);
    assert.ok(!p.reason!.includes('\n'));
  });

  it('condenses onnxruntime\'s error and Dawn\'s stderr into one line', () => {
    const err =
      '/onnxruntime_src/onnxruntime/core/providers/webgpu/webgpu_context.cc:136 onnxruntime::webgpu::WebGpuContext::Initialize(const onnxruntime::webgpu::WebGpuContextConfig&)::<lambda()> adapter_result.status == wgpu::RequestAdapterStatus::Success was false. Failed to get a WebGPU adapter: No supported adapters';
    const dawn =
      "Warning: Couldn't load Vulkan: libvulkan.so.1: cannot open shared object file: No such file or directory\n    at operator() (/build/Release/_deps/dawn-src/src/dawn/native/vulkan/BackendVk.cpp:368)\n\n";
    assert.equal(
      condenseProbeFailure(err, dawn),
      "no WebGPU adapter (No supported adapters); Dawn: Couldn't load Vulkan: libvulkan.so.1: cannot open shared object file: No such file or directory",
    );
    assert.equal(condenseProbeFailure('something else broke\nstack', ''), 'something else broke');
  });

  it('a probe that cannot start is a failure with a reason, not a throw', async () => {
    const p = await probeWebGpu('x.onnx', { execPath: '/nonexistent/node' });
    assert.equal(p.ok, false);
    assert.match(p.reason!, /could not start/);
  });
});
