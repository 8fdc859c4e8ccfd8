// Reading the viewer's settings (contributed in package.json) into plain values, with defaults for anything a user
// set to nonsense. The `get` function is VS Code's WorkspaceConfiguration.get, passed in so this stays testable.

import { DEFAULT_MAX_VOXEL_BYTES } from '../../core/nifti/decode';
import { WINDOW_PRESETS, type WindowPresetId } from '../../core/volume/windows';
import { DEFAULT_VIEWER_SETTINGS, ViewerSettings } from '../../shared/protocol';

export type ConfigGet = <T>(key: string) => T | undefined;

const MIB = 1024 * 1024;

export function viewerSettings(get: ConfigGet): ViewerSettings {
  const pick = <T extends string>(key: string, allowed: readonly T[], fallback: T): T => {
    const v = get<string>(key);
    return allowed.includes(v as T) ? (v as T) : fallback;
  };
  return {
    convention: pick('viewer.convention', ['radiological', 'neurological'], DEFAULT_VIEWER_SETTINGS.convention),
    layout: pick('viewer.layout', ['1x3', '2x2', 'single'], DEFAULT_VIEWER_SETTINGS.layout),
    renderer: pick('viewer.renderer', ['auto', 'webgl2', 'canvas2d'], DEFAULT_VIEWER_SETTINGS.renderer),
    windowPreset: pick<WindowPresetId | 'auto'>('viewer.windowPreset', ['auto', ...WINDOW_PRESETS.map((p) => p.id)], 'auto'),
  };
}

/** What a user reads after a TooLarge refusal in VS Code: the setting that sets the limit. */
export const VOLUME_LIMIT_HINT = 'raise the ctlens.maxVolumeMB setting to open it';

/** `ctlens.maxVolumeMB` as the decoder's maxVoxelBytes. */
export function maxVoxelBytes(get: ConfigGet): number {
  const mb = get<number>('maxVolumeMB');
  return typeof mb === 'number' && Number.isFinite(mb) && mb > 0 ? Math.floor(mb * MIB) : DEFAULT_MAX_VOXEL_BYTES;
}
