// The Python evaluator for the cross-language tests. Scoring needs only the standard library, so any python3 that
// can import model.metrics will do. Missing Python skips, unless CTLENS_REQUIRE_PYTHON=1 (CI), where it fails:
// a parity test must never pass by not running.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';

export const REPO = path.resolve(__dirname, '../../..');
const CANDIDATES = [process.env.CTLENS_PYTHON, '/usr/bin/python3', 'python3'].filter(Boolean) as string[];

export function evaluatorPython(): string | null {
  for (const py of CANDIDATES) {
    if (py.startsWith('/') && !existsSync(py)) continue;
    const r = spawnSync(py, ['-c', 'import model.metrics'], { cwd: REPO, encoding: 'utf8' });
    if (r.status === 0) return py;
  }
  return null;
}

export function requireEvaluator(ctx: Mocha.Context): string {
  const py = evaluatorPython();
  if (py) return py;
  if (process.env.CTLENS_REQUIRE_PYTHON === '1') {
    throw new Error('CTLENS_REQUIRE_PYTHON=1 but no python3 that imports model.metrics was found');
  }
  ctx.skip();
}

export function runPython(py: string, args: string[], input?: string): string {
  const r = spawnSync(py, args, { cwd: REPO, input, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${py} ${args.join(' ')} failed (${r.status}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}
