// The volume's way to one webview, with backpressure: header, slabs, then done or error, in order, each message
// posted only when the previous one was delivered. No `vscode` import: unit-tested in plain Node.
//
// Why: the decoder produces slices far faster than a webview takes them (a raw 1.4 GiB .nii decodes in ~2 s; in
// code-server the slabs then crossed the websocket for 85 s). Posting every slab as it decoded kept every copy —
// and VS Code's serialised form of it — alive at once: the extension host peaked at 5.8 GiB for a 1.4 GiB volume
// (`npm run bench -- vscode-memory`). Here a slab is copied out of the decoded volume only when it is about to be
// sent, and at most `window` messages are in flight, so the extra memory is a few slabs whatever the volume's size.

import type { NiftiDatatypeName, NiftiHeader, VoxelArray } from '../../core/nifti/types';
import type { LoadError, LoadListener } from './volume-load';
import { copySlab } from './volume-load';

/** What the stream posts (a subset of the viewer protocol's host → webview messages). */
export type SlabStreamMessage =
  | { type: 'volumeHeader'; header: NiftiHeader }
  | { type: 'volumeSlices'; kStart: number; kEnd: number; datatype: NiftiDatatypeName; data: ArrayBuffer }
  | { type: 'volumeDone'; decodeMs: number }
  | { type: 'volumeError'; code: string; message: string };

export interface SlabStreamOptions {
  /** Posts one message; resolves when the webview has it (VS Code's postMessage thenable) or it was dropped. */
  post(message: SlabStreamMessage): PromiseLike<unknown> | void;
  /** Largest slab, bytes (adjacent decoded ranges are merged up to this). Default 8 MiB. */
  slabBytes?: number;
  /** Messages posted and not yet delivered, at most. Default 2 (one crossing, the next ready behind it). */
  window?: number;
  /** Called after the last message (done or error) was delivered. */
  onDrained?(ended: 'done' | 'error'): void;
}

type Item =
  | { kind: 'header'; header: NiftiHeader }
  | { kind: 'slices'; kStart: number; kEnd: number; data: VoxelArray }
  | { kind: 'done'; decodeMs: number }
  | { kind: 'error'; error: LoadError };

/** A VolumeLoad listener that forwards to one webview with backpressure; `close()` stops it (webview gone). */
export class SlabStream implements LoadListener {
  private readonly queue: Item[] = [];
  private inFlight = 0;
  private closed = false;
  private known: NiftiHeader | null = null;
  private readonly slabBytes: number;
  private readonly window: number;

  constructor(private readonly options: SlabStreamOptions) {
    this.slabBytes = options.slabBytes ?? 8 << 20;
    this.window = Math.max(1, options.window ?? 2);
  }

  header(header: NiftiHeader): void {
    this.known = header;
    this.push({ kind: 'header', header });
  }

  slices(kStart: number, kEnd: number, data: VoxelArray): void {
    const [nx, ny] = this.known!.dims;
    const perSlab = Math.max(1, Math.floor(this.slabBytes / (nx * ny * data.BYTES_PER_ELEMENT)));
    for (let k = kStart; k < kEnd; ) {
      const last = this.queue[this.queue.length - 1];
      // Grow the range still waiting behind, up to a slab: nothing is copied until it is sent.
      if (last?.kind === 'slices' && last.kEnd === k && last.data === data && last.kEnd - last.kStart < perSlab) {
        last.kEnd = Math.min(kEnd, last.kStart + perSlab);
        k = last.kEnd;
        continue;
      }
      const end = Math.min(kEnd, k + perSlab);
      this.push({ kind: 'slices', kStart: k, kEnd: end, data });
      k = end;
    }
  }

  done(_volume: unknown, decodeMs: number): void {
    this.push({ kind: 'done', decodeMs });
  }

  error(error: LoadError): void {
    this.push({ kind: 'error', error });
  }

  /** Stops sending; what is queued is dropped (the webview was disposed or reloaded). */
  close(): void {
    this.closed = true;
    this.queue.length = 0;
  }

  /** Messages waiting to be posted (for tests and logs). */
  get queued(): number {
    return this.queue.length;
  }

  private push(item: Item): void {
    if (this.closed) return;
    this.queue.push(item);
    this.pump();
  }

  private pump(): void {
    while (!this.closed && this.inFlight < this.window && this.queue.length > 0) {
      const item = this.queue.shift()!;
      const last = item.kind === 'done' || item.kind === 'error';
      const message = this.message(item);
      this.inFlight += 1;
      let delivered: PromiseLike<unknown> | void;
      try {
        delivered = this.options.post(message);
      } catch {
        delivered = undefined; // a webview gone mid-post: the provider closes the stream
      }
      const settle = () => {
        this.inFlight -= 1;
        if (last && !this.closed) this.options.onDrained?.(item.kind === 'done' ? 'done' : 'error');
        this.pump();
      };
      if (delivered && typeof delivered.then === 'function') delivered.then(settle, settle);
      else queueMicrotask(settle);
    }
  }

  private message(item: Item): SlabStreamMessage {
    switch (item.kind) {
      case 'header':
        return { type: 'volumeHeader', header: item.header };
      case 'slices': {
        const header = this.known!;
        const sliceLength = header.dims[0] * header.dims[1];
        // The copy is made now, from the decoded volume: only the slabs in flight exist as copies.
        return { type: 'volumeSlices', kStart: item.kStart, kEnd: item.kEnd, datatype: header.datatype, data: copySlab(item.data, sliceLength, item.kStart, item.kEnd) };
      }
      case 'done':
        return { type: 'volumeDone', decodeMs: item.decodeMs };
      case 'error':
        return { type: 'volumeError', code: item.error.code, message: item.error.message };
    }
  }
}
