// What a CLI command may touch of the outside world, passed in so commands run in-process in tests, and what every
// command shares about bad input: the UsageError that becomes exit code 2, and how an unreadable input is explained.

import { readFile } from 'node:fs/promises';

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Directory relative paths are resolved against. */
  cwd: string;
  env: Record<string, string | undefined>;
}

/** A command module (src/cli/commands/<name>.ts) exports `run`; it returns the process exit code. */
export interface CliCommand {
  run(args: string[], io: CliIo): Promise<number>;
}

/** Exit codes shared by every command (contract C4): 2 for user errors (bad file, bad arguments). */
export const EXIT_OK = 0;
export const EXIT_INTERNAL = 1;
export const EXIT_USER_ERROR = 2;

export function nodeIo(): CliIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    cwd: process.cwd(),
    env: process.env,
  };
}

/** Bad arguments or input the user can fix: the command prints the message on one line and exits 2. */
export class UsageError extends Error {}

/** Reads an input file; one that cannot be read is a UsageError that names it as `shownAs` and says why. */
export async function readInputFile(file: string, shownAs: string = file): Promise<Uint8Array> {
  try {
    return await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : String((err as Error).message);
    throw new UsageError(`cannot read ${shownAs}: ${why}`);
  }
}
