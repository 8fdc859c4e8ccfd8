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
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as os from 'node:os';
import { extractZip, listZip, readZipEntry } from './lib/zip.mjs';

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

  const nativeDir = path.join(ROOT, ORT_BIN, binDir);
  if (!fs.existsSync(nativeDir)) throw new Error(`${nativeDir} is missing: run npm install`);
  const natives = fs.readdirSync(nativeDir).filter((f) => o.includeCuda || !CUDA_LIBS.test(f));

  // dist/ is shared with `npm run build` (and a watcher): a development build landing between our production build
  // and vsce would slip into the VSIX. So the bundles are fingerprinted right after the build and compared with what
  // the VSIX holds; on a mismatch we build and pack again.
  for (let attempt = 1; ; attempt++) {
    if (o.build !== false) run(process.execPath, ['esbuild.mjs', '--production']);
    if (!fs.existsSync(path.join(ROOT, manifest.main))) {
      throw new Error(`${manifest.main} was not built (is src/extension/extension.ts there?)`);
    }
    const bundles = distBundles();
    // A production build has no source-map links; one that has them was replaced already, before fingerprinting.
    const early = o.build === false ? [] : [...bundles.keys()].filter((f) => f.endsWith('.js') && hasSourceMapLink(f));
    if (early.length === 0) packOnce(target, out, binDir, natives, [...bundles.keys()]);
    const changed = early.length > 0 ? early : changedBundles(out, bundles);
    if (changed.length === 0) break;
    if (attempt === 3) throw new Error(`dist/ keeps changing while packing (${changed.join(', ')}); is a watcher running?`);
    log(`dist/${changed[0]} changed during packaging (another build ran); packing again`);
  }
  check(out, target, binDir, natives);
  if (target === defaultTarget()) smokeTest(out);
  return out;
}

/**
 * The bundles to ship, name → sha256: everything in dist/ except source maps (a development build leaves them) and
 * the plain-page viewer entry, which serves browser benchmarks and tests, never VS Code. Nothing in dist/ is
 * deleted: other processes may be using it.
 * @returns {Map<string, string>}
 */
function distBundles() {
  const dist = path.join(ROOT, 'dist');
  /** @type {Map<string, string>} */
  const out = new Map();
  for (const f of fs.readdirSync(dist, { recursive: true, encoding: 'utf8' })) {
    const rel = f.split(path.sep).join('/');
    if (!fs.statSync(path.join(dist, f)).isFile()) continue;
    if (rel.endsWith('.map') || path.posix.basename(rel).startsWith('standalone.')) continue;
    out.set(rel, createHash('sha256').update(fs.readFileSync(path.join(dist, f))).digest('hex'));
  }
  return out;
}

/** @param {string} rel a bundle under dist/ */
function hasSourceMapLink(rel) {
  return fs.readFileSync(path.join(ROOT, 'dist', rel), 'utf8').includes('//# sourceMappingURL=');
}

/** Names of bundles whose bytes in the VSIX differ from the fingerprints taken after the build. */
function changedBundles(/** @type {string} */ vsix, /** @type {Map<string, string>} */ bundles) {
  const buf = fs.readFileSync(vsix);
  const entries = new Map(listZip(buf).map((e) => [e.name, e]));
  return [...bundles].filter(([rel, hash]) => {
    const e = entries.get(`extension/dist/${rel}`);
    return !e || createHash('sha256').update(readZipEntry(buf, e)).digest('hex') !== hash;
  }).map(([rel]) => rel);
}

/** One `vsce package` run with .vscodeignore plus the bundles and this target's native binaries. */
function packOnce(
  /** @type {string} */ target,
  /** @type {string} */ out,
  /** @type {string} */ binDir,
  /** @type {string[]} */ natives,
  /** @type {string[]} */ bundles,
) {
  const ignoreFile = path.join(ROOT, '.cache', 'package', `vscodeignore-${target}`);
  fs.mkdirSync(path.dirname(ignoreFile), { recursive: true });
  fs.writeFileSync(
    ignoreFile,
    fs.readFileSync(path.join(ROOT, '.vscodeignore'), 'utf8') +
      `\n# added by scripts/package.mjs for ${target}\n` +
      bundles.map((f) => `!dist/${f}\n`).join('') +
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
}

/** Fail loudly when something the extension needs at run time is not in the VSIX, or something huge slipped in. */
function check(
  /** @type {string} */ vsix,
  /** @type {string} */ target,
  /** @type {string} */ binDir,
  /** @type {string[]} */ natives,
) {
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

/**
 * Load onnxruntime-node from the unpacked VSIX alone and open the bundled model's graphs with it: proves the pruned
 * node_modules is all the extension needs at run time. Unpacked under the system temp folder, where no parent
 * node_modules could quietly supply a missing package.
 * @param {string} vsix
 */
function smokeTest(vsix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ctlens-vsix-'));
  try {
    extractZip(fs.readFileSync(vsix), dir);
    const ext = path.join(dir, 'extension');
    const script = `
      const path = require('node:path');
      const fs = require('node:fs');
      const ort = require(path.join(process.argv[1], 'node_modules', 'onnxruntime-node'));
      (async () => {
        const models = path.join(process.argv[1], 'media', 'models');
        const graphs = fs.existsSync(models)
          ? fs.readdirSync(models).flatMap((m) => {
              const d = path.join(models, m, 'onnx');
              return fs.existsSync(d) ? fs.readdirSync(d).filter((f) => f.endsWith('.onnx')).map((f) => path.join(d, f)) : [];
            })
          : [];
        for (const g of graphs) {
          const s = await ort.InferenceSession.create(g, { executionProviders: ['cpu'] });
          await s.release();
        }
        console.log('onnxruntime-node ' + ort.env.versions.node + ' loaded from the VSIX; opened ' + graphs.length + ' graph(s)');
      })().catch((e) => { console.error(e); process.exit(1); });`;
    const r = spawnSync(process.execPath, ['-e', script, ext], { cwd: dir, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`the unpacked VSIX cannot load onnxruntime-node:\n${r.stderr}`);
    log(r.stdout.trim());
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
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
