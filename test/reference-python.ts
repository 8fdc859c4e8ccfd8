// The Python the parity tests compare against (nibabel, PyTorch, model.evaluate): the first of $CTLENS_PYTHON,
// Debian's /usr/bin/python3 and python3 on PATH that can import what a test needs (a plain `python3` may be a pyenv
// shim without torch or nibabel). Missing Python skips a test, unless CTLENS_REQUIRE_PYTHON=1 (CI), where it fails:
// a parity test must never pass by not running.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';

export const REPO = path.resolve(__dirname, '..');

const CANDIDATES = [process.env.CTLENS_PYTHON, '/usr/bin/python3', 'python3'].filter(Boolean) as string[];
const found = new Map<string, string | null>();

/** A python that can `import <modules>` (e.g. 'torch, nibabel, numpy') from the repository root, or null. */
export function pythonWith(modules: string): string | null {
  if (!found.has(modules)) {
    const py = CANDIDATES.find(
      (c) => !(c.startsWith('/') && !existsSync(c)) && spawnSync(c, ['-c', `import ${modules}`], { cwd: REPO, encoding: 'utf8' }).status === 0,
    );
    found.set(modules, py ?? null);
  }
  return found.get(modules)!;
}

/** A python that imports `modules`; skips the test (or fails under CTLENS_REQUIRE_PYTHON=1) when there is none. */
export function requirePython(ctx: Mocha.Context, modules: string): string {
  const py = pythonWith(modules);
  if (py) return py;
  if (process.env.CTLENS_REQUIRE_PYTHON === '1') {
    throw new Error(`CTLENS_REQUIRE_PYTHON=1 but no python3 that imports ${modules} was found (set CTLENS_PYTHON)`);
  }
  ctx.skip();
}

/**
 * Runs a script or `-m module` from the repository root (so `model.*` resolves) with one BLAS thread (the machine
 * is shared) and returns its stdout; a non-zero exit throws with stderr and stdout (model.evaluate --json reports
 * its errors on stdout).
 */
export function runPython(py: string, args: string[], input?: string): string {
  const r = spawnSync(py, args, {
    cwd: REPO,
    input,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' },
  });
  if (r.status !== 0) throw new Error(`${py} ${args.join(' ')} failed (${r.status}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}
