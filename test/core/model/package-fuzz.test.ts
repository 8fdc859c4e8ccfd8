// The package fuzz in CI (issue 14): damaged copies of the bundled package, each refused with a named ModelError or
// loaded and run — zero internal errors, zero hangs. CI runs a bounded number of cases (80: about 15–30 s on an idle
// 2-core machine, each case loads a package; minutes when the machine is shared); CTLENS_PACKAGE_FUZZ_CASES=N runs N here, and `npm run bench -- package-fuzz` runs 1,200 with a
// summary (see bench/package-fuzz.bench.ts).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fuzzPackage, mutateGraph, mutateJson, prng } from './package-fuzz';
import { DEMO_PACKAGE, PHANTOMS } from './package-fixture';

const CASES = Number(process.env.CTLENS_PACKAGE_FUZZ_CASES ?? 80);

describe('core/model package fuzz', function () {
  // Generous: a hang is caught per case (30 s) below; this only bounds a machine that is slow overall.
  this.timeout(Math.max(300_000, CASES * 10_000));

  it('mutations are reproducible from the seed and change the file', () => {
    const text = JSON.stringify({ a: [1, 2, 3], b: { c: 'x' } });
    const a = prng(7);
    const b = prng(7);
    for (let i = 0; i < 50; i++) {
      const m = mutateJson(text, a);
      assert.deepEqual(m, mutateJson(text, b));
      assert.notEqual(m.text, text, m.mutation);
    }
    const bytes = Buffer.from(Array.from({ length: 4096 }, (_, i) => i % 251));
    for (let i = 0; i < 20; i++) assert.ok(!mutateGraph(bytes, a).bytes.equals(bytes));
  });

  it(`${CASES} damaged packages: each refused with a named error or loaded and run, no internal error, no hang`, async () => {
    const s = await fuzzPackage({
      packageDir: DEMO_PACKAGE,
      volumeFile: join(PHANTOMS, 'fixture-00.nii.gz'),
      cases: CASES,
      seed: 0x14,
      caseTimeoutMs: 30_000,
    });
    assert.equal(s.cases, CASES);
    assert.deepEqual(s.internal.map((o) => `${o.file} ${o.mutation}: ${o.message}`), []);
    assert.deepEqual(s.hangs.map((o) => `${o.file} ${o.mutation}`), []);
    // The mix must exercise both sides: refusals of several kinds and packages that still run.
    assert.ok((s.byResult.ran ?? 0) > 0, JSON.stringify(s.byResult));
    assert.ok((s.byResult.BadConfig ?? 0) > 0 && (s.byResult.CorruptModel ?? 0) > 0, JSON.stringify(s.byResult));
  });
});
