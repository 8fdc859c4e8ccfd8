// The viewer for real, in headless Chromium: the standalone page (same strict CSP as the webview) on the real head
// CT, with WebGL2 (SwiftShader) and without it (--disable-3d-apis → the 2D renderer). Screenshots go to
// test-artifacts/webview/ for a person to look at.
//
// Needs Debian's chromium (CTLENS_CHROMIUM overrides the path) and a build (`npm run build`, which test:unit runs).
// Without chromium the suite is skipped, unless CI=1 or CTLENS_REQUIRE_BROWSER=1, where it fails.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { Browser, Page } from 'playwright-core';
import { chromiumAvailable, launch, openPage, PageLog, REPO_ROOT, serveStatic } from './harness';

const HEAD = '/media/samples/head_ct_invesalius.nii.gz';
const MASK = '/media/samples/head_ct_invesalius_bone_mask.nii.gz';
const ARTIFACTS = join(REPO_ROOT, 'test-artifacts', 'webview');

/** HU of the head CT at file voxel (i, j, k), read straight from the file. */
function headValue(i: number, j: number, k: number): number {
  const raw = gunzipSync(readFileSync(join(REPO_ROOT, HEAD)));
  return raw.readInt16LE(352 + 2 * (i + 256 * (j + 256 * k)));
}

/** The bone mask with every label 0: the head's geometry, nothing to draw. */
function emptyMask(): Uint8Array {
  const raw = gunzipSync(readFileSync(join(REPO_ROOT, MASK)));
  raw.fill(0, raw.readFloatLE(108));
  return gzipSync(raw);
}

/** A view canvas's pixels (RGBA). */
async function canvasPixels(page: Page, view: string): Promise<number[]> {
  return page.evaluate((v) => {
    const canvas = document.querySelector<HTMLCanvasElement>(`#ctl-view-${v} canvas`)!;
    return Array.from(canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data);
  }, view);
}

async function waitSettled(page: Page): Promise<string> {
  await page.waitForSelector('#ctl-root[data-state=ready], #ctl-root[data-state=error]', { timeout: 60000 });
  // Two animation frames: the last slab's repaint has happened.
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  return (await page.getAttribute('#ctl-root', 'data-state'))!;
}

/** Fractions of lit (gray > 24) and reddish (overlay-tinted) pixels of a view's canvas. */
async function canvasStats(page: Page, view: string): Promise<{ lit: number; red: number; w: number; h: number }> {
  return page.evaluate((v) => {
    const canvas = document.querySelector<HTMLCanvasElement>(`#ctl-view-${v} canvas`)!;
    const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    let lit = 0;
    let red = 0;
    for (let n = 0; n < data.length; n += 4) {
      if (data[n]! > 24 || data[n + 1]! > 24) lit++;
      if (data[n]! > data[n + 1]! + 60 && data[n]! > data[n + 2]! + 30) red++;
    }
    const px = data.length / 4;
    return { lit: lit / px, red: red / px, w: canvas.width, h: canvas.height };
  }, view);
}

async function gotoVoxel(page: Page, ijk: string): Promise<void> {
  await page.fill('#ctl-goto', ijk);
  await page.press('#ctl-goto', 'Enter');
}

function assertClean(log: PageLog): void {
  assert.deepEqual(log.cspViolations, [], 'no Content Security Policy violations');
  assert.deepEqual(log.errors, [], 'no console or page errors');
}

