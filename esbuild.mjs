// One build config for every bundle (extension host, model host, CLI, webviews), in the style of vscode-hexeditor.
// onnxruntime-node stays external: it loads a native .node binary and platform libraries at run time.
import * as esbuild from 'esbuild';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

const common = {
  bundle: true,
  sourcemap: production ? false : 'linked',
  minify: production,
  logLevel: 'info',
};

const nodeCommon = {
  ...common,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['vscode', 'onnxruntime-node'],
};

/** @type {esbuild.BuildOptions[]} */
const builds = [
  { ...nodeCommon, entryPoints: { extension: 'src/extension/extension.ts' }, outdir: 'dist' },
  { ...nodeCommon, entryPoints: { modelhost: 'src/modelhost/main.ts' }, outdir: 'dist' },
  { ...nodeCommon, entryPoints: { cli: 'src/cli/main.ts' }, outdir: 'dist', banner: { js: '#!/usr/bin/env node' } },
  {
    ...common,
    platform: 'browser',
    format: 'iife',
    target: 'chrome120',
    entryPoints: { viewer: 'webview/main.ts', standalone: 'webview/standalone.ts', routing: 'webview/routing/main.ts', eval: 'webview/eval/main.ts' },
    outdir: 'dist/webview',
    loader: { '.css': 'css' },
  },
];

// Entries that do not exist yet are skipped so the build works while the project grows.
import { chmodSync, existsSync } from 'node:fs';
const present = builds.filter((b) => Object.values(b.entryPoints).every((p) => existsSync(p)));

if (watch) {
  const ctxs = await Promise.all(present.map((b) => esbuild.context(b)));
  await Promise.all(ctxs.map((c) => c.watch()));
} else {
  await Promise.all(present.map((b) => esbuild.build(b)));
}
// package.json `bin` points at dist/cli.js: `npx ctlens` (npm exec) runs it directly, so it must be executable.
if (existsSync('dist/cli.js')) chmodSync('dist/cli.js', 0o755);
// The DICOM codecs' WebAssembly travels beside the bundles (src/core/dicom/wasm-node.ts looks there first).
import { copyFileSync, mkdirSync } from 'node:fs';
mkdirSync('dist', { recursive: true });
for (const [pkg, file] of [
  ['@cornerstonejs/codec-charls', 'charlswasm_decode.wasm'],
  ['@cornerstonejs/codec-openjpeg', 'openjpegwasm_decode.wasm'],
]) {
  copyFileSync(`node_modules/${pkg}/dist/${file}`, `dist/${file}`);
}
