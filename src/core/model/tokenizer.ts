// The package's tokenizer.json through @huggingface/tokenizers (the tokenizer of transformers.js), never a
// hand-written one: the same normaliser, pre-tokeniser, model and decoder the Python side wrote.

import { Tokenizer } from '@huggingface/tokenizers';
import { describeError, ModelError } from './errors';

export class PackageTokenizer {
  private readonly tokenizer: Tokenizer;

  constructor(
    private readonly json: object,
    tokenizerConfig: Record<string, unknown>,
  ) {
    try {
      this.tokenizer = new Tokenizer(json, tokenizerConfig);
    } catch (e) {
      throw new ModelError('BadConfig', `tokenizer.json could not be loaded: ${describeError(e)}`, { cause: e });
    }
  }

  /** Token ids of `text`; special tokens written in the text (e.g. `<image>`) map to their ids. */
  encode(text: string): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: false }).ids;
  }

  /** Text of `ids`, without special tokens (EOS, padding, image placeholders). */
  decode(ids: readonly number[], skipSpecialTokens = true): string {
    return this.tokenizer.decode([...ids], { skip_special_tokens: skipSpecialTokens });
  }

  /** The id of a token string, or undefined when it is not in the vocabulary. */
  tokenId(token: string): number | undefined {
    return this.tokenizer.token_to_id(token);
  }

  get vocabSize(): number {
    return this.tokenizer.get_vocab(true).size;
  }

  /**
   * The first token whose id is not an integer in 0..vocabSize−1, else null. The library does not validate
   * tokenizer.json: a damaged vocabulary maps words to strings or arrays, which would reach the embedding lookup.
   * Read from the file's own vocabulary (model.vocab as token → id, or a list whose index is the id) and its
   * added_tokens, since the library's get_vocab() silently leaves such entries out.
   */
  badTokenId(vocabSize: number): { token: string; id: unknown } | null {
    const ok = (id: unknown) => Number.isInteger(id) && (id as number) >= 0 && (id as number) < vocabSize;
    const json = this.json as { model?: { vocab?: unknown }; added_tokens?: unknown };
    const vocab = json.model?.vocab;
    if (Array.isArray(vocab)) {
      if (vocab.length > vocabSize) return { token: String(vocab[vocabSize]), id: vocabSize };
    } else if (vocab && typeof vocab === 'object') {
      for (const [token, id] of Object.entries(vocab)) if (!ok(id)) return { token, id };
    }
    if (Array.isArray(json.added_tokens)) {
      for (const t of json.added_tokens as { content?: unknown; id?: unknown }[]) {
        if (!ok(t?.id)) return { token: String(t?.content), id: t?.id };
      }
    }
    for (const [token, id] of this.tokenizer.get_vocab(true)) if (!ok(id)) return { token, id };
    return null;
  }
}
