// A whole .nii / .nii.gz decoded in the page and streamed into a viewer as it inflates: the plain page's way in
// (webview/standalone.ts: the browser tests and the benchmark). In VS Code the extension host decodes and the
// webview gets the header and slabs (webview/main.ts), so the decoder stays out of the webview's bundle.

import { decodeNifti } from '../../src/core/nifti/decode';
import type { Viewer } from './api';
import { yieldingInflate } from './yielding-inflate';

/** Decodes `input` into `viewer`, painting slices as they inflate. Rejects after the viewer has shown the error. */
export async function openNifti(
  viewer: Viewer,
  input: Uint8Array | ArrayBuffer,
  name: string,
  options: { signal?: AbortSignal; maxVoxelBytes?: number } = {},
): Promise<void> {
  const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
  viewer.setTitle(name);
  // Contract C3: the page is loading from the first byte, before a header exists.
  viewer.element.dataset.state = 'loading';
  try {
    await decodeNifti(bytes, {
      name,
      inflate: yieldingInflate(),
      signal: options.signal,
      maxVoxelBytes: options.maxVoxelBytes,
      onHeader: (header) => viewer.beginVolume(header, name),
      onSlices: (kStart, kEnd, data) => {
        // The viewer shares the decoder's final array: no second copy of the volume in the page (addSlices of the
        // adopted array records the slices without copying them).
        const volume = viewer.volume;
        if (!volume) return;
        volume.adopt(data);
        viewer.addSlices(kStart, kEnd, data);
      },
    });
    viewer.endVolume();
  } catch (error) {
    viewer.fail(error instanceof Error ? error.message : String(error));
    throw error;
  }
}
