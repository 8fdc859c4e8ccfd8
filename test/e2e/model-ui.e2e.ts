// The model's UI in a real VS Code (code-server + Chromium, the packaged VSIX): a synthetic chest phantom opens in the
// CT Lens viewer; CT Lens: Generate Report from the palette streams a report that must equal `ctlens report` on the
// same file (greedy decoding: identical text), then one is cancelled from its progress notification; a
// suggested question and a multiple-choice question are asked in the Chat tab (answers equal `ctlens ask`), one is
// stopped with Escape; the Routing view shows different group gates for the report and a question, and picking an
// expert draws its heatmap into the slice views; the report is saved as Markdown twice (the second time VS Code asks
// before anything is overwritten); CT Lens: Evaluate Dataset scores a dataset with the same numbers as `ctlens eval`.
// Screenshots of every step: test-artifacts/e2e/model-ui/.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Frame, Locator } from 'playwright-core';
import { predictedChoice } from '../../src/core/eval/metrics';
import { frameWith, makeWorkspace, REPO_ROOT, Session, waitForAttribute } from './harness';

const PHANTOMS = path.join(REPO_ROOT, 'test', 'fixtures', 'phantoms');
const VOLUME = 'fixture-00.nii.gz';
const MC_QUESTION =
  'Which lobe shows consolidation? Choices: A. left lower lobe. B. right upper lobe. C. right middle lobe. D. left upper lobe.';

