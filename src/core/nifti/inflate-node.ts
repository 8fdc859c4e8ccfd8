// gzip inflation for Node callers (CLI, extension host, model host): node:zlib on the libuv thread pool, so the
// main thread copies one chunk into the voxel array while zlib inflates the next. Kept out of index.ts so the
// browser bundle never sees node:zlib.
import * as zlib from 'node:zlib';
import { classifyInflateError, type InflateFactory } from './inflate';

/**
 * Output chunk size. Large chunks keep the per-chunk thread-pool round trips few (≈ 200 for a 200 MB volume);
 * 1 MiB still hands the first 512×512 int16 slice over within milliseconds. Measured in bench/nifti.bench.ts.
 */
const CHUNK_BYTES = 1 << 20;

export const nodeInflate: InflateFactory = (input) => ({
  async *[Symbol.asyncIterator]() {
    const gunzip = zlib.createGunzip({ chunkSize: CHUNK_BYTES });
    // Let zlib run a few chunks ahead of the consumer instead of pausing at every chunk (default 16 KiB mark).
    (gunzip as unknown as { _readableState: { highWaterMark: number } })._readableState.highWaterMark = 4 * CHUNK_BYTES;
    gunzip.end(input);
    try {
      for await (const chunk of gunzip) yield chunk as Uint8Array;
    } catch (err) {
      throw classifyInflateError(err);
    } finally {
      gunzip.destroy();
    }
  },
});
