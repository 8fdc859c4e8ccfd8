// Window/level for display: the presets come from src/core/volume (one set of numbers for the viewer and the
// model's input windows); here is only what the mouse and a fresh volume need.

import { applyWindow, WINDOW_PRESETS, WindowPreset, WindowPresetId } from '../../src/core/volume/windows';
import type { ViewerVolume } from './volume';

export { applyWindow, WINDOW_PRESETS };
export type { WindowPreset, WindowPresetId };

export interface WindowLevel {
  center: number;
  width: number;
}

export const MIN_WINDOW_WIDTH = 1e-6;

/**
 * Right-drag: right widens the window, left narrows it (multiplicatively, so the same gesture works for a 80 HU
 * brain window and a 2000 HU bone window); down raises the level, up lowers it, by a fraction of the width.
 */
export function dragWindow(start: WindowLevel, dx: number, dy: number): WindowLevel {
  const width = Math.max(MIN_WINDOW_WIDTH, start.width * Math.exp(dx / 200));
  const center = start.center + (dy / 200) * start.width;
  return { center, width };
}

/** 8-bit gray of a value through a window (0..255). */
export function windowGray(value: number, w: WindowLevel): number {
  return Math.round(applyWindow(value, w.center, w.width) * 255);
}

/**
 * The window a freshly opened volume starts with: for CT (values in HU) the user's preferred preset when one is set
 * (`ctlens.viewer.windowPreset`); else the header's cal_min/cal_max when set; for CT the soft-tissue preset, which
 * shows soft tissue and bone of any body part; otherwise the range seen so far.
 */
export function initialWindow(
  volume: Pick<ViewerVolume, 'header' | 'looksLikeCT' | 'min' | 'max'>,
  preferred?: WindowPresetId,
): { window: WindowLevel; preset: WindowPresetId | null } {
  const wanted = preferred && volume.looksLikeCT ? WINDOW_PRESETS.find((q) => q.id === preferred) : undefined;
  if (wanted) return { window: { center: wanted.center, width: wanted.width }, preset: wanted.id };
  const { calMin, calMax } = volume.header;
  if (Number.isFinite(calMin) && Number.isFinite(calMax) && calMax > calMin) {
    return { window: { center: (calMin + calMax) / 2, width: calMax - calMin }, preset: null };
  }
  if (volume.looksLikeCT) {
    const p = WINDOW_PRESETS.find((q) => q.id === 'soft-tissue')!;
    return { window: { center: p.center, width: p.width }, preset: p.id };
  }
  const lo = Number.isFinite(volume.min) ? volume.min : 0;
  const hi = Number.isFinite(volume.max) ? volume.max : 1;
  return { window: { center: (lo + hi) / 2, width: Math.max(MIN_WINDOW_WIDTH, hi - lo) }, preset: null };
}

/** The preset a window equals, if any (so the toolbar can highlight it). */
export function presetOf(w: WindowLevel): WindowPresetId | null {
  const p = WINDOW_PRESETS.find((q) => Math.abs(q.center - w.center) < 1e-9 && Math.abs(q.width - w.width) < 1e-9);
  return p ? p.id : null;
}
