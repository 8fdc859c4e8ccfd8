// Runs the Debian Python (torch, nibabel) that the reference computations need. Missing Python skips a test,
// unless CTLENS_REQUIRE_PYTHON=1 (CI), where it fails: a parity test must never pass by not running.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const CANDIDATES = [process.env.CTLENS_PYTHON, '/usr/bin/python3', 'python3'].filter(Boolean) as string[];

let cached: string | null | undefined;

/** A python with torch + nibabel + numpy, or null. */
export function referencePython(): string | null {
  if (cached !== undefined) return cached;
  cached = null;
  for (const py of CANDIDATES) {
    if (py.startsWith('/') && !existsSync(py)) continue;
    const r = spawnSync(py, ['-c', 'import torch, nibabel, numpy'], { encoding: 'utf8' });
    if (r.status === 0) {
      cached = py;
      break;
    }
  }
  return cached;
}

/** Skips (or fails under CTLENS_REQUIRE_PYTHON=1) when no reference python is available. */
export function requirePython(ctx: Mocha.Context): string {
  const py = referencePython();
  if (py) return py;
  if (process.env.CTLENS_REQUIRE_PYTHON === '1') {
    throw new Error('CTLENS_REQUIRE_PYTHON=1 but no python3 with torch, nibabel and numpy was found');
  }
  ctx.skip();
}

export function runPython(py: string, args: string[], input?: string, cwd?: string): string {
  const r = spawnSync(py, args, {
    input,
    cwd,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' },
  });
  if (r.status !== 0) throw new Error(`${py} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}
