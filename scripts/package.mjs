#!/usr/bin/env node
// `npm run package [-- --target T] [-- --out F] [-- --include-cuda] [-- --no-build]`
// Builds the bundles for production and packs a platform-specific VSIX with @vscode/vsce.
//
// esbuild bundles every JavaScript dependency into dist/, so the only node_modules that travel are onnxruntime-node
// (a native binding plus libonnxruntime) and onnxruntime-common, which it requires at run time (.vscodeignore is an
// allowlist). npm installs onnxruntime-node's binaries for every platform (~290 MB); a VSIX carries one platform's
// (`--target`, default: this machine), the way platform-specific extensions are published. Other targets build
// from any machine because npm already fetched all binaries: `npm run package -- --target win32-x64`.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { listZip } from './lib/zip.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ORT_BIN = 'node_modules/onnxruntime-node/bin/napi-v6';
/** vsce target → onnxruntime-node binary folder (onnxruntime-node 1.30 ships no darwin-x64 or armhf binaries). */
export const TARGETS = {
  'linux-x64': 'linux/x64',
  'linux-arm64': 'linux/arm64',
  'darwin-arm64': 'darwin/arm64',
  'win32-x64': 'win32/x64',
  'win32-arm64': 'win32/arm64',
};
// Execution-provider libraries that `ONNXRUNTIME_NODE_INSTALL=cuda12 npm install` downloads next to libonnxruntime:
// hundreds of MB and useless without a matching CUDA install, so they stay out unless asked for.
const CUDA_LIBS = /providers_(cuda|tensorrt)/;

/** @param {string} msg */
const log = (msg) => process.stderr.write(`[package] ${msg}\n`);

export function defaultTarget() {
  return `${process.platform}-${process.arch}`;
}

/**
 * Build (unless `build: false`) and pack the VSIX; returns its path.
 * @param {{ target?: string, out?: string, includeCuda?: boolean, build?: boolean }} [o]
 */
export function packageVsix(o = {}) {
  const target = o.target ?? defaultTarget();
  const binDir = TARGETS[/** @type {keyof typeof TARGETS} */ (target)];
  if (!binDir) {
    throw new Error(`unsupported target ${target}; onnxruntime-node has binaries for: ${Object.keys(TARGETS).join(', ')}`);
  }
  const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const out = path.resolve(o.out ?? path.join(ROOT, `${manifest.name}-${manifest.version}-${target}.vsix`));

  if (o.build !== false) {
    // A clean dist/: nothing stale (source maps of a dev build, a removed entry) may slip into the VSIX.
    fs.rmSync(path.join(ROOT, 'dist'), { recursive: true, force: true });
    run(process.execPath, ['esbuild.mjs', '--production']);
    // The plain-page viewer entry serves browser benchmarks and tests, never VS Code.
    for (const f of fs.readdirSync(path.join(ROOT, 'dist', 'webview'), { withFileTypes: true })) {
      if (f.isFile() && f.name.startsWith('standalone.')) fs.rmSync(path.join(ROOT, 'dist', 'webview', f.name));
    }
  }
  if (!fs.existsSync(path.join(ROOT, manifest.main))) {
    throw new Error(`${manifest.main} was not built (is src/extension/extension.ts there?)`);
  }

  const nativeDir = path.join(ROOT, ORT_BIN, binDir);
  if (!fs.existsSync(nativeDir)) throw new Error(`${nativeDir} is missing: run npm install`);
  const natives = fs.readdirSync(nativeDir).filter((f) => o.includeCuda || !CUDA_LIBS.test(f));
  const ignoreFile = path.join(ROOT, '.cache', 'package', `vscodeignore-${target}`);
  fs.mkdirSync(path.dirname(ignoreFile), { recursive: true });
  fs.writeFileSync(
    ignoreFile,
    fs.readFileSync(path.join(ROOT, '.vscodeignore'), 'utf8') +
      `\n# added by scripts/package.mjs for ${target}\n` +
      natives.map((f) => `!${ORT_BIN}/${binDir}/${f}\n`).join(''),
  );

  fs.rmSync(out, { force: true });
  run(path.join(ROOT, 'node_modules', '.bin', 'vsce'), [
    'package',
    '--target', target,
    '--ignoreFile', ignoreFile,
    '--out', out,
    // No public repository yet; README images are relative files that ship inside the VSIX.
    '--allow-missing-repository',
    '--no-rewrite-relative-links',
  ]);
  check(out, target, binDir, natives);
  return out;
}

