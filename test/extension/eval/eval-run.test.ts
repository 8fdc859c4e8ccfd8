import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readDataset, scoreResults } from '../../../src/core/eval';
import { decodeNifti } from '../../../src/core/nifti';
import { nodeInflate } from '../../../src/core/nifti/inflate-node';
import { readModelPackage } from '../../../src/core/model/package';
import { evalRow, runEvaluation, type EvalDeps } from '../../../src/extension/eval/eval-run';
import type { GenerateParams, GenerateResult } from '../../../src/shared/modelhost-protocol';
import { DEMO_PACKAGE, PHANTOMS } from '../../core/model/package-fixture';

const LINES = readDataset(readFileSync(join(PHANTOMS, 'dataset.jsonl'), 'utf8')).slice(0, 12);

/** A fake model that answers with the reference (or a wrong word every third line), counting reads per image. */
async function deps(reads: Map<string, number>, calls: GenerateParams[]): Promise<EvalDeps> {
  const pkg = await readModelPackage(DEMO_PACKAGE);
  let n = 0;
  return {
    options: { maxNewTokens: 16 },
    prepare: async () => ({ spec: pkg.spec.preprocess, model: { name: 'fake', version: '0', provider: 'cpu' } }),
    readVolume: async (image) => {
      reads.set(image, (reads.get(image) ?? 0) + 1);
      return decodeNifti(new Uint8Array(readFileSync(join(PHANTOMS, image))), { inflate: nodeInflate });
    },
    generate: async (params) => {
      calls.push(params);
      const line = LINES[n++]!;
      const text = n % 3 === 0 ? 'banana' : line.task === 'report' ? line.report! : line.answer!;
      return { text } as GenerateResult;
    },
  };
}

describe('extension/eval/eval-run', () => {
  it('runs every line greedily, reads each image once in turn, and scores like scoreResults', async () => {
    const reads = new Map<string, number>();
    const calls: GenerateParams[] = [];
    const rows: number[] = [];
    const out = await runEvaluation(LINES, await deps(reads, calls), { signal: new AbortController().signal, onRow: (r) => rows.push(r.index) });
    assert.equal(out.cancelled, false);
    assert.deepEqual(rows, LINES.map((_, i) => i));
    assert.deepEqual([...reads.values()], [...new Set(LINES.map((l) => l.image))].map(() => 1));
    assert.ok(calls.every((c) => c.options?.doSample === false && c.options.maxNewTokens === 16));
    assert.equal(calls.find((c) => c.task === 'report')?.question, undefined, 'reports use the package prompt');
    assert.deepEqual(out.metrics, scoreResults(out.results));
    const wrong = out.rows.filter((r) => r.prediction === 'banana');
    assert.ok(wrong.every((r) => r.correct === false || (r.score !== null && r.score < 1)));
    assert.ok(out.rows.filter((r) => r.prediction !== 'banana' && r.correct !== null).every((r) => r.correct));
  });

  it('stops when cancelled and scores what finished', async () => {
    const reads = new Map<string, number>();
    const controller = new AbortController();
    const out = await runEvaluation(LINES, await deps(reads, []), {
      signal: controller.signal,
      onRow: (r) => r.index === 2 && controller.abort(),
    });
    assert.equal(out.cancelled, true);
    assert.equal(out.results.length, 3);
    assert.deepEqual(out.metrics, scoreResults(out.results));
  });

  it('scores one row: closed VQA right/wrong, open VQA token F1, reports ROUGE-L', () => {
    const closed = LINES.find((l) => l.task === 'vqa' && l.answer_type === 'closed')!;
    assert.equal(evalRow(0, closed, closed.answer!, 5).correct, true);
    const open = LINES.find((l) => l.task === 'vqa' && l.answer_type === 'open')!;
    assert.equal(evalRow(0, open, open.answer!, 5).score, 1);
    const report = LINES.find((l) => l.task === 'report')!;
    const r = evalRow(1, report, report.report!, 7);
    assert.equal(r.score, 1);
    assert.equal(r.reference, report.report);
    assert.equal(r.correct, null);
  });
});