/** The dataset lines of one phantom (a report and its questions), the workspace's dataset.jsonl. */
function phantomDataset(): string {
  return fs
    .readFileSync(path.join(PHANTOMS, 'dataset.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() && (JSON.parse(l) as { image: string }).image === VOLUME)
    .join('\n')
    .concat('\n');
}

/** `node dist/cli.js …` of this checkout (the same model package the VSIX bundles), parsed from --json. */
function cli<T>(...args: string[]): T {
  const out = execFileSync(process.execPath, [path.join(REPO_ROOT, 'dist', 'cli.js'), ...args, '--json'], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  return JSON.parse(out.trim().split('\n').pop()!) as T;
}


/** Pixels (RGBA, any channel) that differ by more than `tolerance` between two PNGs of the same size. */
async function changedPixels(s: Session, a: Buffer, b: Buffer, tolerance = 8): Promise<{ changed: number; total: number }> {
  const scratch = await s.context.newPage();
  try {
    return await scratch.evaluate(
      async ([a64, b64, tol]) => {
        // No named functions in here: the test runner's transpiler would wrap them in a helper the page lacks.
        const [x, y] = await Promise.all(
          [a64, b64].map(async (b) => {
            const bytes = Uint8Array.from(atob(b), (c) => c.charCodeAt(0));
            const bmp = await createImageBitmap(new Blob([bytes], { type: 'image/png' }));
            const canvas = new OffscreenCanvas(bmp.width, bmp.height);
            const g = canvas.getContext('2d')!;
            g.drawImage(bmp, 0, 0);
            return g.getImageData(0, 0, bmp.width, bmp.height);
          }),
        );
        if (!x || !y) throw new Error('decoding failed');
        if (x.width !== y.width || x.height !== y.height) throw new Error(`sizes differ: ${x.width}×${x.height} vs ${y.width}×${y.height}`);
        let changed = 0;
        for (let i = 0; i < x.data.length; i += 4) {
          if (Math.abs(x.data[i]! - y.data[i]!) > tol || Math.abs(x.data[i + 1]! - y.data[i + 1]!) > tol || Math.abs(x.data[i + 2]! - y.data[i + 2]!) > tol) changed++;
        }
        return { changed, total: x.width * x.height };
      },
      [a.toString('base64'), b.toString('base64'), tolerance] as const,
    );
  } finally {
    await scratch.close();
  }
}

async function textOf(l: Locator): Promise<string> {
  return (await l.textContent()) ?? '';
}

/** The model host's process id, as the Model view shows it. */
async function hostPid(s: Session): Promise<number> {
  await s.runCommand('CT Lens: Focus on Model View');
  const row = s.page.locator('.pane .monaco-list-row', { hasText: 'Model host' }).first();
  await row.waitFor({ timeout: 15_000 });
  const pid = Number(/pid (\d+)/.exec(await row.innerText())?.[1]);
  assert.ok(pid > 0, 'the Model view shows the host’s process id');
  return pid;
}

describe('model UI in VS Code (code-server)', function () {
  let s: Session;
  let ws: string;
  let viewer: Frame;
  let reportText = '';

  before(async function () {
    ws = makeWorkspace('model-ui', {
      [VOLUME]: { copy: path.join(PHANTOMS, VOLUME) },
      'dataset.jsonl': phantomDataset(),
    });
    s = await Session.open({ name: 'model-ui', workspace: ws, viewport: { width: 1600, height: 1000 } });
    await s.waitForCommand('CT Lens: Generate Report');
    await s.openFile(VOLUME);
    viewer = await frameWith(s, '#ctl-root');
    await waitForAttribute(viewer.locator('#ctl-root'), 'data-state', 'ready', 120_000);
    await s.screenshot('phantom-open');
  });

  after(async function () {
    if (s) {
      fs.writeFileSync(path.join(s.artifacts, 'ct-lens.log'), s.extensionLog());
      await s.close();
    }
  });

  it('streams a report that equals `ctlens report` on the same file', async function () {
    await s.runCommand('CT Lens: Generate Report');
    const report = viewer.locator('#ctl-report');
    await waitForAttribute(report, 'data-status', (v) => v === 'running' || v === 'done', 60_000);
    await s.screenshot('report-streaming');
    await waitForAttribute(report, 'data-status', 'done', 180_000);
    await s.screenshot('report-done');
    reportText = await textOf(viewer.locator('#ctl-report-text'));
    const chunks = Number(await report.getAttribute('data-chunks'));
    assert.ok(chunks > 1, `the report arrived in ${chunks} piece(s), not token by token`);
    const ref = cli<{ text: string; model: { name: string }; provider: { used: string } }>('report', path.join(ws, VOLUME));
    assert.ok(ref.text.length > 0);
    assert.equal(reportText, ref.text, 'greedy decoding: the extension and the CLI must write the same report');
    const meta = await textOf(viewer.locator('#ctl-report-meta'));
    assert.match(meta, new RegExp(`${ref.model.name}.*${ref.provider.used.toUpperCase()}.*tokens in`));
    assert.match(await textOf(viewer.locator('#ctl-report-notices')), /research use only — not for diagnosis/);
    // The status bar names the model and the provider.
    await s.page.locator('.statusbar-item', { hasText: ref.model.name }).first().waitFor({ timeout: 10_000 });
  });

  it('cancels a report from its progress notification; the viewer stays usable and the next report runs', async function () {
    // A report takes well under a second here, less than a click on the notification needs. So the model host is
    // paused (SIGSTOP) first: the request and then the cancel wait in its channel; resumed, it starts the report
    // and the cancel stops it within a decoding step — the real cancel path, with no race.
    const pid = await hostPid(s);
    const report = viewer.locator('#ctl-report');
    const previous = await report.getAttribute('data-run');
    process.kill(pid, 'SIGSTOP');
    try {
      await s.runCommand('CT Lens: Generate Report');
      const toast = s.page.locator('.notifications-toasts .notification-list-item', { hasText: 'report for' }).first();
      await toast.waitFor({ timeout: 15_000 });
      await waitForAttribute(report, 'data-run', (v) => !!v && v !== previous, 10_000);
      await s.screenshot('report-cancelling');
      await toast.locator('.monaco-button', { hasText: 'Cancel' }).click();
      await s.page.waitForTimeout(500); // the cancel reaches the (paused) host's channel
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await waitForAttribute(report, 'data-status', 'cancelled', 60_000);
    await s.screenshot('report-cancelled');
    // Still usable: the crosshair moves, and a new report is the same text as before.
    await viewer.locator('#ctl-goto').fill('40,40,20');
    await viewer.locator('#ctl-goto').press('Enter');
    await waitForAttribute(viewer.locator('#ctl-readout'), 'data-ijk', '40,40,20', 10_000);
    assert.match(s.extensionLog(), /report stopped/);
    const cancelled = await report.getAttribute('data-run');
    await viewer.locator('[data-action="generate-report"]').click();
    await waitForAttribute(report, 'data-run', (v) => !!v && v !== cancelled, 10_000);
    await waitForAttribute(report, 'data-status', 'done', 120_000);
    assert.equal(await textOf(viewer.locator('#ctl-report-text')), reportText);
  });

  it('answers a suggested question and a multiple-choice question in the chat (as `ctlens ask`)', async function () {
    await viewer.locator('vscode-tab-header[data-tab="chat"]').click();
    const suggestion = viewer.locator('.ctl-suggestion').first();
    await suggestion.waitFor({ timeout: 20_000 });
    await suggestion.click();
    const input = viewer.locator('#ctl-chat-input');
    const question = await input.inputValue();
    assert.ok(question.length > 0, 'the suggestion fills the input');
    await input.press('Enter');
    const first = viewer.locator('.ctl-turn').nth(0);
    await waitForAttribute(first, 'data-status', 'done', 120_000);
    const answer = await textOf(first.locator('.ctl-turn-answer'));
    assert.equal(answer, cli<{ text: string }>('ask', path.join(ws, VOLUME), question).text);

    await input.fill(MC_QUESTION);
    await input.press('Enter');
    const mc = viewer.locator('.ctl-turn').nth(1);
    await waitForAttribute(mc, 'data-status', 'done', 120_000);
    const choices = await mc.locator('.ctl-choice').allTextContents();
    assert.equal(choices.length, 4, 'a multiple-choice question shows its four options');
    assert.match(choices[1]!, /right upper lobe/);
    const mcAnswer = await textOf(mc.locator('.ctl-turn-answer'));
    assert.equal(mcAnswer, cli<{ text: string }>('ask', path.join(ws, VOLUME), MC_QUESTION).text);
    const letter = predictedChoice(mcAnswer, ['left lower lobe', 'right upper lobe', 'right middle lobe', 'left upper lobe']);
    const marked = mc.locator('.ctl-choice[data-picked="true"]');
    const picked = (await marked.count()) ? await marked.getAttribute('data-choice') : null;
    assert.equal(picked, letter === null ? null : String('abcd'.indexOf(letter)), 'the marked option is the one the benchmark rule reads from the answer');
    await s.screenshot('chat');
  });

  it('stops an answer with Escape, then answers the next question', async function () {
    // Generation takes well under a second here, faster than any keypress round trip. So the model host is paused
    // (SIGSTOP) before the question: the request and then the Escape's cancel wait in its channel; resumed, it
    // starts the answer and the cancel stops it within a decoding step — the real cancel path, with no race.
    const pid = await hostPid(s);
    const input = viewer.locator('#ctl-chat-input');
    const turns = viewer.locator('.ctl-turn');
    const before = await turns.count();
    process.kill(pid, 'SIGSTOP');
    try {
      await input.fill('Is there a pleural effusion?');
      await input.press('Enter');
      await waitForAttribute(turns.nth(before), 'data-status', 'running', 20_000);
      assert.ok(await viewer.locator('[data-action="stop-chat"]').isVisible(), 'Stop shows while an answer runs');
      await s.screenshot('answer-running');
      await input.press('Escape');
      await s.page.waitForTimeout(500); // the cancel reaches the (paused) host's channel
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await waitForAttribute(turns.nth(before), 'data-status', 'cancelled', 30_000);
    assert.match(await textOf(turns.nth(before)), /Stopped/);
    assert.ok(!(await viewer.locator('[data-action="stop-chat"]').isVisible()));
    await input.fill('Is there a pleural effusion?');
    await input.press('Enter');
    await waitForAttribute(turns.nth(before + 1), 'data-status', 'done', 120_000);
    await s.screenshot('chat-stopped-then-answered');
  });

  it('asks from the palette (CT Lens: Ask About Volume) with a typed question', async function () {
    const before = await viewer.locator('.ctl-turn').count();
    await s.runCommand('CT Lens: Ask About Volume');
    const input = s.page.locator('.quick-input-widget input.input').first();
    await input.waitFor({ timeout: 10_000 });
    // The package's suggested questions are listed; a typed question becomes the first item.
    await s.page.locator('.quick-input-list .monaco-list-row', { hasText: 'Does this CT show a pericardial effusion?' }).first().waitFor({ timeout: 10_000 });
    await input.fill('Is emphysema present?');
    await s.page.locator('.quick-input-list .monaco-list-row', { hasText: 'ask this' }).first().waitFor({ timeout: 10_000 });
    await input.press('Enter');
    const turn = viewer.locator('.ctl-turn').nth(before);
    await waitForAttribute(turn, 'data-status', 'done', 120_000);
    assert.match(await textOf(turn.locator('.ctl-turn-question')), /Is emphysema present\?/);
    assert.equal(await textOf(turn.locator('.ctl-turn-answer')), cli<{ text: string }>('ask', path.join(ws, VOLUME), 'Is emphysema present?').text);
  });

  it('shows the routing: gates move between the report and a question; an expert heatmap changes the slice views', async function () {
    await s.runCommand('CT Lens: Show Routing');
    const routing = await frameWith(s, '#ctl-routing');
    const runPicker = routing.locator('#ctl-routing-run');
    await runPicker.waitFor({ timeout: 30_000 });
    const options = await runPicker.locator('option').evaluateAll((os) => os.map((o) => ({ value: (o as HTMLOptionElement).value, label: o.textContent ?? '' })));
    const reportRun = options.find((o) => o.label === 'Report');
    const questionRun = options.find((o) => o.label.startsWith('Q: '));
    assert.ok(reportRun && questionRun, `runs listed: ${JSON.stringify(options)}`);

    const gates = async (runId: string) => {
      await runPicker.selectOption(runId);
      await waitForAttribute(routing.locator('#ctl-routing'), 'data-run', runId, 10_000);
      return routing.locator('.ctl-gate').evaluateAll((gs) => gs.map((g) => Number((g as HTMLElement).dataset.value)));
    };
    const reportGates = await gates(reportRun.value);
    const questionGates = await gates(questionRun.value);
    assert.ok(reportGates.length >= 2 && reportGates.every((g) => g >= 0 && g <= 1));
    const moved = Math.max(...reportGates.map((g, i) => Math.abs(g - questionGates[i]!)));
    assert.ok(moved > 1e-4, `the text-guided gate must differ between the report and a question (max change ${moved})`);
    // Task-level routing: every MoE layer's gate picks the package's named group for the prompt's task.
    const chosen = async (runId: string) => {
      await runPicker.selectOption(runId);
      await waitForAttribute(routing.locator('#ctl-routing'), 'data-run', runId, 10_000);
      return routing.locator('.ctl-gate.ctl-chosen .ctl-gate-name').allTextContents();
    };
    const reportChosen = await chosen(reportRun.value);
    const questionChosen = await chosen(questionRun.value);
    assert.ok(reportChosen.length >= 1 && reportChosen.every((n) => n === 'report'), `report run chose ${JSON.stringify(reportChosen)}`);
    assert.ok(questionChosen.length >= 1 && questionChosen.every((n) => n === 'vqa'), `question run chose ${JSON.stringify(questionChosen)}`);

    await runPicker.selectOption(reportRun.value);
    await waitForAttribute(routing.locator('#ctl-routing'), 'data-run', reportRun.value, 10_000);
    const views = ['axial', 'coronal', 'sagittal'] as const;
    const before = await Promise.all(views.map((v) => viewer.locator(`#ctl-view-${v} canvas`).first().screenshot()));
    // The busiest expert of the first layer: its heatmap covers the most tokens.
    const experts = routing.locator('.ctl-expert[data-layer-index="0"]');
    const loads = await experts.evaluateAll((es) => es.map((e) => Number(e.querySelector('.ctl-num')?.textContent ?? 0)));
    const busiest = experts.nth(loads.indexOf(Math.max(...loads)));
    await busiest.click();
    const overlayId = await waitForAttribute(viewer.locator('#ctl-root'), 'data-overlay', (v) => !!v && v.startsWith(`${reportRun.value}/routing/`), 20_000);
    // The viewer shows the overlay first; the Routing view hears of the selection in its next state message.
    await waitForAttribute(busiest, 'aria-pressed', 'true', 10_000);
    assert.equal(await routing.locator('#ctl-routing').getAttribute('data-overlay'), overlayId);
    await viewer.locator('#ctl-legend').waitFor({ state: 'visible', timeout: 5000 });
    await s.page.waitForTimeout(500); // one frame for the views to repaint
    for (const [n, v] of views.entries()) {
      const after = await viewer.locator(`#ctl-view-${v} canvas`).first().screenshot();
      const diff = await changedPixels(s, before[n]!, after);
      assert.ok(diff.changed > diff.total * 0.01, `${v}: the heatmap changed ${diff.changed} of ${diff.total} pixels`);
    }
    // The report stays in view: a routing heatmap does not switch the side panel to the Overlay tab.
    assert.ok(await viewer.locator('#ctl-report').isVisible() || (await viewer.locator('#ctl-chat').isVisible()));
    await s.screenshot('routing-heatmap');

    // CT Lens: Save Heatmap as NIfTI: nibabel reads the map on the volume's own grid and affine; the run's JSON beside it.
    await s.runCommand('CT Lens: Save Heatmap as NIfTI');
    const heatmaps = () => fs.readdirSync(ws).filter((f) => f.startsWith('fixture-00.routing-') && f.endsWith('.nii.gz'));
    for (let n = 0; n < 50 && heatmaps().length === 0; n++) await s.page.waitForTimeout(200);
    assert.equal(heatmaps().length, 1, `saved: ${fs.readdirSync(ws).join(', ')}`);
    const compare = 'import sys, json, nibabel as n; h, v = n.load(sys.argv[1]), n.load(sys.argv[2]); ' +
      'print(json.dumps([list(h.shape), list(v.shape[:3]), float(abs(h.affine - v.affine).max()), float(h.get_fdata().max())]))';
    const [heatShape, volShape, affineDiff, heatMax] = JSON.parse(
      execFileSync(process.env.CTLENS_PYTHON ?? '/usr/bin/python3', ['-c', compare, path.join(ws, heatmaps()[0]!), path.join(ws, VOLUME)], { encoding: 'utf8' }),
    ) as [number[], number[], number, number];
    assert.deepEqual(heatShape, volShape);
    assert.ok(affineDiff < 1e-4, `heatmap affine differs from the volume's by ${affineDiff}`);
    assert.ok(heatMax > 0, 'the saved heatmap holds the expert weights');
    const runJson = JSON.parse(fs.readFileSync(path.join(ws, fs.readdirSync(ws).find((f) => f.startsWith('fixture-00.run-'))!), 'utf8'));
    assert.equal(runJson.run.task, 'report');
    assert.ok(runJson.routing.expertLoad.length > 0 && runJson.routing.gates.length > 0);
  });

  it('saves the report as Markdown beside the volume, asking before overwriting', async function () {
    await viewer.locator('vscode-tab-header[data-tab="report"]').click();
    await viewer.locator('[data-action="save-report"]').click();
    const saved = path.join(ws, 'fixture-00.report.md');
    for (let n = 0; n < 50 && !fs.existsSync(saved); n++) await s.page.waitForTimeout(200);
    const md = fs.readFileSync(saved, 'utf8');
    assert.ok(md.includes(reportText), 'the Markdown holds the model’s text verbatim');
    assert.match(md, /research use only — not for diagnosis/);
    // Again: the file exists, so VS Code asks; the new-name choice keeps the first file.
    await viewer.locator('[data-action="save-report"]').click();
    const dialog = s.page.locator('.monaco-dialog-box');
    await dialog.waitFor({ timeout: 10_000 });
    assert.match(await dialog.innerText(), /fixture-00\.report\.md already exists/);
    await s.screenshot('save-asks');
    await dialog.locator('.monaco-button', { hasText: 'Save as fixture-00.report-2.md' }).click();
    const second = path.join(ws, 'fixture-00.report-2.md');
    for (let n = 0; n < 50 && !fs.existsSync(second); n++) await s.page.waitForTimeout(200);
    assert.ok(fs.existsSync(second));
    assert.equal(fs.readFileSync(saved, 'utf8'), md, 'the first file was not overwritten');
  });

  it('says so when the model host dies, and the next report runs on a restarted host', async function () {
    const pid = await hostPid(s);
    process.kill(pid, 'SIGKILL');
    const toast = s.page.locator('.notifications-toasts .notification-list-item', { hasText: 'model host process died' }).first();
    await toast.waitFor({ timeout: 20_000 });
    assert.match(await toast.innerText(), /killed by SIGKILL.*a new host has been started/s);
    await s.screenshot('host-crashed');
    await toast.locator('.codicon-notifications-clear, .codicon-close').first().click().catch(() => {});
    const previous = await viewer.locator('#ctl-report').getAttribute('data-run');
    await s.runCommand('CT Lens: Generate Report');
    await waitForAttribute(viewer.locator('#ctl-report'), 'data-run', (v) => !!v && v !== previous, 30_000);
    await waitForAttribute(viewer.locator('#ctl-report'), 'data-status', (v) => v === 'done' || v === 'failed', 180_000);
    assert.equal(await viewer.locator('#ctl-report').getAttribute('data-status'), 'done');
    assert.equal(await textOf(viewer.locator('#ctl-report-text')), reportText, 'the restarted host writes the same report');
  });

  it('evaluates a dataset with the same metrics as `ctlens eval` and saves the results beside it', async function () {
    await s.runCommand('CT Lens: Evaluate Dataset');
    await s.acceptFileDialog(path.join(ws, 'dataset.jsonl'));
    const panel = await frameWith(s, '#ctl-eval', 30_000);
    await waitForAttribute(panel.locator('#ctl-eval'), 'data-status', 'done', 240_000);
    await s.screenshot('evaluation');
    const shown = await panel.locator('#ctl-eval-metrics td[data-metric]').evaluateAll((tds) =>
      Object.fromEntries(tds.map((td) => [(td as HTMLElement).dataset.metric!, td.textContent ?? ''])),
    );
    const ref = cli<Record<string, number | null>>('eval', path.join(ws, 'dataset.jsonl'));
    for (const [k, v] of Object.entries(ref)) {
      const want = v === null ? '—' : k.startsWith('n_') ? String(v) : v.toFixed(k === 'cider' ? 3 : 4);
      assert.equal(shown[k], want, `${k}`);
    }
    const results = path.join(ws, 'dataset.ctlens-eval.json');
    for (let n = 0; n < 50 && !fs.existsSync(results); n++) await s.page.waitForTimeout(200);
    const saved = JSON.parse(fs.readFileSync(results, 'utf8')) as { metrics: Record<string, number | null>; results: unknown[]; complete: boolean };
    assert.equal(saved.complete, true);
    assert.equal(saved.results.length, Number(ref.n_report) + Number(ref.n_vqa));
    for (const [k, v] of Object.entries(ref)) assert.equal(saved.metrics[k], v, `saved ${k}`);
  });

  it('reads well in light and high-contrast themes (text contrast of the report, chat and routing)', async function () {
    const contrast = async (frame: Frame, selector: string) =>
      frame.locator(selector).first().evaluate((node, selector) => {
        // WCAG contrast between the text colour and the first opaque background behind it. No named functions in
        // here: the test runner's transpiler would wrap them in a helper the page lacks.
        let bg: number[] | null = null;
        for (let e: Element | null = node; e && !bg; e = e.parentElement) {
          const c = (getComputedStyle(e).backgroundColor.match(/[\d.]+/g) ?? []).map(Number);
          if (c.length >= 3 && (c.length < 4 || c[3]! > 0.9)) bg = c;
        }
        if (!bg) {
          // A webview view is transparent over the sidebar: its theme colour is the background.
          const styles = getComputedStyle(document.documentElement);
          const hex = (styles.getPropertyValue('--vscode-sideBar-background') || styles.getPropertyValue('--vscode-editor-background')).trim();
          const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})/i.exec(hex);
          if (!m) throw new Error(`no background colour behind ${selector}: ${hex}`);
          bg = [parseInt(m[1]!, 16), parseInt(m[2]!, 16), parseInt(m[3]!, 16)];
        }
        const fg = (getComputedStyle(node).color.match(/[\d.]+/g) ?? []).map(Number);
        const [a, b] = [fg, bg]
          .map((c) =>
            c.slice(0, 3).map((v) => (v / 255 <= 0.03928 ? v / 255 / 12.92 : ((v / 255 + 0.055) / 1.055) ** 2.4)).reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i]!, 0),
          )
          .sort((x, y) => y - x);
        return (a! + 0.05) / (b! + 0.05);
      }, selector);
    // The evaluation panel hid the viewer, whose webview VS Code then discarded: showing it again reloads it, and the
    // report and chat must come back from the extension host.
    await s.editorTab(VOLUME).click();
    viewer = await frameWith(s, '#ctl-root');
    await waitForAttribute(viewer.locator('#ctl-root'), 'data-state', 'ready', 60_000);
    await waitForAttribute(viewer.locator('#ctl-report'), 'data-status', 'done', 10_000);
    assert.equal(await textOf(viewer.locator('#ctl-report-text')), reportText, 'the report survives the webview reload');
    assert.ok((await viewer.locator('.ctl-turn').count()) >= 5, 'so does the chat');
    const routing = await frameWith(s, '#ctl-routing');
    for (const theme of ['Light Modern', 'Dark High Contrast', 'Light High Contrast', 'Dark Modern']) {
      await s.runCommand('Preferences: Color Theme');
      const input = s.page.locator('.quick-input-widget input.input').first();
      await input.fill(theme);
      await s.page.locator('.quick-input-list .monaco-list-row', { hasText: theme }).first().click();
      await s.page.waitForTimeout(1500);
      await viewer.locator('vscode-tab-header[data-tab="report"]').click();
      await s.screenshot(`theme-${theme}`);
      for (const [frame, sel] of [
        [viewer, '#ctl-report-text'],
        [viewer, '.ctl-research-notice'],
        [routing, '.ctl-gate-name'],
        [routing, '.ctl-expert-name'],
        // the selected expert too, whichever it is (the model decides which expert the heatmap starts on)
        [routing, ".ctl-expert[aria-pressed='true'] .ctl-expert-name"],
      ] as const) {
        const ratio = await contrast(frame, sel);
        assert.ok(ratio >= 4.5, `${theme}: ${sel} contrast ${ratio.toFixed(2)} < 4.5`);
      }
    }
  });

  it('opens the bundled sample chest CT (CT Lens: Open Sample CT, the walkthrough’s first step)', async function () {
    await s.runCommand('CT Lens: Open Sample CT');
    await s.editorTab('chest_phantom.nii.gz').waitFor({ timeout: 30_000 });
    await s.page.waitForTimeout(1000);
    const sample = await frameWith(s, '.ctl-name:has-text("chest_phantom.nii.gz")');
    await waitForAttribute(sample.locator('#ctl-root'), 'data-state', 'ready', 60_000);
    await s.screenshot('sample-opened');
  });
});
