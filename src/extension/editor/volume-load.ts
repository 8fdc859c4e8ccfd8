// One decode of one file, shared by every viewer panel of a document: reads the bytes once, decodes once (in the
// extension host, with Node's zlib), keeps the decoded volume for later model runs, and lets any number of
// subscribers follow it — a subscriber that arrives late (a second editor, a webview that reloaded after being
// hidden) first gets what has already decoded, replayed, then the rest live. No `vscode` import: unit-tested in
// plain Node.

import type { DecodeOptions } from '../../core/nifti/decode';
import { DicomError } from '../../core/dicom/errors';
import { NiftiError } from '../../core/nifti/errors';
import type { NiftiHeader, NiftiVolume, VoxelArray } from '../../core/nifti/types';

export type LoadState = 'loading' | 'ready' | 'error';

export interface LoadError {
  /** NiftiError or DicomError code, or 'ReadFailed' when the file could not be read. */
  code: string;
  /** Starts with the code: `Truncated: …`. */
  message: string;
}

export interface LoadListener {
  header(header: NiftiHeader): void;
  /** Slices [kStart, kEnd) of frame 0, complete in `data` (the whole frame-0 array; copy what you send). */
  slices(kStart: number, kEnd: number, data: VoxelArray): void;
  done(volume: NiftiVolume, decodeMs: number): void;
  error(error: LoadError): void;
}

export type Decoder = (bytes: Uint8Array, options: DecodeOptions) => Promise<NiftiVolume>;

export interface VolumeLoadOptions {
  name: string;
  read(): Promise<Uint8Array>;
  decode: Decoder;
  /** Passed to the decoder (node zlib in the extension host). */
  inflate?: DecodeOptions['inflate'];
  maxVoxelBytes?: number;
  /** Appended to a TooLarge refusal: what the user can change (the setting behind maxVoxelBytes). */
  limitHint?: string;
  /** Largest slab replayed to a late subscriber in one call, bytes. */
  replaySlabBytes?: number;
  now?: () => number;
}

export class VolumeLoad {
  state: LoadState = 'loading';
  header: NiftiHeader | null = null;
  volume: NiftiVolume | null = null;
  failure: LoadError | null = null;
  decodeMs = 0;
  /** The decoder's final frame-0 array, known from the first slab on. */
  private data: VoxelArray | null = null;
  /** Slices [0, contiguous) have decoded. */
  private contiguous = 0;
  private readonly listeners = new Set<LoadListener>();
  private readonly abort = new AbortController();
  /** Resolves with the volume, rejects with the LoadError; never rejects unobserved. */
  readonly done: Promise<NiftiVolume>;

  constructor(private readonly options: VolumeLoadOptions) {
    this.done = this.run();
    this.done.catch(() => {});
  }

  private async run(): Promise<NiftiVolume> {
    const now = this.options.now ?? (() => performance.now());
    let bytes: Uint8Array;
    try {
      bytes = await this.options.read();
    } catch (error) {
      throw this.fail({ code: 'ReadFailed', message: `ReadFailed: ${this.options.name}: ${errorText(error)}` });
    }
    const start = now();
    try {
      const volume = await this.options.decode(bytes, {
        name: this.options.name,
        inflate: this.options.inflate,
        maxVoxelBytes: this.options.maxVoxelBytes,
        signal: this.abort.signal,
        onHeader: (header) => {
          this.header = header;
          // Snapshots: a listener subscribing from inside a callback has been replayed up to here already.
          for (const l of [...this.listeners]) l.header(header);
        },
        onSlices: (kStart, kEnd, data) => {
          this.data = data;
          // The decoder reports slices in order; `contiguous` is what a late subscriber can be replayed.
          if (kStart === this.contiguous) this.contiguous = kEnd;
          for (const l of [...this.listeners]) l.slices(kStart, kEnd, data);
        },
      });
      this.decodeMs = now() - start;
      this.volume = volume;
      this.header = volume.header;
      this.data = volume.data;
      this.contiguous = volume.header.dims[2];
      this.state = 'ready';
      for (const l of [...this.listeners]) l.done(volume, this.decodeMs);
      return volume;
    } catch (error) {
      // Both readers' errors start with their code (`NotDicom: …`, `Truncated: …`).
      const known = error instanceof NiftiError || error instanceof DicomError;
      const code = known ? error.code : 'DecodeFailed';
      let message = known ? error.message : `DecodeFailed: ${errorText(error)}`;
      if (code === 'TooLarge' && this.options.limitHint) message += ` — ${this.options.limitHint}`;
      throw this.fail({ code, message });
    }
  }

  private fail(failure: LoadError): LoadError {
    this.state = 'error';
    this.failure = failure;
    for (const l of [...this.listeners]) l.error(failure);
    return failure;
  }

  /** Follows the load from the start; returns the unsubscribe function. */
  subscribe(listener: LoadListener): () => void {
    if (this.header) listener.header(this.header);
    if (this.data && this.header && this.contiguous > 0) {
      const [nx, ny] = this.header.dims;
      const sliceBytes = nx * ny * this.data.BYTES_PER_ELEMENT;
      const perSlab = Math.max(1, Math.floor((this.options.replaySlabBytes ?? 8 << 20) / sliceBytes));
      for (let k = 0; k < this.contiguous; k += perSlab) listener.slices(k, Math.min(this.contiguous, k + perSlab), this.data);
    }
    if (this.state === 'ready') listener.done(this.volume!, this.decodeMs);
    else if (this.state === 'error') listener.error(this.failure!);
    if (this.state !== 'loading') return () => {};
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stops decoding (the document closed). */
  dispose(): void {
    this.listeners.clear();
    this.abort.abort();
  }
}

/** A standalone copy of slices [kStart, kEnd): what crosses to the webview (never a view of the whole volume). */
export function copySlab(data: VoxelArray, sliceLength: number, kStart: number, kEnd: number): ArrayBuffer {
  const copy = data.slice(kStart * sliceLength, kEnd * sliceLength);
  return copy.buffer as ArrayBuffer;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
