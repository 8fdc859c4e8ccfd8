// Decoding a whole .nii / .nii.gz held in memory into frame 0's voxels, progressively.
//
// NIfTI stores voxels with i fastest, then j, then k, so every k-slice is one contiguous byte range. The decoder
// therefore copies each decompressed chunk straight into the final typed array (no intermediate whole-file
// buffer), byte-swaps completed elements in place for big-endian files, and reports every newly completed run
// of k-slices through onSlices while the rest still inflates: the viewer can paint the first slice after a few
// milliseconds instead of after the whole file (issue 2).
import type { NiftiDatatypeName, NiftiHeader, NiftiVolume, VoxelArray } from './types';
import { NiftiError } from './errors';
import { datatypeByName } from './datatypes';
import { detectHeaderFormat, frameBytes, parseNiftiHeader } from './header';
import { classifyInflateError, isGzip, webInflate, type InflateFactory, type InflateFailure } from './inflate';

/** Default size limit for frame 0's voxels: 2 GiB (a 512×512×2048 int16 volume). */
export const DEFAULT_MAX_VOXEL_BYTES = 2 * 1024 ** 3;

/**
 * deflate cannot expand its input by more than about 1032:1 (a 258-byte match in 1 bit of a fixed-Huffman block,
 * roughly), so a header that asks for more voxels than that from the compressed size is refused before
 * allocating. The margin covers gzip member framing.
 */
const MAX_DEFLATE_RATIO = 1100;

/** Piece size when copying an uncompressed file, so onSlices still reports progress on huge raw files. */
const RAW_PIECE_BYTES = 8 << 20;

export interface DecodeOptions {
  /** Refuse (TooLarge) when frame 0's voxels would take more bytes than this; checked before allocating. */
  maxVoxelBytes?: number;
  /** Aborting rejects with NiftiError 'Aborted' at the next chunk. */
  signal?: AbortSignal;
  /** gzip inflation; defaults to the web-standard DecompressionStream. Node callers pass nodeInflate. */
  inflate?: InflateFactory;
  /** The file's name: a name ending in .gz over bytes that are not gzip is refused (NotGzip), as nibabel does. */
  name?: string;
  /** Called once the header is parsed and accepted, before any voxel arrives. */
  onHeader?(header: NiftiHeader): void;
  /** Called as k-slices [kStart, kEnd) of frame 0 are complete in `data` (the final array, not a copy). */
  onSlices?(kStart: number, kEnd: number, data: VoxelArray): void;
  /**
   * Allocates the voxel array (default: a new typed array of the datatype). Called at most once, only with a
   * length whose byte size is within maxVoxelBytes. Lets a caller supply its own memory; the tests use it to
   * prove the size limit holds.
   */
  allocate?(datatype: NiftiDatatypeName, length: number): VoxelArray;
}

/**
 * Decodes a complete .nii or .nii.gz file (gzip detected by its magic bytes). Resolves with the header and frame
 * 0 as stored (unscaled); rejects only with NiftiError.
 */
export async function decodeNifti(input: Uint8Array, options: DecodeOptions = {}): Promise<NiftiVolume> {
  const maxVoxelBytes = options.maxVoxelBytes ?? DEFAULT_MAX_VOXEL_BYTES;
  throwIfAborted(options.signal);
  if (input.length === 0) throw new NiftiError('NotNifti', `${label(options.name)} is empty`);
  const gzip = isGzip(input);
  if (!gzip && options.name !== undefined && /\.gz$/i.test(options.name)) {
    const raw = detectHeaderFormat(input) !== null ? '; it looks like an uncompressed NIfTI file, so name it .nii' : '';
    throw new NiftiError(
      'NotGzip',
      `${label(options.name)} is named .gz but is not gzip data (first bytes ${hex(input.subarray(0, 4))})${raw}`,
    );
  }
  const sink = new VoxelSink(options, maxVoxelBytes, gzip ? input.length * MAX_DEFLATE_RATIO : undefined);
  if (gzip) await inflateInto(input, sink, options);
  else copyRawInto(input, sink, options);
  return sink.result();
}

function copyRawInto(input: Uint8Array, sink: VoxelSink, options: DecodeOptions): void {
  // The whole file is here, so the header and the file size are checked before anything is allocated.
  const header = parseNiftiHeader(input);
  const needed = header.voxOffset + frameBytes(header) * header.frames;
  if (input.length < needed) {
    throw new NiftiError(
      'Truncated',
      `the file holds ${input.length} of the ${needed} bytes its header describes (${shape(header)} from byte ${header.voxOffset}): it is cut short or its dims are wrong`,
    );
  }
  for (let off = 0; off < input.length && !sink.complete; off += RAW_PIECE_BYTES) {
    throwIfAborted(options.signal);
    sink.push(input.subarray(off, Math.min(input.length, off + RAW_PIECE_BYTES)));
  }
}

