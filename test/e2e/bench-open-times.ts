// Time to the first slice and to fully loaded in VS Code itself (issue 11): code-server + headless Chromium, the
// extension host decoding with Node's zlib and streaming slabs to the webview. A benchmark that prints figures, not
// part of `npm test`:
//   npm run bench -- vscode-open        (bench/vscode-open.bench.ts runs this spec through test/e2e/run.sh)
// Times run from the moment the file's editor tab is active (Quick Open's own typing is not counted) to the
// viewer's `data-first-paint` and `data-state="ready"` (the page events firstPaint and loaded), polled every 25 ms
// from outside the page; the extension's log line "first slice painted … N ms after opening" (measured inside the
// extension host from the document's creation) is printed beside them.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BIG_CT, generateBigCt } from '../../bench/big-ct';
import { makeWorkspace, sample, Session } from './harness';

const HEAD = 'head_ct_invesalius.nii.gz';
const RUNS = Number(process.env.CTLENS_BENCH_RUNS ?? 3);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function viewerState(s: Session): Promise<{ firstPaint: boolean; state: string | null }> {
  for (const f of s.page.frames()) {
    const r = await f
      .evaluate(() => {
        const root = document.getElementById('ctl-root');
        return root && root.offsetParent !== null ? { firstPaint: root.dataset.firstPaint === '1', state: root.dataset.state ?? null } : null;
      })
      .catch(() => null);
    if (r) return r;
  }
  return { firstPaint: false, state: null };
}

describe('opening a CT in VS Code: time to the first slice and to loaded', function () {
  this.timeout(1_800_000);

  it(`the head CT and a 512×512×400 CT, ${RUNS} runs each, layout ${process.env.CTLENS_BENCH_LAYOUT ?? '1x3'}`, async function () {
    if (!fs.existsSync(BIG_CT)) generateBigCt(BIG_CT);
    const files: Record<string, { copy: string } | string> = { [HEAD]: { copy: sample(HEAD) }, 'big.nii.gz': { copy: BIG_CT } };
    if (process.env.CTLENS_BENCH_LAYOUT) files['.vscode/settings.json'] = JSON.stringify({ 'ctlens.viewer.layout': process.env.CTLENS_BENCH_LAYOUT });
    const s = await Session.open({ name: 'bench-open', workspace: makeWorkspace('bench-open', files) });
    const rows: string[] = [];
    try {
      await s.waitForCommand('CT Lens: Open Overlay…');
      for (const name of [HEAD, 'big.nii.gz']) {
        const first: number[] = [];
        const loaded: number[] = [];
        for (let run = 0; run < RUNS; run++) {
          const logBefore = s.extensionLog().length;
          await s.openFile(name);
          const t0 = Date.now();
          let tFirst = NaN;
          for (;;) {
            const v = await viewerState(s);
            if (v.firstPaint && Number.isNaN(tFirst)) tFirst = Date.now() - t0;
            if (v.state === 'ready' || v.state === 'error') {
              if (v.state === 'error') throw new Error(`${name}: the viewer shows an error`);
              break;
            }
            if (Date.now() - t0 > 600_000) throw new Error(`${name}: not loaded after 600 s`);
            await s.page.waitForTimeout(25);
          }
          loaded.push(Date.now() - t0);
          first.push(tFirst);
          const logged = /first slice painted \((\w+)\) (\d+) ms after opening/.exec(s.extensionLog().slice(logBefore));
          rows.push(`${name.padEnd(26)} run ${run + 1}: first slice ${String(tFirst).padStart(6)} ms, loaded ${String(loaded[run]).padStart(6)} ms` + (logged ? ` (extension log: first slice ${logged[2]} ms, ${logged[1]})` : ''));
          await s.runCommand('View: Close All Editors');
          await s.page.waitForTimeout(2000);
        }
        rows.push(`${name.padEnd(26)} median: first slice ${median(first)} ms, loaded ${median(loaded)} ms (${path.basename(name)}, ${RUNS} runs)`);
      }
      console.log(`\n${rows.join('\n')}\n`);
    } finally {
      await s.close();
    }
  });
});
