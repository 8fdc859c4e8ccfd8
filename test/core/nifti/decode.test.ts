// decodeNifti on every fixture, with both inflaters and with a chunk-by-chunk inflater that splits elements
// across chunks: values, stats and the progressive slice order are checked against nibabel; damaged files must be
// refused with the right NiftiError.
import * as assert from 'node:assert/strict';
import { gunzipSync, gzipSync } from 'node:zlib';
import { decodeNifti, NiftiError, webInflate, type DecodeOptions, type InflateFactory, type NiftiVolume, type VoxelArray } from '../../../src/core/nifti';
import { nodeInflate } from '../../../src/core/nifti/inflate-node';
import { valueAt, volumeStats } from '../../../src/core/volume';
import { EXPECTED, assertClose, fixtureBytes, sameValue, type NibabelInfo } from './fixtures';

/** An inflater that hands out the decompressed bytes `size` at a time and counts what it handed out. */
function chunkedInflate(size: number, counter: { chunks: number; total: number } = { chunks: 0, total: 0 }): InflateFactory {
  return (input) => ({
    async *[Symbol.asyncIterator]() {
      const out = gunzipSync(input);
      counter.total = Math.ceil(out.length / size);
      for (let off = 0; off < out.length; off += size) {
        counter.chunks++;
        await Promise.resolve();
        yield out.subarray(off, Math.min(out.length, off + size));
      }
    },
  });
}

function sliceSum(data: VoxelArray, dims: [number, number, number], k: number, slope: number, inter: number): number {
  const n = dims[0] * dims[1];
  let s = 0;
  for (let i = k * n; i < (k + 1) * n; i++) {
    const v = data[i]! * slope + inter;
    if (Number.isFinite(v)) s += v;
  }
  return s;
}

/** Decodes `bytes`, checking onHeader/onSlices order and each completed slice against nibabel as it arrives. */
async function decodeChecked(bytes: Uint8Array, nib: NibabelInfo, options: DecodeOptions = {}): Promise<{ volume: NiftiVolume; calls: number }> {
  let headerSeen = false;
  let next = 0;
  let calls = 0;
  let seenData: VoxelArray | undefined;
  const volume = await decodeNifti(bytes, {
    ...options,
    onHeader(h) {
      assert.equal(headerSeen, false, 'onHeader called twice');
      assert.equal(next, 0, 'onHeader after onSlices');
      headerSeen = true;
      assert.deepEqual(h.dims, nib.dims);
    },
    onSlices(kStart, kEnd, data) {
      assert.ok(headerSeen, 'onSlices before onHeader');
      assert.equal(kStart, next, 'slices reported out of order');
      assert.ok(kEnd > kStart);
      seenData ??= data;
      assert.equal(data, seenData, 'onSlices must hand out the final array, not copies');
      for (let k = kStart; k < kEnd; k++) {
        assertClose(sliceSum(data, nib.dims, k, nib.scl_slope, nib.scl_inter), nib.slice_sums[k]!, `slice ${k} sum when reported`, 1e-9, 1e-6);
      }
      next = kEnd;
      calls++;
    },
  });
  assert.equal(next, nib.dims[2], 'every slice reported');
  assert.equal(volume.data, seenData);
  return { volume, calls };
}

function checkValues(volume: NiftiVolume, nib: NibabelInfo): void {
  for (const v of nib.voxels) {
    const ours = valueAt(volume, ...v.ijk);
    assert.ok(sameValue(ours, v.value), `voxel ${v.ijk}: ${ours} ≠ ${v.value} (nibabel)`);
  }
  const stats = volumeStats(volume);
  assertClose(stats.min, nib.stats.min!, 'min');
  assertClose(stats.max, nib.stats.max!, 'max');
  assertClose(stats.mean, nib.stats.mean!, 'mean', 1e-9, 1e-9);
}

