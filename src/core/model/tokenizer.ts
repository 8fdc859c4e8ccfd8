// The package's tokenizer.json through @huggingface/tokenizers (the tokenizer of transformers.js), never a
// hand-written one: the same normaliser, pre-tokeniser, model and decoder the Python side wrote.

import { Tokenizer } from '@huggingface/tokenizers';
import { describeError, ModelError } from './errors';

export class PackageTokenizer {
  private readonly tokenizer: Tokenizer;

  constructor(tokenizerJson: object, tokenizerConfig: Record<string, unknown>) {
    try {
      this.tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
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

}
