// A set of DICOM images → series (by SeriesInstanceUID), and one series → its voxel grid: slices sorted by
// ImagePositionPatient projected on the slice normal (row × column direction of ImageOrientationPatient), and the
// voxel → world affine in RAS+ mm. DICOM's patient space is LPS (PS3.3 C.7.6.2.1.1), so x and y change sign.
//   column i (along a row)     → rowDirection    × PixelSpacing[1]
//   row j (down the columns)   → columnDirection × PixelSpacing[0]
//   slice k                    → (IPP_last − IPP_first) / (n − 1)
// The third column is the measured step between slice origins, not the normal × thickness: with gantry tilt it is
// sheared, and then every voxel still lands where the scanner put it (dcm2niix resamples instead; we say so).
// Whatever the files do not agree on becomes a notice, or an error when no single volume can be made.
import type { Mat4 } from '../nifti/types';
import { DicomError } from './errors';
import type { DicomImage } from './parse';

export interface SeriesSummary {
  uid: string;
  modality: string;
  seriesNumber: number | null;
  /** SeriesDescription: shown where the user picks a series, never logged. */
  description: string;
  /** Images (files) with pixel data in the series. */
  images: number;
  rows: number;
  columns: number;
  transferSyntax: string;
}

export interface DicomSeries {
  summary: SeriesSummary;
  images: DicomImage[];
}

/** Groups images by SeriesInstanceUID, largest series first. */
export function groupSeries(images: DicomImage[]): DicomSeries[] {
  const byUid = new Map<string, DicomImage[]>();
  for (const im of images) {
    if (!im.pixelData) continue;
    const list = byUid.get(im.seriesInstanceUid) ?? [];
    list.push(im);
    byUid.set(im.seriesInstanceUid, list);
  }
  return [...byUid.entries()]
    .map(([uid, list]) => {
      const first = list[0]!;
      const syntaxes = [...new Set(list.map((i) => i.transferSyntax.name))];
      return {
        images: list,
        summary: {
          uid,
          modality: first.modality,
          seriesNumber: first.seriesNumber,
          description: first.seriesDescription,
          images: list.length,
          rows: first.rows,
          columns: first.columns,
          transferSyntax: syntaxes.join(', '),
        },
      };
    })
    .sort((a, b) => b.images.length - a.images.length || (a.summary.seriesNumber ?? 0) - (b.summary.seriesNumber ?? 0));
}

export interface SeriesGeometry {
  /** The images of the volume, sorted along the slice normal (k = 0 first). */
  slices: DicomImage[];
  /** Voxel (column i, row j, slice k) → RAS+ mm. */
  affine: Mat4;
  /** Lengths of the affine's columns, mm. */
  spacing: [number, number, number];
  /** Things the user must know about this volume (tilt, uneven spacing, left-out images, non-CT …). */
  notices: string[];
}

type Vec3 = [number, number, number];
const dot = (a: Vec3, b: Vec3) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const sub = (a: Vec3, b: Vec3): Vec3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
const scale = (a: Vec3, s: number): Vec3 => [a[0] * s, a[1] * s, a[2] * s];
const norm = (a: Vec3) => Math.hypot(a[0], a[1], a[2]);
const cross = (a: Vec3, b: Vec3): Vec3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
const fmt = (x: number, d = 3) => Number(x.toFixed(d)).toString();

/** Orientation vectors agree within this (direction cosines; scanners write 6+ decimals). */
const ORIENTATION_TOLERANCE = 1e-4;
/** Two slices closer than this along the normal are at the same position, mm. */
const SAME_POSITION_MM = 1e-3;

