// The viewer in a plain page, without VS Code: loads ?file=… (a path relative to the page's server) or a dropped /
// picked file, decodes it in the page and streams slices into the viewer as they inflate. Used for trying the viewer
// in a browser, the headless Chromium tests and the time-to-first-slice benchmark.

import { decodeNifti } from '../src/core/nifti/decode';
import { overlayFromVolume, type OverlayVolume } from '../src/shared/overlay';
import type { ViewerLayout, ViewerRendererChoice } from '../src/shared/protocol';
import { openNifti } from './viewer/open-nifti';
import { createViewer, Viewer } from './viewer/viewer';
import type { WindowPresetId } from './viewer/windowing';

declare global {
  interface Window {
    /** For tests and benchmarks driving the page. */
    ctlViewer?: Viewer;
    ctlStandalone?: { loadOverlay(url: string): Promise<OverlayVolume>; timings: Timings };
  }
}

/** ms since the page's time origin, for the viewer benchmark. */
interface Timings {
  /** The file's bytes are in the page; decoding starts. */
  fetched?: number;
  firstPaint?: number;
  /** firstPaint plus a GPU sync: a pixel read back from every visible view canvas. */
  firstShown?: number;
  loaded?: number;
  /** loaded, then every view drawn at full quality (viewer.settled()) and read back. */
  presented?: number;
}

const params = new URLSearchParams(location.search);
const timings: Timings = {};
const host = document.getElementById('app')!;
const viewer = createViewer(host, {
  renderer: (params.get('renderer') as ViewerRendererChoice | null) ?? 'auto',
  layout: (params.get('layout') as ViewerLayout | null) ?? '1x3',
  convention: params.get('convention') === 'neurological' ? 'neurological' : 'radiological',
});
window.ctlViewer = viewer;
viewer.on('firstPaint', ({ ms }) => {
  timings.firstPaint = ms;
  readBackViews();
  timings.firstShown = performance.now();
});
viewer.on('loaded', ({ ms }) => {
  timings.loaded = ms;
  void viewer.settled().then(() => {
    readBackViews();
    timings.presented = performance.now();
  });
});

/**
 * Reads one pixel of every visible view canvas: the read waits for the GPU work that drew it, so a time taken
 * after it is when the pixels exist, not when the draw calls were queued.
 */
function readBackViews(): void {
  for (const canvas of document.querySelectorAll<HTMLCanvasElement>('.ctl-view canvas')) {
    if (canvas.offsetParent !== null) canvas.getContext('2d')?.getImageData(0, 0, 1, 1);
  }
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`ReadFailed: ${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

async function loadOverlay(url: string): Promise<OverlayVolume> {
  const name = url.split('/').pop() ?? url;
  const volume = await decodeNifti(await fetchBytes(url), { name });
  const overlay = overlayFromVolume(volume, name, name);
  viewer.setOverlay(overlay);
  return overlay;
}
window.ctlStandalone = { loadOverlay, timings };

async function openUrl(url: string): Promise<void> {
  const name = url.split('/').pop() ?? url;
  let bytes: Uint8Array;
  try {
    bytes = await fetchBytes(url);
  } catch (error) {
    viewer.fail(error instanceof Error ? error.message : String(error));
    return;
  }
  timings.fetched = performance.now();
  await openNifti(viewer, bytes, name);
  const preset = params.get('preset');
  if (preset) viewer.applyPreset(preset as WindowPresetId);
  const goto = params.get('goto');
  if (goto) viewer.goTo(goto.split(',').map(Number));
  const overlay = params.get('overlay');
  if (overlay) await loadOverlay(overlay);
}

async function openFile(file: File): Promise<void> {
  await openNifti(viewer, new Uint8Array(await file.arrayBuffer()), file.name).catch(() => {});
}

// Picking or dropping a local file.
const picker = document.createElement('input');
picker.type = 'file';
picker.accept = '.nii,.gz';
picker.addEventListener('change', () => {
  const file = picker.files?.[0];
  if (file) void openFile(file);
});
viewer.on('openOverlay', () => picker.click());
document.addEventListener('dragover', (event) => event.preventDefault());
document.addEventListener('drop', (event) => {
  event.preventDefault();
  const file = event.dataTransfer?.files[0];
  if (file) void openFile(file);
});

const file = params.get('file');
if (file) void openUrl(file).catch((error) => console.error(error));
else viewer.fail('No file: open this page with ?file=path/to/volume.nii.gz, or drop a .nii / .nii.gz file here.');
