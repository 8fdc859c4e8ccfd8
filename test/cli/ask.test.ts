import assert from 'node:assert/strict';
import * as ask from '../../src/cli/commands/ask';
import { runIn } from './model-cli';

const PHANTOM = 'test/fixtures/phantoms/fixture-01.nii.gz';

describe('cli/ask', function () {
  this.timeout(120000);

  it('answers a question about a volume, with the notice', async () => {
    const r = await runIn(ask, [PHANTOM, 'Is there a pleural effusion?', '--max-tokens', '12', '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.task, 'vqa');
    assert.equal(j.question, 'Is there a pleural effusion?');
    assert.equal(typeof j.text, 'string');
    assert.match(j.notices[0], /research use only — not for diagnosis/);
    const human = await runIn(ask, [PHANTOM, 'Is there a pleural effusion?', '--max-tokens', '12']);
    assert.equal(human.stdout.split('\n\n---\n')[0], j.text);
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
