// Running model commands in-process for the CLI tests, and through the real entry point once.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CliIo } from '../../src/cli/io';
import type { Task } from '../../src/core/model/task';

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

/** A case of test/fixtures/model/references.json: what the bundled model wrote for a phantom (make_references.py). */
export interface ReferenceCase {
  id: string;
  image: string;
  task: Task;
  question: string | null;
  generated_ids: number[];
  generated_text: string;
  /** [layer][group][expert]: an expert's router probabilities summed over the visual tokens. */
  router_probs_expert_mass: number[][][];
}

export function referenceCase(id: string): ReferenceCase {
  const refs = JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'model', 'references.json'), 'utf8')) as { cases: ReferenceCase[] };
  const c = refs.cases.find((x) => x.id === id);
  if (!c) throw new Error(`references.json has no case ${id}`);
  return c;
}
