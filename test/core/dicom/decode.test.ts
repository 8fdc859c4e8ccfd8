// The DICOM series reader against the construction of test/fixtures/dicom/make_series.py: every variant of the
// real head CT gives the affine the generator built (≤ 1e-4 mm) and, voxel for voxel, the source's HU; what the
// files do not agree on is a notice or a named error; identifying attributes reach no message.
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { decodeDicomFiles, DicomError, readDicomFiles, type DicomVolume } from '../../../src/core/dicom';
import { decodeNifti } from '../../../src/core/nifti';
import { nodeInflate } from '../../../src/core/nifti/inflate-node';
import type { NiftiVolume } from '../../../src/core/nifti/types';
import { cleanSeries, HEAD_CT, maxAbsDiff, series, type Truth } from './fixtures';

let source: NiftiVolume;

/** Our voxel (i, j, k) holds the source's (x0 + i, y0 + ny − 1 − j, z0 + keep[k]) (rows run anterior → posterior). */
function assertSourceValues(volume: DicomVolume, truth: Truth): void {
  const [nx, ny, nz] = volume.header.dims;
  assert.deepEqual([nx, ny, nz], truth.dims);
  const [sx, sy] = source.header.dims;
  const [x0, y0, z0] = truth.source_offset;
  let bad = 0;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        const want = source.data[x0 + i + sx * (y0 + ny - 1 - j + sy * (z0 + truth.keep[k]!))]!;
        if (volume.data[i + nx * (j + ny * k)] !== want) bad++;
      }
    }
  }
  assert.equal(bad, 0, `${bad} voxels differ from the source HU`);
}

describe('core/dicom: series from the real head CT', function () {
  // Generous: on a loaded shared machine one suite took 3 min that takes 20 s on an idle one.
  this.timeout(600_000);
  before(async () => {
    source = await decodeNifti(readFileSync(HEAD_CT), { inflate: nodeInflate });
  });
  after(() => cleanSeries());

  const clean = ['axial', 'oblique', 'implicit', 'bigendian', 'signed', 'float_rescale', 'mono1', 'mono1_cr', 'rle', 'jpegls', 'jpeg2000', 'jpeglossless'];
  for (const variant of clean) {
    it(`${variant}: affine as constructed, HU as the source`, async function () {
      const { files, truth } = series(this, variant);
      const volume = await decodeDicomFiles(files);
      assert.equal(volume.header.format, 'dicom');
      assert.ok(maxAbsDiff(volume.header.affine, truth.affine) <= 1e-4, `affine off by ${maxAbsDiff(volume.header.affine, truth.affine)}`);
      assertSourceValues(volume, truth);
      assert.equal(volume.header.datatype, variant === 'float_rescale' ? 'float32' : 'int16');
      const expected: Record<string, RegExp[]> = {
        mono1: [/^MONOCHROME1 .*the values are the HU the rescale gives/],
        mono1_cr: [/^Modality CR, not CT/, /^MONOCHROME1 .*stored values were inverted/],
      };
      const want = expected[variant] ?? [];
      assert.equal(volume.notices.length, want.length, volume.notices.join('\n'));
      want.forEach((re, n) => assert.match(volume.notices[n]!, re));
    });
  }

  const noticed: [string, RegExp][] = [
    ['tilted', /^Gantry tilt of 12°/],
    ['uneven', /^Uneven slice spacing: steps from 1\.2 to 1\.8 mm/],
    ['missing', /^Missing slices: 1 gap .*about 2 slices absent/],
    ['localizer', /^Mixed orientations: 1 of 13 images/],
    ['mr', /^Modality MR, not CT/],
  ];
  for (const [variant, notice] of noticed) {
    it(`${variant}: a notice, and the geometry the files describe`, async function () {
      const { files, truth } = series(this, variant);
      const volume = await decodeDicomFiles(files);
      assert.equal(volume.notices.length, 1, volume.notices.join('\n'));
      assert.match(volume.notices[0]!, notice);
      assert.ok(maxAbsDiff(volume.header.affine, truth.affine) <= 1e-4);
      assertSourceValues(volume, truth);
    });
  }

  it('two series in one folder: SeveralSeries until one is chosen', async function () {
    const { files, truth } = series(this, 'two_series');
    const read = readDicomFiles(files);
    assert.deepEqual(read.series.map((s) => s.summary.images), [12, 6]);
    await assert.rejects(decodeDicomFiles(files), (e: DicomError) => e.code === 'SeveralSeries' && /2 series found/.test(e.message));
    const second = await decodeDicomFiles(files, { seriesUid: truth.second!.series_uid });
    assert.deepEqual(second.header.dims, [64, 48, 6]);
  });

  it('a transfer syntax it cannot decode is refused by name', async function () {
    const { files } = series(this, 'jpeg_baseline');
    await assert.rejects(decodeDicomFiles(files), (e: DicomError) => e.code === 'UnsupportedTransferSyntax' && /JPEG Baseline \(Process 1\) \(1\.2\.840\.10008\.1\.2\.4\.50\)/.test(e.message));
  });

  it('slices arrive in order, the header first, and an abort stops the decode', async function () {
    const { files } = series(this, 'axial');
    const events: string[] = [];
    let next = 0;
    const volume = await decodeDicomFiles(files, {
      sliceBudgetMs: 0,
      onHeader: (h) => events.push(`header ${h.dims.join('x')}`),
      onSlices: (a, b) => {
        assert.equal(a, next);
        next = b;
      },
    });
    assert.equal(events[0], 'header 256x256x108');
    assert.equal(next, volume.header.dims[2]);
    const abort = new AbortController();
    await assert.rejects(
      decodeDicomFiles(files, { signal: abort.signal, sliceBudgetMs: 0, onSlices: () => abort.abort() }),
      (e: DicomError) => e.code === 'Aborted',
    );
  });

  it('refuses what is not DICOM, a too-large series, and keeps identifying attributes out of every message', async function () {
    const { files } = series(this, 'missing');
    await assert.rejects(decodeDicomFiles([{ name: 'notes.txt', bytes: new TextEncoder().encode('hello') }]), (e: DicomError) => e.code === 'NotDicom');
    await assert.rejects(decodeDicomFiles(files, { maxVoxelBytes: 1000 }), (e: DicomError) => e.code === 'TooLarge');
    const cut = files.map((f, n) => (n === 0 ? { name: f.name, bytes: f.bytes.subarray(0, f.bytes.length - 100) } : f));
    // A truncated file: its slice is reported missing, and the file is named as unreadable, or the decode fails.
    const partial = await decodeDicomFiles(cut).catch((e: DicomError) => e);
    if (partial instanceof DicomError) assert.equal(partial.code, 'Corrupt');
    else assert.match(partial.notices.join('\n'), /could not be read and was left out/);
    const volume = await decodeDicomFiles(files);
    const said = JSON.stringify({ header: volume.header, notices: volume.notices, series: volume.series });
    for (const secret of ['Testpatient', 'SECRET', '19700101']) assert.ok(!said.includes(secret), `${secret} leaked`);
  });
});
