import assert from 'node:assert/strict';
import { allocateVoxels, ViewerVolume, voxelsFromBuffer } from '../../../webview/viewer/volume';
import { headerRows } from '../../../webview/viewer/header-info';
import { displayFrameOf } from '../../../webview/viewer/geometry';
import { diag, makeHeader } from './fixtures';

describe('webview/viewer/volume', () => {
  it('fills slabs, tracks arrival and statistics, and reads scaled values', () => {
    const header = makeHeader([3, 2, 4], diag(1, 1, 1), 'int16', { sclSlope: 2, sclInter: -10 });
    const v = new ViewerVolume(header);
    assert.ok(Number.isNaN(v.valueAtFile(0, 0, 0)), 'nothing has arrived yet');
    v.addSlab(0, 2, Int16Array.from({ length: 12 }, (_, n) => n));
    assert.equal(v.loadedCount, 2);
    assert.equal(v.contiguous, 2);
    assert.equal(v.valueAtFile(2, 1, 1), 11 * 2 - 10);
    assert.deepEqual([v.min, v.max], [-10, 12]);
    v.addSlab(3, 4, voxelsFromBuffer('int16', Int16Array.from([100, 0, 0, 0, 0, -100]).buffer));
    assert.equal(v.contiguous, 2, 'slice 2 is still missing');
    assert.ok(Number.isNaN(v.valueAtFile(0, 0, 2)));
    assert.deepEqual([v.min, v.max], [-210, 190]);
    v.addSlab(2, 3, new Int16Array(6));
    assert.ok(v.complete);
    assert.equal(v.contiguous, 4);
    assert.throws(() => v.addSlab(0, 1, new Int16Array(5)), /5 values, 6 expected/);
    assert.throws(() => v.addSlab(3, 5, new Int16Array(12)), /outside/);
    assert.throws(() => voxelsFromBuffer('float32', new ArrayBuffer(6)), /whole number/);
  });

  it("keys a view's image on the slices it shows: a k-slice plane on its own slice, a plane across them on every slab", () => {
    // k runs along display S (axial series), then along display R (a sagittal series, k flipped: L → R is -k).
    const axial = new ViewerVolume(makeHeader([3, 2, 4], diag(1, 1, 1), 'int16'));
    const before = [axial.imageStateOf(2, 1), axial.imageStateOf(1, 0)];
    axial.addSlab(3, 4, new Int16Array(6));
    assert.equal(axial.imageStateOf(2, 1), before[0], 'the axial slice 1 has not arrived: its image is as it was');
    assert.notEqual(axial.imageStateOf(1, 0), before[1], 'a coronal plane crosses slice 3');
    axial.addSlab(1, 2, new Int16Array(6));
    assert.notEqual(axial.imageStateOf(2, 1), before[0], 'its slice arrived');
    const kept = axial.imageStateOf(2, 1);
    axial.addSlab(0, 1, new Int16Array(6));
    assert.equal(axial.imageStateOf(2, 1), kept);

    const affine = [[0, 0, -1, 3], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1]];
    const sagittal = new ViewerVolume(makeHeader([2, 2, 4], affine, 'int16'));
    assert.deepEqual(sagittal.frame.axes[0], { fileAxis: 2, flip: true });
    const r0 = sagittal.imageStateOf(0, 0); // display R index 0 is file k = 3
    sagittal.addSlab(0, 1, new Int16Array(4));
    assert.equal(sagittal.imageStateOf(0, 0), r0);
    sagittal.addSlab(3, 4, new Int16Array(4));
    assert.notEqual(sagittal.imageStateOf(0, 0), r0);
  });

  it('views slab buffers of every datatype the decoder reads as their typed array, without a copy', () => {
    const expected = {
      uint8: Uint8Array,
      int8: Int8Array,
      int16: Int16Array,
      uint16: Uint16Array,
      int32: Int32Array,
      uint32: Uint32Array,
      float32: Float32Array,
      float64: Float64Array,
    } as const;
    for (const [name, ctor] of Object.entries(expected)) {
      const buffer = new ArrayBuffer(ctor.BYTES_PER_ELEMENT * 6);
      const view = voxelsFromBuffer(name as keyof typeof expected, buffer);
      assert.ok(view instanceof ctor, `${name} → ${ctor.name}`);
      assert.equal(view.buffer, buffer, `${name} shares the buffer`);
      assert.equal(view.length, 6);
      assert.ok(allocateVoxels(name as keyof typeof expected, 4) instanceof ctor);
    }
  });

  it('header rows say what a researcher checks first', () => {
    const header = makeHeader([256, 256, 108], diag(-0.957031, 0.957031, 1.5), 'int16', { frames: 3, sclSlope: 0.5, sclInter: -1024, description: 'Cranium' });
    const rows = Object.fromEntries(headerRows(header, displayFrameOf(header), 'head.nii.gz').map((r) => [r.label, r.value]));
    assert.equal(rows['Dimensions'], '256 × 256 × 108');
    assert.equal(rows['Frames'], '3 (4D: frame 0 shown)');
    assert.equal(rows['Spacing'], '0.957031 × 0.957031 × 1.5 mm');
    assert.equal(rows['Scaling'], 'value = stored × 0.5 + -1024');
    assert.match(rows['Orientation']!, /^LAS → shown as RAS/);
    assert.equal(rows['Description'], 'Cranium');
    assert.equal(rows['Affine (voxel → RAS mm)']!.split('\n').length, 4);
  });
});