async function inflateInto(input: Uint8Array, sink: VoxelSink, options: DecodeOptions): Promise<void> {
  const inflate = options.inflate ?? webInflate;
  let failure: InflateFailure | undefined;
  try {
    for await (const chunk of inflate(input)) {
      throwIfAborted(options.signal);
      // Frame 0 complete: for a 3D file keep reading the (normally tiny) rest so zlib checks the gzip CRC; for a
      // series stop here, since inflating every later frame to show the first is wasted time.
      if (sink.complete) {
        if (sink.header!.frames > 1) break;
        continue;
      }
      sink.push(chunk);
    }
  } catch (err) {
    if (err instanceof NiftiError) throw err;
    failure = classifyInflateError(err);
  }
  if (failure) {
    // Junk after the last gzip member lands here too (zlib reads it as a bad member header): refused, as
    // nibabel (Python's gzip) and zlib.gunzipSync refuse it. Zero padding after a member is accepted by zlib.
    const at = `after ${sink.received} decompressed bytes`;
    if (failure.kind === 'truncated') {
      const cut = `the compressed file (${input.length} bytes) is cut short; zlib: ${failure.message}`;
      const detail = !sink.header
        ? `the gzip stream ends after ${sink.received} decompressed bytes, inside the NIfTI header (${cut})`
        : sink.received < sink.needed
          ? `the gzip stream ends after ${sink.received} of the ${sink.needed} decompressed bytes its header describes (${cut})`
          : `the gzip stream ends before its end marker and checksum, so the data cannot be verified (${cut})`;
      throw new NiftiError('Truncated', detail, { cause: failure });
    }
    throw new NiftiError('Corrupt', `the gzip data is damaged ${at} (zlib: ${failure.message})`, { cause: failure });
  }
  if (!sink.complete) sink.endedEarly();
}

/** Receives the uncompressed file as consecutive chunks and lays frame 0 into its final array. */
class VoxelSink {
  header: NiftiHeader | undefined;
  /** Uncompressed bytes seen so far (header, extensions, voxels). */
  received = 0;
  complete = false;
  /** Uncompressed bytes up to the end of frame 0. */
  needed = 0;

  private headBuf = new Uint8Array(540);
  private headLen = 0;
  private data: VoxelArray | undefined;
  private bytes: Uint8Array | undefined;
  private filled = 0;
  private swapped = 0;
  private elemBytes = 1;
  private sliceBytes = 1;
  private slicesDone = 0;

  constructor(
    private readonly options: DecodeOptions,
    private readonly maxVoxelBytes: number,
    /** Most uncompressed bytes the input can yield (gzip), if bounded. */
    private readonly maxOutput: number | undefined,
  ) {}

  push(chunk: Uint8Array): void {
    const chunkStart = this.received;
    this.received += chunk.length;
    if (!this.header) {
      this.takeHeaderBytes(chunk);
      if (!this.header) return;
    }
    // Next wanted byte, as a position in the uncompressed file. Header extensions between the header and
    // vox_offset are skipped: they are not needed to show the image. The header is parsed in the chunk that
    // completes it and vox_offset lies beyond the header, so this position is never behind chunkStart.
    const off = this.header.voxOffset + this.filled - chunkStart;
    if (off >= chunk.length) return;
    const take = Math.min(chunk.length - off, this.bytes!.length - this.filled);
    this.bytes!.set(chunk.subarray(off, off + take), this.filled);
    this.filled += take;
    this.settle();
  }

  /** Collects the first bytes until the header can be parsed (at most 540 bytes are kept). */
  private takeHeaderBytes(chunk: Uint8Array): void {
    const want = Math.min(chunk.length, this.headBuf.length - this.headLen);
    this.headBuf.set(chunk.subarray(0, want), this.headLen);
    this.headLen += want;
    if (this.headLen < 4) return;
    const fmt = detectHeaderFormat(this.headBuf.subarray(0, this.headLen));
    // Not a NIfTI header: parse what we have to throw NotNifti with the details, without inflating further.
    if (!fmt) parseNiftiHeader(this.headBuf.subarray(0, this.headLen));
    if (this.headLen < fmt!.headerBytes) return;
    this.accept(parseNiftiHeader(this.headBuf.subarray(0, fmt!.headerBytes)));
  }

