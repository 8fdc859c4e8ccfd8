// Voxel → world (RAS+ mm) affines from NIfTI header fields, and the axis codes of an affine, computed the way
// nibabel 5 does (nifti1.py get_best_affine / get_qform / get_sform, volumeutils.shape_zoom_affine,
// orientations.io_orientation), so `ctlens info` and nibabel agree on every file both accept.
import type { Mat4 } from './types';

const F64_EPS = 2.220446049250313e-16;

/** Row-major 4×4 identity. */
export function identity4(): Mat4 {
  return [
    [1, 0, 0, 0],
    [0, 1, 0, 0],
    [0, 0, 1, 0],
    [0, 0, 0, 1],
  ];
}

// The 4×4 arithmetic below is the one copy that the NIfTI reader, the model's routing grid and the viewer's
// coordinate frames all use (webview/viewer/geometry.ts), so a world position means the same thing everywhere.

export function multiply4(a: Mat4, b: Mat4): Mat4 {
  const out = identity4();
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 4; c++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += a[r]![k]! * b[k]![c]!;
      out[r]![c] = s;
    }
  }
  return out;
}

/** Applies an affine to a voxel index (or any point; only its first three components are read): returns [x, y, z]. */
export function applyAffine(m: Mat4, p: readonly number[]): [number, number, number] {
  const x = p[0]!;
  const y = p[1]!;
  const z = p[2]!;
  return [0, 1, 2].map((r) => m[r]![0]! * x + m[r]![1]! * y + m[r]![2]! * z + m[r]![3]!) as [number, number, number];
}

/** Determinant of an affine's 3×3 linear part (zero: it collapses space, so it cannot be inverted). */
export function linearDeterminant(m: Mat4): number {
  const a = m[0]![0]!, b = m[0]![1]!, c = m[0]![2]!;
  const d = m[1]![0]!, e = m[1]![1]!, f = m[1]![2]!;
  const g = m[2]![0]!, h = m[2]![1]!, i = m[2]![2]!;
  return a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
}

/** Inverse of an affine (last row 0 0 0 1); throws a RangeError on a singular one (callers validate affines first). */
export function invertAffine(m: Mat4): Mat4 {
  const a = m[0]![0]!, b = m[0]![1]!, c = m[0]![2]!;
  const d = m[1]![0]!, e = m[1]![1]!, f = m[1]![2]!;
  const g = m[2]![0]!, h = m[2]![1]!, i = m[2]![2]!;
  const det = linearDeterminant(m);
  if (!Number.isFinite(det) || Math.abs(det) < 1e-300) throw new RangeError('singular affine');
  const r = [
    [(e * i - f * h) / det, (c * h - b * i) / det, (b * f - c * e) / det],
    [(f * g - d * i) / det, (a * i - c * g) / det, (c * d - a * f) / det],
    [(d * h - e * g) / det, (b * g - a * h) / det, (a * e - b * d) / det],
  ];
  const t = [m[0]![3]!, m[1]![3]!, m[2]![3]!];
  const out: Mat4 = r.map((row) => [...row, -(row[0]! * t[0]! + row[1]! * t[1]! + row[2]! * t[2]!)]);
  out.push([0, 0, 0, 1]);
  return out;
}

/** sform: the three srow_* rows as written. */
export function sformAffine(srowX: number[], srowY: number[], srowZ: number[]): Mat4 {
  return [[...srowX], [...srowY], [...srowZ], [0, 0, 0, 1]];
}

/**
 * qform: rotation from the unit quaternion (a filled in from b, c, d as nibabel's fillpositive), times
 * diag(pixdim[1], pixdim[2], qfac * pixdim[3]), plus qoffset. `pixdim` must already be nibabel-fixed (abs, 0 → 1)
 * and `qfac` ±1. Returns null when b² + c² + d² exceeds 1 by more than `w2Threshold` (nibabel raises there).
 */
export function qformAffine(
  quatern: [number, number, number],
  qoffset: [number, number, number],
  pixdim: [number, number, number],
  qfac: 1 | -1,
  w2Threshold: number,
): Mat4 | null {
  const [x, y, z] = quatern;
  const w2 = 1 - (x * x + y * y + z * z);
  let w: number;
  if (w2 < 0) {
    if (w2 < w2Threshold) return null;
    w = 0;
  } else {
    w = Math.sqrt(w2);
  }
  const rot = quaternionToMatrix(w, x, y, z);
  const vox = [pixdim[0], pixdim[1], pixdim[2] * qfac];
  const out = identity4();
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) out[r]![c] = rot[r]![c]! * vox[c]!;
    out[r]![3] = qoffset[r]!;
  }
  return out;
}

function quaternionToMatrix(w: number, x: number, y: number, z: number): number[][] {
  const nq = w * w + x * x + y * y + z * z;
  if (nq < F64_EPS) {
    return [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ];
  }
  const s = 2 / nq;
  const X = x * s;
  const Y = y * s;
  const Z = z * s;
  const wX = w * X;
  const wY = w * Y;
  const wZ = w * Z;
  const xX = x * X;
  const xY = x * Y;
  const xZ = x * Z;
  const yY = y * Y;
  const yZ = y * Z;
  const zZ = z * Z;
  return [
    [1 - (yY + zZ), xY - wZ, xZ + wY],
    [xY + wZ, 1 - (xX + zZ), yZ - wX],
    [xZ - wY, yZ + wX, 1 - (xX + yY)],
  ];
}

