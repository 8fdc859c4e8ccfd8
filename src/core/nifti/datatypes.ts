// NIfTI datatype codes (nifti1.h DT_* values; NIfTI-2 uses the same table) and the typed arrays CT Lens decodes
// them into. Codes we know but do not read are kept so the refusal can name them.
import type { NiftiDatatypeName, VoxelArray } from './types';
import { NiftiError } from './errors';

export interface DatatypeInfo {
  name: NiftiDatatypeName;
  code: number;
  bytes: number;
  create(length: number): VoxelArray;
}

const SUPPORTED: readonly DatatypeInfo[] = [
  { name: 'uint8', code: 2, bytes: 1, create: (n) => new Uint8Array(n) },
  { name: 'int16', code: 4, bytes: 2, create: (n) => new Int16Array(n) },
  { name: 'int32', code: 8, bytes: 4, create: (n) => new Int32Array(n) },
  { name: 'float32', code: 16, bytes: 4, create: (n) => new Float32Array(n) },
  { name: 'float64', code: 64, bytes: 8, create: (n) => new Float64Array(n) },
  { name: 'int8', code: 256, bytes: 1, create: (n) => new Int8Array(n) },
  { name: 'uint16', code: 512, bytes: 2, create: (n) => new Uint16Array(n) },
  { name: 'uint32', code: 768, bytes: 4, create: (n) => new Uint32Array(n) },
];

/** Known NIfTI codes that CT Lens refuses, by the names nibabel and nifti1.h use. */
const UNSUPPORTED_NAMES: Readonly<Record<number, string>> = {
  0: 'unknown',
  1: 'binary',
  32: 'complex64',
  128: 'RGB24',
  255: 'all',
  1024: 'int64',
  1280: 'uint64',
  1536: 'float128',
  1792: 'complex128',
  2048: 'complex256',
  2304: 'RGBA32',
};

export function datatypeByCode(code: number): DatatypeInfo {
  const info = SUPPORTED.find((d) => d.code === code);
  if (info) return info;
  const known = UNSUPPORTED_NAMES[code];
  throw new NiftiError(
    'UnsupportedDatatype',
    known !== undefined
      ? `datatype ${code} (${known}) is not supported; CT Lens reads ${supportedList()}`
      : `datatype ${code} is not a NIfTI datatype code; CT Lens reads ${supportedList()}`,
  );
}

export function datatypeByName(name: NiftiDatatypeName): DatatypeInfo {
  const info = SUPPORTED.find((d) => d.name === name);
  if (!info) throw new RangeError(`unknown datatype name '${name}'`);
  return info;
}

function supportedList(): string {
  return SUPPORTED.map((d) => d.name).join(', ');
}
