// The NIfTI reader's fuzzer at scale (issue 14): test/core/nifti/fuzz.test.ts run for 10,000 cases of another seed
// (CI runs 2,400), with the outcome printed: decoded, refused per NiftiError code, and failures — any error that
// is not a NiftiError, a case without an answer within 2 s, a case slower than 1 s, an allocation past the limit.
//   npm run bench -- nifti-fuzz     (CTLENS_NIFTI_FUZZ_CASES / CTLENS_NIFTI_FUZZ_SEED to change)

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');
const cases = process.env.CTLENS_NIFTI_FUZZ_CASES ?? '10000';
const seed = process.env.CTLENS_NIFTI_FUZZ_SEED ?? String(0x14_2026);
console.log(`NIfTI fuzz: ${cases} cases, seed ${seed}`);
const r = spawnSync(
  process.execPath,
  [join(ROOT, 'node_modules', 'mocha', 'bin', 'mocha.js'), '--no-config', '--node-option', 'import=tsx', '--timeout', '0', '--reporter', 'spec', 'test/core/nifti/fuzz.test.ts'],
  { cwd: ROOT, stdio: 'inherit', env: { ...process.env, CTLENS_NIFTI_FUZZ_CASES: cases, CTLENS_NIFTI_FUZZ_SEED: seed } },
);
process.exitCode = r.status ?? 1;
