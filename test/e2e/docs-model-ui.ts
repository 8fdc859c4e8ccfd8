// The README's screenshot of the whole model UI, taken in code-server by the e2e harness (not part of `npm test`):
//   CTLENS_E2E_SPECS=test/e2e/docs-model-ui.ts npm run test:e2e
// Writes docs/screenshots/vscode-model-ui.png: the bundled chest phantom in the CT Lens viewer (2×2 with the 3D
// view), the streamed report in the Report tab, the Routing view with a question's gates compared with the report's,
// and one expert's routing weight drawn as a heatmap over the slices and the 3D view.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Frame } from 'playwright-core';
import { makeWorkspace, REPO_ROOT, Session, waitForAttribute } from './harness';

const OUT = path.join(REPO_ROOT, 'docs', 'screenshots');
const VOLUME = 'chest_phantom.nii.gz';

async function frameWith(s: Session, selector: string, timeoutMs = 60_000): Promise<Frame> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const f of s.page.frames()) if (await f.locator(selector).count().catch(() => 0)) return f;
    if (Date.now() > deadline) throw new Error(`no webview shows ${selector}`);
    await s.page.waitForTimeout(250);
  }
}

describe('README screenshots', function () {
  it('the model UI: viewer, report, routing heatmap', async function () {
    const ws = makeWorkspace('docs-model-ui', { [VOLUME]: { copy: path.join(REPO_ROOT, 'media', 'samples', VOLUME) } });
    const s = await Session.open({ name: 'docs-model-ui', workspace: ws, viewport: { width: 1600, height: 1000 } });
    try {
      await s.waitForCommand('CT Lens: Generate Report');
      await s.openFile(VOLUME);
      const viewer = await frameWith(s, '#ctl-root');
      await waitForAttribute(viewer.locator('#ctl-root'), 'data-state', 'ready', 120_000);
      await viewer.locator('.ctl-toolbar [data-layout="2x2"]').click();
      await s.runCommand('CT Lens: Ask About Volume');
      const input = s.page.locator('.quick-input-widget input.input').first();
      await input.fill('Is there a lung nodule?');
      await input.press('Enter');
      await waitForAttribute(viewer.locator('.ctl-turn').first(), 'data-status', 'done', 180_000);
      await s.runCommand('CT Lens: Generate Report');
      await waitForAttribute(viewer.locator('#ctl-report'), 'data-status', 'done', 180_000);
      await s.runCommand('CT Lens: Show Routing');
      const routing = await frameWith(s, '#ctl-routing');
      const picker = routing.locator('#ctl-routing-run');
      const reportId = await picker.locator('option', { hasText: 'Report' }).getAttribute('value');
      await picker.selectOption(reportId!);
      await waitForAttribute(routing.locator('#ctl-routing'), 'data-run', reportId!, 10_000);
      // A selective expert (used by about half of the tokens) makes a map with visible structure.
      const experts = routing.locator('.ctl-expert[data-layer-index="1"]');
      const loads = await experts.evaluateAll((es) => es.map((e) => Number(e.querySelector('.ctl-num')?.textContent ?? 0)));
      const tokens = Number((await routing.locator('#ctl-routing').innerText()).match(/(\d+) visual tokens/)?.[1] ?? 256);
      const pick = loads.map((l, i) => [Math.abs(l - tokens / 2), i] as const).sort((a, b) => a[0] - b[0])[0]![1];
      await experts.nth(pick).click();
      await waitForAttribute(viewer.locator('#ctl-root'), 'data-overlay', (v) => !!v && v.includes('/routing/'), 20_000);
      // Viridis stays visible over white bone, and the volume rendering tints the heatmap in 3D (a MIP of a map
      // whose maximum is white under 'hot' would look like bone).
      await routing.locator('select[data-control="colormap"]').selectOption('viridis');
      await waitForAttribute(viewer.locator('#ctl-root'), 'data-overlay', (v) => !!v && v.includes('/routing/'), 20_000);
      await viewer.locator('.ctl-mode3d').evaluate((select) => {
        (select as HTMLElement & { value: string }).value = 'vr';
        select.dispatchEvent(new Event('change'));
      });
      await viewer.locator('vscode-tab-header[data-tab="report"]').click();
      await viewer.locator('#ctl-goto').fill('40,38,20');
      await viewer.locator('#ctl-goto').press('Enter');
      await s.page.mouse.move(5, 500); // no hover highlight in the picture
      await s.page.waitForTimeout(2000); // the 3D view's first render
      fs.mkdirSync(OUT, { recursive: true });
      await s.page.screenshot({ path: path.join(OUT, 'vscode-model-ui.png') });
    } finally {
      await s.close();
    }
  });
});