/** Fail loudly when something the extension needs at run time is not in the VSIX, or something huge slipped in. */
function check(/** @type {string} */ vsix, /** @type {string} */ target, /** @type {string} */ binDir, /** @type {string[]} */ natives) {
  const entries = listZip(fs.readFileSync(vsix));
  const names = new Set(entries.map((e) => e.name));
  const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const required = [
    'extension/package.json',
    'extension/LICENSE.txt',
    `extension/${path.posix.normalize(manifest.main)}`,
    'extension/node_modules/onnxruntime-node/dist/index.js',
    'extension/node_modules/onnxruntime-common/dist/cjs/index.js',
    ...natives.map((f) => `extension/${ORT_BIN}/${binDir}/${f}`),
  ];
  const missing = required.filter((n) => !names.has(n) && !(n.endsWith('LICENSE.txt') && names.has('extension/LICENSE')));
  if (missing.length > 0) throw new Error(`${vsix} lacks ${missing.join(', ')}`);
  const foreign = entries.filter(
    (e) => e.name.includes(`/${ORT_BIN}/`) && !e.name.includes(`/${ORT_BIN}/${binDir}/`),
  );
  if (foreign.length > 0) throw new Error(`${vsix} carries other platforms' binaries: ${foreign[0].name}`);

  const size = fs.statSync(vsix).size;
  /** @type {Map<string, number>} */
  const byTop = new Map();
  for (const e of entries) {
    // Sizes per folder two levels deep (node_modules per package), to see at a glance what makes the VSIX big.
    const parts = e.name.split('/').slice(1);
    const depth = parts[0] === 'node_modules' ? 2 : Math.min(2, parts.length - 1);
    const key = parts.slice(0, Math.max(depth, 1)).join('/') || e.name;
    byTop.set(key, (byTop.get(key) ?? 0) + e.compressedSize);
  }
  const mb = (/** @type {number} */ n) => (n / 1048576).toFixed(2);
  log(`${path.relative(process.cwd(), vsix)}: ${mb(size)} MB, ${entries.length} files, target ${target}`);
  for (const [k, v] of [...byTop].sort((a, b) => b[1] - a[1]).slice(0, 8)) log(`  ${mb(v).padStart(7)} MB  ${k}`);
}

/** @param {string} cmd @param {string[]} args */
function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error(`${path.basename(cmd)} ${args.join(' ')} failed (exit ${r.status ?? r.signal})`);
}

/** @param {string[]} argv */
function parseArgs(argv) {
  /** @type {{ target?: string, out?: string, includeCuda?: boolean, build?: boolean }} */
  const o = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--target' || a === '-t') o.target = argv[++i];
    else if (a === '--out' || a === '-o') o.out = argv[++i];
    else if (a === '--include-cuda') o.includeCuda = true;
    else if (a === '--no-build') o.build = false;
    else if (a === '--help' || a === '-h') {
      console.log(
        `usage: npm run package -- [--target ${Object.keys(TARGETS).join('|')}] [--out FILE.vsix] [--include-cuda] [--no-build]`,
      );
      process.exit(0);
    } else throw new Error(`unknown argument ${a} (try --help)`);
  }
  return o;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const vsix = packageVsix(parseArgs(process.argv.slice(2)));
    console.log(vsix);
  } catch (e) {
    log(`error: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  }
}
