import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readModelPackage } from '../../../src/core/model/package';
import { backtrackingRisk, tokenizerRegexProblem } from '../../../src/core/model/tokenizer-regex';
import { DEMO_PACKAGE } from './package-fixture';

// Pre-tokeniser patterns of published tokenizers (their tokenizer.json, as JSON strings decode them).
const PUBLISHED = {
  'GPT-2': "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
  'Llama 3': "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
  'Qwen 2': "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
  o200k:
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|" +
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|" +
    "\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
  'CT Lens demo': '\u2581?[a-z]+|\u2581?[0-9]|\u2581?[^\u2581a-z0-9]|\u2581',
};

describe('core/model/tokenizer-regex', () => {
  for (const [name, pattern] of Object.entries(PUBLISHED)) {
    it(`accepts the ${name} pre-tokeniser`, () => {
      // (Node 20 has no `(?i:…)` groups; the tokenizer library rewrites them before compiling.)
      if (!pattern.includes('(?i:')) assert.doesNotThrow(() => new RegExp(pattern, 'gu'), 'the fixture is a valid pattern');
      assert.equal(backtrackingRisk(pattern), null);
    });
  }

  it('accepts bounded repeats, lookarounds, named groups and escaped brackets', () => {
    for (const p of ['(?:ab){3}', '(a*){2}', '(?<word>\\w+)\\k<word>', '(?<=x)y+(?!z)', '\\(a+\\)+', '[(]a+[)]+', '(?:a|b)?', 'x{2,8}']) {
      assert.equal(backtrackingRisk(p), null, p);
    }
  });

  it('refuses nested unbounded repeats and repeated alternatives, naming the group', () => {
    const cases: [string, RegExp][] = [
      ['(\u2581?[a-z]+)*$', /repeats a group that holds a repeated part \(`\(\u2581\?\[a-z\]\+\)\*`\)/],
      ['(a+)+b', /a repeated part \(`\(a\+\)\+`\)/],
      ['(?:\\w+\\s?)*!', /a repeated part/],
      ['(a|ab)*c', /holds alternatives \(`\(a\|ab\)\*`\)/],
      ['((a+))+', /a repeated part/],
      ['(?:x{2,})+', /a repeated part/],
      ['(?:a*){17}', /a repeated part/],
      ['(?:\\p{L}+)+?', /a repeated part/],
    ];
    for (const [p, message] of cases) assert.match(backtrackingRisk(p) ?? 'accepted', message, p);
  });

  it('refuses patterns over 2,000 characters', () => {
    assert.match(backtrackingRisk('a'.repeat(2001)) ?? '', /is 2001 characters long \(at most 2000\)/);
  });

  it('finds patterns anywhere in tokenizer.json and names where they are', () => {
    const json = {
      normalizer: { type: 'Replace', pattern: { String: ' ' }, content: '\u2581' },
      pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'Metaspace' }, { type: 'Split', pattern: { Regex: '(a+)+' } }] },
      model: { type: 'WordLevel', vocab: { '(a+)+': 0 } },
    };
    assert.match(tokenizerRegexProblem(json) ?? '', /^the regular expression at pre_tokenizer\.pretokenizers\[1\]\.pattern repeats a group/);
    assert.match(tokenizerRegexProblem({ decoder: { pattern: { Regex: 7 } } }) ?? '', /decoder\.pattern\.Regex is not a string/);
    assert.equal(tokenizerRegexProblem({ model: { vocab: { x: 0 } } }), null);
  });

  it('a package whose tokenizer would hang on its own prompts is refused as BadConfig naming tokenizer.json', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ctlens-redos-'));
    try {
      cpSync(DEMO_PACKAGE, dir, { recursive: true });
      const file = join(dir, 'tokenizer.json');
      const tok = JSON.parse(readFileSync(file, 'utf8'));
      // The demo's own pattern with its alternatives repeated: `encode` of the report prompt would not return.
      tok.pre_tokenizer.pretokenizers[1].pattern.Regex = '(\u2581?[a-z]+)*$';
      writeFileSync(file, JSON.stringify(tok));
      await assert.rejects(
        readModelPackage(dir, { checkGraphs: false }),
        /^ModelError: BadConfig: tokenizer\.json: the regular expression at pre_tokenizer\.pretokenizers\[1\]\.pattern repeats a group .* CT Lens refuses it rather than risk a hang$/,
      );
      // The untouched package still loads: the check is not what refuses it.
      await readModelPackage(DEMO_PACKAGE, { checkGraphs: false });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
