import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { choiceLetter, formatMultipleChoice, parseMultipleChoice } from '../../src/shared/multiple-choice';

const DATASET = join(__dirname, '..', 'fixtures', 'phantoms', 'dataset.jsonl');

describe('shared/multiple-choice', () => {
  it('reads every multiple-choice question of the phantom benchmark back into its choices', () => {
    const lines = readFileSync(DATASET, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { question: string; choices?: string[] });
    const mc = lines.filter((l) => l.choices);
    assert.ok(mc.length >= 4, 'the fixtures hold multiple-choice questions');
    for (const l of mc) {
      const parsed = parseMultipleChoice(l.question);
      assert.ok(parsed, l.question);
      assert.deepEqual(parsed.choices, l.choices, l.question);
      assert.ok(!/Choices/.test(parsed.stem));
    }
    // Open and yes/no questions are not multiple choice.
    for (const l of lines.filter((x) => !x.choices)) assert.equal(parseMultipleChoice(l.question), null, l.question);
  });

  it('round-trips the benchmark spelling', () => {
    const q = formatMultipleChoice('On which side is the pleural effusion?', ['left side', 'right side', 'both sides', 'no effusion']);
    assert.equal(q, 'On which side is the pleural effusion? Choices: A. left side. B. right side. C. both sides. D. no effusion.');
    assert.deepEqual(parseMultipleChoice(q), { stem: 'On which side is the pleural effusion?', choices: ['left side', 'right side', 'both sides', 'no effusion'] });
  });

  it('accepts options typed one per line, with ) or lower-case letters, and two or three options', () => {
    assert.deepEqual(parseMultipleChoice('Which lobe?\nA) right upper lobe\nB) left lower lobe\nc) right middle lobe'), {
      stem: 'Which lobe?',
      choices: ['right upper lobe', 'left lower lobe', 'right middle lobe'],
    });
    assert.deepEqual(parseMultipleChoice('Is it big? Choices: A. yes. B. no.')?.choices, ['yes', 'no']);
  });

  it('does not mistake ordinary text for options', () => {
    assert.equal(parseMultipleChoice('Is there a nodule in segment B. of the lung?'), null);
    assert.equal(parseMultipleChoice('Choices: A. only one.'), null, 'one option is not a choice');
    assert.equal(parseMultipleChoice('Which? Choices: B. x. C. y.'), null, 'options start at A');
    assert.equal(choiceLetter(2), 'C');
  });
});
