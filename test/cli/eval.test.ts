// `ctlens eval`: runs the model over dataset lines and scores them with src/core/eval. Checked against the
// Python evaluator running PyTorch on the same package (same predictions line by line, same metrics), and
// shards merged = the whole run.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as evalCmd from '../../src/cli/commands/eval';
import { METRIC_KEYS } from '../../src/core/eval';
import { requirePython, runPython } from '../reference-python';
import { ROOT, runIn } from './model-cli';

const DATASET = join(ROOT, 'test', 'fixtures', 'phantoms', 'dataset.jsonl');
const PACKAGE = join(ROOT, 'media', 'models', 'ctlens-tghmoe-demo');
const LIMIT = '8';
const TOKENS = '24';

describe('cli/eval', function () {
  this.timeout(600000);
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'ctlens-eval-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const lines = (f: string) => readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l));

  it('predictions and metrics equal python3 -m model.evaluate on the same package (PyTorch)', async function () {
    const py = requirePython(this, 'torch, nibabel, numpy');
    const ours = await runIn(evalCmd, [DATASET, '--limit', LIMIT, '--max-tokens', TOKENS, '--out', join(dir, 'ts.jsonl'), '--json', '--ep', 'cpu']);
    assert.equal(ours.code, 0, ours.stdout + ours.stderr);
    assert.match(ours.stderr, /eval: 8\/8 /);
    const theirs = runPython(py, ['-m', 'model.evaluate', '--package', PACKAGE, '--data', DATASET, '--limit', LIMIT, '--max-new-tokens', TOKENS, '--out', join(dir, 'py.jsonl'), '--json']);
    const tsLines = lines(join(dir, 'ts.jsonl'));
    const pyLines = lines(join(dir, 'py.jsonl'));
    assert.equal(tsLines.length, 8);
    assert.deepEqual(tsLines.map((l) => [l.id, l.prediction]), pyLines.map((l) => [l.id, l.prediction]));
    const a = JSON.parse(ours.stdout);
    const b = JSON.parse(theirs.trim().split('\n').at(-1)!);
    assert.deepEqual(Object.keys(a).sort(), [...METRIC_KEYS].sort());
    for (const k of METRIC_KEYS) {
      if (a[k] === null || b[k] === null) assert.equal(a[k], b[k], k);
      else assert.ok(Math.abs(a[k] - b[k]) <= 1e-9, `${k}: ${a[k]} vs ${b[k]}`);
    }
  });

  it('shards split the dataset and --merge scores them as one run', async () => {
    const s0 = await runIn(evalCmd, [DATASET, '--shard', '0/2', '--limit', '3', '--max-tokens', '8', '--out', join(dir, 'r0.jsonl'), '--json']);
    const s1 = await runIn(evalCmd, [DATASET, '--shard', '1/2', '--limit', '3', '--max-tokens', '8', '--out', join(dir, 'r1.jsonl'), '--json']);
    assert.equal(s0.code, 0, s0.stdout);
    assert.equal(s1.code, 0, s1.stdout);
    const r0 = lines(join(dir, 'r0.jsonl'));
    const r1 = lines(join(dir, 'r1.jsonl'));
    const all = lines(DATASET);
    assert.deepEqual(r0.map((l) => l.id), [all[0].id, all[2].id, all[4].id]);
    assert.deepEqual(r1.map((l) => l.id), [all[1].id, all[3].id, all[5].id]);
    const merged = await runIn(evalCmd, ['--merge', join(dir, 'r0.jsonl'), join(dir, 'r1.jsonl'), '--json']);
    assert.equal(merged.code, 0, merged.stdout);
    assert.match(merged.stderr, /merged 2 files, 6 results/);
    const m = JSON.parse(merged.stdout);
    assert.equal(m.n_report + m.n_vqa, 6);
    const human = await runIn(evalCmd, ['--merge', join(dir, 'r0.jsonl'), join(dir, 'r1.jsonl')]);
    assert.match(human.stdout, /closed_vqa_accuracy/);
    // A pattern quoted past the shell (a Slurm script) is expanded here.
    const pattern = await runIn(evalCmd, ['--merge', join(dir, 'r?.jsonl'), '--json']);
    assert.equal(pattern.code, 0, pattern.stdout);
    assert.deepEqual(JSON.parse(pattern.stdout), m);
    const none = await runIn(evalCmd, ['--merge', join(dir, 'zz*.jsonl')]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no file matches .*zz\*\.jsonl/);
  });

  it('refuses bad arguments and bad lines with exit code 2', async () => {
    const shard = await runIn(evalCmd, [DATASET, '--shard', '2/2']);
    assert.equal(shard.code, 2);
    assert.match(shard.stderr, /--shard wants i\/N with 0 ≤ i < N, got '2\/2'/);
    const limit = await runIn(evalCmd, [DATASET, '--limit', '0']);
    assert.equal(limit.code, 2);
    assert.match(limit.stderr, /--limit must be an integer ≥ 1, got '0'/);
    const notResults = await runIn(evalCmd, ['--merge', DATASET, '--json']);
    assert.equal(notResults.code, 2);
    assert.match(JSON.parse(notResults.stdout).error, /BadLine: .*no 'prediction' string/);
    const missing = await runIn(evalCmd, [join(dir, 'none.jsonl')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read .*none\.jsonl: no such file/);
  });
});
