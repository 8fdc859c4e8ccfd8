// Coordinate systems of the viewer and the maps between them. Pure math: no DOM, no WebGL, unit-tested in Node.
//
//   file voxel  (i, j, k)   index into the decoded array, i fastest (the NIfTI file's own axes)
//   display     (r, a, s)   the canonical RAS voxel grid (nibabel's as_closest_canonical: the file axes permuted and
//                           flipped so r grows to the patient's Right, a to Anterior, s to Superior; no resampling)
//   world       (x, y, z)   mm, RAS+, through the header affine
//   screen      (x, y)      CSS pixels inside one view, y down
//
// The views are planes of the display grid, so every displayed pixel is an exact voxel of the file and the readout
// never interpolates; world positions (readout in mm, overlays with their own affine) go through the affine.

import { applyAffine, invertAffine, multiply4 } from '../../src/core/nifti/affine';
import type { Mat4, NiftiHeader } from '../../src/core/nifti/types';
import { canonicalTransform } from '../../src/core/volume/orientation';

export type Vec3 = [number, number, number];
export type SliceView = 'axial' | 'coronal' | 'sagittal';
export const SLICE_VIEWS: readonly SliceView[] = ['axial', 'coronal', 'sagittal'];
export type Convention = 'radiological' | 'neurological';

// ------------------------------------------------------------------ 4×4 affines (row-major, last row 0 0 0 1)
// Multiply, apply and invert are the core's (src/core/nifti/affine.ts), shared with the NIfTI reader and the model.

/** Scales (and shifts) rows: out = diag(s)·m + t, a common step from voxel to texture coordinates. */
function scaleRows(m: Mat4, s: Vec3, t: Vec3): Mat4 {
  return m.map((row, r) => (r < 3 ? row.map((v, c) => v * s[r]! + (c === 3 ? t[r]! : 0)) : [...row]));
}

// ------------------------------------------------------------------ the display frame of a volume

/** For each display axis (R, A, S): the file axis it reads and whether the index runs backwards. */
export type CanonicalAxes = [DisplayAxis, DisplayAxis, DisplayAxis];
export interface DisplayAxis {
  fileAxis: 0 | 1 | 2;
  flip: boolean;
}

export interface DisplayFrame {
  fileDims: Vec3;
  /** Display voxel counts along R, A, S. */
  dims: Vec3;
  /** Display voxel sizes in mm along R, A, S (lengths of the affine's columns). */
  spacing: Vec3;
  axes: CanonicalAxes;
  /** display → file voxel. */
  displayToFile: Mat4;
  fileToDisplay: Mat4;
  /** file voxel → world mm (the header affine). */
  fileToWorld: Mat4;
  worldToFile: Mat4;
  displayToWorld: Mat4;
  worldToDisplay: Mat4;
}

export function displayFrame(fileDims: Vec3, affine: Mat4, axes: CanonicalAxes): DisplayFrame {
  const P: Mat4 = [
    [0, 0, 0, 0],
    [0, 0, 0, 0],
    [0, 0, 0, 0],
    [0, 0, 0, 1],
  ];
  axes.forEach((a, d) => {
    P[a.fileAxis]![d] = a.flip ? -1 : 1;
    P[a.fileAxis]![3] = a.flip ? fileDims[a.fileAxis] - 1 : 0;
  });
  const norms = [0, 1, 2].map((c) => Math.hypot(affine[0]![c]!, affine[1]![c]!, affine[2]![c]!) || 1);
  const displayToWorld = multiply4(affine, P);
  return {
    fileDims: [...fileDims],
    dims: axes.map((a) => fileDims[a.fileAxis]) as Vec3,
    spacing: axes.map((a) => norms[a.fileAxis]!) as Vec3,
    axes,
    displayToFile: P,
    fileToDisplay: invertAffine(P),
    fileToWorld: affine,
    worldToFile: invertAffine(affine),
    displayToWorld,
    worldToDisplay: invertAffine(displayToWorld),
  };
}

/**
 * The display frame of a header: canonical axes from the core's orientation rule (src/core/volume, the same one the
 * model preprocessing uses), so the viewer shows exactly the orientation the model sees.
 */
export function displayFrameOf(header: Pick<NiftiHeader, 'affine' | 'dims' | 'spacing'>): DisplayFrame {
  const t = canonicalTransform(header);
  const axes = [0, 1, 2].map((a) => ({ fileAxis: t.fileAxis[a] as 0 | 1 | 2, flip: t.flip[a]! })) as CanonicalAxes;
  return displayFrame(header.dims, header.affine, axes);
}

