// Volume tools over decoded NIfTI data: canonical RAS reorientation, scaling to physical values, window presets.
export { axisCodes, canonicalTransform, canonicalToFile, toCanonical, type CanonicalTransform, type CanonicalVolume } from './orientation';
export { valueAt, volumeStats, toFloat32, type ScaledVolume, type VolumeStats } from './scaling';
export { WINDOW_PRESETS, windowPreset, applyWindow, type WindowPreset, type WindowPresetId } from './windows';
