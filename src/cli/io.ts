// What a CLI command may touch of the outside world, passed in so commands run in-process in tests.

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
