import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { decodeNifti } from '../../../src/core/nifti/decode';
import { nodeInflate } from '../../../src/core/nifti/inflate-node';
import type { NiftiHeader, VoxelArray } from '../../../src/core/nifti/types';
import { copySlab, LoadError, LoadListener, VolumeLoad } from '../../../src/extension/editor/volume-load';
import { VOLUME_LIMIT_HINT } from '../../../src/extension/editor/settings';

const HEAD_CT = join(__dirname, '../../../media/samples/head_ct_invesalius.nii.gz');

type Event = { type: 'header'; dims: number[] } | { type: 'slices'; k: [number, number] } | { type: 'done' } | { type: 'error'; error: LoadError };

/** Records events and rebuilds the volume from slab copies, as the webview does. */
function recorder() {
  const events: Event[] = [];
  let header: NiftiHeader | null = null;
  let rebuilt: Int16Array | null = null;
  const listener: LoadListener = {
    header: (h) => {
      header = h;
      rebuilt = new Int16Array(h.dims[0] * h.dims[1] * h.dims[2]);
      events.push({ type: 'header', dims: [...h.dims] });
    },
    slices: (kStart, kEnd, data: VoxelArray) => {
      const n = header!.dims[0] * header!.dims[1];
      rebuilt!.set(new Int16Array(copySlab(data, n, kStart, kEnd)), kStart * n);
      events.push({ type: 'slices', k: [kStart, kEnd] });
    },
    done: () => events.push({ type: 'done' }),
    error: (error) => events.push({ type: 'error', error }),
  };
  return { events, listener, rebuilt: () => rebuilt! };
}

function checkOrder(events: Event[], nz: number): void {
  assert.equal(events[0]!.type, 'header');
  const slabs = events.filter((e): e is Extract<Event, { type: 'slices' }> => e.type === 'slices');
  let next = 0;
  for (const s of slabs) {
    assert.equal(s.k[0], next, 'slabs arrive in order without gaps');
    assert.ok(s.k[1] > s.k[0]);
    next = s.k[1];
  }
  assert.equal(next, nz);
  assert.equal(events.at(-1)!.type, 'done');
}

describe('extension/editor/volume-load', function () {
  this.timeout(30000);
  const bytes = new Uint8Array(readFileSync(HEAD_CT));

  it('decodes the real head CT once, streams every slice in order, and keeps the volume', async () => {
    let reads = 0;
    const load = new VolumeLoad({ name: 'head_ct_invesalius.nii.gz', read: async () => (reads++, bytes), decode: decodeNifti, inflate: nodeInflate });
    const live = recorder();
    load.subscribe(live.listener);
    const volume = await load.done;
    assert.equal(reads, 1);
    assert.equal(load.state, 'ready');
    checkOrder(live.events, 108);
    assert.ok(live.events.filter((e) => e.type === 'slices').length > 1, 'slices stream in several slabs, not one');
    // The slab copies rebuild exactly the file's voxels (int16 little-endian after the 352-byte header).
    const raw = gunzipSync(bytes);
    const expected = new Int16Array(raw.buffer.slice(raw.byteOffset + 352, raw.byteOffset + 352 + 256 * 256 * 108 * 2));
    assert.deepEqual(live.rebuilt(), expected);
    assert.deepEqual(volume.data, expected);

    // A late subscriber (a second editor, a reloaded webview) gets the same, replayed in slabs of ≤ 8 MiB.
    const late = recorder();
    load.subscribe(late.listener);
    checkOrder(late.events, 108);
    assert.ok(late.events.filter((e) => e.type === 'slices').length >= 2);
    assert.deepEqual(late.rebuilt(), expected);
  });

  it('replays what has decoded so far to a subscriber that joins mid-way, then continues live', async () => {
    const load = new VolumeLoad({ name: 'head.nii.gz', read: async () => bytes, decode: decodeNifti, inflate: nodeInflate });
    const late = recorder();
    let joined = false;
    load.subscribe({
      header: () => {},
      slices: (_k0, k1) => {
        if (!joined && k1 >= 20) {
          joined = true;
          load.subscribe(late.listener);
        }
      },
      done: () => {},
      error: () => {},
    });
    await load.done;
    assert.ok(joined);
    checkOrder(late.events, 108);
  });

  it('reports a truncated file once, as a NiftiError message, to current and later subscribers', async () => {
    const raw = gunzipSync(bytes);
    const truncated = raw.subarray(0, 352 + 256 * 256 * 2 * 10);
    const load = new VolumeLoad({ name: 'cut.nii', read: async () => new Uint8Array(truncated), decode: decodeNifti, inflate: nodeInflate });
    const live = recorder();
    load.subscribe(live.listener);
    await assert.rejects(load.done, (e: LoadError) => e.code === 'Truncated' && /^Truncated: /.test(e.message));
    assert.equal(load.state, 'error');
    const errors = live.events.filter((e) => e.type === 'error');
    assert.equal(errors.length, 1);
    const late = recorder();
    load.subscribe(late.listener);
    assert.deepEqual(late.events.map((e) => e.type), ['error']);
  });

  it('names read failures and non-NIfTI input', async () => {
    const missing = new VolumeLoad({ name: 'gone.nii', read: async () => Promise.reject(new Error('EntryNotFound (FileSystemError)')), decode: decodeNifti });
    await assert.rejects(missing.done, (e: LoadError) => e.code === 'ReadFailed' && e.message === 'ReadFailed: gone.nii: EntryNotFound (FileSystemError)');
    const text = new VolumeLoad({ name: 'notes.nii', read: async () => new TextEncoder().encode('hello '.repeat(100)), decode: decodeNifti });
    await assert.rejects(text.done, (e: LoadError) => e.code === 'NotNifti' && e.message.startsWith('NotNifti: '));
  });

  it('passes the size limit to the decoder (refused before allocating)', async () => {
    const load = new VolumeLoad({ name: 'head.nii.gz', read: async () => bytes, decode: decodeNifti, inflate: nodeInflate, maxVoxelBytes: 1 << 20 });
    await assert.rejects(load.done, (e: LoadError) => e.code === 'TooLarge' && !e.message.includes('ctlens.maxVolumeMB'));
    // In VS Code the refusal names the setting that sets the limit.
    const hinted = new VolumeLoad({ name: 'head.nii.gz', read: async () => bytes, decode: decodeNifti, inflate: nodeInflate, maxVoxelBytes: 1 << 20, limitHint: VOLUME_LIMIT_HINT });
    await assert.rejects(hinted.done, (e: LoadError) => /^TooLarge: .* over the 1\.0 MiB limit .* — raise the ctlens\.maxVolumeMB setting to open it$/.test(e.message));
  });

  it('copies slabs into standalone buffers (never the whole volume)', () => {
    const data = Int16Array.from({ length: 24 }, (_, n) => n);
    const slab = copySlab(data, 6, 1, 3);
    assert.equal(slab.byteLength, 12 * 2);
    assert.deepEqual(Array.from(new Int16Array(slab)), Array.from({ length: 12 }, (_, n) => n + 6));
  });
});
