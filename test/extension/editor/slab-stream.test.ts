import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { decodeNifti } from '../../../src/core/nifti/decode';
import { nodeInflate } from '../../../src/core/nifti/inflate-node';
import { SlabStream, type SlabStreamMessage } from '../../../src/extension/editor/slab-stream';
import { VolumeLoad } from '../../../src/extension/editor/volume-load';

const HEAD_CT = join(__dirname, '../../../media/samples/head_ct_invesalius.nii.gz');

/** A webview that takes its time: each post resolves only when the test delivers it. */
function slowWebview() {
  const posted: SlabStreamMessage[] = [];
  const waiting: (() => void)[] = [];
  let maxInFlight = 0;
  return {
    posted,
    post(message: SlabStreamMessage): Promise<boolean> {
      posted.push(message);
      return new Promise((resolve) => {
        waiting.push(() => resolve(true));
        maxInFlight = Math.max(maxInFlight, waiting.length);
      });
    },
    /** Delivers every message posted so far; resolves after the stream has reacted. */
    async deliverAll(): Promise<number> {
      const n = waiting.length;
      for (const w of waiting.splice(0)) w();
      await new Promise((r) => setImmediate(r));
      return n;
    },
    get maxInFlight() {
      return maxInFlight;
    },
  };
}

describe('extension/editor/slab-stream', () => {
  it('sends the real head CT in order, at most `window` messages in flight, the voxels intact', async () => {
    const bytes = new Uint8Array(readFileSync(HEAD_CT));
    const reference = await decodeNifti(bytes, { inflate: nodeInflate });
    const load = new VolumeLoad({ name: 'head.nii.gz', read: async () => bytes, decode: decodeNifti, inflate: nodeInflate });
    const web = slowWebview();
    let drained: string | null = null;
    const stream = new SlabStream({ post: (m) => web.post(m), window: 2, slabBytes: 1 << 20, onDrained: (e) => (drained = e) });
    load.subscribe(stream);
    await load.done; // the decoder has finished long before the webview took the first slabs
    assert.ok(web.posted.length <= 2, `only the window is posted before delivery, got ${web.posted.length}`);
    assert.ok(stream.queued > 0);
    while ((await web.deliverAll()) > 0);
    assert.equal(drained, 'done');
    assert.ok(web.maxInFlight <= 2);
    const [nx, ny, nz] = reference.header.dims;
    assert.equal(web.posted[0]!.type, 'volumeHeader');
    assert.equal(web.posted[web.posted.length - 1]!.type, 'volumeDone');
    const rebuilt = new Int16Array(nx * ny * nz);
    let next = 0;
    for (const m of web.posted) {
      if (m.type !== 'volumeSlices') continue;
      assert.equal(m.kStart, next, 'slabs arrive in order, without gaps');
      assert.ok(m.data.byteLength <= 1 << 20, 'merged ranges stay within a slab');
      assert.equal(m.data.byteLength, (m.kEnd - m.kStart) * nx * ny * 2, 'a standalone copy of exactly its slices');
      rebuilt.set(new Int16Array(m.data), m.kStart * nx * ny);
      next = m.kEnd;
    }
    assert.equal(next, nz);
    assert.deepEqual(rebuilt, reference.data);
  });

  it('merges the decoder\'s small ranges into slabs instead of one message each', async () => {
    const raw = gunzipSync(readFileSync(HEAD_CT));
    const web = slowWebview();
    const stream = new SlabStream({ post: (m) => web.post(m), window: 1, slabBytes: 4 << 20 });
    const load = new VolumeLoad({ name: 'head.nii', read: async () => new Uint8Array(raw), decode: decodeNifti });
    load.subscribe(stream);
    await load.done;
    while ((await web.deliverAll()) > 0);
    const slabs = web.posted.filter((m) => m.type === 'volumeSlices');
    const [nx, ny, nz] = load.header!.dims;
    const perSlab = Math.floor((4 << 20) / (nx * ny * 2));
    assert.equal(slabs.length, Math.ceil(nz / perSlab), 'as few messages as the slab size allows');
  });

  it('close() stops it: nothing more is posted and the queue is dropped', async () => {
    const bytes = new Uint8Array(readFileSync(HEAD_CT));
    const load = new VolumeLoad({ name: 'head.nii.gz', read: async () => bytes, decode: decodeNifti, inflate: nodeInflate });
    const web = slowWebview();
    let drained = false;
    const stream = new SlabStream({ post: (m) => web.post(m), onDrained: () => (drained = true) });
    load.subscribe(stream);
    await load.done;
    const before = web.posted.length;
    stream.close();
    assert.equal(stream.queued, 0);
    await web.deliverAll();
    assert.equal(web.posted.length, before);
    assert.equal(drained, false);
  });

  it('a post that throws (webview disposed mid-stream) does not stop the stream or throw out of the decoder', async () => {
    const posted: string[] = [];
    let calls = 0;
    const stream = new SlabStream({
      post: (m) => {
        posted.push(m.type);
        if (++calls === 2) throw new Error('Webview is disposed');
      },
    });
    const bytes = new Uint8Array(readFileSync(HEAD_CT));
    const load = new VolumeLoad({ name: 'head.nii.gz', read: async () => bytes, decode: decodeNifti, inflate: nodeInflate });
    load.subscribe(stream);
    await load.done;
    await new Promise((r) => setImmediate(r));
    assert.equal(posted[0], 'volumeHeader');
    assert.equal(posted[posted.length - 1], 'volumeDone');
  });

  it('a decode error reaches the webview as the last message', async () => {
    const web = slowWebview();
    const stream = new SlabStream({ post: (m) => web.post(m) });
    const load = new VolumeLoad({ name: 'cut.nii', read: async () => new Uint8Array(400), decode: decodeNifti });
    load.subscribe(stream);
    await load.done.catch(() => {});
    while ((await web.deliverAll()) > 0);
    const last = web.posted[web.posted.length - 1]!;
    assert.equal(last.type, 'volumeError');
    assert.match((last as { message: string }).message, /^NotNifti: sizeof_hdr is not 348/);
  });
});
