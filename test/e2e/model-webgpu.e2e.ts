// The GPU path in VS Code without a GPU (issue 15): code-server started with Chromium's SwiftShader software Vulkan in
// its environment (test/core/model/software-vulkan.ts), so the model host's `auto` finds a WebGPU adapter. One report
// on the fixture phantom must run on WebGPU — the status bar and the Model view say so and list the providers tried —
// and equal the CPU's text of the same greedy run (`ctlens report --ep cpu`). The CT Lens output channel names the
// fallback once (the model host's `running on …` line) and the extension does not repeat the attempts. Then
// ctlens.dtype changes while the model is loaded: it reloads (fp16 is refused: the bundled package has only fp32).
//
// SwiftShader is slow (the full 65-token report takes ~45 s in the CLI here, minutes in code-server on a busy
// machine), so the workspace caps ctlens.maxNewTokens at MAX_TOKENS; the spec prints its time.
//
// Without Chromium's ICD, or where Dawn finds no adapter in it, the spec is skipped — and fails under
// CTLENS_REQUIRE_BROWSER=1, like test/core/model/parity-webgpu.test.ts.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Frame } from 'playwright-core';
import { webGpuEnvOrSkip } from '../core/model/software-vulkan';
import { frameWith, makeWorkspace, REPO_ROOT, Session, waitForAttribute } from './harness';

const VOLUME = 'fixture-00.nii.gz';
const PHANTOM = path.join(REPO_ROOT, 'test', 'fixtures', 'phantoms', VOLUME);
const MAX_TOKENS = 32;

/** The variables softwareVulkanEnv() adds (code-server gets these on top of its own environment). */
const VULKAN_VARS = ['VK_ICD_FILENAMES', 'VK_DRIVER_FILES', 'LD_LIBRARY_PATH', 'XDG_RUNTIME_DIR'] as const;

/**
 * The onnxruntime-node the VSIX was packed from has its CUDA provider: then `auto` rightly runs CUDA first, so the
 * spec names WebGPU explicitly.
 */
