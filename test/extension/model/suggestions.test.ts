import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { datasetSuggestions, MAX_SUGGESTIONS, packageSuggestions } from '../../../src/extension/model/suggestions';

const DATASET = readFileSync(join(__dirname, '..', '..', 'fixtures', 'phantoms', 'dataset.jsonl'), 'utf8');

describe('extension/model/suggestions', () => {
  it('takes the VQA questions of this image from a dataset beside it — closed, multiple choice, open first — never answers', () => {
    const s = datasetSuggestions(DATASET, 'fixture-00.nii.gz');
    const mine = DATASET.split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { image: string; task: string; question: string; choices?: string[]; answer?: string })
      .filter((l) => l.image === 'fixture-00.nii.gz' && l.task === 'vqa');
    assert.equal(s.length, Math.min(MAX_SUGGESTIONS, mine.length));
    for (const q of s) assert.ok(mine.some((l) => l.question === q.question), q.question);
    const mc = mine.find((l) => l.choices)!;
    const shown = s.find((q) => q.question === mc.question);
    assert.deepEqual(shown?.choices, mc.choices);
    assert.ok(s.every((q) => !('answer' in q)));
    assert.ok(s.findIndex((q) => q.choices) <= 1, 'a multiple-choice question comes early');
    assert.deepEqual(datasetSuggestions(DATASET, 'other.nii.gz'), []);
    assert.deepEqual(datasetSuggestions('not json\n', 'fixture-00.nii.gz'), []);
  });

  it('reads ctlens.example_questions from a package config (strings or {question, choices})', () => {
    const config = {
      ctlens: {
        example_questions: [
          'Is there a pleural effusion?',
          { question: 'Which lobe shows consolidation?', choices: ['right upper lobe', 'left lower lobe'] },
          'Is there a pleural effusion?',
          42,
          { question: '' },
        ],
      },
    };
    assert.deepEqual(packageSuggestions(config), [
      { question: 'Is there a pleural effusion?' },
      { question: 'Which lobe shows consolidation? Choices: A. right upper lobe. B. left lower lobe.', choices: ['right upper lobe', 'left lower lobe'] },
    ]);
    assert.deepEqual(packageSuggestions({ ctlens: {} }), []);
    assert.deepEqual(packageSuggestions({}), []);
  });
});
