// A real VS Code for `npm start` and the end-to-end tests: code-server 4.100.3 (= VS Code 1.100.3, the newest release
// that runs on Node 20), installed from npm on first use into a cache folder the way @vscode/test-electron caches
// VS Code, then started on 127.0.0.1 with auth off and fresh user-data/extension folders.
// Plain ESM (no TypeScript) so `npm start` needs nothing but Node; types are in code-server.d.mts.
import { spawn, spawnSync } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CODE_SERVER_BUILD_TOOLS, ensureSystemPackages } from './system-deps.mjs';

export const CODE_SERVER_VERSION = '4.100.3';

// code-server 4.100.3 depends on @vscode/ripgrep 1.15.11, whose postinstall downloads ripgrep v13.0.0-10 from
// GitHub unless the tarball is already in `${os.tmpdir()}/vscode-ripgrep-cache-1.15.11/`. We seed that cache from
// Debian's `rg`, so the install needs only the npm registry.
const RIPGREP_CACHE = 'vscode-ripgrep-cache-1.15.11';
const RIPGREP_TAG = 'v13.0.0-10';
const RIPGREP_TARGETS = { x64: 'x86_64-unknown-linux-musl', arm64: 'aarch64-unknown-linux-musl' };

/** @param {string} msg */
const defaultLog = (msg) => process.stderr.write(`[ctlens] ${msg}\n`);

/** Folder that holds (or will hold) code-server; `CTLENS_CODE_SERVER_DIR` overrides it. */
export function codeServerDir() {
  if (process.env.CTLENS_CODE_SERVER_DIR) return path.resolve(process.env.CTLENS_CODE_SERVER_DIR);
  const cache = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(cache, 'ctlens', `code-server-${CODE_SERVER_VERSION}`);
}

/** @param {string} dir */
const binIn = (dir) => path.join(dir, 'node_modules', '.bin', 'code-server');

/**
 * The code-server launcher, installing it on first use (~2 min, ~300 MB; needs Debian `build-essential
 * pkg-config libkrb5-dev python3 ripgrep` for its native modules and the ripgrep seed).
 * @param {{ log?: (msg: string) => void }} [options]
 * @returns {Promise<string>}
 */
