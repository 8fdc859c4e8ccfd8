// Big volumes and many viewers in the extension host (issue 14): a generated 1024×1024×700 int16 .nii (1.37 GiB
// of voxels) read and decoded the way the viewer provider does it — the whole file read (vscode.workspace.fs has no
// partial read), one VolumeLoad, each viewer's subscription the provider's SlabStream copying every slab it sends
// (what crosses to the webview) — measuring the process's peak and settled RSS: one viewer, then ten at once, then
// all closed and the document dropped. Also the refusal below the limit: the same file with ctlens.maxVolumeMB = 1024.
// The webview processes are not measured here (that needs the VS Code harness: test/e2e).
//   npm run bench -- big-volume        (CTLENS_BIG_DIMS=512,512,400 for a smaller run)
// Each scenario runs in its own process so peak RSS is its own.

import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { decodeNifti } from '../src/core/nifti';
import { SlabStream } from '../src/extension/editor/slab-stream';
import { VolumeLoad } from '../src/extension/editor/volume-load';

const ROOT = join(__dirname, '..');
const DIMS = (process.env.CTLENS_BIG_DIMS ?? '1024,1024,700').split(',').map(Number) as [number, number, number];
const FILE = join(ROOT, '.cache', 'bench', `big_${DIMS.join('x')}_int16_v1.nii`);
const MIB = 2 ** 20;

/** A NIfTI-1 int16 volume written slice by slice (never held whole in memory here). */
function generate(path: string): void {
  mkdirSync(join(ROOT, '.cache', 'bench'), { recursive: true });
  const [nx, ny, nz] = DIMS;
  const h = Buffer.alloc(352);
  h.writeInt32LE(348, 0);
  [3, nx, ny, nz, 1, 1, 1, 1].forEach((d, i) => h.writeInt16LE(d, 40 + 2 * i));
  h.writeInt16LE(4, 70); // int16
  h.writeInt16LE(16, 72);
  [1, 0.5, 0.5, 1, 1, 1, 1, 1].forEach((p, i) => h.writeFloatLE(p, 76 + 4 * i));
  h.writeFloatLE(352, 108);
  h.writeFloatLE(1, 112);
  h.writeInt16LE(1, 254); // sform: scanner
  h.writeFloatLE(0.5, 280);
  h.writeFloatLE(0.5, 280 + 20);
  h.writeFloatLE(1, 280 + 40);
  h.write('n+1\0', 344, 'latin1');
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  writeSync(fd, h);
  const slice = new Int16Array(nx * ny);
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        const x = (i - nx / 2) / (nx / 2);
        const y = (j - ny / 2) / (ny / 2);
        slice[j * nx + i] = x * x + y * y < 0.8 ? 40 + ((i * 7 + j * 13 + k) % 50) : -1000;
      }
    }
    writeSync(fd, new Uint8Array(slice.buffer));
  }
  closeSync(fd);
  renameSync(tmp, path);
}

function memory(): { rss: number; hwm: number; buffers: number } {
  const status = readFileSync('/proc/self/status', 'utf8');
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: (kib('VmRSS') * 1024) / MIB, hwm: (kib('VmHWM') * 1024) / MIB, buffers: process.memoryUsage().arrayBuffers / MIB };
}

const gc = (globalThis as { gc?: () => void }).gc;

/** Opens the volume in `viewers` viewers and closes them again; returns what it saw while open. */
async function openAndClose(viewers: number, maxVolumeMB: number): Promise<{ outcome: string; open: ReturnType<typeof memory> }> {
  const t0 = performance.now();
  let load: VolumeLoad | null = new VolumeLoad({
    name: 'big.nii',
    // A Buffer is a Uint8Array: no copy, as vscode.workspace.fs.readFile hands over its bytes.
    read: async () => readFileSync(FILE),
    decode: decodeNifti,
    maxVoxelBytes: maxVolumeMB * MIB,
  });
  let sent = 0;
  const unsubscribe: (() => void)[] = [];
  const streamsDrained: Promise<void>[] = [];
  const subscribeAll = () => {
    for (let v = 0; v < viewers; v++) {
      // What the viewer provider subscribes (slab-stream.ts), to a webview that takes each message at once; the
      // slab copies are the webview's to keep, so they are dropped here.
      let drained!: () => void;
      streamsDrained.push(new Promise<void>((r) => (drained = r)));
      const stream = new SlabStream({
        post: (m) => {
          if (m.type === 'volumeSlices') sent += m.data.byteLength;
        },
        onDrained: () => drained(),
      });
      const stop = load!.subscribe(stream);
      unsubscribe.push(() => {
        stream.close();
        stop();
      });
    }
  };
  subscribeAll();
  let outcome: string;
  try {
    await load.done;
    await Promise.all(streamsDrained); // every slab handed to its "webview"
    outcome = `opened in ${((performance.now() - t0) / 1000).toFixed(1)} s, ${(sent / MIB).toFixed(0)} MiB of slabs sent to ${viewers} viewer(s)`;
  } catch (e) {
    outcome = `refused: ${(e as { message?: string }).message}`;
  }
  // Settled: the read bytes and the slab copies are garbage once the decode has finished (a turn, then a GC).
  await new Promise((r) => setTimeout(r, 100));
  gc?.();
  const open = memory();
  for (const u of unsubscribe) u();
  unsubscribe.length = 0; // each holds its VolumeLoad, as a closed panel's entry would if it were kept
  load.dispose();
  load = null;
  return { outcome, open };
}

async function scenario(viewers: number, maxVolumeMB: number): Promise<void> {
  // Measured after openAndClose has returned: an async function's frame may keep awaited values alive until then.
  const { outcome, open } = await openAndClose(viewers, maxVolumeMB);
  gc?.();
  await new Promise((r) => setTimeout(r, 200));
  gc?.();
  const closed = memory();
  console.log(
    `  ${viewers} viewer(s), maxVolumeMB ${maxVolumeMB}: ${outcome}\n` +
      `    peak RSS ${open.hwm.toFixed(0)} MiB · RSS while open ${open.rss.toFixed(0)} MiB (ArrayBuffers ${open.buffers.toFixed(0)} MiB) · ` +
      `after closing ${closed.rss.toFixed(0)} MiB (ArrayBuffers ${closed.buffers.toFixed(0)} MiB)`,
  );
}

async function main(): Promise<void> {
  const worker = process.argv.indexOf('--scenario');
  if (worker >= 0) {
    const [viewers, limit] = process.argv[worker + 1]!.split(',').map(Number);
    await scenario(viewers!, limit!);
    return;
  }
  if (!existsSync(FILE)) {
    const t = performance.now();
    generate(FILE);
    console.log(`generated ${FILE} in ${((performance.now() - t) / 1000).toFixed(0)} s`);
  }
  const voxelMiB = (DIMS[0] * DIMS[1] * DIMS[2] * 2) / MIB;
  console.log(`big volume: ${DIMS.join('×')} int16, ${voxelMiB.toFixed(0)} MiB of voxels (file read whole, then decoded, as the viewer does)`);
  for (const [viewers, limit] of [[1, 2048], [10, 2048], [1, 1024]]) {
    const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', __filename, '--scenario', `${viewers},${limit}`], {
      cwd: ROOT,
      stdio: 'inherit',
    });
    if (r.status !== 0) console.log(`  scenario ${viewers} viewer(s) / ${limit} MiB failed (exit ${r.status ?? r.signal})`);
  }
}

void main();
