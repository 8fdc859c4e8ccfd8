#!/usr/bin/env node
// `npm start [-- --port N] [-- --no-package] [-- --code-server]`
// Builds and packs the extension, installs it into a real VS Code and opens the bundled samples in the CT Lens viewer:
// the real head CT and the synthetic chest phantom the demo model was trained on (in front).
//  - a desktop VS Code when `code` is on PATH (`code --install-extension`, then `code WORKSPACE FILES`);
//  - otherwise code-server 4.100.3 (VS Code 1.100.3 in the browser), fetched on first use into
//    ~/.cache/ctlens/code-server-4.100.3 (CTLENS_CODE_SERVER_DIR overrides), on 127.0.0.1 without a password;
//    it prints the URL and runs until Ctrl-C.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CODE_SERVER_VERSION,
  ensureCodeServer,
  freePort,
  openInConnectedWindow,
  prepareProfile,
  startCodeServer,
} from './lib/code-server.mjs';
import { packageVsix } from './package.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const STATE = path.join(ROOT, '.cache', 'start');
const DEFAULT_PORT = 8080;

/** @param {string} msg */
const log = (msg) => process.stderr.write(`[ctlens] ${msg}\n`);

function parseArgs(/** @type {string[]} */ argv) {
  /** @type {{ port?: number, pack: boolean, forceCodeServer: boolean }} */
  const o = { pack: true, forceCodeServer: process.env.CTLENS_USE_CODE_SERVER === '1' };
  if (process.env.CTLENS_PORT) o.port = Number(process.env.CTLENS_PORT);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--port') o.port = Number(argv[++i]);
    else if (a === '--no-package') o.pack = false;
    else if (a === '--code-server') o.forceCodeServer = true;
    else if (a === '--help' || a === '-h') {
      console.log('usage: npm start [-- --port N] [-- --no-package] [-- --code-server]');
      process.exit(0);
    } else throw new Error(`unknown argument ${a} (try --help)`);
  }
  if (o.port !== undefined && !(Number.isInteger(o.port) && o.port > 0 && o.port < 65536)) {
    throw new Error(`--port wants a TCP port number, got ${o.port}`);
  }
  return o;
}

/**
 * The folder VS Code opens: copies of the samples — the real head CT, its bone mask (try CT Lens: Open Overlay… with
 * it) and the synthetic chest phantom the demo model was trained on (`media/samples/chest_phantom.nii.gz`, or the
 * committed phantom fixtures in a checkout that predates it). Returns the workspace and the files to open, the one
 * to look at last: the chest phantom, since the model's reports are meaningful on it.
 */
function prepareWorkspace() {
  const ws = path.join(STATE, 'workspace');
  fs.mkdirSync(ws, { recursive: true });
  const samples = path.join(ROOT, 'media', 'samples');
  const present = fs.readdirSync(samples).filter((f) => /\.nii(\.gz)?$/.test(f)).sort();
  for (const f of present) fs.copyFileSync(path.join(samples, f), path.join(ws, f));
  const open = [path.join(ws, 'head_ct_invesalius.nii.gz')];
  if (present.includes('chest_phantom.nii.gz')) {
    open.push(path.join(ws, 'chest_phantom.nii.gz'));
  } else {
    const phantoms = path.join(ROOT, 'test', 'fixtures', 'phantoms');
    const chest = fs.existsSync(phantoms) ? fs.readdirSync(phantoms).filter((f) => /\.nii(\.gz)?$/.test(f)).sort() : [];
    if (chest.length > 0) {
      fs.copyFileSync(path.join(phantoms, chest[0]), path.join(ws, chest[0]));
      open.push(path.join(ws, chest[0]));
    }
  }
  return { ws, open };
}

/** @param {number | undefined} wanted */
async function choosePort(wanted) {
  if (wanted !== undefined) return wanted;
  const { createServer } = await import('node:net');
  const free = await new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(DEFAULT_PORT, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
  return free ? DEFAULT_PORT : freePort();
}

function desktopCode() {
  const r = spawnSync('sh', ['-c', 'command -v code'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const vsix = path.join(STATE, 'ctlens.vsix');
  fs.mkdirSync(STATE, { recursive: true });
  if (o.pack || !fs.existsSync(vsix)) {
    log('building and packaging the extension');
    packageVsix({ out: vsix });
  }
  const { ws, open } = prepareWorkspace();

  const code = o.forceCodeServer ? undefined : desktopCode();
  if (code) {
    log(`installing into the desktop VS Code at ${code}`);
    const inst = spawnSync(code, ['--install-extension', vsix, '--force'], { stdio: 'inherit' });
    if (inst.status !== 0) throw new Error(`${code} --install-extension failed (exit ${inst.status})`);
    const run = spawnSync(code, [ws, ...open], { stdio: 'inherit' });
    if (run.status !== 0) throw new Error(`${code} ${ws} failed (exit ${run.status})`);
    console.log(`Opened ${open.map((f) => path.relative(ws, f)).join(' and ')} in VS Code (workspace ${ws}).`);
    return;
  }

  const bin = await ensureCodeServer({ log });
  const profileRoot = path.join(STATE, 'code-server');
  const profile = prepareProfile({ bin, root: profileRoot, vsix, log });
  const cs = await startCodeServer({ bin, root: profileRoot, ...profile, port: await choosePort(o.port), folder: ws });

  const stopOpening = new AbortController();
  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    stopOpening.abort();
    log('stopping code-server');
    await cs.stop();
    process.exit(0);
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  process.on('SIGHUP', shutdown);

  console.log(
    `\nCT Lens is running in VS Code (code-server ${CODE_SERVER_VERSION}):\n\n` +
      `    ${cs.url}\n\n` +
      `Open that URL in a browser on this machine (from another machine: ssh -L ${cs.port}:127.0.0.1:${cs.port} HOST).\n` +
      `${open.map((f) => path.relative(ws, f)).join(' and ')} open in the CT Lens viewer once the window has loaded.\n` +
      `Logs: ${cs.logFile}. Press Ctrl-C to stop.\n`,
  );
  // Opened through code-server's CLI socket once a browser window connects (see openInConnectedWindow for why).
  openInConnectedWindow({ userDataDir: profile.userDataDir, files: open, signal: stopOpening.signal })
    .then((opened) => opened && log(`opened ${open.map((f) => path.basename(f)).join(', ')} in the browser window`))
    .catch((e) => log(`could not open the sample: ${e instanceof Error ? e.message : String(e)}`));
  await new Promise(() => {}); // until a signal
}

main().catch((e) => {
  log(`error: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
