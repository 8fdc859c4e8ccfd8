// What the CLI prints for an error it did not expect (issue 14): one line that says it is a bug and where the
// details went — never a stack trace in the user's face. The stack goes to a log file (or to stderr when
// CTLENS_DEBUG is set, or when no file can be written), so a bug report still has it.

import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeError } from '../core/model/errors';

export interface InternalErrorSink {
  stderr(text: string): void;
  env: Record<string, string | undefined>;
  /** Where the log file goes (default: the OS temp folder). */
  logDir?: string;
  pid?: number;
}

/** Prints the one-line report and writes the stack; returns the log file's path (null when none was written). */
export function reportInternalError(err: unknown, sink: InternalErrorSink): string | null {
  const line = `ctlens: internal error: ${err instanceof Error ? `${err.name}: ${describeError(err)}` : describeError(err)}`;
  const details = err instanceof Error ? (err.stack ?? err.message) : String(err);
  if (sink.env.CTLENS_DEBUG) {
    sink.stderr(`${line}\n${details}\n`);
    return null;
  }
  const file = join(sink.logDir ?? tmpdir(), `ctlens-error-${sink.pid ?? process.pid}.log`);
  try {
    writeFileSync(file, `${new Date().toISOString()} ${process.argv.slice(1).join(' ')}\n${details}\n`);
  } catch {
    sink.stderr(`${line}\n${details}\n`);
    return null;
  }
  sink.stderr(`${line}\n(this is a bug in CT Lens; the details are in ${file})\n`);
  return file;
}
