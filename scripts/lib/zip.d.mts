// Types for zip.mjs.
export interface ZipEntry {
  name: string;
  size: number;
  compressedSize: number;
  /** 0 stored, 8 deflated */
  method: number;
  /** byte offset of the entry's local header */
  localHeader: number;
}
export function listZip(buf: Uint8Array): ZipEntry[];
export function readZipEntry(buf: Uint8Array, e: ZipEntry): Uint8Array;
export function extractZip(buf: Uint8Array, dest: string): void;
