// Read a zip file (a VSIX) from its central directory: list its entries, or extract them, without an unzip tool.
// No zip64: a VSIX over 4 GB is not a thing.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { inflateRawSync } from 'node:zlib';

/**
 * @typedef {{ name: string, size: number, compressedSize: number, method: number, localHeader: number }} ZipEntry
 */

/**
 * @param {Uint8Array} buf the whole file
 * @returns {ZipEntry[]}
 */
export function listZip(buf) {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  // End of central directory: 22 bytes plus a comment of up to 64 KiB, so search backwards from the end.
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65535); i--) {
    if (view.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('not a zip file (no end-of-central-directory record)');
  const count = view.getUint16(eocd + 10, true);
  let p = view.getUint32(eocd + 16, true);
  const decoder = new TextDecoder();
  const entries = [];
  for (let n = 0; n < count; n++) {
    if (view.getUint32(p, true) !== 0x02014b50) throw new Error(`corrupt zip central directory at byte ${p}`);
    const method = view.getUint16(p + 10, true);
    const compressedSize = view.getUint32(p + 20, true);
    const size = view.getUint32(p + 24, true);
    const nameLen = view.getUint16(p + 28, true);
    const extraLen = view.getUint16(p + 30, true);
    const commentLen = view.getUint16(p + 32, true);
    const localHeader = view.getUint32(p + 42, true);
    entries.push({ name: decoder.decode(buf.subarray(p + 46, p + 46 + nameLen)), size, compressedSize, method, localHeader });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/**
 * The uncompressed bytes of one entry (stored or deflated).
 * @param {Uint8Array} buf the whole file
 * @param {ZipEntry} e an entry from listZip(buf)
 * @returns {Uint8Array}
 */
export function readZipEntry(buf, e) {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const h = e.localHeader;
  if (view.getUint32(h, true) !== 0x04034b50) throw new Error(`corrupt zip local header for ${e.name}`);
  const start = h + 30 + view.getUint16(h + 26, true) + view.getUint16(h + 28, true);
  const raw = buf.subarray(start, start + e.compressedSize);
  let data;
  if (e.method === 0) data = raw;
  else if (e.method === 8) data = inflateRawSync(raw);
  else throw new Error(`zip entry ${e.name} uses compression method ${e.method}`);
  if (data.length !== e.size) throw new Error(`zip entry ${e.name}: ${data.length} bytes, expected ${e.size}`);
  return data;
}

/**
 * Extract every file entry of `buf` under `dest` (names that would escape `dest` are refused).
 * @param {Uint8Array} buf
 * @param {string} dest
 */
export function extractZip(buf, dest) {
  const root = path.resolve(dest);
  for (const e of listZip(buf)) {
    if (e.name.endsWith('/')) continue;
    const out = path.resolve(root, e.name);
    if (!out.startsWith(root + path.sep)) throw new Error(`zip entry ${e.name} points outside ${dest}`);
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, readZipEntry(buf, e));
  }
}
