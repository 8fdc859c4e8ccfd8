import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cardSummary } from '../../../src/extension/views/model-card';

describe('extension/views/model-card', () => {
  it('summarises the bundled model card by its first paragraph of prose', () => {
    const card = readFileSync(join(__dirname, '..', '..', '..', 'media', 'models', 'ctlens-tghmoe-demo', 'README.md'), 'utf8');
    const s = cardSummary(card);
    assert.ok(s.length > 20 && s.length <= 400, s);
    assert.ok(!s.includes('#') && !s.includes('**'), s);
    assert.ok(card.replace(/[*_`]/g, '').replace(/\s+/g, ' ').includes(s.replace(/…$/, '')), 'the summary is the card’s own words');
  });

  it('skips headings, tables and code, strips links and emphasis, and shortens long text', () => {
    const md = '# Title\n\n| a | b |\n|---|---|\n\n```\ncode\n```\n\nThe **model** reads [CT](http://x) *volumes*.\n\nMore.';
    assert.equal(cardSummary(md), 'The model reads CT volumes.');
    assert.equal(cardSummary('# only a title\n'), '');
    assert.equal(cardSummary('word '.repeat(200), 20), 'word word word word…');
  });
});
