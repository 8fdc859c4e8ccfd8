// NiiVue beside the CT Lens viewer in bench/viewer.bench.ts: fetches ?file=…, then times in the page what the
// benchmark times for CT Lens (webview/standalone.ts), in NiiVue's multiplanar 2×2 layout with its 3D render tile.
// Plain JavaScript loading NiiVue's self-contained ES module bundle, so the project typechecks without NiiVue
// (the benchmark's NiiVue rows are optional).
import { MULTIPLANAR_TYPE, Niivue, NVImage, SHOW_RENDER, SLICE_TYPE } from '../../node_modules/@niivue/niivue/dist/index.js';

/** ms since the page's time origin, named as in webview/standalone.ts's timings. */
const timings = {};
const state = { timings, error: undefined, nv: undefined, ready: undefined, redraw, step };
window.nvBench = state;

const nv = new Niivue({
  sliceType: SLICE_TYPE.MULTIPLANAR,
  multiplanarLayout: MULTIPLANAR_TYPE.GRID,
  multiplanarShowRender: SHOW_RENDER.ALWAYS,
  isResizeCanvas: true,
  dragAndDropEnabled: false,
});
state.nv = nv;

/** One pixel read back: waits for the GPU work that drew the frame (as readBackViews does for CT Lens). */
function readBack() {
  const gl = nv.gl;
  gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, new Uint8Array(4));
}

/** Median ms of `reps` calls of `act` (each draws synchronously), each followed by a read-back. */
function medianOf(reps, act) {
  const times = [];
  for (let n = 0; n < reps; n++) {
    const t0 = performance.now();
    act(n);
    readBack();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

/** All four tiles redrawn, warm. */
function redraw(reps) {
  return medianOf(reps, () => nv.drawScene());
}

/** The axial slice one up / one down (NiiVue's arrow-key step); moveCrosshairInVox redraws the scene itself. */
function step(reps) {
  return medianOf(reps, (n) => nv.moveCrosshairInVox(0, 0, n % 2 ? -1 : 1));
}

async function open(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  const buffer = await response.arrayBuffer();
  timings.fetched = performance.now();
  // What nv.loadFromArrayBuffer does (NVImage.loadFromUrl with the bytes, then addVolume; less its document
  // bookkeeping), split to time the decode.
  const name = url.split('/').pop();
  const volume = await NVImage.loadFromUrl({ url: name, name, buffer });
  timings.loaded = performance.now();
  // Also on the console: the first draw can block the page past the benchmark's limit, and then only this gets out.
  console.info(`nvBench decoded ${timings.loaded - timings.fetched}`);
  // addVolume uploads the volume and draws every tile synchronously: NiiVue's first frame is also its full one.
  nv.addVolume(volume);
  readBack();
  timings.firstShown = performance.now();
  timings.presented = timings.firstShown;
}

state.ready = (async () => {
  await nv.attachToCanvas(document.getElementById('gl'));
  const file = new URLSearchParams(location.search).get('file');
  if (file) await open(file);
})().catch((error) => {
  state.error = String(error?.stack ?? error);
});
