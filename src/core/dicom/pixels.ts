// Pixel Data of one single-frame image → its stored sample values (Rows × Columns, row by row), in the typed array
// its BitsAllocated / PixelRepresentation call for, with bits above BitsStored cleared or sign-extended (PS3.5
// §8.1.1: they may hold overlays or garbage). Native data is read in place; encapsulated data goes to maintained
// codecs — jpeg-lossless-decoder-js (JPEG Process 14), CharLS (JPEG-LS) and OpenJPEG (JPEG 2000) from
// @cornerstonejs — loaded only when a series needs them. RLE Lossless is PS3.5 Annex G's byte-plane PackBits, a
// dozen lines with no maintained standalone package, so it is read here.
import * as dicomParser from 'dicom-parser';
import { DicomError } from './errors';
import type { DicomImage } from './parse';
import { codecWasm } from './wasm-node';

export type StoredPixels = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array;

interface Decoded {
  /** Raw little-endian sample bytes (or a typed array the codec produced). */
  bytes: Uint8Array;
}

// The WebAssembly builds: the asm.js builds of the same packages bundle more simply but took 8.5 s per 512×512
// JPEG 2000 slice where WebAssembly takes 0.3 s on the same (loaded) machine. The .wasm bytes come from
// wasm-node.ts: dist/ in a build (esbuild.mjs copies them there), node_modules otherwise.
type CharLS = Awaited<ReturnType<typeof import('@cornerstonejs/codec-charls/decodewasmjs').default>>;
type OpenJpeg = Awaited<ReturnType<typeof import('@cornerstonejs/codec-openjpeg/decodewasmjs').default>>;
// A codec module is compiled once per process and reused: instantiating one costs ~100 ms, decoding a slice ~ms.
let charls: Promise<CharLS> | null = null;
let openjpeg: Promise<OpenJpeg> | null = null;
/** The Emscripten builds print progress ("[INFO] Start to read j2k main header") to stdout: silenced. */
const QUIET = { print: () => {}, printErr: () => {} };

/** Decodes frame 0 of an image. Rejects with DicomError ('Corrupt', 'UnsupportedImage', 'UnsupportedTransferSyntax'). */
export async function decodePixels(image: DicomImage): Promise<StoredPixels> {
  const el = image.pixelData;
  if (!el) throw new DicomError('NoImages', `${image.file} has no Pixel Data`);
  const ts = image.transferSyntax;
  const samples = image.rows * image.columns;
  const bytesPer = image.bitsAllocated / 8;
  const expected = samples * bytesPer;
  let decoded: Decoded;
  try {
    switch (ts.codec) {
      case 'native': {
        if (el.encapsulatedPixelData) throw new DicomError('Corrupt', `${image.file}: ${ts.name} with encapsulated Pixel Data`);
        if (el.length < expected || el.dataOffset + expected > image.dataSet.byteArray.length) {
          throw new DicomError('Corrupt', `${image.file}: Pixel Data holds ${Math.min(el.length, image.dataSet.byteArray.length - el.dataOffset)} of the ${expected} bytes Rows × Columns × BitsAllocated need (truncated file?)`);
        }
        let bytes = image.dataSet.byteArray.subarray(el.dataOffset, el.dataOffset + expected) as Uint8Array;
        if (!ts.littleEndian && bytesPer > 1) bytes = swapped(bytes, bytesPer);
        decoded = { bytes };
        break;
      }
      case 'rle':
        decoded = { bytes: decodeRle(frameBytes(image), image, expected) };
        break;
      case 'jpeg-lossless': {
        const { Decoder } = await import('jpeg-lossless-decoder-js');
        const frame = frameBytes(image);
        const out = new Decoder().decode(frame.buffer as ArrayBuffer, frame.byteOffset, frame.length, bytesPer);
        decoded = { bytes: new Uint8Array(out.buffer, out.byteOffset, out.byteLength) };
        break;
      }
      case 'jpeg-ls':
        charls ??= import('@cornerstonejs/codec-charls/decodewasmjs').then((m) => m.default({ ...QUIET, wasmBinary: codecWasm('charls') }));
        decoded = { bytes: runCornerstoneDecoder(new (await charls).JpegLSDecoder(), image) };
        break;
      case 'jpeg2000':
        openjpeg ??= import('@cornerstonejs/codec-openjpeg/decodewasmjs').then((m) => m.default({ ...QUIET, wasmBinary: codecWasm('openjpeg') }));
        decoded = { bytes: runCornerstoneDecoder(new (await openjpeg).J2KDecoder(), image) };
        break;
      default:
        throw new DicomError('UnsupportedTransferSyntax', `${image.file}: ${ts.name} (${ts.uid}) is not supported: ${ts.refusal ?? 'no decoder'}`);
    }
  } catch (err) {
    if (err instanceof DicomError) throw err;
    const why = err instanceof Error ? err.message : typeof err === 'number' ? `codec error ${err}` : String(err);
    throw new DicomError('Corrupt', `${image.file}: ${ts.name} pixel data could not be decoded (${why})`, { cause: err });
  }
  if (decoded.bytes.length < expected) {
    throw new DicomError('Corrupt', `${image.file}: the ${ts.name} data decoded to ${decoded.bytes.length} of the ${expected} bytes expected`);
  }
  return typedSamples(decoded.bytes.subarray(0, expected), image);
}