function cudaInstalled(): boolean {
  const bin = path.join(REPO_ROOT, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6', process.platform, process.arch);
  return fs.existsSync(path.join(bin, 'libonnxruntime_providers_cuda.so'));
}


describe('model on WebGPU in VS Code (code-server, software Vulkan)', function () {
  this.timeout(600_000);
  let s: Session | undefined;
  let viewer: Frame;
  let ws: string;
  const ep = cudaInstalled() ? 'webgpu' : 'auto';

  before(async function () {
    const got = { env: await webGpuEnvOrSkip(this) };
    const env = Object.fromEntries(VULKAN_VARS.map((k) => [k, got.env[k] ?? '']));
    ws = makeWorkspace('model-webgpu', {
      [VOLUME]: { copy: PHANTOM },
      '.vscode/settings.json': JSON.stringify({ 'ctlens.executionProvider': ep, 'ctlens.maxNewTokens': MAX_TOKENS }),
    });
    s = await Session.open({ name: 'model-webgpu', workspace: ws, server: { name: 'webgpu', env }, viewport: { width: 1600, height: 1000 } });
    await s.waitForCommand('CT Lens: Generate Report');
    await s.openFile(VOLUME);
    viewer = await frameWith(s, '#ctl-root');
    await waitForAttribute(viewer.locator('#ctl-root'), 'data-state', 'ready', 120_000);
  });

  after(async function () {
    if (s) {
      fs.writeFileSync(path.join(s.artifacts, 'ct-lens.log'), s.extensionLog());
      await s.close();
    }
  });

  it(`writes a report on WebGPU equal to the CPU's text (${MAX_TOKENS} greedy tokens), says WebGPU, logs the fallback once`, async function () {
    const session = s!;
    const t0 = Date.now();
    await session.runCommand('CT Lens: Generate Report');
    const report = viewer.locator('#ctl-report');
    await waitForAttribute(report, 'data-status', (v) => v === 'running' || v === 'done', 120_000);
    await waitForAttribute(report, 'data-status', (v) => v === 'done' || v === 'failed', 480_000);
    const seconds = (Date.now() - t0) / 1000;
    await session.screenshot('report-done-webgpu');
    assert.equal(await report.getAttribute('data-status'), 'done', await viewer.locator('#ctl-report').innerText());
    const text = (await viewer.locator('#ctl-report-text').textContent()) ?? '';
    console.log(`      report on WebGPU (SwiftShader) in ${seconds.toFixed(0)} s from the command (host start, load, ${MAX_TOKENS} tokens)`);

    // The status bar says what runs.
    const item = session.page.locator('.statusbar-item', { hasText: 'ctlens-tghmoe-demo' }).first();
    await item.waitFor({ timeout: 10_000 });
    assert.match(await item.innerText(), /ctlens-tghmoe-demo · WebGPU\b/);
    assert.match(await textOfMeta(viewer), /^ctlens-tghmoe-demo \S+ · WebGPU · /);

    // The same greedy run on the CPU writes the same text.
    const cpu = JSON.parse(
      execFileSync(process.execPath, [path.join(REPO_ROOT, 'dist', 'cli.js'), 'report', path.join(ws, VOLUME), '--ep', 'cpu', '--max-tokens', String(MAX_TOKENS), '--json'], {
        encoding: 'utf8',
        maxBuffer: 64 << 20,
      })
        .trim()
        .split('\n')
        .pop()!,
    ) as { text: string; provider: { used: string }; timings: { newTokens: number } };
    assert.equal(cpu.provider.used, 'cpu');
    assert.equal(cpu.timings.newTokens, MAX_TOKENS, 'the cap is what stops both runs');
    assert.ok(text.length > 0);
    assert.equal(text, cpu.text, 'WebGPU and the CPU write the same greedy text');

    // The Model view names the provider and lists what was tried, in order.
    await session.runCommand('CT Lens: Focus on Model View');
    const rows = session.page.locator('.pane .monaco-list-row');
    const providerRow = rows.filter({ hasText: 'Execution provider' }).first();
    await providerRow.waitFor({ timeout: 15_000 });
    await session.screenshot('model-view-webgpu');
    // Label and description of every row, in order (the attempts are the provider row's children).
    const shown = await rows.evaluateAll((rs) =>
      rs.map((r) => `${r.querySelector('.label-name')?.textContent ?? ''} | ${r.querySelector('.label-description')?.textContent ?? ''}`.trim()),
    );
    const at = shown.findIndex((r) => r.startsWith('Execution provider |'));
    assert.equal(shown[at], ep === 'auto' ? 'Execution provider | WebGPU (asked: auto)' : 'Execution provider | WebGPU');
    const tried = shown.slice(at + 1).filter((r) => /^(CUDA|WebGPU|CPU) \|/.test(r));
    if (ep === 'auto') assert.match(tried[0] ?? '', /^CUDA \| not used — onnxruntime-node was installed without its CUDA provider/);
    assert.match(tried.at(-1) ?? '', /^WebGPU \| ok \(\d+ ms\)$/, `attempts shown: ${JSON.stringify(tried)}`);

    // The output channel: one line from the model host says why auto fell back; the extension's own line names what
    // runs and does not repeat the attempts; no Vulkan or Dawn noise.
    const log = session.extensionLog();
    const lines = log.split('\n');
    const loaded = lines.filter((l) => /model ctlens-tghmoe-demo \S+ loaded on /.test(l));
    assert.equal(loaded.length, 1, `one load line:\n${loaded.join('\n')}`);
    assert.match(loaded[0]!, /loaded on WebGPU in \d+ ms$/);
    if (ep === 'auto') {
      const why = lines.filter((l) => /installed without its CUDA provider/.test(l));
      assert.equal(why.length, 1, `the CUDA attempt is logged once:\n${why.join('\n')}`);
      assert.match(why[0]!, /\[model host\] running on webgpu: cuda: /);
    }
    assert.doesNotMatch(log, /Couldn't load Vulkan|vkCreateInstance|\[model host\] (Warning|Error):/);
  });

  it('reloads when ctlens.dtype changes: fp16 is refused for a package without fp16 graphs, auto runs WebGPU again', async function () {
    const session = s!;
    const settings = path.join(ws, '.vscode', 'settings.json');
    const write = (dtype?: string) =>
      fs.writeFileSync(settings, JSON.stringify({ 'ctlens.executionProvider': ep, 'ctlens.maxNewTokens': MAX_TOKENS, ...(dtype ? { 'ctlens.dtype': dtype } : {}) }));
    write('fp16');
    const failed = session.page.locator('.statusbar-item', { hasText: 'CT Lens model' }).first();
    await failed.waitFor({ timeout: 60_000 });
    await session.waitForNotification(/dtype fp16 was asked for, but the package has no onnx\/\*_fp16\.onnx/, 30_000);
    await session.screenshot('dtype-fp16-refused');
    write();
    await session.page.locator('.statusbar-item', { hasText: 'ctlens-tghmoe-demo · WebGPU' }).first().waitFor({ timeout: 180_000 });
    const loaded = session.extensionLog().split('\n').filter((l) => /model ctlens-tghmoe-demo \S+ loaded on WebGPU in \d+ ms$/.test(l));
    assert.equal(loaded.length, 2, 'the first load and the reload');
  });
});

async function textOfMeta(viewer: Frame): Promise<string> {
  return (await viewer.locator('#ctl-report-meta').textContent()) ?? '';
}
