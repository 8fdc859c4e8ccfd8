// Viewer benchmark (issue 11; prints figures, asserts nothing): the standalone viewer page in headless Debian
// Chromium (SwiftShader WebGL2, and the 2D renderer with --disable-3d-apis) at 1024×768, on the real head CT and
// the generated 512×512×400 int16 CT (made once into .cache/bench/ by bench/big-ct.ts). Runs are interleaved
// (run n of every case before run n + 1 of any) and every figure is the median over runs.
//
// Figures, all times in ms from "the file's bytes are in the page" (decoding starts in the page):
//   first slice   the viewer's firstPaint event, then a pixel read back from every view canvas (GPU sync)
//   decoded       the viewer's loaded event (every slice decoded and handed to the views)
//   presented     loaded, then viewer.settled() (every view drawn at full quality) and a read-back
//   ÷ DS          decoded over the browser's own gunzip of the same bytes (DecompressionStream, read and dropped)
//   redraw        every view redrawn (setLayout) until settled and read back, warm
//   3D redraw     the 3D view alone redrawn at full quality (2×2)
//   rotate        one pointer move of an orbit drag on the 3D view until it is painted (coarse quality), via CDP
//   step          ArrowUp over the axial view until the slice views are painted and read back
//   step work     the same step's own work: from an animation-frame callback queued before the key to one queued
//                 after it (callbacks run in queue order, so the two bracket the viewer's frame), read-back included.
//                 step = the wait for the display's next frame (up to 16.7 ms at 60 Hz) + step work: a viewer that
//                 draws in animation frames cannot show a step sooner than the next frame, but keeps up with 60 fps
//                 while step work stays under 16.7 ms
//   ArrayBuffers  page ArrayBuffer backing stores after loading and a GC (CDP Runtime.getHeapUsage), less those of
//                 the same page with no file (the viewer's own, about 1 MB), over the raw voxel bytes
// NiiVue rows (optional: only when node_modules has @niivue/niivue, a devDependency pinned to the version issue 11
// compares with): bench/niivue/index.html, NiiVue's 2×2 multiplanar layout with its render tile, in the WebGL2
// browser, interleaved with the other cases. The same bytes-in-page start, read-back sync and ArrayBuffers; NiiVue
// decodes the whole file (decoded), then uploads it and draws all four tiles in one synchronous frame, so its first
// slice and presented are that frame. redraw is nv.drawScene() (all four tiles), step moveCrosshairInVox by one
// axial slice. A first frame that takes longer than CTLENS_BENCH_NIIVUE_TIMEOUT_S (default 120) is given up: its
// figures print as — with a note. Lines under the table give CT Lens's first slice as × sooner than NiiVue's and
// its 3D redraw over NiiVue's four-tile redraw (issue 11's goals: ≥ 20× / ≥ 40× sooner, 3D redraw ≤ 1×).
// Needs chromium and a build (`npm run bench` builds first). CTLENS_BENCH_RUNS sets the runs (default 3).
// CTLENS_BENCH_BEFORE=DIR also serves another built checkout (e.g. `git archive <commit>` + `npm run build`) and
// interleaves its runs with this one's, so a before/after comparison shares one machine state.
// CTLENS_BENCH_VOLUMES=head (or big) runs one volume only.
//   npm run bench -- viewer

