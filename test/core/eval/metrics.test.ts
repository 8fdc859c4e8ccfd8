// Each metric on examples worked out by hand (the same ones model/tests/test_metrics.py checks).
import * as assert from 'node:assert/strict';
import {
  ciderD,
  closedCorrect,
  corpusBleu,
  findingCounts,
  isClosed,
  meteor,
  meteorAlignment,
  microF1,
  rouge1,
  rougeL,
  tokenF1,
} from '../../../src/core/eval/metrics';
import { tokenize } from '../../../src/core/eval/tokenize';

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} ≠ ${b}`);
const T = tokenize;

describe('core/eval/metrics', () => {
  it('BLEU: clipped n-gram precisions of one pair', () => {
    const b = corpusBleu([T('the cat sat on the mat')], [T('the cat is on the mat')]);
    close(b[0]!, 5 / 6); // p1 5/6
    close(b[1]!, Math.sqrt(0.5)); // p2 3/5
    close(b[2]!, 0.5); // p3 1/4
    assert.equal(b[3], 0); // no 4-gram in common
  });

  it('BLEU: brevity penalty and corpus-level sums', () => {
    const b = corpusBleu([['the', 'cat']], [T('the cat sat on the mat')]);
    close(b[0]!, Math.exp(-2));
    close(b[1]!, Math.exp(-2));
    assert.equal(b[2], 0);
    close(corpusBleu([['x'], ['y', 'z']], [['x'], ['y', 'q']])[0]!, 2 / 3);
  });

  it('ROUGE-1 and ROUGE-L F1', () => {
    close(rouge1(T('the cat sat on the mat'), T('the cat is on the mat')), 5 / 6);
    close(rougeL(T('the cat sat on the mat'), T('the cat is on the mat')), 5 / 6);
    close(rougeL(['a', 'b', 'c', 'd'], ['d', 'c', 'b', 'a']), 0.25);
    assert.equal(rouge1([], ['x']), 0);
  });

  it('METEOR: exact then stem matches, fragmentation penalty', () => {
    const h = T('the cats sat on the mat');
    const r = T('the cat is on the mat');
    assert.deepEqual(meteorAlignment(h, r), [[0, 0], [1, 1], [3, 3], [4, 4], [5, 5]]);
    const fmean = (10 * (5 / 6) * (5 / 6)) / (5 / 6 + (9 * 5) / 6);
    close(meteor(h, r), fmean * (1 - 0.5 * (2 / 5) ** 3));
    assert.equal(meteor(['x'], ['y']), 0);
  });

  it('CIDEr-D: tf-idf cosine per n, ×10', () => {
    const s = ciderD([['x', 'y'], ['z', 'q']], [['x', 'y'], ['z', 'w']]);
    close(s[0]!, 5);
    close(s[1]!, 1.25);
    assert.ok(ciderD([['x', 'y', 'y'], ['z', 'w']], [['x', 'y'], ['z', 'w']])[0]! < 5);
  });

  it('closed VQA: the M3D letter rule, choice text fallback, yes/no', () => {
    const choices = ['right upper lobe', 'right middle lobe', 'left upper lobe', 'left lower lobe'];
    const line = { answer: 'B. right middle lobe', choices, answer_type: 'closed' };
    const cases: Array<[string, boolean]> = [
      ['B', true], ['b. right middle lobe', true], ['(B)', true], [' B: middle', true], ['A. right upper lobe', false],
      ['the right middle lobe', true], ['a right middle lobe', true], ['right upper lobe or right middle lobe', false],
      ['', false], ['lobe', false],
    ];
    for (const [pred, ok] of cases) assert.equal(closedCorrect(line, pred), ok, pred);
    const yn = { answer: 'yes', answer_type: 'closed' };
    assert.ok(closedCorrect(yn, 'Yes, there is a nodule.'));
    assert.ok(!closedCorrect(yn, 'There is no nodule; yes.'));
    assert.ok(!closedCorrect(yn, 'maybe'));
    assert.ok(closedCorrect({ answer: 'no' }, 'no'));
    assert.ok(isClosed({ answer: 'no' }) && !isClosed({ answer: '12 mm' }));
  });

  it('open VQA: token F1 without articles', () => {
    close(tokenF1('in the right lower lobe', 'right lower lobe'), 6 / 7);
    close(tokenF1('12 mm', 'about 12 mm'), 0.8);
    assert.equal(tokenF1('', ''), 1);
    assert.equal(tokenF1('', 'x'), 0);
    assert.equal(tokenF1('x', 'y'), 0);
  });

  it('finding F1: micro over findings from the labeller', () => {
    const ref = 'There is a 12 mm nodule in the right upper lobe. No pleural effusion. The heart is enlarged.';
    const pred = 'No nodule. There is a small right pleural effusion. Cardiomegaly is present.';
    assert.deepEqual(findingCounts([pred], [ref]), [1, 1, 1]);
    assert.equal(microF1(1, 1, 1), 0.5);
    assert.equal(microF1(0, 0, 0), 1);
  });
});
