import assert from 'node:assert/strict';
import * as bench from '../../src/cli/commands/bench';
import { runIn } from './model-cli';

describe('cli/bench', function () {
  this.timeout(120000);

  it('prints vision ms, prefill ms, decode tokens/s, end-to-end report ms and peak RSS', async () => {
    const r = await runIn(bench, ['--runs', '1', '--max-tokens', '8', '--threads', '1', '--ep', 'cpu', '--json', '--file', 'test/fixtures/phantoms/fixture-02.nii.gz']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.provider, 'cpu');
    assert.equal(j.threads, 1);
    assert.equal(j.newTokens, 8); // fixed length: EOS suppressed
    for (const k of ['loadMs', 'visionMs', 'prefillMs', 'decodeTokensPerSecond', 'generateMs', 'reportMs', 'peakRssMb']) {
      assert.ok(typeof j[k] === 'number' && j[k] > 0, `${k} = ${j[k]}`);
    }
    assert.ok(j.reportMs >= j.generateMs);
    const human = await runIn(bench, ['--runs', '1', '--max-tokens', '4', '--ep', 'cpu']);
    assert.equal(human.code, 0);
    assert.match(human.stdout, /decode +[\d.]+ tokens\/s/);
    assert.match(human.stdout, /peak RSS +[\d.]+ MB/);
  });

  it('refuses a run count that is not a whole number ≥ 1', async () => {
    const r = await runIn(bench, ['--runs', '1.5', '--json']);
    assert.equal(r.code, 2);
    assert.equal(JSON.parse(r.stdout).error, "--runs must be an integer ≥ 1, got '1.5'");
  });

  it('--ep auto on a machine without a GPU reports the providers it could not use', async function () {
    if (process.env.CTLENS_EXPECT_GPU) this.skip();
    const r = await runIn(bench, ['--runs', '1', '--max-tokens', '2', '--threads', '1']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /providers that could not be used:\n {4}\w+: /);
  });
});
