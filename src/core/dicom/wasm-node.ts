// The WebAssembly of the JPEG-LS and JPEG 2000 codecs, read from disk (Node only, like nifti/inflate-node.ts):
// beside the running bundle in a build (esbuild.mjs copies the files into dist/, and the VSIX ships dist/), else
// from node_modules (tests and tsx runs). Read once per process by the codec loader in pixels.ts.
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

export const CODEC_WASM = {
  charls: { file: 'charlswasm_decode.wasm', module: '@cornerstonejs/codec-charls/decodewasm' },
  openjpeg: { file: 'openjpegwasm_decode.wasm', module: '@cornerstonejs/codec-openjpeg/decodewasm' },
} as const;

export function codecWasm(codec: keyof typeof CODEC_WASM): Uint8Array {
  const { file, module } = CODEC_WASM[codec];
  const beside = path.join(__dirname, file);
  if (existsSync(beside)) return readFileSync(beside);
  return readFileSync(require.resolve(module));
}
