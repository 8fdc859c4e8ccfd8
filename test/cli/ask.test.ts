import assert from 'node:assert/strict';
import * as ask from '../../src/cli/commands/ask';
import { referenceCase, runIn } from './model-cli';

const PHANTOM = 'test/fixtures/phantoms/fixture-01.nii.gz';

describe('cli/ask', function () {
  this.timeout(120000);

  it('answers a question about a volume as the bundled model does (references.json), with the notice', async () => {
    // Greedy answers of the bundled model for this phantom: a yes/no answer and a sentence.
    for (const id of ['fixture-01-q0', 'fixture-01-q4']) {
      const ref = referenceCase(id);
      assert.equal(ref.image, PHANTOM);
      const question = ref.question!;
      const r = await runIn(ask, [PHANTOM, question, '--max-tokens', '12', '--json']);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const j = JSON.parse(r.stdout);
      assert.equal(j.task, 'vqa');
      assert.equal(j.question, question);
      assert.equal(typeof j.text, 'string');
      assert.equal(j.text, ref.generated_text, `${id}: the reference answer`);
      assert.equal(j.finishReason, 'eos', `${id}: the model ended its answer itself`);
      assert.match(j.notices[0], /research use only — not for diagnosis/);
      if (id === 'fixture-01-q0') {
        const human = await runIn(ask, [PHANTOM, question, '--max-tokens', '12']);
        assert.equal(human.stdout.split('\n\n---\n')[0], j.text);
      }
    }
  });

  it('wants a FILE and a question', async () => {
    const r = await runIn(ask, [PHANTOM]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /FILE and "QUESTION" expected/);
    const empty = await runIn(ask, [PHANTOM, '   ', '--json']);
    assert.equal(empty.code, 2);
    assert.match(JSON.parse(empty.stdout).error, /^BadInput: a question is required/);
  });
});
