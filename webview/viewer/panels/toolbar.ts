// The toolbar's controls: layout and window-preset buttons, Overlay…, Reset, the side-panel toggle, the 3D mode and
// the go-to-voxel field.

import type { ViewerLayout } from '../../../src/shared/protocol';
import type { ViewerDom } from '../dom';
import type { VolumeRenderMode } from '../render/webgl';
import type { WindowPresetId } from '../windowing';

export interface ToolbarHost {
  setLayout(layout: ViewerLayout): void;
  applyPreset(id: WindowPresetId): void;
  openOverlay(): void;
  resetView(): void;
  togglePanel(): void;
  setMode3d(mode: VolumeRenderMode): void;
  /** Throws (a RangeError with the reason) when the voxel is not in the volume. */
  goTo(ijk: readonly number[]): void;
}

const GOTO_TITLE = 'Go to voxel i,j,k (file order), then Enter';

export function wireToolbar(dom: ViewerDom, host: ToolbarHost): void {
  for (const b of dom.layoutButtons) b.addEventListener('click', () => host.setLayout(b.dataset.layout as ViewerLayout));
  for (const b of dom.presetButtons) b.addEventListener('click', () => host.applyPreset(b.dataset.preset as WindowPresetId));
  dom.overlayButton.addEventListener('click', () => host.openOverlay());
  dom.resetButton.addEventListener('click', () => host.resetView());
  dom.panelButton.addEventListener('click', () => host.togglePanel());
  dom.mode3d.addEventListener('change', () => host.setMode3d(dom.mode3d.value === 'vr' ? 'vr' : 'mip'));
  const goto = dom.goto;
  goto.addEventListener('keydown', (event) => {
    event.stopPropagation();
    if (event.key !== 'Enter') return;
    const parts = goto.value.split(/[\s,;]+/).filter(Boolean).map(Number);
    try {
      if (parts.length !== 3 || parts.some((p) => !Number.isInteger(p))) throw new RangeError('type three whole numbers: i, j, k');
      host.goTo(parts);
      goto.removeAttribute('aria-invalid');
      goto.title = GOTO_TITLE;
    } catch (error) {
      goto.setAttribute('aria-invalid', 'true');
      goto.title = error instanceof Error ? error.message : String(error);
    }
  });
}
