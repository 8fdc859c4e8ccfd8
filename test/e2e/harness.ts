// End-to-end harness: the packaged extension in a real VS Code (code-server 4.100.3 = VS Code 1.100.3), driven by
// playwright-core and Debian's Chromium. One code-server serves a whole run (started on first use, stopped by the
// root hook in hooks.ts; a spec that needs another environment gets a second one, `SessionOptions.server`); every
// `Session` is its own browser, workspace and extension-host window, so specs do not share state. `test/e2e/run.sh` prepares what this needs and passes it in the environment (see `e2eEnv`).
//
//   const ws = makeWorkspace('viewer', { 'ct.nii.gz': { copy: sample('head_ct_invesalius.nii.gz') } });
//   const s = await Session.open({ name: 'viewer', workspace: ws });
//   await s.waitForCommand('CT Lens: Open Overlay…');  // extension registered: files now open in its editor
//   await s.openFile('ct.nii.gz');
//   const v = s.viewer();                                // the webview document (FrameLocator)
//   await waitForAttribute(v.locator('#ctl-root'), 'data-state', 'ready');
//   await s.screenshot('loaded');
//   await s.close();
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium, type BrowserContext, type Frame, type FrameLocator, type Locator, type Page } from 'playwright-core';
import {
  ensureCodeServer,
  openInConnectedWindow,
  prepareProfile,
  startCodeServer,
  type CodeServer,
} from '../../scripts/lib/code-server.mjs';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** What run.sh hands over. Outside run.sh the defaults build nothing: the VSIX must already exist. */
export interface E2EEnv {
  /** Scratch folder for this run (code-server profile, workspaces, browser profiles); wiped by run.sh. */
  root: string;
  /** Screenshots and logs for people to look at (test-artifacts/e2e). */
  artifacts: string;
  vsix: string;
  chromium: string;
  /** Extra Chromium switches for every session, e.g. `--disable-3d-apis` (CTLENS_E2E_CHROMIUM_ARGS). */
  chromiumArgs: string[];
}

export function e2eEnv(): E2EEnv {
  const env = process.env;
  const manifest = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
  };
  return {
    root: path.resolve(env.CTLENS_E2E_ROOT ?? path.join(REPO_ROOT, '.vscode-e2e')),
    artifacts: path.resolve(env.CTLENS_E2E_ARTIFACTS ?? path.join(REPO_ROOT, 'test-artifacts', 'e2e')),
    vsix: path.resolve(
      env.CTLENS_E2E_VSIX ??
        path.join(REPO_ROOT, `${manifest.name}-${manifest.version}-${process.platform}-${process.arch}.vsix`),
    ),
    chromium: env.CTLENS_CHROMIUM ?? '/usr/bin/chromium',
    chromiumArgs: (env.CTLENS_E2E_CHROMIUM_ARGS ?? '').split(/\s+/).filter(Boolean),
  };
}

/** Absolute path of a bundled sample volume. */
export function sample(name: string): string {
  return path.join(REPO_ROOT, 'media', 'samples', name);
}

// ---------------------------------------------------------------------------------------------------------------
// The shared code-server

export interface Server {
  cs: CodeServer;
  userDataDir: string;
  extensionsDir: string;
}

/**
 * A code-server of its own for specs that need its processes (extension host, model host) to see another
 * environment, e.g. the software Vulkan that gives WebGPU an adapter (model-webgpu.e2e.ts). Its profile, scratch
 * folder and logs are named after `name`; the default server is left as it is.
 */
export interface ServerOptions {
  name: string;
  /** Added to code-server's environment (and so to the extension host and the model host it starts). */
  env: Record<string, string>;
}

const servers = new Map<string, Promise<Server>>();

/**
 * The run's code-server with the VSIX installed in a fresh profile, started on first call; with `options`, the one of
 * that name (started with its extra environment on first call).
 */
export function sharedServer(options?: ServerOptions): Promise<Server> {
  const name = options?.name ?? '';
  let server = servers.get(name);
  if (!server) {
    server = (async () => {
      const env = e2eEnv();
      if (!fs.existsSync(env.vsix)) {
        throw new Error(`${env.vsix} does not exist: run the suite with \`npm run test:e2e\` (it packages the VSIX first)`);
      }
      const bin = await ensureCodeServer();
      const root = path.join(env.root, name ? `code-server-${name}` : 'code-server');
      fs.rmSync(root, { recursive: true, force: true });
      fs.mkdirSync(root, { recursive: true });
      const profile = prepareProfile({ bin, root, vsix: env.vsix, log: () => {} });
      const cs = await startCodeServer({ bin, root, ...profile, ...(options ? { env: options.env } : {}) });
      // Ctrl-C or a CI timeout ends Node without 'exit' handlers; code-server runs in its own process group, so it
      // would outlive us.
      for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
        process.once(sig, () => {
          cs.kill();
          process.exit(code);
        });
      }
      return { cs, ...profile };
    })();
    servers.set(name, server);
  }
  return server;
}

