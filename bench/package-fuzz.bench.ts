// Model-package fuzz at scale (issue 14): CTLENS_PACKAGE_FUZZ_CASES (default 1,200) damaged copies of the bundled
// package — JSON values changed, deleted or retyped, JSON text truncated or bit-flipped, graphs truncated,
// bit-flipped or overwritten — each read, preprocessed, loaded on the CPU and run as `ctlens report` would. Prints
// the outcome counts per file; the goal is zero internal errors and zero hangs. The CI test runs 100 of the same
// cases (test/core/model/package-fuzz.test.ts).
//   npm run bench -- package-fuzz      (or: node --import tsx bench/package-fuzz.bench.ts)

import { join } from 'node:path';
import { fuzzPackage } from '../test/core/model/package-fuzz';

const ROOT = join(__dirname, '..');
const CASES = Number(process.env.CTLENS_PACKAGE_FUZZ_CASES ?? 1200);
const SEED = Number(process.env.CTLENS_PACKAGE_FUZZ_SEED ?? 0x1400);

async function main(): Promise<void> {
  console.log(`package fuzz: ${CASES} cases, seed ${SEED}, package media/models/ctlens-tghmoe-demo, CPU, 3 tokens per run`);
  const s = await fuzzPackage({
    packageDir: join(ROOT, 'media', 'models', 'ctlens-tghmoe-demo'),
    volumeFile: join(ROOT, 'test', 'fixtures', 'phantoms', 'fixture-00.nii.gz'),
    cases: CASES,
    seed: SEED,
    caseTimeoutMs: 60_000,
    onOutcome: (o) => {
      if ((o.n + 1) % 100 === 0) console.log(`  ${o.n + 1} cases…`);
      if (o.result === 'internal' || o.result === 'hang') console.log(`  case ${o.n} ${o.file} ${o.mutation}: ${o.result}: ${o.message}`);
    },
  });
  console.log(`\noutcomes: ${JSON.stringify(s.byResult)}`);
  for (const [file, counts] of Object.entries(s.byFile).sort()) console.log(`  ${file.padEnd(32)} ${JSON.stringify(counts)}`);
  console.log(`internal errors: ${s.internal.length} · hangs: ${s.hangs.length} · slowest case ${s.slowestMs.toFixed(0)} ms · total ${(s.totalMs / 1000).toFixed(1)} s`);
  if (s.internal.length || s.hangs.length) process.exitCode = 1;
}

void main();
