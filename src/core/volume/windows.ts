// CT window/level presets as data, shared by the viewer (preset buttons) and anything else that windows HU.
// Values are the usual radiology defaults (level = centre, width in HU); the model's three input windows
// (DESIGN 3.1: lung, soft tissue, bone) are the same numbers.

export type WindowPresetId = 'lung' | 'mediastinum' | 'soft-tissue' | 'bone' | 'brain';

export interface WindowPreset {
  id: WindowPresetId;
  label: string;
  /** Window level (centre), HU. */
  center: number;
  /** Window width, HU. */
  width: number;
}

export const WINDOW_PRESETS: readonly WindowPreset[] = Object.freeze([
  { id: 'lung', label: 'Lung', center: -600, width: 1500 },
  { id: 'mediastinum', label: 'Mediastinum', center: 50, width: 350 },
  { id: 'soft-tissue', label: 'Soft tissue', center: 40, width: 400 },
  { id: 'bone', label: 'Bone', center: 400, width: 1800 },
  { id: 'brain', label: 'Brain', center: 40, width: 80 },
].map((p) => Object.freeze(p as WindowPreset)));

export function windowPreset(id: WindowPresetId): WindowPreset {
  const preset = WINDOW_PRESETS.find((p) => p.id === id);
  if (!preset) throw new RangeError(`unknown window preset '${id}'`);
  return preset;
}

/**
 * Maps a value (HU) through a window to [0, 1]: clip((v - (center - width/2)) / width, 0, 1).
 * Same formula as the model preprocessing (contract C6) so a displayed window and a model channel agree.
 */
export function applyWindow(value: number, center: number, width: number): number {
  const t = (value - (center - width / 2)) / width;
  // Written so NaN (a NaN voxel in a float file) maps to 0 rather than propagating into a texture.
  return t > 0 ? (t < 1 ? t : 1) : 0;
}
