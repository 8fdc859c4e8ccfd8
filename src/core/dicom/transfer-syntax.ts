// Transfer syntaxes by UID (DICOM PS3.6 Table A-1 / PS3.5 §10): which CT Lens decodes and with what. Anything not
// in the `decodable` set is refused by its name, never guessed at.

export type PixelCodec = 'native' | 'rle' | 'jpeg-lossless' | 'jpeg-ls' | 'jpeg2000';

export interface TransferSyntax {
  uid: string;
  name: string;
  /** How the pixel data is decoded; undefined: refused. */
  codec?: PixelCodec;
  littleEndian: boolean;
  /** Why it is refused (lossy 8-bit JPEG on CT, deflate, video). */
  refusal?: string;
}

const TABLE: TransferSyntax[] = [
  { uid: '1.2.840.10008.1.2', name: 'Implicit VR Little Endian', codec: 'native', littleEndian: true },
  { uid: '1.2.840.10008.1.2.1', name: 'Explicit VR Little Endian', codec: 'native', littleEndian: true },
  { uid: '1.2.840.10008.1.2.2', name: 'Explicit VR Big Endian (retired)', codec: 'native', littleEndian: false },
  { uid: '1.2.840.10008.1.2.5', name: 'RLE Lossless', codec: 'rle', littleEndian: true },
  { uid: '1.2.840.10008.1.2.4.57', name: 'JPEG Lossless, Non-Hierarchical (Process 14)', codec: 'jpeg-lossless', littleEndian: true },
  { uid: '1.2.840.10008.1.2.4.70', name: 'JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14, SV1)', codec: 'jpeg-lossless', littleEndian: true },
  { uid: '1.2.840.10008.1.2.4.80', name: 'JPEG-LS Lossless', codec: 'jpeg-ls', littleEndian: true },
  { uid: '1.2.840.10008.1.2.4.81', name: 'JPEG-LS Near-Lossless', codec: 'jpeg-ls', littleEndian: true },
  { uid: '1.2.840.10008.1.2.4.90', name: 'JPEG 2000 (Lossless Only)', codec: 'jpeg2000', littleEndian: true },
  { uid: '1.2.840.10008.1.2.4.91', name: 'JPEG 2000', codec: 'jpeg2000', littleEndian: true },
  // Refused, by name.
  { uid: '1.2.840.10008.1.2.1.99', name: 'Deflated Explicit VR Little Endian', littleEndian: true, refusal: 'deflated data sets are not read yet; convert with `gdcmconv --raw` or `dcmconv +te`' },
  { uid: '1.2.840.10008.1.2.4.50', name: 'JPEG Baseline (Process 1)', littleEndian: true, refusal: 'lossy 8-bit JPEG cannot hold CT values (HU need 12+ bits)' },
  { uid: '1.2.840.10008.1.2.4.51', name: 'JPEG Extended (Process 2 & 4)', littleEndian: true, refusal: 'lossy JPEG is not decoded' },
  { uid: '1.2.840.10008.1.2.4.92', name: 'JPEG 2000 Part 2 Multi-component (Lossless Only)', littleEndian: true, refusal: 'multi-component JPEG 2000 is not decoded' },
  { uid: '1.2.840.10008.1.2.4.93', name: 'JPEG 2000 Part 2 Multi-component', littleEndian: true, refusal: 'multi-component JPEG 2000 is not decoded' },
  { uid: '1.2.840.10008.1.2.4.100', name: 'MPEG2 Main Profile / Main Level', littleEndian: true, refusal: 'video is not a CT series' },
  { uid: '1.2.840.10008.1.2.4.102', name: 'MPEG-4 AVC/H.264 High Profile', littleEndian: true, refusal: 'video is not a CT series' },
  { uid: '1.2.840.10008.1.2.4.201', name: 'High-Throughput JPEG 2000 (Lossless Only)', littleEndian: true, refusal: 'HTJ2K is not decoded yet' },
  { uid: '1.2.840.10008.1.2.4.202', name: 'High-Throughput JPEG 2000 with RPCL Options (Lossless Only)', littleEndian: true, refusal: 'HTJ2K is not decoded yet' },
  { uid: '1.2.840.10008.1.2.4.203', name: 'High-Throughput JPEG 2000', littleEndian: true, refusal: 'HTJ2K is not decoded yet' },
];

const BY_UID = new Map(TABLE.map((t) => [t.uid, t]));

/** The transfer syntax of a UID; an unknown UID gets a record without a codec (refused as "unknown"). */
export function transferSyntax(uid: string): TransferSyntax {
  return BY_UID.get(uid) ?? { uid, name: 'unknown transfer syntax', littleEndian: true, refusal: 'it is not one CT Lens knows' };
}

/** Names of the syntaxes CT Lens decodes (for messages and the README). */
export function decodableSyntaxes(): TransferSyntax[] {
  return TABLE.filter((t) => t.codec);
}