/** File voxel (i, j, k) of a display voxel; integer in, integer out. */
export function displayToFileIndex(frame: DisplayFrame, d: readonly number[]): Vec3 {
  const out: Vec3 = [0, 0, 0];
  frame.axes.forEach((a, axis) => {
    out[a.fileAxis] = a.flip ? frame.fileDims[a.fileAxis] - 1 - d[axis]! : d[axis]!;
  });
  return out;
}

export function fileToDisplayIndex(frame: DisplayFrame, f: readonly number[]): Vec3 {
  const out: Vec3 = [0, 0, 0];
  frame.axes.forEach((a, axis) => {
    out[axis] = a.flip ? frame.fileDims[a.fileAxis] - 1 - f[a.fileAxis]! : f[a.fileAxis]!;
  });
  return out;
}

// ------------------------------------------------------------------ slice views on screen

/** How a slice view lays the display grid on screen. */
export interface ViewAxes {
  /** Display axis along screen x, along screen y, and the slice normal. */
  h: 0 | 1 | 2;
  v: 0 | 1 | 2;
  n: 0 | 1 | 2;
  /** +1: the display index grows to the right (h) / downwards (v); -1: the other way. */
  hSign: 1 | -1;
  vSign: 1 | -1;
  /** Orientation letters at the left, right, top and bottom edges. */
  labels: { left: string; right: string; top: string; bottom: string };
}

/**
 * Radiological convention: the patient's right on the screen's left (as if facing the patient, or looking up from
 * the feet in axial views); neurological: the patient's right on the right. Anterior is up in axial views, superior
 * up in coronal and sagittal ones, and anterior to the left in sagittal views in both conventions.
 */
export function viewAxes(view: SliceView, convention: Convention): ViewAxes {
  const rightOnLeft = convention === 'radiological';
  const lr = rightOnLeft
    ? { hSign: -1 as const, left: 'R', right: 'L' }
    : { hSign: 1 as const, left: 'L', right: 'R' };
  switch (view) {
    case 'axial':
      return { h: 0, v: 1, n: 2, hSign: lr.hSign, vSign: -1, labels: { left: lr.left, right: lr.right, top: 'A', bottom: 'P' } };
    case 'coronal':
      return { h: 0, v: 2, n: 1, hSign: lr.hSign, vSign: -1, labels: { left: lr.left, right: lr.right, top: 'S', bottom: 'I' } };
    case 'sagittal':
      return { h: 1, v: 2, n: 0, hSign: -1, vSign: -1, labels: { left: 'A', right: 'P', top: 'S', bottom: 'I' } };
  }
}

/** Pan and zoom of one view. */
export interface ViewPort {
  /** CSS pixels. */
  width: number;
  height: number;
  /** 1 = the whole slice fits the view. */
  zoom: number;
  /** Display coordinates (along h, v) shown at the view's centre. */
  centerH: number;
  centerV: number;
}

export function defaultViewPort(frame: DisplayFrame, axes: ViewAxes, width: number, height: number): ViewPort {
  return {
    width,
    height,
    zoom: 1,
    centerH: (frame.dims[axes.h] - 1) / 2,
    centerV: (frame.dims[axes.v] - 1) / 2,
  };
}

/** At zoom 1 the slice fills this fraction of the view, leaving room for the orientation letters. */
export const FIT_FRACTION = 0.92;

/** Screen pixels per mm: the slice's physical extent fitted into the view, times the zoom. */
export function pixelsPerMm(frame: DisplayFrame, axes: ViewAxes, port: ViewPort): number {
  const wmm = frame.dims[axes.h] * frame.spacing[axes.h];
  const hmm = frame.dims[axes.v] * frame.spacing[axes.v];
  return Math.min(port.width / wmm, port.height / hmm) * FIT_FRACTION * port.zoom;
}

/**
 * The affine map screen (x, y, 0) → display (r, a, s) of a view showing slice `slice` along its normal, as a 4×4
 * matrix (the z column is zero). Equal pixels on screen are equal mm along both axes: physical aspect.
 */
export function screenToDisplayMatrix(frame: DisplayFrame, axes: ViewAxes, port: ViewPort, slice: number): Mat4 {
  const ppm = pixelsPerMm(frame, axes, port);
  const m: Mat4 = [
    [0, 0, 0, 0],
    [0, 0, 0, 0],
    [0, 0, 0, 0],
    [0, 0, 0, 1],
  ];
  const kh = axes.hSign / (ppm * frame.spacing[axes.h]);
  const kv = axes.vSign / (ppm * frame.spacing[axes.v]);
  m[axes.h]![0] = kh;
  m[axes.h]![3] = port.centerH - kh * (port.width / 2);
  m[axes.v]![1] = kv;
  m[axes.v]![3] = port.centerV - kv * (port.height / 2);
  m[axes.n]![3] = slice;
  return m;
}

