// The entry list of a zip file (a VSIX), read from its central directory: enough to check what a package carries
// without an unzip tool. No zip64: a VSIX over 4 GB is not a thing.

/**
 * @param {Uint8Array} buf the whole file
 * @returns {{ name: string, size: number, compressedSize: number }[]}
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
    const compressedSize = view.getUint32(p + 20, true);
    const size = view.getUint32(p + 24, true);
    const nameLen = view.getUint16(p + 28, true);
    const extraLen = view.getUint16(p + 30, true);
    const commentLen = view.getUint16(p + 32, true);
    entries.push({ name: decoder.decode(buf.subarray(p + 46, p + 46 + nameLen)), size, compressedSize });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}
