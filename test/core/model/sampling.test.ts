import assert from 'node:assert/strict';
import { applyRepetitionPenalty, argmax, createRng, sampleTopP, selectNextToken } from '../../../src/core/model/sampling';

describe('core/model/sampling', () => {
  it('argmax takes the first maximum, like torch.argmax, and ignores NaN', () => {
    assert.equal(argmax([1, 3, 3, 2]), 1);
    assert.equal(argmax([NaN, 1, 0]), 1);
    assert.equal(argmax([-Infinity, -Infinity]), 0);
  });

  it('repetition penalty divides positive and multiplies negative logits, once per distinct id', () => {
    const l = new Float32Array([2, -2, 4, 1]);
    applyRepetitionPenalty(l, [0, 1, 0, 0, 9], 2);
    assert.deepEqual(Array.from(l), [1, -4, 4, 1]);
  });

  it('a seeded PRNG is reproducible and uniform enough', () => {
    const a = createRng(123);
    const b = createRng(123);
    const xs = Array.from({ length: 10000 }, () => a());
    assert.deepEqual(xs.slice(0, 5), Array.from({ length: 5 }, () => b()));
    assert.ok(xs.every((x) => x >= 0 && x < 1));
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    assert.ok(Math.abs(mean - 0.5) < 0.02, `mean ${mean}`);
    assert.notEqual(createRng(124)(), createRng(123)());
  });

  it('samples in proportion to softmax(logits / T)', () => {
    const rng = createRng(7);
    const logits = new Float32Array([Math.log(1), Math.log(3)]); // p = 0.25, 0.75
    let ones = 0;
    for (let n = 0; n < 20000; n++) ones += sampleTopP(logits, 1, 1, rng);
    assert.ok(Math.abs(ones / 20000 - 0.75) < 0.015, `${ones / 20000}`);
    // T = 0.5 squares the odds: 1:9 → p(1) = 0.9
    ones = 0;
    for (let n = 0; n < 20000; n++) ones += sampleTopP(logits, 0.5, 1, rng);
    assert.ok(Math.abs(ones / 20000 - 0.9) < 0.01, `${ones / 20000}`);
  });

  it('top-p keeps the smallest most-likely set reaching p', () => {
    const rng = createRng(9);
    const probs = [0.5, 0.3, 0.15, 0.05];
    const logits = new Float32Array(probs.map(Math.log));
    const seen = new Set<number>();
    for (let n = 0; n < 5000; n++) seen.add(sampleTopP(logits, 1, 0.8, rng));
    assert.deepEqual([...seen].sort(), [0, 1]); // 0.5 + 0.3 reaches 0.8
    seen.clear();
    for (let n = 0; n < 5000; n++) seen.add(sampleTopP(logits, 1, 0.1, rng));
    assert.deepEqual([...seen], [0]); // always at least the most likely one
  });

  it('greedy ignores temperature and top-p', () => {
    const l = new Float32Array([0, 2, 1]);
    assert.equal(selectNextToken(l, [], { doSample: false, temperature: 5, topP: 0.1, repetitionPenalty: 1 }, createRng(1)), 1);
  });
});