export function seriesGeometry(images: DicomImage[]): SeriesGeometry {
  if (images.length === 0) throw new DicomError('NoImages', 'the series has no images');
  const notices: string[] = [];
  const first = images[0]!;

  for (const im of images) {
    if (im.samplesPerPixel !== 1 || !/^MONOCHROME[12]$/.test(im.photometric)) {
      throw new DicomError('UnsupportedImage', `${im.file}: ${im.photometric} with ${im.samplesPerPixel} samples per pixel is a colour image, not a CT slice`);
    }
    if (im.frames > 1) {
      throw new DicomError('UnsupportedImage', `${im.file} holds ${im.frames} frames (an enhanced multi-frame object); CT Lens reads series of single-frame images`);
    }
    if (im.rows !== first.rows || im.columns !== first.columns) {
      throw new DicomError('InconsistentSeries', `${im.file} is ${im.columns}×${im.rows} but ${first.file} is ${first.columns}×${first.rows}: one volume needs one image size`);
    }
  }

  // Orientation: images of another orientation than the largest group (localizers kept in the series, usually)
  // are left out with a notice; a series without any orientation is taken as axial and said so.
  let slices = images;
  let iop = first.orientation;
  if (images.some((im) => im.orientation)) {
    const groups: { iop: NonNullable<DicomImage['orientation']>; images: DicomImage[] }[] = [];
    for (const im of images) {
      if (!im.orientation) continue;
      const g = groups.find((x) => x.iop.every((v, n) => Math.abs(v - im.orientation![n]!) < ORIENTATION_TOLERANCE));
      if (g) g.images.push(im);
      else groups.push({ iop: im.orientation, images: [im] });
    }
    groups.sort((a, b) => b.images.length - a.images.length);
    const kept = groups[0]!;
    const left = images.length - kept.images.length;
    if (left > 0) {
      notices.push(
        `Mixed orientations: ${left} of ${images.length} images have another (or no) ImageOrientationPatient than the other ${kept.images.length} and were left out (${groups.length} orientations in the series; localizer images?).`,
      );
    }
    slices = kept.images;
    iop = kept.iop;
  } else {
    notices.push('No ImageOrientationPatient: the slices are taken as axial (rows → patient left, columns → posterior).');
  }
  const row: Vec3 = iop ? [iop[0], iop[1], iop[2]] : [1, 0, 0];
  const col: Vec3 = iop ? [iop[3], iop[4], iop[5]] : [0, 1, 0];
  let normal = cross(row, col);
  const nLen = norm(normal);
  if (!(nLen > 0.5)) throw new DicomError('InconsistentSeries', `${first.file}: ImageOrientationPatient ${iop?.join('\\')} has parallel or zero vectors`);
  normal = scale(normal, 1 / nLen);

  // Sort along the normal; without positions, by InstanceNumber.
  const withPos = slices.every((im) => im.position);
  if (!withPos) {
    notices.push('Some images have no ImagePositionPatient: slices are ordered by InstanceNumber and placed 1 slice-thickness apart; the world positions are guesses.');
    slices = [...slices].sort((a, b) => (a.instanceNumber ?? 0) - (b.instanceNumber ?? 0));
  } else {
    slices = [...slices].sort((a, b) => dot(a.position!, normal) - dot(b.position!, normal) || (a.instanceNumber ?? 0) - (b.instanceNumber ?? 0));
  }
  const n = slices.length;
  const d = withPos ? slices.map((im) => dot(im.position!, normal)) : [];
  if (withPos) {
    const dupes: string[] = [];
    for (let k = 1; k < n; k++) if (d[k]! - d[k - 1]! < SAME_POSITION_MM) dupes.push(`${slices[k - 1]!.file} and ${slices[k]!.file}`);
    if (dupes.length) {
      throw new DicomError(
        'InconsistentSeries',
        `${dupes.length} pairs of images share a slice position (e.g. ${dupes[0]}): several acquisitions, phases or echoes in one series cannot be one volume`,
      );
    }
  }

  const ps = first.pixelSpacing;
  if (!ps || !(ps[0] > 0 && ps[1] > 0)) notices.push('No PixelSpacing: 1 mm pixels assumed; distances are not real.');
  const rowSpacing = ps && ps[0] > 0 ? ps[0] : 1;
  const colSpacing = ps && ps[1] > 0 ? ps[1] : 1;
  if (slices.some((im) => im.pixelSpacing && (Math.abs(im.pixelSpacing[0] - rowSpacing) > 1e-4 || Math.abs(im.pixelSpacing[1] - colSpacing) > 1e-4))) {
    throw new DicomError('InconsistentSeries', 'the images have different PixelSpacing: one volume needs one pixel size');
  }

  let step: Vec3;
  const thickness = first.spacingBetweenSlices ?? first.sliceThickness ?? 1;
  if (withPos && n > 1) {
    step = scale(sub(slices[n - 1]!.position!, slices[0]!.position!), 1 / (n - 1));
    const mean = (d[n - 1]! - d[0]!) / (n - 1);
    const gaps = d.slice(1).map((x, k) => x - d[k]!);
    const sorted = [...gaps].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    const tolerance = Math.max(0.01, 0.01 * median);
    const missing = gaps.map((g, k) => ({ g, k })).filter(({ g }) => g > 1.5 * median);
    if (missing.length) {
      const slicesMissing = missing.reduce((s, { g }) => s + Math.round(g / median) - 1, 0);
      const at = missing.slice(0, 3).map(({ g, k }) => `${fmt(g)} mm after slice ${k}`).join(', ');
      notices.push(
        `Missing slices: ${missing.length} gap${missing.length > 1 ? 's' : ''} in the slice positions (${at}; the usual step is ${fmt(median)} mm), about ${slicesMissing} slice${slicesMissing === 1 ? '' : 's'} absent. The volume spaces its ${n} slices evenly at ${fmt(mean)} mm, so positions between the gaps are off.`,
      );
    } else if (sorted[sorted.length - 1]! - sorted[0]! > tolerance) {
      const worst = Math.max(...d.map((x, k) => Math.abs(x - (d[0]! + k * mean))));
      notices.push(
        `Uneven slice spacing: steps from ${fmt(sorted[0]!)} to ${fmt(sorted[sorted.length - 1]!)} mm. The volume spaces the slices evenly at ${fmt(mean)} mm; a slice is off its true position by up to ${fmt(worst)} mm.`,
      );
    }
    // Gantry tilt: the step between slice origins leaves the normal.
    const along = dot(step, normal);
    const angle = (Math.acos(Math.min(1, Math.abs(along) / norm(step))) * 180) / Math.PI;
    if (angle > 0.05) {
      const tag = first.gantryTilt !== null && first.gantryTilt !== 0 ? ` (GantryDetectorTilt ${fmt(first.gantryTilt, 2)}°)` : '';
      notices.push(
        `Gantry tilt of ${fmt(angle, 2)}°${tag}: the slices are sheared against each other. The affine carries the shear, so every voxel is at its true position, but the slice views show the slices as acquired (not resampled, unlike dcm2niix's _Tilt_ output).`,
      );
    }
  } else {
    step = scale(normal, thickness);
    if (n === 1) notices.push(`A single slice: its thickness (${fmt(thickness)} mm) is used as the slice spacing.`);
  }

  const origin: Vec3 = withPos ? slices[0]!.position! : [0, 0, 0];
  const c0 = scale(row, colSpacing);
  const c1 = scale(col, rowSpacing);
  // LPS → RAS: negate x and y of every column and of the origin.
  const affine: Mat4 = [
    [-c0[0], -c1[0], -step[0], -origin[0]],
    [-c0[1], -c1[1], -step[1], -origin[1]],
    [c0[2], c1[2], step[2], origin[2]],
    [0, 0, 0, 1],
  ];
  const modalities = [...new Set(slices.map((im) => im.modality || '(none)'))];
  if (modalities.length !== 1 || modalities[0] !== 'CT') {
    notices.push(`Modality ${modalities.join(', ')}, not CT: the values are not Hounsfield units, and the model was trained on CT only.`);
  }
  return { slices, affine, spacing: [norm(c0), norm(c1), norm(step)], notices };
}
