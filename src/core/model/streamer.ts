// Incremental detokenisation for token streaming. Decoding token by token and concatenating is wrong for most
// tokenizers (a word-piece or byte-level token alone decodes differently than in context, and a multi-byte
// character can be split across tokens), so each step decodes the whole generated sequence and emits only what
// is new — holding back text that ends in U+FFFD (an incomplete UTF-8 sequence) until it completes.

export type DecodeFn = (ids: readonly number[]) => string;

export class TextStreamer {
  private readonly ids: number[] = [];
  private emitted = '';

  constructor(private readonly decode: DecodeFn) {}

  /** Adds one token; returns the new, complete text it makes visible ('' when nothing is safe to emit yet). */
  push(id: number): string {
    this.ids.push(id);
    return this.take(false);
  }

  /** Everything not yet emitted, at the end of generation. */
  flush(): string {
    return this.take(true);
  }

  /** The text emitted so far. */
  get text(): string {
    return this.emitted;
  }

  private take(final: boolean): string {
    const full = this.decode(this.ids);
    if (!final && full.endsWith('\uFFFD')) return '';
    // A decoder may rewrite earlier text once more tokens arrive (rare: clean-up rules around punctuation). The
    // stream cannot take text back, so only a strict extension is emitted; the final text is authoritative.
    if (!full.startsWith(this.emitted)) return '';
    const delta = full.slice(this.emitted.length);
    this.emitted = full;
    return delta;
  }
}
