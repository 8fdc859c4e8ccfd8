// Single DICOM files against pydicom (+ gdcm for JPEG-LS, JPEG 2000 and JPEG Lossless): frame 0's Modality-LUT
// values, voxel for voxel, for one file of each of this project's compressed and native test series and for
// pydicom's own test files (RLE, JPEG-LS, JPEG 2000 lossless and lossy, big endian, implicit VR, 32-bit RT dose).
// What CT Lens does not decode is refused with the right code and, for a transfer syntax, its name.
import * as assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { decodeDicomFiles, DicomError } from '../../../src/core/dicom';
import { requirePython, runPython } from '../../reference-python';
import { cleanSeries, PY_MODULES, series } from './fixtures';

const SCRIPT = join(__dirname, 'pydicom_pixels.py');

interface Reference {
  file: string;
  shape?: [number, number];
  syntax?: string;
  error?: string;
}

const OURS = ['implicit', 'bigendian', 'signed', 'float_rescale', 'rle', 'jpegls', 'jpeg2000', 'jpeglossless'];
const PYDICOM_DECODED = [
  'CT_small.dcm',
  'MR_small.dcm',
  'MR_small_implicit.dcm',
  'MR_small_bigendian.dcm',
  'MR_small_expb.dcm',
  'MR_small_padded.dcm',
  'MR_small_RLE.dcm',
  'MR_small_jpeg_ls_lossless.dcm',
  'MR_small_jp2klossless.dcm',
  'J2K_pixelrep_mismatch.dcm',
  '693_J2KI.dcm',
  'JPEG2000.dcm',
  'rtdose_1frame.dcm',
  'rtdose_expb_1frame.dcm',
  'rtdose_rle_1frame.dcm',
];
const PYDICOM_REFUSED: [string, string, RegExp][] = [
  ['JPGExtended.dcm', 'UnsupportedTransferSyntax', /JPEG Extended \(Process 2 & 4\) \(1\.2\.840\.10008\.1\.2\.4\.51\)/],
  ['image_dfl.dcm', 'UnsupportedTransferSyntax', /Deflated Explicit VR Little Endian/],
  ['SC_rgb_jpeg_gdcm.dcm', 'UnsupportedImage', /colour image/],
  ['SC_rgb_rle.dcm', 'UnsupportedImage', /colour image/],
  ['liver_1frame.dcm', 'UnsupportedImage', /BitsAllocated 1/],
  ['MR_truncated.dcm', 'Corrupt', /cut short or damaged/],
  // A known limitation: dicom-parser ends the fragment at the bytes FFFE,E0DD inside the JPEG 2000 codestream
  // (pydicom reads past them). The result is a clear error, never a wrong image.
  ['JPEG2000-embedded-sequence-delimiter.dcm', 'Corrupt', /the codestream is 0×0×0 components/],
  ['rtdose.dcm', 'UnsupportedImage', /15 frames/],
  ['rtplan.dcm', 'NoImages', /./],
];

describe('core/dicom: single files against pydicom', function () {
  // Generous: on a loaded shared machine one suite took 3 min that takes 20 s on an idle one.
  this.timeout(600_000);
  let out: string;
  let py: string;
  let testFiles: string;
  before(function () {
    py = requirePython(this, PY_MODULES);
    out = mkdtempSync(join(tmpdir(), 'ctlens-pydicom-'));
    testFiles = runPython(py, ['-c', 'import os, pydicom; print(os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files"))']).trim();
  });
  after(() => {
    if (out) rmSync(out, { recursive: true, force: true });
    cleanSeries();
  });

  it('decodes every file as pydicom does', async function () {
    const paths = [...OURS.map((v) => join(series(this, v).dir, series(this, v).truth.files[0]!)), ...PYDICOM_DECODED.map((f) => join(testFiles, f))];
    const refs = JSON.parse(runPython(py, [SCRIPT, out, ...paths])) as Reference[];
    const failures: string[] = [];
    for (let n = 0; n < paths.length; n++) {
      const ref = refs[n]!;
      const name = basename(paths[n]!);
      assert.equal(ref.error, undefined, `pydicom could not read ${name}: ${ref.error}`);
      const volume = await decodeDicomFiles([{ name, bytes: readFileSync(paths[n]!) }]);
      const [rows, cols] = ref.shape!;
      assert.deepEqual(volume.header.dims, [cols, rows, 1], name);
      const raw = readFileSync(join(out, `${n}.f64`)); // small files share Node's buffer pool: copy out
      const want = new Float64Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));
      assert.equal(want.length, rows * cols, name);
      let bad = 0;
      let worst = 0;
      for (let k = 0; k < want.length; k++) {
        const d = Math.abs(volume.data[k]! - want[k]!);
        if (d > 1e-6 * Math.max(1, Math.abs(want[k]!))) bad++;
        worst = Math.max(worst, d);
      }
      if (bad) failures.push(`${name} (${ref.syntax}): ${bad} of ${want.length} values differ, worst by ${worst}`);
    }
    assert.deepEqual(failures, []);
  });

  for (const [file, code, message] of PYDICOM_REFUSED) {
    it(`refuses ${file}: ${code}`, async () => {
      const bytes = readFileSync(join(testFiles, file));
      await assert.rejects(decodeDicomFiles([{ name: file, bytes }]), (e: DicomError) => {
        assert.equal(e.code, code, e.message);
        assert.match(e.message, message);
        return true;
      });
    });
  }
});
