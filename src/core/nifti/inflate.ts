// Pluggable gzip inflation for the decoder. The decoder wants decompressed bytes as a stream of chunks so it can
// copy each chunk straight into the final voxel array and report finished slices while the rest still inflates.
// The default uses the web-standard DecompressionStream (browsers and Node ≥ 18); Node callers pass nodeInflate
// (inflate-node.ts), which runs zlib on the libuv thread pool with large chunks and is the fastest path.

/**
 * Streams the decompressed bytes of a complete gzip input. The consumer may stop early (`break` / `return()`):
 * the implementation must then stop inflating and release its resources. Failures should be thrown as
 * InflateFailure so the decoder can tell a cut-off stream from damaged data; other errors count as damage.
 */
export type InflateFactory = (input: Uint8Array) => AsyncIterable<Uint8Array>;

export class InflateFailure extends Error {
  override readonly name = 'InflateFailure';
  constructor(
    readonly kind: 'truncated' | 'corrupt',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** First two bytes of every gzip member (RFC 1952 ID1 ID2). */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** zlib's and the browsers' wording for input that stops mid-stream. */
const TRUNCATED_MESSAGE = /unexpected end|end of (file|input|stream)|truncat|incomplete/i;

/** Classifies an inflater's error (Node's zlib codes, or browser TypeErrors by message). */
export function classifyInflateError(err: unknown): InflateFailure {
  if (err instanceof InflateFailure) return err;
  const e = err as { code?: unknown; message?: unknown } | null;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  const truncated = e?.code === 'Z_BUF_ERROR' || TRUNCATED_MESSAGE.test(message);
  return new InflateFailure(truncated ? 'truncated' : 'corrupt', message, { cause: err });
}

/** Size of the input pieces fed to DecompressionStream, so the first output arrives before all input is written. */
const WEB_INPUT_PIECE = 1 << 20;
/**
 * The first pieces are small and double up to WEB_INPUT_PIECE: Chromium's DecompressionStream inflates a whole
 * written piece before the reader sees any of it, so a 1 MiB first piece held the header back by its whole
 * inflate, and a 1 MiB second one the big CT's first 512 KiB slice by 20–40 ms (issue 11).
 */
const WEB_FIRST_PIECE = 64 << 10;

/** The default InflateFactory: the web-standard DecompressionStream('gzip'). */
export const webInflate: InflateFactory = (input) => ({
  [Symbol.asyncIterator]() {
    const ds = new DecompressionStream('gzip');
    const writer = ds.writable.getWriter();
    const reader = ds.readable.getReader();
    let stopped = false;
    // Feed the input in pieces; failures surface on the reader, so the writer's own rejections are swallowed.
    void (async () => {
      for (let off = 0, piece = WEB_FIRST_PIECE; off < input.length && !stopped; piece = Math.min(WEB_INPUT_PIECE, piece * 2)) {
        const end = Math.min(input.length, off + piece);
        // The cast only narrows the buffer type for lib.dom; a SharedArrayBuffer-backed input is not expected here.
        await writer.write(input.subarray(off, end) as Uint8Array<ArrayBuffer>);
        off = end;
      }
      if (!stopped) await writer.close();
    })().catch(() => undefined);
    return {
      async next(): Promise<IteratorResult<Uint8Array>> {
        try {
          const { done, value } = await reader.read();
          return done ? { done: true, value: undefined } : { done: false, value: value as Uint8Array };
        } catch (err) {
          throw classifyInflateError(err);
        }
      },
      async return(): Promise<IteratorResult<Uint8Array>> {
        stopped = true;
        await reader.cancel().catch(() => undefined);
        await writer.abort().catch(() => undefined);
        return { done: true, value: undefined };
      },
    };
  },
});