describe('webview/standalone page in headless Chromium', function () {
  this.timeout(120000);
  let server: Awaited<ReturnType<typeof serveStatic>>;

  before(async function () {
    if (!chromiumAvailable()) {
      if (process.env.CI || process.env.CTLENS_REQUIRE_BROWSER) throw new Error('chromium not found (set CTLENS_CHROMIUM)');
      this.skip();
    }
    assert.ok(existsSync(join(REPO_ROOT, 'dist/webview/standalone.js')), 'dist/webview/standalone.js missing: run npm run build');
    mkdirSync(ARTIFACTS, { recursive: true });
    server = await serveStatic(REPO_ROOT, {
      '/bad/not-nifti.nii': new TextEncoder().encode('this is not a NIfTI file\n'.repeat(40)),
      '/bad/truncated.nii.gz': readFileSync(join(REPO_ROOT, HEAD)).subarray(0, 200000),
      '/empty-mask.nii.gz': emptyMask(),
    });
  });

  after(async () => {
    await server?.close();
  });

  describe('with WebGL2', () => {
    let browser: Browser;
    before(async () => {
      browser = await launch();
    });
    after(async () => {
      await browser?.close();
    });

    it('opens the real head CT with WebGL2, paints, and reads HU at a voxel', async () => {
      const { page, log } = await openPage(browser, `${server.url}/webview/standalone.html?file=${HEAD}`);
      assert.equal(await waitSettled(page), 'ready');
      const root = await page.$eval('#ctl-root', (e) => ({ ...(e as HTMLElement).dataset }));
      assert.equal(root.renderer, 'webgl2', `renderer (notice: ${await page.textContent('#ctl-notice')})`);
      assert.equal(root.dims, '256,256,108');
      assert.equal(root.firstPaint, '1');
      // The WebGL output was checked against the CPU renderer in the page; it would have switched to canvas2d.
      for (const v of ['axial', 'coronal', 'sagittal']) {
        const s = await canvasStats(page, v);
        assert.ok(s.lit > 0.1, `${v} view shows the head (${(s.lit * 100).toFixed(1)}% lit)`);
      }
      await gotoVoxel(page, '128,128,54');
      const readout = await page.$eval('#ctl-readout', (e) => ({ ...(e as HTMLElement).dataset, text: e.textContent }) as Record<string, string | undefined>);
      assert.equal(readout.ijk, '128,128,54');
      assert.equal(Number(readout.value), headValue(128, 128, 54));
      assert.match(readout.text!, /^HU -?\d+ · voxel \(128, 128, 54\) · \(-?[\d.]+, -?[\d.]+, -?[\d.]+\) mm$/);
      // The axial view moved to slice k = 54 (display index 54 of 108 in this LAS file: S follows k).
      assert.equal(await page.textContent('#ctl-view-axial .ctl-view-info'), '55 / 108');

      await page.click('[data-preset=bone]');
      assert.deepEqual(await page.$eval('#ctl-window', (e) => [(e as HTMLElement).dataset.center, (e as HTMLElement).dataset.width]), ['400', '1800']);
      await page.screenshot({ path: join(ARTIFACTS, 'webgl2-bone.png') });
      assertClean(log);
      await page.close();
    });

    it('steps slices with the wheel and the keyboard, windows with a right-drag, switches layouts and draws 3D', async () => {
      const { page, log } = await openPage(browser, `${server.url}/webview/standalone.html?file=${HEAD}`);
      await waitSettled(page);
      const info = () => page.textContent('#ctl-view-axial .ctl-view-info');
      const box = (await page.locator('#ctl-view-axial canvas').boundingBox())!;
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      const before = await info();
      await page.mouse.wheel(0, -100); // two steps of 50 px towards superior
      await page.waitForFunction((b) => document.querySelector('#ctl-view-axial .ctl-view-info')!.textContent !== b, before);
      const n0 = Number(before!.split(' ')[0]);
      assert.equal(await info(), `${n0 + 2} / 108`);
      await page.keyboard.press('PageDown');
      // The slice label is redrawn on the next animation frame, which a loaded machine can delay past the key press.
      const expected = `${n0 + 1} / 108`;
      await page
        .waitForFunction((t) => document.querySelector('#ctl-view-axial .ctl-view-info')!.textContent === t, expected, { timeout: 5000 })
        .catch(() => undefined);
      assert.equal(await info(), expected);
      // Hovering shows the voxel under the cursor.
      assert.equal(await page.getAttribute('#ctl-readout', 'data-source'), 'cursor');

      const w0 = Number(await page.getAttribute('#ctl-window', 'data-width'));
      await page.mouse.down({ button: 'right' });
      await page.mouse.move(box.x + box.width / 2 + 80, box.y + box.height / 2, { steps: 4 });
      await page.mouse.up({ button: 'right' });
      assert.ok(Number(await page.getAttribute('#ctl-window', 'data-width')) > w0, 'right-drag to the right widens the window');

      await page.click('[data-layout="2x2"]');
      assert.equal(await page.getAttribute('#ctl-root', 'data-layout'), '2x2');
      await page.waitForTimeout(500);
      const s3 = await canvasStats(page, '3d');
      assert.ok(s3.lit > 0.05, `3D MIP shows the head (${(s3.lit * 100).toFixed(1)}% lit)`);
      await page.screenshot({ path: join(ARTIFACTS, 'webgl2-2x2.png') });
      await page.click('[data-layout="single"]');
      assert.equal(await page.isVisible('#ctl-view-coronal'), false);
      assertClean(log);
      await page.close();
    });

    it('skips empty space in the 3D MIP without changing its pixels (the plain march an overlay takes)', async () => {
      const { page, log } = await openPage(browser, `${server.url}/webview/standalone.html?file=${HEAD}&layout=2x2`);
      await waitSettled(page);
      await page.evaluate(() => window.ctlViewer!.settled());
      const skipping = await canvasPixels(page, '3d');
      // An overlay sends the ray-march down its plain path (every sample, no brick skipping); one with nothing in
      // it adds no colour, so the two images must agree.
      await page.evaluate(() => window.ctlStandalone!.loadOverlay('/empty-mask.nii.gz'));
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
      await page.evaluate(() => window.ctlViewer!.settled());
      const plain = await canvasPixels(page, '3d');
      assert.equal(plain.length, skipping.length);
      let lit = 0;
      let off = 0;
      let worst = 0;
      for (let n = 0; n < plain.length; n += 4) {
        if (skipping[n]! > 24) lit++;
        const d = Math.abs(plain[n]! - skipping[n]!);
        if (d > 1) off++;
        worst = Math.max(worst, d);
      }
      assert.ok(lit / (plain.length / 4) > 0.05, 'the MIP shows the head');
      // Sample positions are computed along two routes (object vs texture space): a grey level of rounding.
      assert.ok(off / (plain.length / 4) < 0.001, `${off} pixels differ by more than 1 (worst ${worst})`);
      assertClean(log);
      await page.close();
    });

    it('draws the bone mask overlay in world space and reads it out', async () => {
      const { page, log } = await openPage(browser, `${server.url}/webview/standalone.html?file=${HEAD}`);
      await waitSettled(page);
      const id = await page.evaluate((m) => window.ctlStandalone!.loadOverlay(m).then((o) => o.id), MASK);
      assert.equal(await page.getAttribute('#ctl-root', 'data-overlay'), id);
      assert.ok(await page.isVisible('#ctl-overlay'));
      assert.ok(await page.isVisible('#ctl-overlay [data-control=opacity]'));
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
      const stats = await canvasStats(page, 'axial');
      assert.ok(stats.red > 0.01, `the skull is tinted (${(stats.red * 100).toFixed(2)}% of pixels)`);
      // A voxel in the skull (HU above the mask's 226 threshold) reads label 1; air reads 0.
      const raw = gunzipSync(readFileSync(join(REPO_ROOT, HEAD)));
      let bone: number[] | null = null;
      for (let i = 0; i < 256 && !bone; i++) if (raw.readInt16LE(352 + 2 * (i + 256 * (128 + 256 * 54))) > 600) bone = [i, 128, 54];
      await gotoVoxel(page, bone!.join(','));
      assert.match((await page.textContent('#ctl-readout'))!, /head_ct_invesalius_bone_mask\.nii\.gz 1$/);
      await gotoVoxel(page, '2,2,54');
      assert.match((await page.textContent('#ctl-readout'))!, /head_ct_invesalius_bone_mask\.nii\.gz 0$/);
      await page.screenshot({ path: join(ARTIFACTS, 'webgl2-overlay.png') });
      assertClean(log);
      await page.close();
    });

    it('takes a renderer, layout and window preset changed while it is open (live settings, issue 10)', async () => {
      const { page, log } = await openPage(browser, `${server.url}/webview/standalone.html?file=${HEAD}`);
      assert.equal(await waitSettled(page), 'ready');
      await gotoVoxel(page, '128,128,54');
      const settled = () => page.evaluate(() => window.ctlViewer!.settled());
      /** A checksum of the axial view's pixels. */
      const axial = () =>
        page.evaluate(() => {
          const canvas = document.querySelector<HTMLCanvasElement>('#ctl-view-axial canvas')!;
          const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
          let sum = 0;
          for (let n = 0; n < data.length; n++) sum = (sum * 31 + data[n]!) >>> 0;
          return sum;
        });
      await settled();
      const webgl = await axial();
      const readout = await page.getAttribute('#ctl-readout', 'data-value');

      await page.evaluate(() => window.ctlViewer!.setRenderer('canvas2d'));
      await settled();
      assert.equal(await page.getAttribute('#ctl-root', 'data-renderer'), 'canvas2d');
      assert.ok(await page.isHidden('#ctl-notice'), 'a chosen 2D renderer is no failure: no notice');
      assert.ok((await canvasStats(page, 'axial')).lit > 0.1, 'the 2D renderer painted the slice');
      assert.equal(await page.getAttribute('#ctl-readout', 'data-value'), readout);

      await page.evaluate(() => window.ctlViewer!.setRenderer('webgl2'));
      await settled();
      assert.equal(await page.getAttribute('#ctl-root', 'data-renderer'), 'webgl2');
      assert.equal(await axial(), webgl, 'back on WebGL2, the same pixels as before the switch');

      await page.evaluate(() => window.ctlViewer!.setLayout('2x2'));
      assert.equal(await page.getAttribute('#ctl-root', 'data-layout'), '2x2');
      await page.evaluate(() => window.ctlViewer!.setWindowPreset('lung', { now: true }));
      assert.deepEqual(await page.$eval('#ctl-window', (e) => [(e as HTMLElement).dataset.center, (e as HTMLElement).dataset.width]), ['-600', '1500']);
      assertClean(log);
      await page.close();
    });

    it('switches to the 2D renderer when WebGL2 draws nothing (the black-canvas driver failure)', async () => {
      const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
      // Simulate a driver whose WebGL output never reaches the screen: copies from WebGL canvases draw nothing.
      await page.addInitScript(() => {
        const drawImage = CanvasRenderingContext2D.prototype.drawImage as (...args: unknown[]) => void;
        CanvasRenderingContext2D.prototype.drawImage = function (this: CanvasRenderingContext2D, ...args: unknown[]) {
          const source = args[0];
          if (source instanceof HTMLCanvasElement && source.getContext('webgl2')) return;
          drawImage.apply(this, args);
        } as typeof CanvasRenderingContext2D.prototype.drawImage;
      });
      await page.goto(`${server.url}/webview/standalone.html?file=${HEAD}`);
      assert.equal(await waitSettled(page), 'ready');
      await page.waitForFunction(() => document.getElementById('ctl-root')!.dataset.renderer === 'canvas2d', undefined, { timeout: 10000 });
      assert.match((await page.textContent('#ctl-notice'))!, /WebGL2 drew a blank image/);
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
      assert.ok((await canvasStats(page, 'axial')).lit > 0.1, 'the 2D renderer painted the slice');
      await page.close();
    });

    it('shows decoder errors by name', async () => {
      for (const [file, pattern] of [
        ['/bad/not-nifti.nii', /^NotNifti: /],
        ['/bad/truncated.nii.gz', /^Truncated: /],
      ] as const) {
        const { page } = await openPage(browser, `${server.url}/webview/standalone.html?file=${file}`);
        assert.equal(await waitSettled(page), 'error');
        assert.ok(await page.isVisible('#ctl-error'));
        assert.match((await page.textContent('#ctl-error'))!, pattern);
        await page.close();
      }
    });
  });

  describe('without WebGL (--disable-3d-apis)', () => {
    it('falls back to the 2D renderer with a notice and the same readout', async () => {
      const browser = await launch({ disable3d: true });
      try {
        const { page, log } = await openPage(browser, `${server.url}/webview/standalone.html?file=${HEAD}&layout=2x2`);
        assert.equal(await waitSettled(page), 'ready');
        assert.equal(await page.getAttribute('#ctl-root', 'data-renderer'), 'canvas2d');
        assert.equal(await page.getAttribute('#ctl-root', 'data-first-paint'), '1');
        assert.match((await page.textContent('#ctl-notice'))!, /WebGL2 is unavailable/);
        assert.ok(await page.isVisible('#ctl-notice'));
        for (const v of ['axial', 'coronal', 'sagittal']) assert.ok((await canvasStats(page, v)).lit > 0.1, `${v} painted`);
        await gotoVoxel(page, '100,140,30');
        assert.equal(Number(await page.getAttribute('#ctl-readout', 'data-value')), headValue(100, 140, 30));
        await page.screenshot({ path: join(ARTIFACTS, 'canvas2d-2x2.png') });
        assertClean(log);
      } finally {
        await browser.close();
      }
    });
  });
});
