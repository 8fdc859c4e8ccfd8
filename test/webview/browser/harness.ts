// Headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core) showing the standalone viewer page,
// served from the repository root by a throwaway static server. Shared by the browser tests and the viewer benchmark.

import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve } from 'node:path';
import { chromium, Browser, ConsoleMessage, Page } from 'playwright-core';

export const REPO_ROOT = resolve(__dirname, '../../..');

export const CHROMIUM_PATH = process.env.CTLENS_CHROMIUM ?? '/usr/bin/chromium';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.gz': 'application/gzip',
  '.nii': 'application/octet-stream',
};

/**
 * Serves files under `root` (GET only, no directory listing, no path escapes), plus in-memory `extra` files by
 * URL path (bad inputs made by a test).
 */
export async function serveStatic(root: string, extra: Record<string, Uint8Array> = {}): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    const bytes = extra[path];
    if (bytes) {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': 'no-store' }).end(bytes);
      return;
    }
    const file = join(root, path);
    if (!file.startsWith(root) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}

export interface BrowserOptions {
  /** Removes WebGL (tests the 2D fallback). */
  disable3d?: boolean;
  width?: number;
  height?: number;
}

export async function launch(options: BrowserOptions = {}): Promise<Browser> {
  const args = [
    '--headless=new',
    '--no-sandbox',
    '--disable-gpu',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    // SwiftShader gives WebGL2 in headless Chromium without a GPU; newer Chromium wants this flag for it.
    '--enable-unsafe-swiftshader',
  ];
  if (options.disable3d) args.push('--disable-3d-apis');
  return chromium.launch({ executablePath: CHROMIUM_PATH, args });
}

export interface PageLog {
  errors: string[];
  cspViolations: string[];
}

/** Opens a page and records console errors, page errors and CSP violations. */
export async function openPage(browser: Browser, url: string, options: BrowserOptions = {}): Promise<{ page: Page; log: PageLog }> {
  const page = await browser.newPage({ viewport: { width: options.width ?? 1280, height: options.height ?? 720 } });
  const log: PageLog = { errors: [], cspViolations: [] };
  page.on('console', (m: ConsoleMessage) => {
    if (m.type() === 'error') log.errors.push(m.text());
    if (/Content Security Policy/i.test(m.text())) log.cspViolations.push(m.text());
  });
  page.on('pageerror', (e) => log.errors.push(String(e)));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`Content Security Policy violation: ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  await page.goto(url);
  return { page, log };
}

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM_PATH);
}
