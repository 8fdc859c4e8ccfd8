#!/usr/bin/env node
// Runs every bench/*.bench.ts in sequence, each in its own `node --import tsx` process so peak memory is per
// benchmark, and lets each print its own figures (contract C4). Benchmarks assert nothing; a benchmark that
// crashes is reported at the end and makes the exit code 1.
//   node bench/run.mjs            all benchmarks
//   node bench/run.mjs nifti ...  only those whose file name contains one of the words
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);
const filters = process.argv.slice(2);
const benches = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => filters.length === 0 || filters.some((w) => f.includes(w)))
  .sort();

if (benches.length === 0) {
  console.error(`no benchmarks match ${filters.join(', ') || '*'} in ${here}`);
  process.exit(1);
}

console.log(`CT Lens benchmarks · node ${process.version} · ${process.platform}-${process.arch}`);
const failed = [];
for (const file of benches) {
  console.log(`\n=== ${file} ===`);
  const started = Date.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, file)], { cwd: root, stdio: 'inherit' });
  const took = ((Date.now() - started) / 1000).toFixed(1);
  if (r.status !== 0) {
    failed.push(file);
    console.log(`--- ${file} FAILED (exit ${r.status ?? r.signal}) after ${took} s`);
  } else {
    console.log(`--- ${file} done in ${took} s`);
  }
}
if (failed.length) {
  console.error(`\n${failed.length} benchmark(s) failed: ${failed.join(', ')}`);
  process.exit(1);
}