/**
 * The fallback affine when neither sform nor qform is coded (nibabel's get_base_affine / shape_zoom_affine):
 * diag(-dx, dy, dz) with the origin at the centre of the volume. For fewer than 3 dims the missing shape and
 * zoom entries are 1.
 */
export function baseAffine(shape: number[], zooms: number[]): Mat4 {
  const s = [1, 1, 1];
  const z = [1, 1, 1];
  for (let a = 0; a < Math.min(3, shape.length); a++) {
    s[a] = shape[a]!;
    z[a] = zooms[a]!;
  }
  z[0] = -z[0]!;
  const out = identity4();
  for (let a = 0; a < 3; a++) {
    out[a]![a] = z[a]!;
    out[a]![3] = 0 - ((s[a]! - 1) / 2) * z[a]!; // `0 - x` keeps +0 where -x would give -0
  }
  return out;
}

/** Voxel axis → world axis (0 = x/R, 1 = y/A, 2 = z/S) and direction, or null for an axis the affine drops. */
export type AxisOrientation = { worldAxis: 0 | 1 | 2; flip: 1 | -1 } | null;

/**
 * nibabel's io_orientation: take the rotation closest to the affine's 3×3 part (polar decomposition through
 * an SVD, after dividing out the column lengths), then assign each voxel axis in turn to the world axis its
 * column points along most, removing that world axis from later choices.
 */
export function ioOrientation(affine: Mat4): [AxisOrientation, AxisOrientation, AxisOrientation] {
  const rs: number[][] = [0, 1, 2].map((r) => [0, 1, 2].map((c) => affine[r]![c]!));
  for (let c = 0; c < 3; c++) {
    let zoom = Math.hypot(rs[0]![c]!, rs[1]![c]!, rs[2]![c]!);
    if (zoom === 0) zoom = 1;
    for (let r = 0; r < 3; r++) rs[r]![c]! /= zoom;
  }
  const rot = closestRotation(rs);
  const out: AxisOrientation[] = [];
  for (let inAx = 0; inAx < 3; inAx++) {
    const col = [rot[0]![inAx]!, rot[1]![inAx]!, rot[2]![inAx]!];
    // numpy.allclose(col, 0): |x| <= 1e-8 for every entry.
    if (col.every((v) => Math.abs(v) <= 1e-8)) {
      out.push(null);
      continue;
    }
    let best = 0;
    for (let r = 1; r < 3; r++) if (Math.abs(col[r]!) > Math.abs(col[best]!)) best = r;
    out.push({ worldAxis: best as 0 | 1 | 2, flip: col[best]! < 0 ? -1 : 1 });
    for (let c = 0; c < 3; c++) rot[best]![c] = 0;
  }
  return out as [AxisOrientation, AxisOrientation, AxisOrientation];
}

const AXIS_LABELS: readonly [string, string][] = [
  ['L', 'R'],
  ['P', 'A'],
  ['I', 'S'],
];

/** Axis codes such as 'LAS' (nibabel's aff2axcodes); '?' marks an axis the affine does not map anywhere. */
export function axisCodes(affine: Mat4): string {
  return ioOrientation(affine)
    .map((o) => (o === null ? '?' : AXIS_LABELS[o.worldAxis]![o.flip > 0 ? 1 : 0]!))
    .join('');
}

/**
 * Closest orthogonal matrix to `a` (3×3), as numpy computes it in io_orientation: SVD a = P·S·Qᵀ, keep the
 * singular values above max(S)·3·eps (rank), R = P_keep·Q_keepᵀ. The SVD is one-sided Jacobi (Hestenes), which
 * gets small singular values to absolute accuracy eps·‖a‖ like LAPACK, so the rank decision matches numpy's.
 */
function closestRotation(a: number[][]): number[][] {
  const u = a.map((row) => [...row]);
  const v = [
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
  ];
  for (let sweep = 0; sweep < 60; sweep++) {
    let rotated = false;
    for (let p = 0; p < 2; p++) {
      for (let q = p + 1; q < 3; q++) {
        let alpha = 0;
        let beta = 0;
        let gamma = 0;
        for (let r = 0; r < 3; r++) {
          alpha += u[r]![p]! * u[r]![p]!;
          beta += u[r]![q]! * u[r]![q]!;
          gamma += u[r]![p]! * u[r]![q]!;
        }
        if (gamma === 0 || Math.abs(gamma) <= F64_EPS * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        for (const m of [u, v]) {
          for (let r = 0; r < 3; r++) {
            const mp = m[r]![p]!;
            const mq = m[r]![q]!;
            m[r]![p] = c * mp - s * mq;
            m[r]![q] = s * mp + c * mq;
          }
        }
      }
    }
    if (!rotated) break;
  }
  const sigma = [0, 1, 2].map((c) => Math.hypot(u[0]![c]!, u[1]![c]!, u[2]![c]!));
  const tol = Math.max(...sigma) * 3 * F64_EPS;
  const out = [
    [0, 0, 0],
    [0, 0, 0],
    [0, 0, 0],
  ];
  for (let i = 0; i < 3; i++) {
    if (!(sigma[i]! > tol)) continue;
    for (let r = 0; r < 3; r++) {
      const pr = u[r]![i]! / sigma[i]!;
      for (let c = 0; c < 3; c++) out[r]![c]! += pr * v[c]![i]!;
    }
  }
  return out;
}

export function isFiniteMatrix(m: Mat4): boolean {
  return m.every((row) => row.every((x) => Number.isFinite(x)));
}