async function rejects(promise: Promise<unknown>, code: string, fragment: string | RegExp): Promise<NiftiError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof NiftiError, `expected NiftiError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (typeof fragment === 'string') assert.ok(err.message.includes(fragment), `'${err.message}' lacks '${fragment}'`);
    else assert.match(err.message, fragment);
    return err;
  }
  assert.fail(`expected ${code}, but it decoded`);
}

const RAW_GZ = 'int16_las_sform.nii.gz';

describe('core/nifti/decode', () => {
  for (const [name, nib] of Object.entries(EXPECTED.fixtures)) {
    describe(name, () => {
      const bytes = fixtureBytes(name);
      const rawBytes = name.endsWith('.gz') ? new Uint8Array(gunzipSync(bytes)) : bytes;
      const gz = name.endsWith('.gz') ? bytes : new Uint8Array(gzipSync(bytes));

      it('as stored, Node inflate', async () => {
        const { volume } = await decodeChecked(bytes, nib, { inflate: nodeInflate, name });
        checkValues(volume, nib);
        assert.equal(volume.data.length, nib.dims[0] * nib.dims[1] * nib.dims[2]);
      });
      it('gzip, web DecompressionStream', async () => {
        const { volume } = await decodeChecked(gz, nib, { inflate: webInflate });
        checkValues(volume, nib);
      });
      it('gzip, 7-byte chunks (elements split across chunks), progressive', async () => {
        const { volume, calls } = await decodeChecked(gz, nib, { inflate: chunkedInflate(7) });
        checkValues(volume, nib);
        if (nib.dims[2] > 1) assert.ok(calls > 1, `slices reported in ${calls} call(s) only`);
      });
      it('uncompressed', async () => {
        const { volume } = await decodeChecked(rawBytes, nib);
        checkValues(volume, nib);
      });
    });
  }

  it('reports each slice as soon as its last byte is inflated', async () => {
    const counter = { chunks: 0, total: 0 };
    const seen: [number, number][] = [];
    const volume = await decodeNifti(fixtureBytes(RAW_GZ), {
      inflate: chunkedInflate(16, counter),
      onSlices(_kStart, kEnd) {
        seen.push([kEnd, counter.chunks]);
      },
    });
    const { voxOffset, dims } = volume.header;
    const sliceBytes = dims[0] * dims[1] * 2;
    for (const [kEnd, chunks] of seen) assert.equal(chunks, Math.ceil((voxOffset + kEnd * sliceBytes) / 16), `slices up to ${kEnd}`);
    assert.ok(seen[0]![1] < counter.total, 'first slice reported before the last chunk');
  });

  it('stops inflating a series after frame 0', async () => {
    const counter = { chunks: 0, total: 0 };
    const volume = await decodeNifti(fixtureBytes('series_4d.nii.gz'), { inflate: chunkedInflate(16, counter) });
    assert.equal(volume.header.frames, 3);
    assert.ok(counter.chunks < counter.total * 0.75, `${counter.chunks} of ${counter.total} chunks inflated`);
  });

  describe('refusals', () => {
    const gz = fixtureBytes(RAW_GZ);
    const raw = new Uint8Array(gunzipSync(gz));
    const needed = 352 + 7 * 6 * 5 * 2;

    it('truncated .nii.gz: says how many bytes of how many (both inflaters)', async () => {
      for (const inflate of [nodeInflate, webInflate]) {
        const err = await rejects(decodeNifti(gz.subarray(0, gz.length - 40), { inflate }), 'Truncated', `of the ${needed} decompressed bytes its header describes`);
        assert.match(err.message, /ends after \d+ of the/);
      }
    });
    it('a .nii.gz cut inside its header', async () => {
      await rejects(decodeNifti(gz.subarray(0, 60), { inflate: nodeInflate }), 'Truncated', 'inside the NIfTI header');
    });
    it('a .nii.gz missing only its gzip trailer', async () => {
      await rejects(decodeNifti(gz.subarray(0, gz.length - 8), { inflate: nodeInflate }), 'Truncated', 'before its end marker and checksum');
    });
    it('truncated .nii: says how many bytes of how many', async () => {
      await rejects(decodeNifti(raw.subarray(0, 500)), 'Truncated', `holds 500 of the ${needed} bytes`);
    });
    it('a .gz name over bytes that are not gzip', async () => {
      await rejects(decodeNifti(raw, { name: '/data/head.nii.gz' }), 'NotGzip', 'head.nii.gz is named .gz but is not gzip data');
      await rejects(decodeNifti(raw, { name: 'head.nii.gz' }), 'NotGzip', 'name it .nii');
      await rejects(decodeNifti(new TextEncoder().encode('hello'), { name: 'a.gz' }), 'NotGzip', '68 65 6c 6c');
    });
    it('not NIfTI, raw or gzipped', async () => {
      await rejects(decodeNifti(new TextEncoder().encode('{"not": "nifti"} and some more text')), 'NotNifti', 'sizeof_hdr');
      await rejects(decodeNifti(new Uint8Array(gzipSync('plain text, long enough to be parsed'.repeat(20))), { inflate: nodeInflate }), 'NotNifti', 'sizeof_hdr');
      await rejects(decodeNifti(new Uint8Array(gzipSync('ab')), { inflate: nodeInflate }), 'NotNifti', 'too short for a NIfTI header');
      await rejects(decodeNifti(new Uint8Array(0)), 'NotNifti', 'empty');
    });
    it('junk after the gzip member (nibabel and gunzipSync refuse it too)', async () => {
      const junk = new Uint8Array([...gz, ...new TextEncoder().encode('trailing junk')]);
      await rejects(decodeNifti(junk, { inflate: nodeInflate }), 'Corrupt', 'header check');
    });
    it('damaged gzip: bad CRC, bad deflate block', async () => {
      const crc = new Uint8Array(gz);
      crc[crc.length - 8]! ^= 0xff;
      await rejects(decodeNifti(crc, { inflate: nodeInflate }), 'Corrupt', 'gzip data is damaged');
      await rejects(decodeNifti(crc, { inflate: webInflate }), 'Corrupt', 'gzip data is damaged');
      const block = new Uint8Array(gz);
      block[10] = 0x07; // BFINAL=1, BTYPE=11: a reserved (invalid) block type
      await rejects(decodeNifti(block, { inflate: nodeInflate }), 'Corrupt', 'gzip data is damaged');
    });
    it('a complete gzip stream shorter than the dims say', async () => {
      const short = new Uint8Array(gzipSync(raw.subarray(0, 600)));
      await rejects(decodeNifti(short, { inflate: nodeInflate }), 'DimsMismatch', `holds 600 bytes, but the header's dims (7×6×5 int16 from byte 352) need ${needed}`);
    });
    it('over the size limit, before allocating', async () => {
      let allocated = 0;
      const allocate = (_: string, n: number) => {
        allocated++;
        return new Int16Array(n);
      };
      await rejects(decodeNifti(gz, { inflate: nodeInflate, maxVoxelBytes: 419, allocate }), 'TooLarge', '7×6×5 int16 needs 420 bytes');
      await rejects(decodeNifti(raw, { maxVoxelBytes: 419, allocate }), 'TooLarge', 'over the 419 bytes limit');
      assert.equal(allocated, 0);
      await decodeNifti(raw, { maxVoxelBytes: 420, allocate });
      assert.equal(allocated, 1);
    });
    it('dims a small gzip file cannot hold, before allocating', async () => {
      const big = new Uint8Array(raw);
      const v = new DataView(big.buffer);
      [1000, 1000, 1000].forEach((n, a) => v.setInt16(42 + 2 * a, n, true));
      v.setInt16(70, 2, true); // uint8: 1e9 bytes, under the default limit
      await rejects(
        decodeNifti(new Uint8Array(gzipSync(big)), { inflate: nodeInflate, allocate: () => assert.fail('allocated') }),
        'DimsMismatch',
        'more than a',
      );
    });
    it('aborted before and during decoding', async () => {
      const ac = new AbortController();
      ac.abort();
      await rejects(decodeNifti(gz, { signal: ac.signal, inflate: nodeInflate }), 'Aborted', 'cancelled');
      const mid = new AbortController();
      await rejects(
        decodeNifti(gz, { signal: mid.signal, inflate: chunkedInflate(16), onSlices: () => mid.abort() }),
        'Aborted',
        'cancelled',
      );
    });
  });

  describe('accepts', () => {
    const gz = fixtureBytes(RAW_GZ);
    const raw = new Uint8Array(gunzipSync(gz));
    const nib = EXPECTED.fixtures[RAW_GZ]!;

    it('zero padding after the gzip member', async () => {
      checkValues(await decodeNifti(new Uint8Array([...gz, 0, 0, 0, 0, 0, 0, 0, 0]), { inflate: nodeInflate }), nib);
    });
    it('a file in two gzip members (pigz/bgzip style)', async () => {
      const two = new Uint8Array([...gzipSync(raw.subarray(0, 500)), ...gzipSync(raw.subarray(500))]);
      checkValues(await decodeNifti(two, { inflate: nodeInflate }), nib);
    });
    it('vox_offset 0 (data right after the header)', async () => {
      const zero = new Uint8Array(raw);
      new DataView(zero.buffer).setFloat32(108, 0, true);
      checkValues(await decodeNifti(zero), nib);
    });
    it('trailing bytes after the voxels of a .nii', async () => {
      checkValues(await decodeNifti(new Uint8Array([...raw, 1, 2, 3])), nib);
    });
  });
});