/** The bytes of frame 0 of encapsulated pixel data (all fragments of a single-frame image, PS3.5 §A.4). */
function frameBytes(image: DicomImage): Uint8Array {
  const el = image.pixelData!;
  if (!el.encapsulatedPixelData || !el.fragments?.length) {
    throw new DicomError('Corrupt', `${image.file}: ${image.transferSyntax.name} needs encapsulated Pixel Data, found none`);
  }
  return dicomParser.readEncapsulatedPixelDataFromFragments(image.dataSet, el, 0, el.fragments.length) as Uint8Array;
}

/** The decoder interface the two @cornerstonejs codecs share (CharLS's JpegLSDecoder, OpenJPEG's J2KDecoder). */
interface CornerstoneDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  decode(): void;
  getFrameInfo(): { width: number; height: number; componentCount: number };
  getDecodedBuffer(): Uint8Array;
  delete(): void;
}

/** Frame 0 through one codec instance: encoded bytes in, the frame checked against the header, a copy of the
 * decoded bytes out (the codec's buffer lives in its WebAssembly memory); the instance is always freed. */
function runCornerstoneDecoder(codec: CornerstoneDecoder, image: DicomImage): Uint8Array {
  try {
    const frame = frameBytes(image);
    codec.getEncodedBuffer(frame.length).set(frame);
    codec.decode();
    checkFrame(image, codec.getFrameInfo());
    return codec.getDecodedBuffer().slice();
  } finally {
    codec.delete();
  }
}

function checkFrame(image: DicomImage, info: { width: number; height: number; componentCount: number }): void {
  if (info.width !== image.columns || info.height !== image.rows || info.componentCount !== 1) {
    throw new DicomError(
      'Corrupt',
      `${image.file}: the codestream is ${info.width}×${info.height}×${info.componentCount} components, the header says ${image.columns}×${image.rows}×1`,
    );
  }
}

function swapped(bytes: Uint8Array, width: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += width) for (let b = 0; b < width; b++) out[i + b] = bytes[i + width - 1 - b]!;
  return out;
}

/**
 * RLE Lossless (PS3.5 Annex G): a 64-byte header (segment count, 15 offsets), then one PackBits segment per byte
 * plane, most significant byte first; the planes interleave into little-endian samples.
 */
function decodeRle(frame: Uint8Array, image: DicomImage, expected: number): Uint8Array {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  if (frame.length < 64) throw new DicomError('Corrupt', `${image.file}: RLE header is cut short`);
  const segments = view.getUint32(0, true);
  const bytesPer = image.bitsAllocated / 8;
  if (segments !== bytesPer) {
    throw new DicomError('Corrupt', `${image.file}: RLE data has ${segments} segments, ${bytesPer} expected for ${image.bitsAllocated}-bit samples`);
  }
  const samples = image.rows * image.columns;
  const out = new Uint8Array(expected);
  for (let s = 0; s < segments; s++) {
    const start = view.getUint32(4 + 4 * s, true);
    const end = s + 1 < segments ? view.getUint32(8 + 4 * s, true) : frame.length;
    const plane = bytesPer - 1 - s; // segment 0 holds the most significant bytes
    let o = 0;
    let p = start;
    while (p < end && o < samples) {
      const n = (frame[p++]! << 24) >> 24; // signed header byte
      if (n >= 0) {
        for (let c = 0; c <= n && o < samples; c++) out[o++ * bytesPer + plane] = frame[p++]!;
      } else if (n !== -128) {
        const v = frame[p++]!;
        for (let c = 0; c < 1 - n && o < samples; c++) out[o++ * bytesPer + plane] = v;
      }
    }
    if (o < samples) throw new DicomError('Corrupt', `${image.file}: RLE segment ${s} holds ${o} of ${samples} samples`);
  }
  return out;
}

/** Little-endian sample bytes → typed samples, with the bits above BitsStored masked (unsigned) or sign-extended. */
function typedSamples(bytes: Uint8Array, image: DicomImage): StoredPixels {
  const signed = image.pixelRepresentation === 1;
  // A copy when misaligned (new + set: a Node Buffer's slice() would be another view, not a copy).
  let aligned = bytes;
  if (bytes.byteOffset % (image.bitsAllocated / 8) !== 0) {
    aligned = new Uint8Array(bytes.length);
    aligned.set(bytes);
  }
  const { buffer, byteOffset } = aligned;
  const n = image.rows * image.columns;
  let out: StoredPixels;
  switch (image.bitsAllocated) {
    case 8:
      out = signed ? new Int8Array(buffer, byteOffset, n) : new Uint8Array(buffer, byteOffset, n);
      break;
    case 16:
      out = signed ? new Int16Array(buffer, byteOffset, n) : new Uint16Array(buffer, byteOffset, n);
      break;
    case 32:
      out = signed ? new Int32Array(buffer, byteOffset, n) : new Uint32Array(buffer, byteOffset, n);
      break;
    default:
      throw new DicomError('UnsupportedImage', `${image.file}: BitsAllocated ${image.bitsAllocated} is not read (8, 16 or 32)`);
  }
  const bits = image.bitsStored;
  if (bits > 0 && bits < image.bitsAllocated && bits < 32) {
    // Work on a copy: a native image's samples are a view of the file's bytes.
    out = out.slice();
    const mask = (1 << bits) - 1;
    const shift = 32 - bits;
    if (signed) for (let i = 0; i < n; i++) out[i] = ((out[i]! & mask) << shift) >> shift;
    else for (let i = 0; i < n; i++) out[i] = out[i]! & mask;
  }
  return out;
}
