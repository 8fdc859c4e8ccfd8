import * as assert from 'node:assert/strict';
import { asciiLower, tokenize } from '../../../src/core/eval/tokenize';

describe('core/eval/tokenize', () => {
  it('lower-cases ASCII, keeps letter runs and numbers, drops the rest', () => {
    assert.deepEqual(tokenize('Findings: A 12.5mm NODULE, right-upper lobe; é? 3.'), [
      'findings', 'a', '12.5', 'mm', 'nodule', 'right', 'upper', 'lobe', '3',
    ]);
    assert.deepEqual(tokenize(''), []);
    assert.deepEqual(tokenize('...'), []);
  });

  it('touches only A–Z when lower-casing (as the Python port does)', () => {
    assert.equal(asciiLower('ÀÉ İ Kelvin\u212A AB'), 'ÀÉ İ kelvin\u212A ab');
    assert.deepEqual(tokenize('straße İstanbul'), ['stra', 'e', 'stanbul']);
  });
});
