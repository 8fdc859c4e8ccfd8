// `ctlens` command line: parses argv, picks a command from the table below and runs it (contract C4).
// Each command lives in src/cli/commands/<name>.ts and exports `run(args, io)` returning the exit code.
// Commands are loaded lazily so `ctlens info` never pays for loading onnxruntime-node.
import type { CliIo, CliCommand } from './io';
import { reportInternalError } from './internal-error';
import { nodeIo } from './io';

/** The command table. To add a command: add src/cli/commands/<name>.ts and one entry here. */
const COMMANDS: Record<string, { summary: string; load: () => Promise<CliCommand> }> = {
  info: { summary: 'info FILE|DICOM-DIR [--json] [--voxel i,j,k ...] [--series N]   header, affine, orientation, stats of a NIfTI file or DICOM series', load: () => import('./commands/info') },
  convert: { summary: 'convert DICOM-DIR|FILE.dcm OUT.nii[.gz] [--series N] [--force]   a DICOM series to NIfTI', load: () => import('./commands/convert') },
  report: { summary: 'report FILE [--model DIR] [--ep …] [--json] [--max-tokens N]   generate a report (streamed)', load: () => import('./commands/report') },
  ask: { summary: 'ask FILE "QUESTION" [--model DIR] [--ep …] [--json]   answer a question about a volume', load: () => import('./commands/ask') },
  eval: { summary: 'eval DATASET.jsonl [--shard i/N] [--out R.jsonl] [--json] | eval --merge R*.jsonl   run and score a dataset', load: () => import('./commands/eval') },
  bench: { summary: 'bench [--ep …] [--json] [--file F]   model speed: vision, prefill, decode tokens/s, report, peak RSS', load: () => import('./commands/bench') },
};

function usage(): string {
  const lines = Object.values(COMMANDS).map((c) => `  ctlens ${c.summary}`);
  return ['usage:', ...lines, '', 'Exit codes: 0 ok, 2 bad input or usage, 1 internal error.'].join('\n');
}

export async function main(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.stderr : io.stdout)(usage() + '\n');
    return name === undefined ? 2 : 0;
  }
  const entry = Object.prototype.hasOwnProperty.call(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!entry) {
    io.stderr(`ctlens: unknown command '${name}'\n${usage()}\n`);
    return 2;
  }
  const command = await entry.load();
  return command.run(rest, io);
}

main(process.argv.slice(2), nodeIo()).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    reportInternalError(err, { stderr: (t) => process.stderr.write(t), env: process.env });
    process.exitCode = 1;
  },
);
