// Dependencies point one way (issue 10): src/core owns the domain and imports nothing of the layers that use it;
// src/shared is the wire between those layers and may import core, never the reverse. One tsconfig covers every
// folder, so the compiler would let any edge through: this test reads every import of src/core and src/shared and
// names each edge that points the wrong way.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

const ROOT = resolve(__dirname, '..');

/** Who may not import whom: a layer (folder under the repository root) and what it must never reach. */
const RULES: { layer: string; forbidden: string[] }[] = [
  { layer: 'src/core', forbidden: ['vscode', 'src/shared', 'src/extension', 'src/modelhost', 'src/cli', 'webview'] },
  { layer: 'src/shared', forbidden: ['vscode', 'src/extension', 'src/modelhost', 'src/cli', 'webview'] },
];

/** Every module specifier of a TypeScript source: imports, re-exports, `import()` and `require()`. */
export function importSpecifiers(source: string): string[] {
  // preProcessFile reads the import graph without type-checking: static and dynamic imports, export … from, require.
  const info = ts.preProcessFile(source, true, true);
  return info.importedFiles.map((f) => f.fileName);
}

/**
 * What an import reaches, as a layer name: `vscode` for the VS Code API, a repository folder such as `src/shared`
 * for a relative path, or null for any other package (onnxruntime, node:*).
 */
function target(fromFile: string, specifier: string): string | null {
  if (specifier === 'vscode' || specifier.startsWith('vscode/')) return 'vscode';
  if (!specifier.startsWith('.')) return null;
  return relative(ROOT, resolve(dirname(join(ROOT, fromFile)), specifier)).split(sep).join('/');
}

/** The imports of one file (path relative to the repository root) that break a rule, as "file → specifier". */
export function violations(file: string, source: string): string[] {
  const rule = RULES.find((r) => file.startsWith(`${r.layer}/`));
  if (!rule) return [];
  const out: string[] = [];
  for (const specifier of importSpecifiers(source)) {
    const reached = target(file, specifier);
    if (reached === null) continue;
    if (rule.forbidden.some((f) => reached === f || reached.startsWith(`${f}/`))) out.push(`${file} → ${specifier}`);
  }
  return out;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory()) return sourceFiles(path);
    return /\.(ts|mts|cts)$/.test(e.name) ? [path] : [];
  });
}

describe('architecture: dependencies point one way', () => {
  for (const { layer } of RULES) {
    it(`${layer} imports none of the layers that depend on it`, () => {
      const files = sourceFiles(layer);
      assert.ok(files.length > 5, `found only ${files.length} files under ${layer}`);
      let edges = 0;
      const bad: string[] = [];
      for (const file of files) {
        const source = readFileSync(join(ROOT, file), 'utf8');
        edges += importSpecifiers(source).length;
        bad.push(...violations(file, source));
      }
      assert.ok(edges > files.length, `read only ${edges} imports in ${files.length} files: the scanner is not reading them`);
      assert.deepEqual(bad, [], `imports against the one-way rule:\n  ${bad.join('\n  ')}`);
    });
  }

  it('catches a planted violation of every kind (negative control)', () => {
    const planted = [
      "import * as vscode from 'vscode';",
      "import type { RunInfo } from '../../shared/protocol';",
      'export { ModelFeature } from "../../extension/model/model-feature";',
      "const host = await import('../../modelhost/host');",
      "const cli = require('../../cli/main');",
      "import '../../../webview/viewer/viewer';",
      "import { affine } from '../nifti/affine';",
      "import * as ort from 'onnxruntime-node';",
      "import { readFile } from 'node:fs/promises';",
    ].join('\n');
    assert.deepEqual(violations('src/core/model/planted.ts', planted), [
      'src/core/model/planted.ts → vscode',
      'src/core/model/planted.ts → ../../shared/protocol',
      'src/core/model/planted.ts → ../../extension/model/model-feature',
      'src/core/model/planted.ts → ../../modelhost/host',
      'src/core/model/planted.ts → ../../cli/main',
      'src/core/model/planted.ts → ../../../webview/viewer/viewer',
    ]);
    // The wire may import the domain; the domain's own imports and packages are fine.
    assert.deepEqual(violations('src/shared/planted.ts', "import type { Task } from '../core/model/task';\nimport * as vscode from 'vscode';"), [
      'src/shared/planted.ts → vscode',
    ]);
    // A path that only looks like a layer name is not one.
    assert.deepEqual(violations('src/core/model/planted.ts', "import { x } from './shared-weights';\nimport { y } from '../volume/extension';"), []);
  });
});
