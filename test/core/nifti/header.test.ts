// Header parsing against nibabel's reading of every fixture, and refusals of damaged headers with messages that
// name the field.
import * as assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { NiftiError, parseNiftiHeader } from '../../../src/core/nifti';
import { EXPECTED, assertClose, assertMatrixClose, fixtureBytes } from './fixtures';

/** Uncompressed bytes of a fixture. */
function raw(name: string): Uint8Array {
  const bytes = fixtureBytes(name);
  return name.endsWith('.gz') ? new Uint8Array(gunzipSync(bytes)) : bytes;
}

function expectError(fn: () => unknown, code: string, fragment: string | RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof NiftiError, `expected NiftiError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.ok(err.message.startsWith(`${code}: `), err.message);
    if (typeof fragment === 'string') assert.ok(err.message.includes(fragment), `'${err.message}' lacks '${fragment}'`);
    else assert.match(err.message, fragment);
    return true;
  });
}

describe('core/nifti/header', () => {
  describe('agrees with nibabel on every fixture', () => {
    for (const [name, nib] of Object.entries(EXPECTED.fixtures)) {
      it(name, () => {
        const h = parseNiftiHeader(raw(name));
        assert.equal(h.format, nib.format);
        assert.equal(h.littleEndian, nib.little_endian);
        assert.deepEqual(h.dims, nib.dims);
        assert.equal(h.frames, nib.frames);
        assert.equal(h.datatype, nib.datatype);
        assert.equal(h.voxOffset, nib.vox_offset);
        h.spacing.forEach((s, a) => assertClose(s, nib.spacing[a]!, `spacing[${a}]`));
        assertClose(h.sclSlope, nib.scl_slope, 'scl_slope');
        assertClose(h.sclInter, nib.scl_inter, 'scl_inter');
        assert.equal(h.affineSource, nib.affine_source);
        assert.equal(h.sformCode, nib.sform_code);
        assert.equal(h.qformCode, nib.qform_code);
        assertMatrixClose(h.affine, nib.affine, 'affine');
        assert.equal(h.orientation, nib.orientation);
      });
    }
  });

  it('reads the description and bitpix from the datatype', () => {
    const h = parseNiftiHeader(raw('int16_las_sform.nii.gz'));
    assert.equal(h.bitpix, 16);
    assert.equal(h.datatypeCode, 4);
  });

  describe('refuses damaged headers, naming the problem', () => {
    const base = () => new Uint8Array(raw('int16_las_sform.nii.gz').subarray(0, 352));
    const base2 = () => new Uint8Array(raw('nifti2_int16.nii').subarray(0, 544));
    const edit = (bytes: Uint8Array, f: (v: DataView) => void) => {
      f(new DataView(bytes.buffer, bytes.byteOffset, bytes.length));
      return bytes;
    };

    it('empty input', () => expectError(() => parseNiftiHeader(new Uint8Array(0)), 'NotNifti', 'empty'));
    it('wrong sizeof_hdr', () => {
      expectError(() => parseNiftiHeader(edit(base(), (v) => v.setInt32(0, 349, true))), 'NotNifti', 'sizeof_hdr is not 348');
    });
    it('gzip bytes handed to the header parser', () => {
      expectError(() => parseNiftiHeader(fixtureBytes('int16_las_sform.nii.gz')), 'NotNifti', 'gzip data');
    });
    it('bad magic (Analyze 7.5)', () => {
      expectError(() => parseNiftiHeader(edit(base(), (v) => v.setUint8(344, 0))), 'NotNifti', 'no NIfTI magic at byte 344');
    });
    it('a .hdr/.img pair header', () => {
      expectError(() => parseNiftiHeader(edit(base(), (v) => v.setUint8(345, 'i'.charCodeAt(0)))), 'NotNifti', '.hdr/.img pair');
    });
    it('truncated header: says how many bytes of how many', () => {
      expectError(() => parseNiftiHeader(base().subarray(0, 200)), 'Truncated', '200 of the 348 bytes');
      expectError(() => parseNiftiHeader(base2().subarray(0, 300)), 'Truncated', '300 of the 540 bytes');
    });
    it('dim[0] out of 1..7', () => {
      expectError(() => parseNiftiHeader(edit(base(), (v) => v.setInt16(40, 9, true))), 'BadHeader', 'dim[0] is 9');
      expectError(() => parseNiftiHeader(edit(base(), (v) => v.setInt16(40, 0, true))), 'BadHeader', 'dim[0] is 0');
    });
    it('a used dimension ≤ 0', () => {
      expectError(() => parseNiftiHeader(edit(base(), (v) => v.setInt16(46, 0, true))), 'BadHeader', 'dim[3] is 0');
      expectError(() => parseNiftiHeader(edit(base(), (v) => v.setInt16(42, -5, true))), 'BadHeader', 'dim[1] is -5');
    });
    it('dims beyond dim[0] are ignored, as nibabel does', () => {
      const h = parseNiftiHeader(edit(base(), (v) => v.setInt16(48, -3, true)));
      assert.equal(h.frames, 1);
    });
    it('absurd NIfTI-2 dims', () => {
      expectError(() => parseNiftiHeader(edit(base2(), (v) => v.setBigInt64(24, 2n ** 40n, true))), 'BadHeader', 'absurd');
    });
    it('NaN / Inf voxel size', () => {
      expectError(() => parseNiftiHeader(edit(base(), (v) => v.setFloat32(80, NaN, true))), 'BadHeader', 'pixdim[1] (voxel size) is NaN');
      expectError(() => parseNiftiHeader(edit(base(), (v) => v.setFloat32(88, Infinity, true))), 'BadHeader', 'pixdim[3] (voxel size) is Infinity');
    });
    it('NaN in the sform it would use', () => {
      expectError(() => parseNiftiHeader(edit(base(), (v) => v.setFloat32(284, NaN, true))), 'BadHeader', 'sform');
    });
    it('NaN in the sform is harmless when sform_code is 0', () => {
      const h = parseNiftiHeader(edit(base(), (v) => { v.setFloat32(284, NaN, true); v.setInt16(254, 0, true); }));
      assert.equal(h.affineSource, 'qform');
    });
    it('a quaternion that is not a rotation', () => {
      const bytes = edit(base(), (v) => { v.setInt16(254, 0, true); v.setFloat32(256, 0.9, true); v.setFloat32(260, 0.9, true); });
      expectError(() => parseNiftiHeader(bytes), 'BadHeader', 'quaternion is not a rotation');
    });
    it('NaN scl_inter with a usable slope (nibabel refuses too)', () => {
      const bytes = edit(base(), (v) => { v.setFloat32(112, 2, true); v.setFloat32(116, NaN, true); });
      expectError(() => parseNiftiHeader(bytes), 'BadHeader', 'scl_inter is NaN while scl_slope is 2');
    });
    it('NaN vox_offset', () => {
      expectError(() => parseNiftiHeader(edit(base(), (v) => v.setFloat32(108, NaN, true))), 'BadHeader', 'vox_offset is NaN');
    });
    it('vox_offset 0 means right after the header', () => {
      assert.equal(parseNiftiHeader(edit(base(), (v) => v.setFloat32(108, 0, true))).voxOffset, 352);
      assert.equal(parseNiftiHeader(edit(base2(), (v) => v.setBigInt64(168, 0n, true))).voxOffset, 544);
    });
    it('NIfTI-2 damaged by a line-ending conversion', () => {
      expectError(() => parseNiftiHeader(edit(base2(), (v) => v.setUint8(8, 10))), 'Corrupt', 'line-ending');
    });
    it('unsupported datatypes by name', () => {
      const dt = (code: number) => edit(base(), (v) => v.setInt16(70, code, true));
      expectError(() => parseNiftiHeader(dt(32)), 'UnsupportedDatatype', 'UnsupportedDatatype: datatype 32 (complex64) is not supported');
      expectError(() => parseNiftiHeader(dt(128)), 'UnsupportedDatatype', 'datatype 128 (RGB24)');
      expectError(() => parseNiftiHeader(dt(1024)), 'UnsupportedDatatype', 'datatype 1024 (int64)');
      expectError(() => parseNiftiHeader(dt(1536)), 'UnsupportedDatatype', 'datatype 1536 (float128)');
      expectError(() => parseNiftiHeader(dt(1792)), 'UnsupportedDatatype', 'datatype 1792 (complex128)');
      expectError(() => parseNiftiHeader(dt(2304)), 'UnsupportedDatatype', 'datatype 2304 (RGBA32)');
      expectError(() => parseNiftiHeader(dt(3)), 'UnsupportedDatatype', 'datatype 3 is not a NIfTI datatype code');
    });
    for (const [name, e] of Object.entries(EXPECTED.errors)) {
      it(`error fixture ${name}`, () => expectError(() => parseNiftiHeader(raw(name)), e.code, e.message));
    }
  });
});