import { existsSync, readFileSync, statSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { chromiumAvailable, launch, openPage, REPO_ROOT, serveStatic } from '../test/webview/browser/harness';
import { BIG_CT, generateBigCt } from './big-ct';

const RUNS = Number(process.env.CTLENS_BENCH_RUNS ?? 3);
const BEFORE = process.env.CTLENS_BENCH_BEFORE;
const VIEWPORT = { width: 1024, height: 768 };
const NIIVUE_TIMEOUT_MS = Number(process.env.CTLENS_BENCH_NIIVUE_TIMEOUT_S ?? 120) * 1000;

/** NiiVue's version when its browser bundle is installed, else null (no NiiVue rows). */
function niivueVersion(): string | null {
  const dir = join(REPO_ROOT, 'node_modules/@niivue/niivue');
  if (!existsSync(join(dir, 'dist/index.js'))) return null;
  return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
}

declare global {
  interface Window {
    /** bench/niivue/page.js */
    nvBench?: {
      timings: { fetched?: number; loaded?: number; firstShown?: number; presented?: number };
      error?: string;
      /** NiiVue attached to its canvas and ?file= opened (or failed: see error). */
      ready: Promise<void>;
      /** Median ms of `reps` redraws / slice steps, each read back. */
      redraw(reps: number): number;
      step(reps: number): number;
    };
  }
}

interface Volume {
  label: string;
  /** URL path under the repository root. */
  path: string;
  rawBytes: number;
}

const ALL_VOLUMES: Volume[] = [
  { label: 'head CT 256×256×108', path: '/media/samples/head_ct_invesalius.nii.gz', rawBytes: 256 * 256 * 108 * 2 },
  { label: 'big CT 512×512×400', path: '/.cache/bench/ct_512x512x400_int16_v1.nii.gz', rawBytes: 512 * 512 * 400 * 2 },
];

const VOLUMES = ALL_VOLUMES.filter((v) => !process.env.CTLENS_BENCH_VOLUMES || process.env.CTLENS_BENCH_VOLUMES.split(',').some((w) => v.label.startsWith(w)));

interface Case {
  renderer: 'webgl2' | 'canvas2d';
  layout: '1x3' | '2x2';
}

const CASES: Case[] = [
  { renderer: 'webgl2', layout: '1x3' },
  { renderer: 'webgl2', layout: '2x2' },
  { renderer: 'canvas2d', layout: '1x3' },
];

type Figures = Record<string, number | null>;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** first slice, decoded and presented (ms from the bytes being in the page) from a page's own timings. */
function loadFigures(t: { fetched?: number; loaded?: number; firstShown?: number; presented?: number }): Figures {
  return { first: t.firstShown! - t.fetched!, decoded: t.loaded! - t.fetched!, presented: t.presented! - t.fetched! };
}

/** In the page: time `act`, then wait for the viewer to settle and read back every view canvas. */
async function timeRedraw(page: Page, act: string, reps: number): Promise<number> {
  return page.evaluate(
    async ({ act, reps }) => {
      const viewer = window.ctlViewer!;
      const times: number[] = [];
      for (let n = 0; n < reps; n++) {
        await viewer.settled();
        const t0 = performance.now();
        if (act === 'all') viewer.setLayout(viewer.getState().layout!);
        else if (act === '3d') viewer.restoreState({ mode3d: 'mip' });
        else document.dispatchEvent(new KeyboardEvent('keydown', { key: n % 2 ? 'ArrowDown' : 'ArrowUp', bubbles: true }));
        await viewer.settled();
        for (const c of document.querySelectorAll<HTMLCanvasElement>('.ctl-view canvas')) {
          if (c.offsetParent !== null) c.getContext('2d')?.getImageData(0, 0, 1, 1);
        }
        times.push(performance.now() - t0);
      }
      times.sort((a, b) => a - b);
      return times[times.length >> 1]!;
    },
    { act, reps },
  );
}

async function centreOf(page: Page, view: string): Promise<{ x: number; y: number }> {
  const box = (await page.locator(`#ctl-view-${view} canvas`).boundingBox())!;
  return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
}

/** Median ms of a slice step's own work inside its animation frame (see "step work" above). */
async function timeStepWork(page: Page, reps: number): Promise<number> {
  return page.evaluate(async (reps) => {
    const viewer = window.ctlViewer!;
    const times: number[] = [];
    for (let n = 0; n < reps; n++) {
      await viewer.settled();
      const frame = new Promise<number>((resolve) => {
        let before = 0;
        requestAnimationFrame(() => (before = performance.now()));
        document.dispatchEvent(new KeyboardEvent('keydown', { key: n % 2 ? 'ArrowDown' : 'ArrowUp', bubbles: true }));
        requestAnimationFrame(() => {
          for (const c of document.querySelectorAll<HTMLCanvasElement>('.ctl-view canvas')) {
            if (c.offsetParent !== null) c.getContext('2d')?.getImageData(0, 0, 1, 1);
          }
          resolve(performance.now() - before);
        });
      });
      times.push(await frame);
    }
    times.sort((a, b) => a - b);
    return times[times.length >> 1]!;
  }, reps);
}

/** Frame time of an orbit drag on the 3D view (node side: includes the CDP round trip of each move). */
async function timeRotation(page: Page): Promise<{ frame: number; refine: number }> {
  const c = await centreOf(page, '3d');
  await page.mouse.move(c.x, c.y);
  await page.mouse.down();
  const times: number[] = [];
  for (let n = 1; n <= 12; n++) {
    const t0 = performance.now();
    await page.mouse.move(c.x + n * 8, c.y + n * 2);
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    times.push(performance.now() - t0);
  }
  await page.mouse.up();
  const t0 = performance.now();
  await page.evaluate(() => window.ctlViewer!.settled());
  return { frame: median(times.slice(2)), refine: performance.now() - t0 };
}

async function pageArrayBuffers(page: Page): Promise<number | null> {
  const cdp = await page.context().newCDPSession(page);
  try {
    await cdp.send('HeapProfiler.collectGarbage');
    const usage = (await cdp.send('Runtime.getHeapUsage')) as { backingStorageSize?: number };
    return usage.backingStorageSize ?? null;
  } finally {
    await cdp.detach();
  }
}

async function measure(browser: Browser, url: string, volume: Volume, c: Case): Promise<Figures> {
  const { page, log } = await openPage(browser, `${url}/webview/standalone.html?file=${volume.path}&layout=${c.layout}`, VIEWPORT);
  try {
    await page.waitForFunction(() => {
      const t = window.ctlStandalone?.timings;
      return (t && t.presented !== undefined) || document.querySelector('#ctl-root[data-state=error]');
    }, undefined, { timeout: 600000, polling: 100 });
    if ((await page.getAttribute('#ctl-root', 'data-state')) !== 'ready') {
      throw new Error(`${volume.path}: ${await page.textContent('#ctl-error')} ${log.errors.join(' ')}`);
    }
    const renderer = await page.getAttribute('#ctl-root', 'data-renderer');
    if (renderer !== c.renderer) throw new Error(`${volume.path}: renderer ${renderer}, expected ${c.renderer}`);
    const f = loadFigures(await page.evaluate(() => window.ctlStandalone!.timings));
    f.arrayBuffers = await pageArrayBuffers(page);
    f.redraw = await timeRedraw(page, 'all', 3);
    f.redraw3d = c.layout === '2x2' ? await timeRedraw(page, '3d', 3) : null;
    const axial = await centreOf(page, 'axial');
    await page.mouse.move(axial.x, axial.y);
    f.step = await timeRedraw(page, 'step', 11);
    f.stepWork = await timeStepWork(page, 11);
    if (c.layout === '2x2') {
      const r = await timeRotation(page);
      f.rotate = r.frame;
      f.refine = r.refine;
    }
    return f;
  } finally {
    await page.close();
  }
}

/**
 * NiiVue on the same file. A first frame past NIIVUE_TIMEOUT_MS gives { timedOut: 1 } and the decode time the
 * page logged, since a page blocked in NiiVue's draw answers no evaluate.
 */
async function measureNiivue(browser: Browser, url: string, volume: Volume): Promise<Figures> {
  const { page, log } = await openPage(browser, `${url}/bench/niivue/index.html?file=${volume.path}`, VIEWPORT);
  let decodedMs: number | undefined;
  page.on('console', (m) => {
    const logged = /^nvBench decoded (\S+)$/.exec(m.text());
    if (logged) decodedMs = Number(logged[1]);
  });
  try {
    try {
      await page.waitForFunction(() => window.nvBench?.timings.presented !== undefined || window.nvBench?.error, undefined, { timeout: NIIVUE_TIMEOUT_MS, polling: 100 });
    } catch (error) {
      if (error instanceof Error && error.name === 'TimeoutError') return decodedMs === undefined ? { timedOut: 1 } : { timedOut: 1, decoded: decodedMs };
      throw error;
    }
    const error = await page.evaluate(() => window.nvBench!.error);
    if (error) throw new Error(`NiiVue, ${volume.path}: ${error} ${log.errors.join(' ')}`);
    const f = loadFigures(await page.evaluate(() => window.nvBench!.timings));
    f.arrayBuffers = await pageArrayBuffers(page);
    f.redraw = await page.evaluate(() => window.nvBench!.redraw(3));
    f.step = await page.evaluate(() => window.nvBench!.step(11));
    f.stepWork = f.step; // NiiVue steps synchronously (moveCrosshairInVox draws the scene at once): all of it is work
    return f;
  } finally {
    await page.close();
  }
}

/** The browser's own gunzip of the same bytes: DecompressionStream, chunks read and dropped. */
async function decompressionStreamMs(browser: Browser, url: string, volume: Volume): Promise<number> {
  const { page } = await openPage(browser, `${url}/webview/standalone.html`, VIEWPORT);
  try {
    return await page.evaluate(async (path) => {
      const bytes = new Uint8Array(await (await fetch(path)).arrayBuffer());
      const t0 = performance.now();
      const reader = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip')).getReader();
      let n = 0;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        n += value.length;
      }
      if (n === 0) throw new Error('nothing decompressed');
      return performance.now() - t0;
    }, volume.path);
  } finally {
    await page.close();
  }
}