export function screenToDisplay(frame: DisplayFrame, axes: ViewAxes, port: ViewPort, slice: number, x: number, y: number): Vec3 {
  return applyAffine(screenToDisplayMatrix(frame, axes, port, slice), [x, y, 0]);
}

/** Screen position of a display point (its component along the normal is ignored). */
export function displayToScreen(frame: DisplayFrame, axes: ViewAxes, port: ViewPort, d: readonly number[]): [number, number] {
  const ppm = pixelsPerMm(frame, axes, port);
  const x = port.width / 2 + ((d[axes.h]! - port.centerH) * ppm * frame.spacing[axes.h]) / axes.hSign;
  const y = port.height / 2 + ((d[axes.v]! - port.centerV) * ppm * frame.spacing[axes.v]) / axes.vSign;
  return [x, y];
}

/**
 * Zooms by `factor` keeping the display point under screen (x, y) fixed (mouse-wheel zoom towards the cursor).
 */
export function zoomAt(frame: DisplayFrame, axes: ViewAxes, port: ViewPort, factor: number, x: number, y: number): ViewPort {
  const before = screenToDisplay(frame, axes, port, 0, x, y);
  const zoom = Math.min(64, Math.max(0.25, port.zoom * factor));
  const next = { ...port, zoom };
  const after = screenToDisplay(frame, axes, next, 0, x, y);
  return {
    ...next,
    centerH: next.centerH + before[axes.h] - after[axes.h],
    centerV: next.centerV + before[axes.v] - after[axes.v],
  };
}

/** Moves the view so the content follows a drag of (dx, dy) screen pixels. */
export function panBy(frame: DisplayFrame, axes: ViewAxes, port: ViewPort, dx: number, dy: number): ViewPort {
  const ppm = pixelsPerMm(frame, axes, port);
  return {
    ...port,
    centerH: port.centerH - (dx * axes.hSign) / (ppm * frame.spacing[axes.h]),
    centerV: port.centerV - (dy * axes.vSign) / (ppm * frame.spacing[axes.v]),
  };
}

/**
 * Texture coordinates for a WebGL draw: normalised device coordinates of a full-view quad (x, y in [-1, 1], y up)
 * → file texture coordinates ((i + 0.5) / nx, …), through screen → display → file. One matrix, so the vertex
 * shader does one multiply and the interpolated varying is exact.
 */
export function ndcToFileTexMatrix(frame: DisplayFrame, axes: ViewAxes, port: ViewPort, slice: number): Mat4 {
  const screenToFile = multiply4(frame.displayToFile, screenToDisplayMatrix(frame, axes, port, slice));
  const toTex = scaleRows(screenToFile, frame.fileDims.map((n) => 1 / n) as Vec3, frame.fileDims.map((n) => 0.5 / n) as Vec3);
  return multiply4(toTex, ndcToScreenMatrix(port));
}

/** NDC (x, y in [-1, 1], y up) → screen pixels (y down). */
export function ndcToScreenMatrix(port: { width: number; height: number }): Mat4 {
  return [
    [port.width / 2, 0, 0, port.width / 2],
    [0, -port.height / 2, 0, port.height / 2],
    [0, 0, 1, 0],
    [0, 0, 0, 1],
  ];
}

/** Display voxel of the base volume → voxel of another volume (an overlay) through world space. */
export function displayToOtherVoxel(frame: DisplayFrame, otherAffine: Mat4): Mat4 {
  return multiply4(invertAffine(otherAffine), frame.displayToWorld);
}

/** Like ndcToFileTexMatrix for a volume with its own affine and dims, reached through world space. */
export function ndcToOtherTexMatrix(
  frame: DisplayFrame,
  axes: ViewAxes,
  port: ViewPort,
  slice: number,
  otherAffine: Mat4,
  otherDims: Vec3,
): Mat4 {
  const screenToOther = multiply4(displayToOtherVoxel(frame, otherAffine), screenToDisplayMatrix(frame, axes, port, slice));
  const toTex = scaleRows(screenToOther, otherDims.map((n) => 1 / n) as Vec3, otherDims.map((n) => 0.5 / n) as Vec3);
  return multiply4(toTex, ndcToScreenMatrix(port));
}

/** Clamps a display index into the grid and rounds it to a voxel. */
export function clampDisplayIndex(frame: DisplayFrame, d: readonly number[]): Vec3 {
  return [0, 1, 2].map((a) => Math.min(frame.dims[a]! - 1, Math.max(0, Math.round(d[a]!)))) as Vec3;
}

export function insideDisplay(frame: DisplayFrame, d: readonly number[]): boolean {
  return [0, 1, 2].every((a) => d[a]! > -0.5 && d[a]! < frame.dims[a]! - 0.5);
}
