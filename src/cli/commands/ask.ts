// `ctlens ask FILE "QUESTION" [options]`: visual question answering on a volume, with the same options, streaming
// and notices as `ctlens report` (see report.ts).

import type { CliIo } from '../io';
import { runGeneration } from './report';

export function run(args: string[], io: CliIo): Promise<number> {
  return runGeneration('vqa', args, io);
}