/** Median over the runs, or null unless every run has the figure (a run cut short leaves it out). */
function figure(runs: Figures[], key: string): number | null {
  const xs = runs.map((f) => f[key]).filter((v): v is number => typeof v === 'number');
  return xs.length && xs.length === runs.length ? median(xs) : null;
}

const ratio = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : a / b);

const fmt = (v: number | null | undefined, digits = 0) => (v === null || v === undefined ? '—' : v.toFixed(digits));
const fmtTimes = (v: number | null) => (v === null ? '—' : `${v.toFixed(1)}×`);

async function main(): Promise<void> {
  if (!chromiumAvailable()) {
    console.log('viewer bench skipped: chromium not found (apt-get install chromium, or set CTLENS_CHROMIUM)');
    return;
  }
  if (!existsSync(join(REPO_ROOT, 'dist/webview/standalone.js'))) throw new Error('run npm run build first');
  if (!existsSync(BIG_CT)) {
    const t = performance.now();
    console.log(`generating ${BIG_CT} (once; .cache is git-ignored) …`);
    generateBigCt(BIG_CT);
    console.log(`  done in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  console.log(`${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log(`headless Chromium ${VIEWPORT.width}×${VIEWPORT.height}, median of ${RUNS} interleaved runs; times in ms from the bytes in the page`);
  const nvVersion = niivueVersion();
  const nvName = `NiiVue ${nvVersion}`;
  if (!nvVersion) console.log('NiiVue rows skipped: node_modules/@niivue/niivue is not installed (npm install puts the devDependency there)');
  const server = await serveStatic(REPO_ROOT);
  const trees = [{ name: '', url: server.url }];
  const before = BEFORE ? await serveStatic(BEFORE) : null;
  if (before) trees.unshift({ name: 'before ', url: before.url });
  const browsers = { webgl2: await launch(), canvas2d: await launch({ disable3d: true }) };
  const empty = new Map<string, number>();
  for (const tree of trees) {
    for (const [name, browser] of Object.entries(browsers)) {
      const { page } = await openPage(browser, `${tree.url}/webview/standalone.html`, VIEWPORT);
      empty.set(`${tree.name}|${name}`, (await pageArrayBuffers(page)) ?? 0);
      await page.close();
    }
  }
  if (nvVersion) {
    const { page } = await openPage(browsers.webgl2, `${server.url}/bench/niivue/index.html`, VIEWPORT);
    await page.evaluate(() => window.nvBench!.ready);
    empty.set('niivue', (await pageArrayBuffers(page)) ?? 0);
    await page.close();
  }
  const results = new Map<string, Figures[]>();
  const ds = new Map<string, number[]>();
  try {
    for (let run = 0; run < RUNS; run++) {
      for (const volume of VOLUMES) {
        ds.set(volume.path, [...(ds.get(volume.path) ?? []), await decompressionStreamMs(browsers.webgl2, server.url, volume)]);
        for (const c of CASES) {
          for (const tree of trees) {
            const key = `${tree.name}|${volume.path}|${c.renderer}|${c.layout}`;
            const f = await measure(browsers[c.renderer], tree.url, volume, c);
            results.set(key, [...(results.get(key) ?? []), f]);
            process.stderr.write(`  run ${run + 1}/${RUNS} ${tree.name}${volume.label} ${c.renderer} ${c.layout}: ${JSON.stringify(f, (_, v) => (typeof v === 'number' ? Math.round(v) : v))}\n`);
          }
        }
        if (nvVersion) {
          const key = `niivue|${volume.path}`;
          const f = await measureNiivue(browsers.webgl2, server.url, volume);
          results.set(key, [...(results.get(key) ?? []), f]);
          process.stderr.write(`  run ${run + 1}/${RUNS} ${volume.label} ${nvName}: ${JSON.stringify(f, (_, v) => (typeof v === 'number' ? Math.round(v) : v))}\n`);
        }
      }
    }
  } finally {
    await browsers.webgl2.close();
    await browsers.canvas2d.close();
    await server.close();
    await before?.close();
  }

  const head = ['volume', 'renderer', 'layout', 'first slice', 'decoded', 'presented', '÷ DS', 'redraw', '3D redraw', 'rotate', 'refine', 'step', 'step work', 'ArrayBuffers MB', '÷ raw'];
  const rows: string[][] = [];
  const notes: string[] = [];
  for (const volume of VOLUMES) {
    const dsMs = median(ds.get(volume.path)!);
    const gz = statSync(join(REPO_ROOT, volume.path)).size;
    rows.push([`${volume.label} (${(gz / 1e6).toFixed(0)} MB gz)`, 'DecompressionStream alone', '', '', fmt(dsMs), '', '1.00', '', '', '', '', '', '', '', '']);
    const row = (label: string, renderer: string, layout: string, fs: Figures[], emptyBytes: number) => {
      const m = (k: string) => figure(fs, k);
      const all = m('arrayBuffers');
      const ab = all === null ? null : all - emptyBytes;
      rows.push([
        label,
        renderer,
        layout,
        fmt(m('first')),
        fmt(m('decoded')),
        fmt(m('presented')),
        fmt(ratio(m('decoded'), dsMs), 2),
        fmt(m('redraw')),
        fmt(m('redraw3d')),
        fmt(m('rotate')),
        fmt(m('refine')),
        fmt(m('step'), 1),
        fmt(m('stepWork'), 1),
        ab === null ? '—' : (ab / 1e6).toFixed(0),
        fmt(ratio(ab, volume.rawBytes), 2),
      ]);
    };
    for (const c of CASES) for (const tree of trees) {
      row(tree.name + volume.label, c.renderer, c.layout, results.get(`${tree.name}|${volume.path}|${c.renderer}|${c.layout}`)!, empty.get(`${tree.name}|${c.renderer}`)!);
    }
    if (!nvVersion) continue;
    const nv = results.get(`niivue|${volume.path}`)!;
    row(volume.label, nvName, '2x2', nv, empty.get('niivue')!);
    const timedOut = nv.filter((f) => f.timedOut).length;
    if (timedOut) notes.push(`${nvName}, ${volume.label}: no first frame within ${NIIVUE_TIMEOUT_MS / 1000} s in ${timedOut} of ${nv.length} runs (CTLENS_BENCH_NIIVUE_TIMEOUT_S); figures those runs did not reach print as —`);
    // Issue 11's goals against NiiVue: first slice ≥ 20× (head) / ≥ 40× (big) sooner, 3D redraw ≤ NiiVue's four tiles.
    const nvFirst = figure(nv, 'first');
    const nvRedraw = figure(nv, 'redraw');
    const sooner = CASES.flatMap((c) => trees.map((tree) => `${tree.name}${c.renderer} ${c.layout} ${fmtTimes(ratio(nvFirst, figure(results.get(`${tree.name}|${volume.path}|${c.renderer}|${c.layout}`)!, 'first')))}`));
    notes.push(`${volume.label}, CT Lens first slice × sooner than ${nvName}'s: ${sooner.join(', ')}`);
    for (const tree of trees) {
      const redraw3d = figure(results.get(`${tree.name}|${volume.path}|webgl2|2x2`)!, 'redraw3d');
      notes.push(`${volume.label}, ${tree.name}CT Lens 3D redraw ÷ ${nvName}'s four-tile redraw: ${fmt(redraw3d)} / ${fmt(nvRedraw)} ms = ${fmt(ratio(redraw3d, nvRedraw), 2)}`);
    }
  }
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) => r.map((v, c) => (c >= 3 ? v.padStart(widths[c]!) : v.padEnd(widths[c]!))).join('  ');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
  for (const n of notes) console.log(n);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
