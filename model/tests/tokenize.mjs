// Encodes texts with @huggingface/tokenizers from a tokenizer.json, for model/tests/test_tokenizer.py:
//   node model/tests/tokenize.mjs TOKENIZER_JSON TOKENIZER_CONFIG_JSON TEXTS_JSON  → [{ids, text}] on stdout
import { Tokenizer } from '@huggingface/tokenizers';
import { readFileSync } from 'node:fs';

const [tokPath, configPath, textsPath] = process.argv.slice(2);
// The package's tokenizer_config.json matters: clean_up_tokenization_spaces (default true in this library) would
// glue a spaced " ?" to the previous word; the package sets it to false.
const config = JSON.parse(readFileSync(configPath, 'utf8'));
const tok = new Tokenizer(JSON.parse(readFileSync(tokPath, 'utf8')), config);
const texts = JSON.parse(readFileSync(textsPath, 'utf8'));
const out = texts.map((t) => {
  const ids = tok.encode(t).ids;
  // decode() refuses an empty id list; the empty text decodes to ''.
  return { ids, text: ids.length ? tok.decode(ids, { skip_special_tokens: true }) : '' };
});
process.stdout.write(JSON.stringify(out));