/** Stop every code-server of the run (and every process each started) and keep their logs with the artifacts. */
export async function stopSharedServers(): Promise<void> {
  const all = [...servers];
  servers.clear();
  for (const [name, server] of all) {
    const s = await server.catch(() => undefined);
    if (!s) continue;
    await s.cs.stop();
    const dest = path.join(e2eEnv().artifacts, name ? `code-server-${name}` : 'code-server');
    fs.mkdirSync(dest, { recursive: true });
    fs.copyFileSync(s.cs.logFile, path.join(dest, 'code-server.log'));
    const logs = path.join(s.userDataDir, 'logs');
    if (fs.existsSync(logs)) fs.cpSync(logs, path.join(dest, 'logs'), { recursive: true });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Workspaces

export type WorkspaceFile = string | Uint8Array | { copy: string };

/**
 * A fresh workspace folder under the run's scratch root holding `files` (relative path → text, bytes or a file to
 * copy). Returns its absolute path. Settings for one spec go in as a file:
 * `'.vscode/settings.json': JSON.stringify({ 'ctlens.viewer.layout': '2x2' })`.
 */
export function makeWorkspace(name: string, files: Record<string, WorkspaceFile>): string {
  const dir = path.join(e2eEnv().root, 'workspaces', name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  for (const [rel, content] of Object.entries(files)) {
    const dest = path.join(dir, rel);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    if (typeof content === 'string' || content instanceof Uint8Array) fs.writeFileSync(dest, content);
    else fs.copyFileSync(content.copy, dest);
  }
  return dir;
}

// ---------------------------------------------------------------------------------------------------------------
// A browser window on a workspace

export interface SessionOptions {
  /** Artifact subfolder and browser-profile name; unique per session. */
  name: string;
  /** Absolute path of the workspace folder to open. */
  workspace: string;
  /** Launch Chromium with `--disable-3d-apis`: no WebGL at all, to exercise 2D fallbacks. */
  disable3d?: boolean;
  chromiumArgs?: string[];
  viewport?: { width: number; height: number };
  /** Open the workspace in the code-server of this name and environment instead of the default one. */
  server?: ServerOptions;
}

/** Sessions not closed yet, for the failure screenshots taken by hooks.ts. */
const openSessions = new Set<Session>();

/** Screenshot every open session as FAILED-<label>.png (called by hooks.ts after a failing test). */
export async function screenshotOpenSessions(label: string): Promise<void> {
  for (const s of openSessions) await s.screenshot(`FAILED-${label}`).catch(() => {});
}

export class Session {
  /** Console errors of the workbench and its webviews, in order (also written to console.log at close). */
  readonly consoleErrors: string[] = [];
  private shots = 0;
  private readonly knownLogs: Set<string>;

  private constructor(
    readonly page: Page,
    readonly context: BrowserContext,
    readonly server: Server,
    readonly options: SessionOptions,
    readonly artifacts: string,
    private readonly browserProfile: string,
  ) {
    this.knownLogs = new Set(listFiles(path.join(server.userDataDir, 'logs')));
    openSessions.add(this);
  }

  /** Launch Chromium on the workspace and wait for the workbench. */
  static async open(options: SessionOptions): Promise<Session> {
    const env = e2eEnv();
    const srv = await sharedServer(options.server);
    const artifacts = path.join(env.artifacts, options.name);
    fs.rmSync(artifacts, { recursive: true, force: true });
    fs.mkdirSync(artifacts, { recursive: true });
    const browserProfile = path.join(env.root, 'chromium', options.name);
    fs.rmSync(browserProfile, { recursive: true, force: true });
    fs.mkdirSync(path.join(browserProfile, 'Default'), { recursive: true });
    // VS Code web serves webviews from another origin that needs a service worker and storage: allow third-party
    // cookies/storage in this profile or webviews never load.
    fs.writeFileSync(
      path.join(browserProfile, 'Default', 'Preferences'),
      JSON.stringify({ profile: { cookie_controls_mode: 0, block_third_party_cookies: false } }),
    );
    const args = [
      '--no-sandbox',
      '--disable-gpu', // headless Chromium still gives WebGL2 through SwiftShader
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...env.chromiumArgs,
      ...(options.disable3d ? ['--disable-3d-apis'] : []),
      ...(options.chromiumArgs ?? []),
    ];
    const context = await chromium.launchPersistentContext(browserProfile, {
      executablePath: env.chromium,
      headless: true,
      viewport: options.viewport ?? { width: 1400, height: 900 },
      args,
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const session = new Session(page, context, srv, options, artifacts, browserProfile);
    page.on('console', (m) => {
      if (m.type() === 'error') session.consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => session.consoleErrors.push(`pageerror: ${e.message}`));
    await page.goto(srv.cs.folderUrl(options.workspace));
    await page.locator('.monaco-workbench').waitFor({ timeout: 90_000 });
    return session;
  }

  /**
   * Wait until `title` is listed in the command palette, i.e. the extension's contributions are registered.
   * Open files only after this: before it, VS Code opens a `.nii.gz` in the text editor instead of the
   * extension's custom editor (the editor resolver does not wait for extensions in a fresh profile).
   */
  async waitForCommand(title: string, timeoutMs = 90_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    try {
      while (Date.now() < deadline) {
        if (await this.showInPalette(title, 3000)) return;
        await this.page.waitForTimeout(1000);
      }
      throw new Error(`command "${title}" did not appear in the command palette within ${timeoutMs} ms`);
    } finally {
      await this.page.keyboard.press('Escape');
    }
  }

  /** Run a command palette command by its full title (category included, e.g. "CT Lens: Open Overlay…"). */
  async runCommand(title: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await this.showInPalette(title, 3000)) {
        // Enter runs the first row; make sure it is the exact title, not a longer one that merely contains it.
        const row = this.quickInputRows().filter({ hasText: title }).first();
        await row.click();
        return;
      }
      await this.page.keyboard.press('Escape');
      await this.page.waitForTimeout(1000);
    }
    throw new Error(`command "${title}" not found in the command palette`);
  }

  private quickInputRows(): Locator {
    return this.page.locator('.quick-input-widget .quick-input-list .monaco-list-row');
  }

  private async showInPalette(title: string, timeoutMs: number): Promise<boolean> {
    try {
      const input = await this.openQuickInput('F1');
      await input.fill(`>${title}`);
      await this.quickInputRows().filter({ hasText: title }).first().waitFor({ timeout: timeoutMs });
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Open the quick input (F1: commands, Control+P: files) and return its text box. A webview that keeps the
   * keyboard focus can swallow the key (seen in CI after the Routing view or a viewer was used); then the quick input
   * is opened with the mouse through the title bar's command centre — the caller's text (`>…` for a command, a
   * path for a file) picks the mode either way.
   */
  private async openQuickInput(key: 'F1' | 'Control+P'): Promise<Locator> {
    await this.page.keyboard.press('Escape');
    await this.focusWorkbench();
    await this.page.keyboard.press(key);
    const input = this.page.locator('.quick-input-widget input.input').first();
    const opened = await input.waitFor({ timeout: 3_000 }).then(() => true, () => false);
    if (!opened) {
      await this.page.locator('.command-center .command-center-center').first().click({ timeout: 5_000 });
      await input.waitFor({ timeout: 5_000 });
    }
    return input;
  }

  /** Keyboard focus back on the workbench (a focused webview would swallow F1 / Ctrl+P). */
  private async focusWorkbench(): Promise<void> {
    // An empty spot of the title bar, left of the command centre.
    await this.page.locator('.part.titlebar').first().click({ position: { x: 200, y: 15 }, force: true }).catch(() => {});
  }

  /**
   * Open a workspace file by its path relative to the workspace: through Quick Open (default; works for nested
   * paths) or by double-clicking its row in the Explorer (top-level files). Waits for its editor tab.
   */
  async openFile(relPath: string, via: 'quick-open' | 'explorer' = 'quick-open'): Promise<void> {
    const base = path.basename(relPath);
    const dir = path.dirname(relPath);
    for (let attempt = 1; ; attempt++) {
      if (via === 'explorer') {
        const row = this.page
          .locator('.explorer-folders-view .monaco-list-row')
          .filter({ has: this.page.locator('.label-name', { hasText: new RegExp(`^${escapeRegExp(base)}$`) }) })
          .first();
        await row.waitFor({ timeout: 30_000 });
        await row.dblclick();
      } else {
        const input = await this.openQuickInput('Control+P');
        await input.fill(relPath);
        // Quick Open lists recent files at once and search results (ripgrep on the server) later, so rows move
        // while it fills: pick the row whose label is exactly the file (fuzzy matching also lists look-alikes).
        const row = this.quickInputRows()
          .filter({ has: this.page.locator('.label-name', { hasText: new RegExp(`^${escapeRegExp(base)}$`) }) })
          .filter(dir === '.' ? {} : { has: this.page.locator('.label-description', { hasText: dir }) })
          .first();
        await row.waitFor({ timeout: 30_000 });
        await this.page.waitForTimeout(300);
        await row.click();
      }
      // The tab must be the ACTIVE one: a tab of the same file may be open already from earlier steps.
      try {
        await this.activeTab(base).waitFor({ timeout: 15_000 });
        return;
      } catch (e) {
        if (attempt === 3) throw new Error(`opening ${relPath} did not make it the active editor: ${String(e)}`);
      }
    }
  }

  /** The active editor tab, if its label is exactly `name`. */
  activeTab(name: string): Locator {
    return this.page
      .locator('.tabs-container .tab.active')
      .filter({ has: this.page.locator('.label-name', { hasText: new RegExp(`^${escapeRegExp(name)}$`) }) })
      .first();
  }

  /** Open files the way `code FILE` does in VS Code's terminal (no UI involved). Absolute paths. */
  async openFromCli(...absPaths: string[]): Promise<void> {
    const ok = await openInConnectedWindow({
      userDataDir: this.server.userDataDir,
      files: absPaths,
      signal: AbortSignal.timeout(60_000),
      settleMs: 0,
    });
    if (!ok) throw new Error(`could not open ${absPaths.join(', ')} through code-server's CLI socket`);
    await this.activeTab(path.basename(absPaths[absPaths.length - 1]!)).waitFor({ timeout: 30_000 });
  }

  /**
   * Answer an open-file dialog (`vscode.window.showOpenDialog`), which VS Code web shows as a quick input holding a
   * path: type `absPath` and accept it.
   */
  async acceptFileDialog(absPath: string): Promise<void> {
    const input = this.page.locator('.quick-input-widget input.input').first();
    await input.waitFor({ timeout: 15_000 });
    // The dialog updates its list for the typed path asynchronously and ignores Enter while it is busy (more often
    // so on a loaded machine): retype and press Enter again until it closes.
    for (let attempt = 1; ; attempt++) {
      if ((await input.inputValue()) !== absPath) await input.fill(absPath);
      await this.quickInputRows()
        .filter({ hasText: path.basename(absPath) })
        .first()
        .waitFor({ timeout: 5_000 })
        .catch(() => {});
      await input.press('Enter');
      try {
        await input.waitFor({ state: 'hidden', timeout: 5_000 });
        return;
      } catch (e) {
        if (attempt === 4) throw new Error(`the file dialog did not accept ${absPath}: ${String(e)}`);
      }
    }
  }

  /** The editor tab whose label is `name`. */
  editorTab(name: string): Locator {
    return this.page.locator('.tabs-container .tab', { hasText: name }).first();
  }

  /**
   * The document inside the visible editor-area webview (the custom editor, or a webview panel). VS Code web nests
   * it twice: the webview host iframe, then `#active-frame`. Hidden webviews (background tabs) are skipped, and so
   * are sidebar/panel webview views (their host iframe's URL says `purpose=webviewView`).
   */
  viewer(): FrameLocator {
    return this.webview('editor');
  }

  /**
   * The document of a visible webview: `editor` (custom editors, webview panels) or `view` (webview views in the
   * sidebar or panel); `index` picks among several visible ones, in DOM order.
   */
  webview(kind: 'editor' | 'view', index = 0): FrameLocator {
    const hosts = this.page.locator(
      kind === 'view' ? 'iframe.webview.ready[src*="purpose=webviewView"]' : 'iframe.webview.ready:not([src*="purpose=webviewView"])',
    );
    return hosts.filter({ visible: true }).nth(index).contentFrame().locator('iframe#active-frame').contentFrame();
  }

  /** Save a full-window screenshot as NN-step.png in this session's artifact folder; returns the path. */
  async screenshot(step: string): Promise<string> {
    const name = step.replace(/[^\w.-]+/g, '-').slice(0, 80);
    const file = path.join(this.artifacts, `${String(++this.shots).padStart(2, '0')}-${name}.png`);
    await this.page.screenshot({ path: file });
    return file;
  }

  /** Texts of the notification toasts now showing. */
  async notifications(): Promise<string[]> {
    return this.page.locator('.notifications-toasts .notification-list-item').allInnerTexts();
  }

  /** Wait for a notification toast whose text matches; returns its text. */
  async waitForNotification(text: string | RegExp, timeoutMs = 60_000): Promise<string> {
    const toast = this.page.locator('.notifications-toasts .notification-list-item', { hasText: text }).first();
    await toast.waitFor({ timeout: timeoutMs });
    return toast.innerText();
  }

  /**
   * The extension's log output channel (`LogOutputChannel` named `channel`) as written by this session's window
   * (log files of windows opened before this session are not included).
   */
  extensionLog(channel = 'CT Lens'): string {
    return this.ownLogs()
      .filter((f) => path.basename(f) === `${channel}.log`)
      .map((f) => fs.readFileSync(f, 'utf8'))
      .join('');
  }

  /** This window's extension-host log (activation errors, crashes). */
  extensionHostLog(): string {
    return this.ownLogs()
      .filter((f) => path.basename(f) === 'remoteexthost.log')
      .map((f) => fs.readFileSync(f, 'utf8'))
      .join('');
  }

  private ownLogs(): string[] {
    return listFiles(path.join(this.server.userDataDir, 'logs')).filter((f) => !this.knownLogs.has(f));
  }

  /** Close the browser and keep console errors and this window's logs next to the screenshots. */
  async close(): Promise<void> {
    openSessions.delete(this);
    fs.writeFileSync(path.join(this.artifacts, 'console-errors.log'), this.consoleErrors.join('\n') + '\n');
    await this.context.close().catch(() => {});
    for (const f of this.ownLogs()) {
      const rel = path.relative(path.join(this.server.userDataDir, 'logs'), f);
      const dest = path.join(this.artifacts, 'logs', rel);
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      fs.copyFileSync(f, dest);
    }
    fs.rmSync(this.browserProfile, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Assertions that wait

/** The webview frame (any of them: editor or sidebar) whose document holds `selector`. */
export async function frameWith(s: Session, selector: string, timeoutMs = 60_000): Promise<Frame> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const f of s.page.frames()) {
      if (await f.locator(selector).count().catch(() => 0)) return f;
    }
    if (Date.now() > deadline) throw new Error(`no webview shows ${selector} after ${timeoutMs} ms`);
    await s.page.waitForTimeout(250);
  }
}

/**
 * Poll `locator`'s attribute until it equals `expected` (or satisfies it, for a function); returns the value.
 * The error names the last value seen, which says more than a timeout.
 */
export async function waitForAttribute(
  locator: Locator,
  name: string,
  expected: string | ((value: string | null) => boolean),
  timeoutMs = 60_000,
): Promise<string | null> {
  const test = typeof expected === 'function' ? expected : (v: string | null) => v === expected;
  const deadline = Date.now() + timeoutMs;
  let last: string | null | undefined;
  for (;;) {
    last = await locator.getAttribute(name, { timeout: Math.max(1000, deadline - Date.now()) }).catch(() => undefined);
    if (last !== undefined && test(last)) return last;
    if (Date.now() > deadline) {
      throw new Error(
        `${name} of ${locator} ${typeof expected === 'string' ? `!= "${expected}"` : 'did not satisfy the check'} ` +
          `after ${timeoutMs} ms (last: ${last === undefined ? 'element not found' : JSON.stringify(last)})`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Luminance statistics of a PNG, decoded by the browser (no PNG library needed). */
export interface ImageStats {
  width: number;
  height: number;
  mean: number;
  std: number;
  /** Distinct luminance values (0..255) present. */
  levels: number;
}

export async function imageStats(session: Session, png: Buffer): Promise<ImageStats> {
  const scratch = await session.context.newPage();
  try {
    return await scratch.evaluate(async (b64: string) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const bmp = await createImageBitmap(new Blob([bytes], { type: 'image/png' }));
      const canvas = new OffscreenCanvas(bmp.width, bmp.height);
      const g = canvas.getContext('2d')!;
      g.drawImage(bmp, 0, 0);
      const d = g.getImageData(0, 0, bmp.width, bmp.height).data;
      let sum = 0;
      let sum2 = 0;
      const seen = new Set<number>();
      const n = d.length / 4;
      for (let i = 0; i < d.length; i += 4) {
        const y = 0.299 * d[i]! + 0.587 * d[i + 1]! + 0.114 * d[i + 2]!;
        sum += y;
        sum2 += y * y;
        seen.add(Math.round(y));
      }
      const mean = sum / n;
      return { width: bmp.width, height: bmp.height, mean, std: Math.sqrt(Math.max(0, sum2 / n - mean * mean)), levels: seen.size };
    }, png.toString('base64'));
  } finally {
    await scratch.close();
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));
}