export async function ensureCodeServer(options = {}) {
  const log = options.log ?? defaultLog;
  const dir = codeServerDir();
  const bin = binIn(dir);
  if (fs.existsSync(bin)) return bin;
  if (process.platform !== 'linux') {
    throw new Error(`code-server is only installed automatically on Linux; install VS Code and put \`code\` on PATH`);
  }
  // Installs them with apt-get as root or with passwordless sudo; otherwise stops with the one command to run.
  ensureSystemPackages(CODE_SERVER_BUILD_TOOLS, {
    why: `code-server ${CODE_SERVER_VERSION} builds native modules on first use`,
    log,
  });
  const target = RIPGREP_TARGETS[/** @type {'x64'|'arm64'} */ (process.arch)];
  if (!target) throw new Error(`no ripgrep seed for architecture ${process.arch}`);

  // Install into a scratch folder and rename at the end, so an interrupted install is never mistaken for a good one.
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const work = `${dir}.partial-${process.pid}`;
  fs.rmSync(work, { recursive: true, force: true });
  const tmp = path.join(work, 'tmp');
  fs.mkdirSync(path.join(tmp, RIPGREP_CACHE), { recursive: true });
  const rg = spawnSync('sh', ['-c', 'command -v rg'], { encoding: 'utf8' }).stdout.trim();
  const tar = spawnSync(
    'tar',
    ['czf', path.join(tmp, RIPGREP_CACHE, `ripgrep-${RIPGREP_TAG}-${target}.tar.gz`), '-C', path.dirname(rg), 'rg'],
    { stdio: 'inherit' },
  );
  if (tar.status !== 0) throw new Error('could not seed the ripgrep cache (tar failed)');
  fs.writeFileSync(path.join(work, 'package.json'), JSON.stringify({ name: 'ctlens-code-server', private: true }));

  const logFile = path.join(path.dirname(dir), `code-server-${CODE_SERVER_VERSION}-install.log`);
  log(`installing code-server ${CODE_SERVER_VERSION} into ${dir} (first use only, a few minutes; log: ${logFile})`);
  const env = {
    ...process.env,
    TMPDIR: tmp,
    // node-pty's postinstall runs `npx node-gyp`, which must not prompt.
    npm_config_yes: 'true',
    // code-server's postinstall.sh refuses to run as root unless this is set (npm itself no longer reads it and
    // warns that the option is unknown).
    npm_config_unsafe_perm: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
  };
  // Build native modules against the headers of the running Node when they are installed system-wide (Debian's
  // nodejs/libnode-dev); otherwise node-gyp fetches headers from nodejs.org.
  const nodedir = path.resolve(path.dirname(process.execPath), '..');
  if (fs.existsSync(path.join(nodedir, 'include', 'node', 'node.h'))) env.npm_config_nodedir = nodedir;
  const t0 = Date.now();
  const out = fs.openSync(logFile, 'w');
  const code = await new Promise((resolve) => {
    const child = spawn('npm', ['install', '--no-save', '--no-package-lock', `code-server@${CODE_SERVER_VERSION}`], {
      cwd: work,
      env,
      stdio: ['ignore', out, out],
    });
    child.on('exit', (c, sig) => resolve(c ?? (sig ? 128 : 1)));
    child.on('error', () => resolve(127));
  });
  fs.closeSync(out);
  if (code !== 0 || !fs.existsSync(binIn(work))) {
    const tail = fs.readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n');
    fs.rmSync(work, { recursive: true, force: true });
    throw new Error(`npm install code-server@${CODE_SERVER_VERSION} failed (exit ${code}); last lines of ${logFile}:\n${tail}`);
  }
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(work, dir);
  log(`code-server installed in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  return bin;
}

/** A free TCP port on 127.0.0.1. @returns {Promise<number>} */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Settings for a quiet, deterministic workbench (no welcome page, no trust prompt, no update checks). */
export const QUIET_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'telemetry.telemetryLevel': 'off',
  'security.workspace.trust.enabled': false,
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'update.mode': 'none',
  'chat.commandCenter.enabled': false,
  // Workspaces inside a git clone (the e2e scratch folder, `npm start`'s) would otherwise get a prompt to open it.
  'git.openRepositoryInParentFolders': 'never',
  'workbench.colorTheme': 'Default Dark Modern',
};

/**
 * Fresh user-data and extension folders under `root`, the user settings written, and `vsix` installed.
 * @param {{ bin: string, root: string, vsix: string, settings?: Record<string, unknown>, log?: (msg: string) => void }} o
 * @returns {{ userDataDir: string, extensionsDir: string }}
 */
export function prepareProfile(o) {
  const userDataDir = path.join(o.root, 'user-data');
  const extensionsDir = path.join(o.root, 'extensions');
  fs.mkdirSync(path.join(userDataDir, 'User'), { recursive: true });
  fs.mkdirSync(extensionsDir, { recursive: true });
  fs.writeFileSync(
    path.join(userDataDir, 'User', 'settings.json'),
    JSON.stringify({ ...QUIET_SETTINGS, ...(o.settings ?? {}) }, null, 2),
  );
  const r = spawnSync(
    o.bin,
    ['--extensions-dir', extensionsDir, '--user-data-dir', userDataDir, '--install-extension', o.vsix, '--force'],
    { encoding: 'utf8', env: codeServerEnv(o.root) },
  );
  if (r.status !== 0) {
    throw new Error(`code-server --install-extension ${o.vsix} failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
  (o.log ?? defaultLog)(`installed ${path.basename(o.vsix)} into ${extensionsDir}`);
  return { userDataDir, extensionsDir };
}

/**
 * Environment for code-server: its own XDG folders under `root`, so nothing lands in the user's ~/.config or
 * ~/.local/share/code-server.
 * @param {string} root
 * @param {Record<string, string>} [extra]
 */
export function codeServerEnv(root, extra = {}) {
  const xdg = path.join(root, 'xdg');
  for (const d of ['config', 'data', 'cache']) fs.mkdirSync(path.join(xdg, d), { recursive: true });
  return {
    ...process.env,
    XDG_CONFIG_HOME: path.join(xdg, 'config'),
    XDG_DATA_HOME: path.join(xdg, 'data'),
    XDG_CACHE_HOME: path.join(xdg, 'cache'),
    ...extra,
  };
}

/**
 * Start code-server on 127.0.0.1 with auth off, wait until it answers /healthz, and return how to reach and stop it.
 * The process gets its own process group so `stop()` also ends the extension host and any model host it spawned.
 * @param {{ bin: string, root: string, userDataDir: string, extensionsDir: string, port?: number,
 *   folder?: string, env?: Record<string, string>, logFile?: string, timeoutMs?: number }} o
 * @returns {Promise<import('./code-server.d.mts').CodeServer>}
 */
export async function startCodeServer(o) {
  const port = o.port ?? (await freePort());
  const config = path.join(o.root, 'config.yaml');
  fs.writeFileSync(config, `bind-addr: 127.0.0.1:${port}\nauth: none\ncert: false\n`);
  const logFile = o.logFile ?? path.join(o.root, 'code-server.log');
  const out = fs.openSync(logFile, 'a');
  const args = [
    '--config', config,
    '--auth', 'none',
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--disable-getting-started-override',
    '--extensions-dir', o.extensionsDir,
    '--user-data-dir', o.userDataDir,
  ];
  const child = spawn(o.bin, args, {
    env: codeServerEnv(o.root, o.env),
    stdio: ['ignore', out, out],
    detached: true,
  });
  fs.closeSync(out);
  let exited = false;
  // If this Node process ends without stop() (an uncaught error, Ctrl-C), code-server must not outlive it.
  const onExit = () => killGroup(child.pid, 'SIGKILL');
  process.on('exit', onExit);
  child.on('exit', () => {
    exited = true;
    process.off('exit', onExit);
  });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (o.timeoutMs ?? 60_000);
  for (;;) {
    if (exited) throw new Error(`code-server exited during start; see ${logFile}`);
    try {
      const res = await fetch(`${base}/healthz`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      killGroup(child.pid);
      throw new Error(`code-server did not answer on ${base} within ${o.timeoutMs ?? 60_000} ms; see ${logFile}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  // Slashes stay readable in the printed URL; everything else that is not URL-safe is escaped.
  const folderUrl = (/** @type {string} */ folder) => `${base}/?folder=${encodeURIComponent(folder).replace(/%2F/g, '/')}`;
  return {
    port,
    baseUrl: base,
    url: o.folder ? folderUrl(o.folder) : base,
    folderUrl,
    pid: child.pid ?? -1,
    logFile,
    kill() {
      killGroup(child.pid, 'SIGKILL');
    },
    async stop() {
      if (exited) return;
      const done = new Promise((r) => child.once('exit', r));
      killGroup(child.pid, 'SIGTERM');
      const timer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), 5000);
      await done;
      clearTimeout(timer);
      // Children that ignored SIGTERM (an extension host mid-request) must not outlive the run.
      killGroup(child.pid, 'SIGKILL');
    },
  };
}

/** @param {number | undefined} pid @param {NodeJS.Signals} [signal] */
function killGroup(pid, signal = 'SIGTERM') {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/**
 * @param {string} socketPath
 * @param {'GET'|'POST'} method
 * @param {string} urlPath
 * @param {unknown} [body]
 * @returns {Promise<{ status: number, text: string }>}
 */
function requestUnix(socketPath, method, urlPath, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = httpRequest(
      { socketPath, method, path: urlPath, headers: data ? { 'content-type': 'application/json' } : {} },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error(`no answer on ${socketPath}`)));
    req.end(data);
  });
}

/**
 * Open files in the browser window that is connected to this code-server, the way `code file` does from its
 * terminal: ask code-server's session socket (`<user-data-dir>/code-server-ipc.sock`) for the window whose workspace
 * holds the file, then send that window's CLI socket an `open` request. Waits (until `signal` aborts) for a window
 * to connect. Opening this way, after the window's extension host is up, lets VS Code pick the extension's custom
 * editor; a file opened with the page itself (`?payload=[["openFile",…]]`) races the extension's registration in a
 * fresh browser profile and lands in the text editor.
 * @param {{ userDataDir: string, files: string[], signal?: AbortSignal, settleMs?: number }} o
 * @returns {Promise<boolean>} false when aborted before a window connected
 */
export async function openInConnectedWindow(o) {
  const sessionSocket = path.join(o.userDataDir, 'code-server-ipc.sock');
  for (;;) {
    if (o.signal?.aborted) return false;
    try {
      const r = await requestUnix(sessionSocket, 'GET', `/session?filePath=${encodeURIComponent(o.files[0])}`);
      const socketPath = r.status === 200 ? JSON.parse(r.text).socketPath : undefined;
      if (socketPath) {
        // The window's extension host is up; give the workbench a moment to register the extension's contributions.
        await new Promise((res) => setTimeout(res, o.settleMs ?? 1500));
        const sent = await requestUnix(socketPath, 'POST', '/', {
          type: 'open',
          fileURIs: o.files,
          folderURIs: [],
          forceReuseWindow: true,
          gotoLineMode: false,
        });
        if (sent.status === 200) return true;
      }
    } catch {
      // code-server not listening on the socket yet, or the window went away: try again
    }
    await new Promise((res) => setTimeout(res, 500));
  }
}
