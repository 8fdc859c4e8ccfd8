// scoreResults against the Python evaluator: on the committed fixture (recorded and live) and on random lines
// built here, every key within 1e-9.
import * as assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  EvalError,
  METRIC_KEYS,
  mergeResults,
  readDataset,
  readResults,
  scoreResults,
  selectShard,
  type Metrics,
  type ResultLine,
} from '../../../src/core/eval/index';
import { REPO, requirePython, runPython } from '../../reference-python';

const FIXTURES = path.join(REPO, 'test/fixtures/eval');
const fixtureText = () => readFileSync(path.join(FIXTURES, 'results.jsonl'), 'utf8');

function assertSameMetrics(ours: Metrics, theirs: Record<string, unknown>, tol = 1e-9) {
  assert.deepEqual(Object.keys(theirs).sort(), [...METRIC_KEYS].sort());
  for (const k of METRIC_KEYS) {
    const a = ours[k];
    const b = theirs[k] as number | null;
    if (a === null || b === null) assert.equal(a, b, k);
    else assert.ok(Math.abs(a - b) <= tol, `${k}: ${a} (TypeScript) vs ${b} (Python)`);
  }
}

/** Seeded xorshift PRNG so the random lines are the same on every run. */
function prng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

function randomLines(n: number, seed: number): ResultLine[] {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const words = [
    'no', 'not', 'nodule', 'nodules', 'pleural', 'effusion', 'effusions', 'pericardial', 'heart', 'is', 'enlarged',
    'cardiomegaly', 'emphysema', 'consolidation', 'calcification', 'lymph', 'nodes', 'lymphadenopathy', 'the', 'a',
    'right', 'left', 'upper', 'lower', 'middle', 'lobe', 'mm', '12', '7.5', 'without', 'but', 'seen', 'there',
    'findings', 'impression', 'yes', 'B', 'C.', '(A)', 'résumé', 'İ', 'generalization', 'running', 'hopeful',
  ];
  const punct = [' ', ' ', ' ', '. ', ', ', '; ', ': ', '? ', '\n', ' - '];
  const text = (len: number) => {
    let s = '';
    for (let i = 0; i < len; i++) s += pick(words) + pick(punct);
    return s;
  };
  const choices = ['right upper lobe', 'left lower lobe', 'both sides', 'none of the above'];
  const lines: ResultLine[] = [];
  for (let i = 0; i < n; i++) {
    const base = { id: `r${i}`, image: 'x.nii.gz', question: 'q' };
    const kind = i % 4;
    if (kind === 0) {
      lines.push({ ...base, task: 'report', report: text(5 + Math.floor(rnd() * 40)), prediction: text(Math.floor(rnd() * 40)) });
    } else if (kind === 1) {
      const k = Math.floor(rnd() * 4);
      lines.push({ ...base, task: 'vqa', answer: `${'ABCD'[k]}. ${choices[k]}`, choices, answer_type: 'closed', prediction: text(Math.floor(rnd() * 4)) });
    } else if (kind === 2) {
      lines.push({ ...base, task: 'vqa', answer: pick(['yes', 'no']), prediction: text(Math.floor(rnd() * 4)) });
    } else {
      lines.push({ ...base, task: 'vqa', answer: text(1 + Math.floor(rnd() * 4)), answer_type: 'open', prediction: text(Math.floor(rnd() * 5)) });
    }
  }
  return lines;
}

describe('core/eval scoreResults', () => {
  it('gives the recorded Python numbers on the committed fixture', () => {
    const expected = JSON.parse(readFileSync(path.join(FIXTURES, 'expected.json'), 'utf8'));
    const ours = scoreResults(readResults(fixtureText(), 'results.jsonl'));
    assertSameMetrics(ours, expected);
    assert.equal(ours.n_report, 24);
    assert.equal(ours.n_vqa, 120);
  });

  it('equals python3 -m model.evaluate --predictions on the fixture, run live', function () {
    this.timeout(60_000);
    const py = requirePython(this, 'model.metrics');
    const out = runPython(py, ['-m', 'model.evaluate', '--predictions', path.join(FIXTURES, 'results.jsonl'), '--json']);
    assertSameMetrics(scoreResults(readResults(fixtureText())), JSON.parse(out));
  });

  it('equals the Python evaluator on 400 random lines (odd tokens, letters, unicode, empty texts)', function () {
    this.timeout(60_000);
    const py = requirePython(this, 'model.metrics');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ctlens-eval-'));
    try {
      for (const seed of [1, 2]) {
        const lines = randomLines(400, seed);
        const file = path.join(dir, `r${seed}.jsonl`);
        writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
        const theirs = JSON.parse(runPython(py, ['-m', 'model.evaluate', '--predictions', file, '--json']));
        assertSameMetrics(scoreResults(lines), theirs);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('scoring merged shards equals scoring the whole', () => {
    const lines = readResults(fixtureText());
    const shards = [0, 1, 2].map((i) => selectShard(lines, i, 3));
    assert.equal(shards.reduce((n, s) => n + s.length, 0), lines.length);
    const merged = mergeResults(shards);
    const byId = new Map(lines.map((l, k) => [l.id, k]));
    merged.sort((a, b) => byId.get(a.id)! - byId.get(b.id)!);
    assert.deepEqual(scoreResults(merged), scoreResults(lines));
    assert.throws(() => selectShard(lines, 3, 3), /shard 3\/3/);
    const other = { ...lines[0]!, prediction: 'something else' };
    assert.throws(() => mergeResults([lines, [other]]), (e: unknown) => e instanceof EvalError && e.code === 'Conflict');
  });

  it('null for empty groups; refusals name the line', () => {
    const m = scoreResults([{ id: 'v', task: 'vqa', answer: 'no', prediction: 'no' }]);
    assert.equal(m.bleu1, null);
    assert.equal(m.open_vqa_f1, null);
    assert.equal(m.closed_vqa_accuracy, 1);
    assert.throws(() => scoreResults([{ id: 'x', task: 'vqa', answer: 'no' }]), /^EvalError: BadLine: line 1 \(id x\): no 'prediction'/);
    assert.throws(() => scoreResults([{ id: 'x', task: 'caption', prediction: '' }]), /task must be 'report' or 'vqa'/);
    assert.throws(() => readResults('{"id": "a", "task": "vqa", "answer": "no", "prediction": "no"}\nnot json\n', 'r.jsonl'), /BadJson: r\.jsonl:2: not valid JSON/);
    assert.throws(() => readDataset('{"id": "a", "image": "x", "task": "vqa", "question": "q"}\n'), /VQA sample without an 'answer'/);
    const ac = new AbortController();
    ac.abort();
    assert.throws(() => scoreResults(readResults(fixtureText()), { signal: ac.signal }), (e: unknown) => e instanceof EvalError && e.code === 'Aborted');
  });

  it('reads the benchmark’s dataset lines', () => {
    const lines = readDataset(fixtureText());
    assert.equal(lines.length, 144);
    assert.ok(lines.some((l) => l.task === 'vqa' && l.choices?.length === 4));
  });
});
