import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { stem } from '../../../src/core/eval/porter';

const FIXTURES = path.resolve(__dirname, '../../fixtures/eval');

describe('core/eval/porter', () => {
  it('stems the examples of the Porter (1980) paper', () => {
    const cases: Record<string, string> = {
      caresses: 'caress', ponies: 'poni', ties: 'ti', caress: 'caress', cats: 'cat', feed: 'feed', agreed: 'agre',
      plastered: 'plaster', bled: 'bled', motoring: 'motor', sing: 'sing', conflated: 'conflat', troubled: 'troubl',
      sized: 'size', hopping: 'hop', tanned: 'tan', falling: 'fall', hissing: 'hiss', fizzed: 'fizz', failing: 'fail',
      filing: 'file', happy: 'happi', sky: 'sky', relational: 'relat', conditional: 'condit', rational: 'ration',
      valenci: 'valenc', hesitanci: 'hesit', digitizer: 'digit', conformabli: 'conform', radicalli: 'radic',
      differentli: 'differ', vileli: 'vile', analogousli: 'analog', vietnamization: 'vietnam', predication: 'predic',
      operator: 'oper', feudalism: 'feudal', decisiveness: 'decis', hopefulness: 'hope', callousness: 'callous',
      formaliti: 'formal', sensitiviti: 'sensit', sensibiliti: 'sensibl', triplicate: 'triplic', formative: 'form',
      formalize: 'formal', electriciti: 'electr', electrical: 'electr', hopeful: 'hope', goodness: 'good',
      revival: 'reviv', allowance: 'allow', inference: 'infer', airliner: 'airlin', gyroscopic: 'gyroscop',
      adjustable: 'adjust', defensible: 'defens', irritant: 'irrit', replacement: 'replac', adjustment: 'adjust',
      dependent: 'depend', adoption: 'adopt', homologou: 'homolog', communism: 'commun', activate: 'activ',
      angulariti: 'angular', homologous: 'homolog', effective: 'effect', bowdlerize: 'bowdler', probate: 'probat',
      rate: 'rate', cease: 'ceas', controll: 'control', roll: 'roll', generalization: 'gener', oscillators: 'oscil',
      is: 'is', yes: 'ye',
    };
    const wrong = Object.entries(cases).filter(([w, s]) => stem(w) !== s).map(([w, s]) => `${w}: ${stem(w)} ≠ ${s}`);
    assert.deepEqual(wrong, []);
  });

  it('gives the Python stemmer’s output on the shared word list', () => {
    const rows = readFileSync(path.join(FIXTURES, 'porter.tsv'), 'utf8').split('\n').filter(Boolean).map((l) => l.split('\t'));
    assert.ok(rows.length > 300);
    const wrong = rows.filter(([w, s]) => stem(w!) !== s).map(([w, s]) => `${w}: ${stem(w!)} ≠ ${s}`);
    assert.deepEqual(wrong, []);
  });
});