  private accept(h: NiftiHeader): void {
    const bytes = frameBytes(h);
    if (bytes > this.maxVoxelBytes) {
      throw new NiftiError(
        'TooLarge',
        `${shape(h)} needs ${mib(bytes)} for one frame, over the ${mib(this.maxVoxelBytes)} limit (maxVoxelBytes)`,
      );
    }
    this.needed = h.voxOffset + bytes;
    if (this.maxOutput !== undefined && this.needed > this.maxOutput) {
      throw new NiftiError(
        'DimsMismatch',
        `the header's dims (${shape(h)}) need ${this.needed} bytes, more than a ${Math.round(this.maxOutput / MAX_DEFLATE_RATIO)}-byte gzip file can hold`,
      );
    }
    const length = h.dims[0] * h.dims[1] * h.dims[2];
    let data: VoxelArray;
    try {
      data = this.options.allocate ? this.options.allocate(h.datatype, length) : datatypeByName(h.datatype).create(length);
    } catch (err) {
      throw new NiftiError('TooLarge', `could not allocate ${mib(bytes)} for ${shape(h)}: ${String(err)}`, { cause: err });
    }
    this.header = h;
    this.data = data;
    this.bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.elemBytes = h.bitpix / 8;
    this.sliceBytes = h.dims[0] * h.dims[1] * this.elemBytes;
    this.options.onHeader?.(h);
  }

  /** Byte-swaps newly completed elements (big-endian files) and reports newly completed slices. */
  private settle(): void {
    const h = this.header!;
    const whole = this.filled - (this.filled % this.elemBytes);
    if (!h.littleEndian && this.elemBytes > 1 && whole > this.swapped) {
      swapInPlace(this.bytes!, this.swapped, whole, this.elemBytes);
    }
    this.swapped = whole;
    const slices = Math.floor(whole / this.sliceBytes);
    if (slices > this.slicesDone) {
      const from = this.slicesDone;
      this.slicesDone = slices;
      this.options.onSlices?.(from, slices, this.data!);
    }
    if (this.filled === this.bytes!.length) this.complete = true;
  }

  /** The stream ended cleanly before frame 0 was complete. */
  endedEarly(): never {
    if (!this.header) {
      if (this.headLen >= 4) parseNiftiHeader(this.headBuf.subarray(0, this.headLen)); // Truncated header
      throw new NiftiError(
        'NotNifti',
        `the decompressed file is ${this.headLen} bytes, too short for a NIfTI header`,
      );
    }
    throw new NiftiError(
      'DimsMismatch',
      `the complete gzip stream holds ${this.received} bytes, but the header's dims (${shape(this.header)} from byte ${this.header.voxOffset}) need ${this.needed}`,
    );
  }

  result(): NiftiVolume {
    if (!this.complete || !this.header || !this.data) this.endedEarly();
    return { header: this.header, data: this.data };
  }
}

/** Reverses the byte order of each `size`-byte element in bytes[from, to) (from, to multiples of size). */
function swapInPlace(bytes: Uint8Array, from: number, to: number, size: number): void {
  if (size === 2) {
    const u16 = new Uint16Array(bytes.buffer, bytes.byteOffset + from, (to - from) / 2);
    for (let i = 0; i < u16.length; i++) {
      const v = u16[i]!;
      u16[i] = ((v & 0xff) << 8) | (v >>> 8);
    }
    return;
  }
  const u32 = new Uint32Array(bytes.buffer, bytes.byteOffset + from, (to - from) / 4);
  for (let i = 0; i < u32.length; i++) {
    const v = u32[i]!;
    u32[i] = ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
  }
  if (size === 8) {
    // Each 32-bit half is reversed; exchanging the halves completes the 64-bit reversal.
    for (let i = 0; i < u32.length; i += 2) {
      const t = u32[i]!;
      u32[i] = u32[i + 1]!;
      u32[i + 1] = t;
    }
  }
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new NiftiError('Aborted', 'decoding was cancelled', { cause: signal.reason });
}

function shape(h: NiftiHeader): string {
  const frames = h.frames > 1 ? `×${h.frames} frames` : '';
  return `${h.dims.join('×')}${frames} ${h.datatype}`;
}

function mib(bytes: number): string {
  return bytes >= 1024 ** 2 ? `${(bytes / 1024 ** 2).toFixed(1)} MiB` : `${bytes} bytes`;
}

function label(name: string | undefined): string {
  return name === undefined ? 'the file' : name.split(/[\\/]/).pop()!;
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}
