// Running model commands in-process for the CLI tests, and through the real entry point once.

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { CliIo } from '../../src/cli/io';

export const ROOT = join(__dirname, '..', '..');

export async function runIn(
  command: { run(args: string[], io: CliIo): Promise<number> },
  args: string[],
  cwd = ROOT,
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), cwd, env: {} };
  const code = await command.run(args, io);
  return { code, stdout, stderr };
}

/** The real entry point (src/cli/main.ts under tsx), as `npx ctlens` runs after a build. */
export function cli(args: string[], cwd = ROOT): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), ...args], {
    cwd,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
