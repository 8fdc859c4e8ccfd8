// Viewer benchmark (prints figures, asserts nothing): the standalone viewer page in headless Chromium (SwiftShader
// WebGL2, and the 2D renderer with --disable-3d-apis) on the real head CT and, when the NIfTI benchmark has
// generated it, the 512×512×400 int16 CT in .cache/bench/. Times are from "bytes in the page" (decoding starts in
// the page with DecompressionStream) to the first painted slice and to every slice painted, median of runs.
// Needs chromium and a build (`npm run bench` builds first).

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromiumAvailable, launch, openPage, REPO_ROOT, serveStatic } from '../test/webview/browser/harness';

interface Run {
  firstPaint: number;
  loaded: number;
}

const FILES: { label: string; path: string; runs: number }[] = [
  { label: 'head CT 256×256×108 int16 (3.6 MB .nii.gz)', path: '/media/samples/head_ct_invesalius.nii.gz', runs: 3 },
  { label: 'generated CT 512×512×400 int16', path: '/.cache/bench/ct_512x512x400_int16_v1.nii.gz', runs: 1 },
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  if (!chromiumAvailable()) {
    console.log('viewer bench skipped: chromium not found (set CTLENS_CHROMIUM)');
    return;
  }
  if (!existsSync(join(REPO_ROOT, 'dist/webview/standalone.js'))) throw new Error('run npm run build first');
  const server = await serveStatic(REPO_ROOT);
  const rows: string[][] = [];
  try {
    for (const disable3d of [false, true]) {
      const browser = await launch({ disable3d });
      try {
        for (const file of FILES) {
          if (!existsSync(join(REPO_ROOT, file.path))) {
            rows.push([file.label, disable3d ? 'canvas2d' : 'webgl2', 'not generated (run npm run bench -- nifti first)', '', '']);
            continue;
          }
          const runs: Run[] = [];
          let renderer = '';
          for (let n = 0; n < file.runs; n++) {
            const { page, log } = await openPage(browser, `${server.url}/webview/standalone.html?file=${file.path}`, { width: 1280, height: 720 });
            await page.waitForSelector('#ctl-root[data-state=ready], #ctl-root[data-state=error]', { timeout: 300000 });
            if ((await page.getAttribute('#ctl-root', 'data-state')) !== 'ready') {
              throw new Error(`${file.path}: ${await page.textContent('#ctl-error')} ${log.errors.join(' ')}`);
            }
            renderer = (await page.getAttribute('#ctl-root', 'data-renderer'))!;
            const t = await page.evaluate(() => window.ctlStandalone!.timings);
            runs.push({ firstPaint: t.firstPaint! - t.fetched!, loaded: t.loaded! - t.fetched! });
            await page.close();
          }
          rows.push([
            file.label,
            renderer,
            String(runs.length),
            median(runs.map((r) => r.firstPaint)).toFixed(0),
            median(runs.map((r) => r.loaded)).toFixed(0),
          ]);
        }
      } finally {
        await browser.close();
      }
    }
  } finally {
    await server.close();
  }
  const head = ['volume', 'renderer', 'runs', 'first slice painted (ms)', 'all slices (ms)'];
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) => r.map((v, c) => (c >= 2 ? v.padStart(widths[c]!) : v.padEnd(widths[c]!))).join('  ');
  console.log('Viewer in headless Chromium (standalone page): from file bytes in the page to painted slices');
  console.log(line(head));
  for (const r of rows) console.log(line(r));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
