// The viewer settings (ctlens.viewer.*) as a viewer takes them, by one path: a viewer opens with the settings of the
// host's init reply (viewerOptions), and every `settings` message after that carries all of them again, applied
// against the ones in force (applySettings). A setting that changed takes effect at once, in the open viewer; one
// that did not change leaves alone what the user did with the toolbar (a layout, a window) since.

import type { ViewerSettings } from '../../src/shared/protocol';
import type { Viewer, ViewerOptions } from './api';
import { WINDOW_PRESETS, WindowPresetId } from './windowing';

export type SettingsTarget = Pick<Viewer, 'setConvention' | 'setLayout' | 'setRenderer' | 'setWindowPreset'>;

/** The options of a viewer that opens with these settings. */
export function viewerOptions(settings: ViewerSettings): ViewerOptions {
  return {
    renderer: settings.renderer,
    layout: settings.layout,
    convention: settings.convention,
    windowPreset: presetOf(settings.windowPreset),
  };
}

/** Applies `next` to a viewer whose settings were `previous`; returns the names of the settings that changed. */
export function applySettings(viewer: SettingsTarget, previous: ViewerSettings, next: ViewerSettings): (keyof ViewerSettings)[] {
  const changed: (keyof ViewerSettings)[] = [];
  if (next.renderer !== previous.renderer) {
    viewer.setRenderer(next.renderer);
    changed.push('renderer');
  }
  if (next.convention !== previous.convention) {
    viewer.setConvention(next.convention);
    changed.push('convention');
  }
  if (next.layout !== previous.layout) {
    viewer.setLayout(next.layout);
    changed.push('layout');
  }
  if (presetOf(next.windowPreset) !== presetOf(previous.windowPreset)) {
    // The open volume takes the new window now (as a CT volume opened with it would), and Reset returns to it.
    viewer.setWindowPreset(presetOf(next.windowPreset), { now: true });
    changed.push('windowPreset');
  }
  return changed;
}

/** 'auto' (and anything that is not a preset) means no preferred preset. */
function presetOf(setting: ViewerSettings['windowPreset']): WindowPresetId | undefined {
  return WINDOW_PRESETS.find((p) => p.id === setting)?.id;
}
