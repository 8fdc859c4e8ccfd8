"""Procedural chest CT phantoms (DESIGN 3.6): anatomy, findings and Hounsfield units.

A phantom is built on a canonical RAS grid (array index i → patient right, j → anterior, k → superior; voxel
centres symmetric about the origin) from a random generator, in three steps:

1. anatomy as a tissue label map (``TISSUE`` ids): body wall (skin/fat/muscle), ribs, sternum and spine, lungs
   split into five lobes by an oblique and a horizontal fissure, heart in its pericardial fat, aorta (ascending,
   arch, descending), trachea and main bronchi, mediastinal fat, normal-sized lymph nodes, liver and stomach
   under domed hemidiaphragms;
2. findings drawn at random with their ground-truth attributes (``FINDINGS``), painted into the same label map
   (nodule in a lobe with a diameter in mm, pleural fluid on a side, enlarged heart, pericardial fluid, low
   attenuation emphysema, lobar consolidation with air bronchograms, arterial wall calcifications, enlarged
   mediastinal or hilar nodes);
3. Hounsfield units per tissue (``HU``: air −1000, lung −850 with a gravity gradient and vessels, fat −100, soft
   tissue and blood 40, liver 60, fluid 10, bone 700 and more), a light partial-volume blur and Gaussian noise.

Every size is in millimetres, so the anatomy keeps its proportions whatever the grid size and spacing. Lengths
along z are expressed through ``u`` = z / (half the scanned length), −1 at the bottom slice, +1 at the top one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

# Tissue ids of the label map. The HU model of each lives in HU below.
TISSUE = {
    "air": 0,
    "fat": 1,
    "muscle": 2,
    "lung": 3,
    "bone": 4,
    "heart": 5,
    "blood": 6,  # aorta lumen (non-contrast: same density as the heart's blood pool)
    "liver": 7,
    "pleural_fluid": 8,
    "pericardial_fluid": 9,
    "airway": 10,
    "nodule": 11,
    "consolidation": 12,
    "emphysema": 13,
    "calcification": 14,
    "lymph_node": 15,
    "csf": 16,
    "soft_tissue": 17,  # stomach wall, spleen, oesophagus, intervertebral discs
    "fissure": 18,
    "vessel": 19,  # pulmonary vessels inside the lungs
}

# Mean HU and within-tissue texture SD (before noise) of each tissue.
HU = {
    "air": (-1000.0, 0.0),
    "fat": (-100.0, 8.0),
    "muscle": (45.0, 6.0),
    "lung": (-850.0, 12.0),  # plus a ±35 HU anterior-posterior gravity gradient
    "bone": (780.0, 50.0),  # cancellous body; the cortical shell is brighter
    "heart": (40.0, 5.0),
    "blood": (40.0, 4.0),
    "liver": (60.0, 5.0),
    "pleural_fluid": (10.0, 4.0),
    "pericardial_fluid": (12.0, 4.0),
    "airway": (-1000.0, 0.0),
    "nodule": (35.0, 8.0),
    "consolidation": (30.0, 10.0),
    "emphysema": (-975.0, 6.0),
    "calcification": (1100.0, 120.0),
    "lymph_node": (40.0, 5.0),
    "csf": (10.0, 3.0),
    "soft_tissue": (40.0, 6.0),
    "fissure": (-650.0, 20.0),
    "vessel": (40.0, 8.0),
}

LOBES = {"right upper lobe": 1, "right middle lobe": 2, "right lower lobe": 3, "left upper lobe": 4, "left lower lobe": 5}
LOBE_NAMES = {v: k for k, v in LOBES.items()}

# The eight findings of the benchmark, in report order.
FINDINGS = (
    "lung_nodule",
    "pleural_effusion",
    "cardiomegaly",
    "pericardial_effusion",
    "emphysema",
    "consolidation",
    "arterial_calcification",
    "lymphadenopathy",
)

# Prior probability of each finding (independent draws; about 10% of cases are forced normal).
PREVALENCE = {
    "lung_nodule": 0.4,
    "pleural_effusion": 0.3,
    "cardiomegaly": 0.3,
    "pericardial_effusion": 0.2,
    "emphysema": 0.3,
    "consolidation": 0.3,
    "arterial_calcification": 0.35,
    "lymphadenopathy": 0.25,
}
NORMAL_FRACTION = 0.1


@dataclass
class Phantom:
    """One generated case on its canonical RAS grid."""

    hu: np.ndarray  # float32 [nx, ny, nz], Hounsfield units after blur and noise
    tissue: np.ndarray  # uint8 [nx, ny, nz], TISSUE ids
    lobes: np.ndarray  # uint8 [nx, ny, nz], LOBES ids of lung voxels (0 elsewhere)
    spacing: tuple[float, float, float]  # mm along i, j, k
    labels: dict  # finding → False or True or a dict of attributes (see draw_findings)
    geometry: dict = field(default_factory=dict)  # anatomical landmarks in mm (for tests and VQA)
    # uint8 [nx, ny, nz]: bit j set where finding FINDINGS[j] covers the voxel (``finding_map``); None for a phantom
    # built by hand. Why a map of its own: the tissue map cannot tell an enlarged lymph node from a normal one.
    findings: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.hu.shape)  # type: ignore[return-value]

    def world(self, ijk) -> np.ndarray:
        """Canonical voxel index → mm in the phantom's centred frame."""
        n = np.asarray(self.shape, dtype=np.float64)
        return (np.asarray(ijk, dtype=np.float64) - (n - 1) / 2) * np.asarray(self.spacing)


class _Grid:
    """Voxel-centre coordinates in mm, broadcastable ([nx,1,1], [1,ny,1], [1,1,nz])."""

    def __init__(self, shape, spacing):
        self.shape = tuple(shape)
        self.spacing = tuple(float(s) for s in spacing)
        nx, ny, nz = self.shape
        sx, sy, sz = self.spacing
        self.x = ((np.arange(nx, dtype=np.float32) - (nx - 1) / 2) * sx).reshape(nx, 1, 1)
        self.y = ((np.arange(ny, dtype=np.float32) - (ny - 1) / 2) * sy).reshape(1, ny, 1)
        self.z = ((np.arange(nz, dtype=np.float32) - (nz - 1) / 2) * sz).reshape(1, 1, nz)
        self.half_z = (nz * sz) / 2  # u = z / half_z

    def box(self, center, radius):
        """Index slices of the axis-aligned box around center ± radius (mm), clipped to the grid."""
        out = []
        for axis, (c, r) in enumerate(zip(center, radius)):
            n, s = self.shape[axis], self.spacing[axis]
            lo = int(np.floor((c - r) / s + (n - 1) / 2))
            hi = int(np.ceil((c + r) / s + (n - 1) / 2)) + 1
            out.append(slice(max(lo, 0), min(max(hi, 0), n)))
        return tuple(out)

    def coords(self, box):
        return self.x[box[0], :, :], self.y[:, box[1], :], self.z[:, :, box[2]]


def _interp_matrix(n: int, c: int) -> np.ndarray:
    """[n, c] linear interpolation weights from c coarse samples to n fine ones (cell-centred, clamped)."""
    pos = np.clip((np.arange(n) + 0.5) * c / n - 0.5, 0, c - 1)
    lo = np.minimum(np.floor(pos).astype(int), c - 1)
    hi = np.minimum(lo + 1, c - 1)
    w = (pos - lo).astype(np.float32)
    m = np.zeros((n, c), np.float32)
    m[np.arange(n), lo] += 1 - w
    m[np.arange(n), hi] += w
    return m


def _smooth_field(rng, shape, coarse):
    """Smooth random field (unit-variance coarse Gaussian noise, trilinearly upsampled to shape).

    Separable matrix products instead of scipy.ndimage.zoom: ten times faster on 128×128×64.
    """
    small = rng.standard_normal(coarse).astype(np.float32)
    m0, m1, m2 = (_interp_matrix(n, c) for n, c in zip(shape, coarse))
    out = np.tensordot(m0, small, axes=(1, 0))  # [n0, c1, c2]
    out = np.tensordot(out, m1, axes=(1, 1))  # [n0, c2, n1]
    out = np.tensordot(out, m2, axes=(1, 1))  # [n0, n1, n2]
    return np.ascontiguousarray(out)


def _ellipsoid(grid, box, center, radii, rot_xy=0.0):
    """Mask of an ellipsoid (optionally rotated about z) evaluated inside box."""
    x, y, z = grid.coords(box)
    dx, dy, dz = x - center[0], y - center[1], z - center[2]
    if rot_xy:
        c, s = np.cos(rot_xy), np.sin(rot_xy)
        dx, dy = c * dx + s * dy, -s * dx + c * dy
    return (dx / radii[0]) ** 2 + (dy / radii[1]) ** 2 + (dz / radii[2]) ** 2 <= 1.0


def _paint_ellipsoid(grid, label, tissue_id, center, radii, rot_xy=0.0, where=None):
    r = max(radii) * 1.01
    box = grid.box(center, (r, r, r))
    m = _ellipsoid(grid, box, center, radii, rot_xy)
    if where is not None:
        m &= where[box]
    label[box][m] = tissue_id
    return box, m


def _segment_distance(grid, box, p0, p1):
    """Distance (mm) from voxel centres in box to the segment p0–p1."""
    x, y, z = grid.coords(box)
    p0 = np.asarray(p0, np.float32)
    d = np.asarray(p1, np.float32) - p0
    dd = float(d @ d)
    t = ((x - p0[0]) * d[0] + (y - p0[1]) * d[1] + (z - p0[2]) * d[2]) / dd
    t = np.clip(t, 0.0, 1.0)
    return np.sqrt((x - p0[0] - t * d[0]) ** 2 + (y - p0[1] - t * d[1]) ** 2 + (z - p0[2] - t * d[2]) ** 2)


def _paint_tube(grid, label, tissue_id, p0, p1, radius, where=None):
    lo = np.minimum(p0, p1) - radius
    hi = np.maximum(p0, p1) + radius
    box = grid.box((lo + hi) / 2, (hi - lo) / 2)
    m = _segment_distance(grid, box, p0, p1) <= radius
    if where is not None:
        m &= where[box]
    label[box][m] = tissue_id
    return box, m


def draw_findings(rng: np.random.Generator) -> dict:
    """Draw which findings a case has and their attributes.

    Returned labels (False when absent):
      lung_nodule: {"lobe": lobe name, "size_mm": diameter, int}
      pleural_effusion: {"side": "right" | "left" | "bilateral", "size": "small" | "large"}
      cardiomegaly: True
      pericardial_effusion: True
      emphysema: {"severity": "mild" | "moderate" | "severe"}
      consolidation: {"lobe": lobe name}
      arterial_calcification: True
      lymphadenopathy: {"station": "mediastinal" | "hilar", "short_axis_mm": int}
    """
    normal = rng.random() < NORMAL_FRACTION
    present = {f: (not normal) and rng.random() < PREVALENCE[f] for f in FINDINGS}
    labels: dict = {}
    lobe_names = list(LOBES)
    labels["lung_nodule"] = (
        {"lobe": lobe_names[rng.integers(5)], "size_mm": int(rng.integers(6, 31))} if present["lung_nodule"] else False
    )
    labels["pleural_effusion"] = (
        {"side": ["right", "left", "bilateral"][rng.choice(3, p=[0.4, 0.35, 0.25])], "size": ["small", "large"][rng.integers(2)]}
        if present["pleural_effusion"]
        else False
    )
    labels["cardiomegaly"] = bool(present["cardiomegaly"])
    labels["pericardial_effusion"] = bool(present["pericardial_effusion"])
    labels["emphysema"] = {"severity": ["mild", "moderate", "severe"][rng.integers(3)]} if present["emphysema"] else False
    consolidation_lobes = [n for n in lobe_names if not (labels["lung_nodule"] and labels["lung_nodule"]["lobe"] == n)]
    labels["consolidation"] = (
        {"lobe": consolidation_lobes[rng.integers(len(consolidation_lobes))]} if present["consolidation"] else False
    )
    labels["arterial_calcification"] = bool(present["arterial_calcification"])
    labels["lymphadenopathy"] = (
        {"station": ["mediastinal", "hilar"][rng.integers(2)], "short_axis_mm": int(rng.integers(12, 26))}
        if present["lymphadenopathy"]
        else False
    )
    return labels


def random_spacing(rng: np.random.Generator, shape) -> tuple[float, float, float]:
    """In-plane 2.5–3.2 mm (a 128-voxel matrix then spans 32–41 cm), slices 2.8–3.6 mm."""
    s = float(rng.uniform(2.5, 3.2))
    return (s, s, float(rng.uniform(2.8, 3.6)))


def make_phantom(rng: np.random.Generator, shape=(128, 128, 64), spacing=None, labels=None, noise_sd=None) -> Phantom:
    """Build one phantom. ``labels`` (from draw_findings) and ``spacing`` are drawn from rng when omitted."""
    shape = tuple(int(n) for n in shape)
    if min(shape) < 16:
        raise ValueError(f"phantom shape {shape} is too small (each axis needs at least 16 voxels)")
    if spacing is None:
        spacing = random_spacing(rng, shape)
    if labels is None:
        labels = draw_findings(rng)
    grid = _Grid(shape, spacing)
    nx, ny, nz = shape
    sx, sy, sz = grid.spacing
    T = TISSUE
    label = np.zeros(shape, np.uint8)
    lobes = np.zeros(shape, np.uint8)
    geo: dict = {}

    # --- body and chest wall -------------------------------------------------------------------------------------
    fov_x, fov_y = nx * sx, ny * sy
    A = min(fov_x * rng.uniform(0.40, 0.45), 190.0)  # half-width of the body (mm)
    B = min(A * rng.uniform(0.62, 0.72), fov_y * 0.46)  # half-depth
    yc = float(rng.uniform(-0.03, 0.03) * fov_y)  # body centre (table shift)
    fat_t = float(rng.uniform(6, 22))  # subcutaneous fat thickness
    mus_t = float(rng.uniform(8, 14))
    hz = grid.half_z
    u = grid.z / hz  # [1,1,nz]
    x2, y2 = grid.x[:, :, 0], grid.y[:, :, 0]  # [nx,1], [1,ny]
    # Elliptic radius and angle in the body frame (2D; the chest barely changes along z in a phantom).
    rho = np.sqrt((x2 / A) ** 2 + ((y2 - yc) / B) ** 2)  # [nx, ny]
    body2d = rho <= 1.0
    A_in, B_in = A - fat_t, B - fat_t
    muscle2d = np.sqrt((x2 / A_in) ** 2 + ((y2 - yc) / B_in) ** 2) <= 1.0
    A_c, B_c = A_in - mus_t, B_in - mus_t  # thoracic cavity
    rho_c = np.sqrt((x2 / A_c) ** 2 + ((y2 - yc) / B_c) ** 2)
    cavity2d = rho_c <= 1.0
    label[body2d] = T["fat"]
    label[muscle2d] = T["muscle"]
    label[cavity2d] = T["fat"]  # mediastinal / extrapleural fat fills what the organs leave
    geo.update(body_half_width=A, body_half_depth=B, body_yc=yc, cavity_half_width=A_c, cavity_half_depth=B_c)

    # --- diaphragm domes, lungs and lobes -----------------------------------------------------------------------
    apex_u = float(rng.uniform(0.78, 0.9))
    base_r = float(rng.uniform(-0.62, -0.5))  # right dome sits higher (liver)
    base_l = base_r - float(rng.uniform(0.04, 0.12))
    lungs = np.zeros(shape, bool)
    lung_side = {}
    fissure_cols = []  # (2D column mask, z of the fissure per column) for drawing visible fissures
    med_half = 0.16 * A_c  # mediastinum half-width between the lungs
    zc3 = grid.z  # [1,1,nz]
    for side, sign, base in (("right", 1.0, base_r), ("left", -1.0, base_l)):
        cx = sign * (med_half + 0.5 * (A_c - med_half) - 0.02 * A_c)
        ax = 0.5 * (A_c - med_half) * 0.97
        cy = yc - 0.06 * B_c
        ay = 0.9 * B_c
        r2 = ((x2 - cx) / ax) ** 2 + ((y2 - cy) / ay) ** 2  # [nx,ny]
        cols = (r2 < 1.0) & cavity2d
        # Each lung column (x, y) spans z from the dome to a top that tapers toward the apex:
        # the lung is {t in (0, 1]: r2 <= 1 - t^2.4} with t = (u - dome) / (apex - dome).
        dome = base + 0.22 * np.clip(1.0 - r2, 0.0, 1.0)  # dome higher in the middle of the lung base
        t_top = np.clip(1.0 - r2, 0.0, 1.0) ** (1.0 / 2.4)
        z_dome = (dome * hz).astype(np.float32)
        z_top = ((dome + (apex_u - dome) * t_top) * hz).astype(np.float32)
        # Lobes from fissures in lung-local coordinates (yl: -1 posterior … 1 anterior; t: 0 base … 1 apex):
        # oblique fissure t = 0.45 - 0.33 yl (lower lobe below/behind it), horizontal fissure t = 0.58 on the right.
        yl = np.broadcast_to((y2 - cy) / ay, r2.shape)
        t_obl = 0.45 - 0.33 * yl + 0.03 * rng.standard_normal()
        z_obl = ((dome + (apex_u - dome) * t_obl) * hz).astype(np.float32)
        ii = np.nonzero(cols.any(axis=1))[0]
        jj = np.nonzero(cols.any(axis=0))[0]
        bx = (slice(ii[0], ii[-1] + 1), slice(jj[0], jj[-1] + 1))
        c2 = cols[bx][:, :, None]
        m = c2 & (zc3 > z_dome[bx][:, :, None]) & (zc3 <= z_top[bx][:, :, None])
        lower = zc3 < z_obl[bx][:, :, None]
        if side == "right":
            z_hor = ((dome + (apex_u - dome) * 0.58) * hz).astype(np.float32)
            middle = (zc3 < z_hor[bx][:, :, None]) & (yl[bx] > -0.15)[:, :, None]
            lob = np.where(lower, LOBES["right lower lobe"], np.where(middle, LOBES["right middle lobe"], LOBES["right upper lobe"]))
            fissure_cols.append((cols & (yl > -0.15) & (t_obl < 0.58), z_hor))
        else:
            lob = np.where(lower, LOBES["left lower lobe"], LOBES["left upper lobe"])
        fissure_cols.append((cols, z_obl))
        full = np.zeros(shape, bool)
        full[bx] = m
        lung_side[side] = full
        lungs[bx] |= m
        lobes[bx][m] = lob[m].astype(np.uint8)
        geo[f"lung_{side}"] = dict(cx=cx, cy=cy, ax=ax, ay=ay, base_u=base, apex_u=apex_u)
    geo["dome_u"] = {"right": base_r, "left": base_l}

    # --- heart, pericardium and great vessels -------------------------------------------------------------------
    cardiomegaly = bool(labels["cardiomegaly"])
    heart_scale = float(rng.uniform(1.45, 1.6) if cardiomegaly else rng.uniform(0.95, 1.12))  # CTR ≈ 0.35–0.43 vs ≥ 0.52
    hr = np.array([0.4 * A_c * heart_scale, 0.45 * B_c * heart_scale, (0.25 * hz + 12) * heart_scale], np.float32)
    hr[1] = min(hr[1], 0.62 * B_c)
    hc = np.array([-0.1 * A_c - 0.12 * (heart_scale - 1) * A_c, yc + 0.2 * B_c, (base_l + 0.22) * hz + 0.55 * hr[2]])
    hrot = float(rng.uniform(-0.6, -0.35))  # long axis toward the left-anterior apex
    peri_t = float(rng.uniform(6, 14)) if labels["pericardial_effusion"] else 0.0
    epi_fat = 3.0
    outer = hr + peri_t + epi_fat + 2.0
    # Lungs give way to the heart and its fat (the heart indents the lungs, most on the left).
    box = grid.box(hc, outer * 1.05)
    lungs_box = lungs[box]
    heart_outer = _ellipsoid(grid, box, hc, outer, hrot)
    lungs_box &= ~heart_outer
    lungs[box] = lungs_box
    for s in lung_side.values():
        s[box] &= ~heart_outer
    _paint_ellipsoid(grid, label, T["fat"], hc, hr + peri_t + epi_fat, hrot)
    if peri_t:
        _paint_ellipsoid(grid, label, T["pericardial_fluid"], hc, hr + peri_t, hrot)
    _paint_ellipsoid(grid, label, T["heart"], hc, hr, hrot)
    heart_box = grid.box(hc, hr * 1.01)
    hm = _ellipsoid(grid, heart_box, hc, hr, hrot)
    xs = grid.x[heart_box[0], 0, 0]
    span = xs[np.any(hm, axis=(1, 2))]
    heart_width = float(span.max() - span.min() + sx) if span.size else 0.0
    geo.update(heart_center=hc.tolist(), heart_radii=hr.tolist(), heart_rot=hrot, heart_width_mm=heart_width,
               thorax_width_mm=2 * A_c, pericardial_thickness_mm=peri_t)

    # Aorta: ascending (anterior, right of midline) → arch → descending (left of the spine).
    ar = float(rng.uniform(11, 15))
    spine_c = (0.0, yc - B_c - 0.5 * mus_t + 4.0)  # vertebral body centre, in the posterior wall
    vb_r = float(np.clip(0.2 * B_c, 14, 24))
    spine_c = (0.0, yc - B_c + vb_r * 0.6)
    asc = np.array([0.12 * A_c, hc[1] + 0.35 * hr[1], hc[2] + 0.6 * hr[2]], np.float32)
    arch_u = min(apex_u - 0.25, 0.45)
    desc = np.array([-0.2 * A_c, spine_c[1] + vb_r + ar + 4.0, 0.0], np.float32)
    top_asc = np.array([asc[0], asc[1], arch_u * hz], np.float32)
    top_desc = np.array([desc[0], desc[1], arch_u * hz], np.float32)
    aorta_pts = [asc, top_asc]
    # The arch as a chain of short tubes over a half circle rising above arch level.
    mid = (top_asc + top_desc) / 2
    half = float(np.linalg.norm(top_asc - top_desc) / 2)
    dirv = (top_asc - mid) / max(half, 1e-6)
    rise = min(0.5 * half, 0.2 * hz)
    arch = [mid + np.cos(a) * half * dirv + np.array([0, 0, np.sin(a) * rise], np.float32) for a in np.linspace(0, np.pi, 9)]
    aorta_segments = [(asc, top_asc)] + list(zip(arch[:-1], arch[1:])) + [(top_desc, np.array([desc[0], desc[1], -hz - 5], np.float32))]
    for p0, p1 in aorta_segments:
        _paint_tube(grid, label, T["blood"], np.asarray(p0, np.float32), np.asarray(p1, np.float32), ar)
    for p0, p1 in aorta_segments:
        box_s = grid.box((np.asarray(p0) + np.asarray(p1)) / 2, np.abs(np.asarray(p1) - np.asarray(p0)) / 2 + ar + 3)
        near = _segment_distance(grid, box_s, p0, p1) <= ar + 2.5
        lb = lungs[box_s]
        lb &= ~near
        lungs[box_s] = lb
        for s in lung_side.values():
            s[box_s] &= ~near
    geo["aorta_segments"] = [(np.asarray(p0).tolist(), np.asarray(p1).tolist()) for p0, p1 in aorta_segments]
    geo["aorta_radius"] = ar

    # Trachea to the carina, then the main bronchi to each hilum.
    tr_r = float(rng.uniform(8, 10))
    carina = np.array([0.0, yc - 0.3 * B_c, (arch_u - 0.12) * hz], np.float32)
    trachea_top = np.array([0.0, yc - 0.25 * B_c, hz + 5], np.float32)
    hila = {
        "right": np.array([0.33 * A_c, yc - 0.25 * B_c, carina[2] - 0.22 * hz], np.float32),
        "left": np.array([-0.35 * A_c, yc - 0.25 * B_c, carina[2] - 0.26 * hz], np.float32),
    }
    geo.update(carina=carina.tolist(), hila={k: v.tolist() for k, v in hila.items()})

    # --- lungs: parenchyma, fissures, vessels -------------------------------------------------------------------
    label[lungs] = T["lung"]
    for p0, p1, r in ((trachea_top, carina, tr_r), (carina, hila["right"], tr_r * 0.7), (carina, hila["left"], tr_r * 0.65)):
        _paint_tube(grid, label, T["soft_tissue"], p0, p1, r + 2.0)
        _paint_tube(grid, label, T["airway"], p0, p1, r)
    # Pulmonary vessels: intersections of the zero sets of two smooth fields are curves (tubes), denser near the
    # hila. Evaluated on lung voxels only (a quarter of the volume).
    f1 = _smooth_field(rng, shape, (14, 14, 8))
    f2 = _smooth_field(rng, shape, (14, 14, 8))
    li, lj, lk = np.nonzero(lungs)
    px, py, pz = grid.x[li, 0, 0], grid.y[0, lj, 0], grid.z[0, 0, lk]
    d2 = np.full(li.shape, np.inf, np.float32)
    for h in hila.values():
        d2 = np.minimum(d2, (px - h[0]) ** 2 + (py - h[1]) ** 2 + (pz - h[2]) ** 2)
    width = 0.1 * np.exp(-np.sqrt(d2) / 70.0) + 0.04
    vs = (np.abs(f1[li, lj, lk]) < width) & (np.abs(f2[li, lj, lk]) < width * 2.5)
    label[li[vs], lj[vs], lk[vs]] = T["vessel"]
    # Visible fissures: one voxel per lung column at the fissure's z, in 60% of the columns.
    for cols, zf in fissure_cols:
        keep = cols & (rng.random(cols.shape) < 0.6)
        fi, fj = np.nonzero(keep)
        fk = np.rint(zf[fi, fj] / sz + (nz - 1) / 2).astype(int)
        ok = (fk >= 0) & (fk < nz)
        fi, fj, fk = fi[ok], fj[ok], fk[ok]
        on = lungs[fi, fj, fk] & (label[fi, fj, fk] == T["lung"])
        label[fi[on], fj[on], fk[on]] = T["fissure"]
    lobes[~lungs] = 0

    # --- mediastinal lymph nodes (normal size) ------------------------------------------------------------------
    stations = {
        "mediastinal": [
            np.array([0.12 * A_c, yc - 0.12 * B_c, carina[2] + 0.12 * hz]),  # right paratracheal
            np.array([0.0, yc - 0.42 * B_c, carina[2] - 0.1 * hz]),  # subcarinal
            np.array([-0.02 * A_c, yc + 0.4 * B_c, carina[2] + 0.05 * hz]),  # prevascular
        ],
        "hilar": [hila["right"] + np.array([0.06 * A_c, 0.12 * B_c, -8]), hila["left"] + np.array([-0.06 * A_c, 0.12 * B_c, -8])],
    }
    for site in stations["mediastinal"][: int(rng.integers(0, 3))]:
        sa = float(rng.uniform(4, 8))
        _paint_ellipsoid(grid, label, T["lymph_node"], site, (sa / 2, sa / 2, sa * 0.7))

    # --- spine, ribs, sternum ------------------------------------------------------------------------------------
    disc_gap = float(rng.uniform(24, 30))
    zz = grid.z[0, 0, :]
    is_disc = (np.mod(zz + rng.uniform(0, disc_gap), disc_gap) < 5.0)[None, None, :]
    d_vb = np.sqrt((x2 - spine_c[0]) ** 2 + (y2 - spine_c[1]) ** 2)[:, :, None]
    vb = d_vb <= vb_r
    label[vb & ~is_disc] = T["bone"]
    label[vb & is_disc] = T["soft_tissue"]
    canal_c = (0.0, spine_c[1] - vb_r - 8.0)
    d_can = np.sqrt((x2 - canal_c[0]) ** 2 + (y2 - canal_c[1]) ** 2)[:, :, None]
    label[(d_can <= 14.0) & ~is_disc] = T["bone"]  # neural arch
    spinous = (np.abs(x2) <= 5.0) & (y2 < canal_c[1]) & (y2 > canal_c[1] - 35.0)
    label[spinous[:, :, None] & ~is_disc & body2d[:, :, None]] = T["bone"]
    label[np.broadcast_to(d_can <= 7.0, shape)] = T["csf"]
    # Ribs: arcs in the chest wall, sloping down from the spine to the front.
    phi = np.arctan2((y2 - yc) / B, x2 / A)  # -pi/2 posterior, +pi/2 anterior
    rib_ring = (rho_c >= 1.0) & (np.sqrt((x2 / (A_c + mus_t * 0.8)) ** 2 + ((y2 - yc) / (B_c + mus_t * 0.8)) ** 2) <= 1.0)
    anterior_gap = np.abs(np.abs(phi) - np.pi / 2) < 0.35
    rib_ring &= ~(anterior_gap & (phi > 0))
    slope = (np.sin(phi) + 1.0) / 2.0 * 0.3 * hz  # mm the rib drops from back to front
    rib_half = float(rng.uniform(3.0, 4.5))
    n_ribs = 9
    z_first, z_last = apex_u * hz - 8, (base_l - 0.1) * hz
    gap = (z_first - z_last) / (n_ribs - 1)
    # For each ring column the nearest rib level is found arithmetically (levels are evenly spaced).
    ri, rj = np.nonzero(rib_ring)
    w = grid.z[0, 0, :][None, :] + slope[ri, rj][:, None]  # [n_cols, nz]: z the rib would have at the spine
    m_near = np.clip(np.rint((z_first - w) / gap), 0, n_ribs - 1)
    on = np.abs(w - (z_first - m_near * gap)) <= rib_half
    ribs = np.zeros(shape, bool)
    ribs[ri, rj, :] = on
    label[ribs] = T["bone"]
    sternum = (np.abs(x2) <= 14.0) & (rho_c >= 0.96) & (rho_c <= 1.06) & (y2 > yc)
    label[sternum[:, :, None] & (u > base_r - 0.05) & (u < arch_u + 0.25)] = T["bone"]
    cortical = (label == T["bone"]) & ~ndimage.binary_erosion(label == T["bone"], iterations=1)

    # --- abdomen under the domes: liver, stomach, spleen ---------------------------------------------------------
    below = cavity2d[:, :, None] & ~lungs & (label != T["bone"]) & (label != T["blood"]) & (label != T["heart"])
    below &= label != T["pericardial_fluid"]
    liver_c = (0.3 * A_c, yc + 0.05 * B_c, (base_r - 0.12) * hz - 20)
    dome_cut = u < (base_r + 0.16)
    _paint_ellipsoid(grid, label, T["liver"], liver_c, (0.75 * A_c, 0.8 * B_c, 0.45 * hz), where=below & dome_cut)
    stomach_c = (-0.45 * A_c, yc + 0.15 * B_c, (base_l - 0.15) * hz - 15)
    _paint_ellipsoid(grid, label, T["soft_tissue"], stomach_c, (0.3 * A_c, 0.35 * B_c, 0.3 * hz), where=below & (u < base_l + 0.1))
    _paint_ellipsoid(grid, label, T["airway"], np.add(stomach_c, (0, 0.1 * B_c, 0.12 * hz)), (0.18 * A_c, 0.15 * B_c, 0.08 * hz),
                     where=label == T["soft_tissue"])
    _paint_ellipsoid(grid, label, T["soft_tissue"], (-0.55 * A_c, yc - 0.55 * B_c, (base_l - 0.2) * hz), (0.22 * A_c, 0.3 * B_c, 0.25 * hz),
                     where=below & (u < base_l + 0.1))

    # --- findings --------------------------------------------------------------------------------------------------
    aerated = lungs.copy()  # lung that still holds air; findings placed later must sit inside it

    eff = labels["pleural_effusion"]
    if eff:
        sides = ["right", "left"] if eff["side"] == "bilateral" else [eff["side"]]
        depth = 0.28 if eff["size"] == "small" else 0.55
        for side in sides:
            g = geo[f"lung_{side}"]
            yl = ((grid.y - g["cy"]) / g["ay"] + 1.0) / 2.0  # 0 at the posterior wall, 1 anterior
            t = (u - g["base_u"]) / (g["apex_u"] - g["base_u"])  # 0 at the dome base
            fluid = lung_side[side] & (yl < depth * (1.0 - np.clip(t, 0, 1) / (depth + 0.35)))
            label[fluid] = T["pleural_fluid"]
            aerated &= ~fluid
        geo["effusion_sides"] = sides

    emph = labels["emphysema"]
    if emph:
        frac = {"mild": 0.12, "moderate": 0.22, "severe": 0.35}[emph["severity"]]
        f = _smooth_field(rng, shape, (30, 30, 16)) + 0.8 * np.clip(u, -1, 1)  # upper-lobe predominant
        vals = f[aerated]
        thr = np.quantile(vals, 1.0 - frac) if vals.size else np.inf
        bullae = aerated & (f > thr) & (label == T["lung"])
        label[bullae] = T["emphysema"]

    def place_in_lobe(lobe_name, radius, tries=200):
        """A centre (mm) in the lobe whose ball of radius (+2 mm) lies inside aerated lung of that lobe."""
        lid = LOBES[lobe_name]
        cand = np.argwhere((lobes == lid) & aerated)
        if len(cand) == 0:
            return None
        r_try = radius
        for attempt in range(tries):
            ijk = cand[rng.integers(len(cand))]
            c = (ijk - (np.asarray(shape) - 1) / 2) * np.asarray(grid.spacing)
            box = grid.box(c, (r_try + 2,) * 3)
            ball = _ellipsoid(grid, box, c, (r_try + 2,) * 3)
            inside = (lobes[box] == lid) & aerated[box]
            if np.all(inside[ball]):
                return c
        return None

    nod = labels["lung_nodule"]
    if nod:
        r = nod["size_mm"] / 2.0
        c = place_in_lobe(nod["lobe"], r)
        while c is None and nod["size_mm"] > 6:  # lobe too small for this nodule here: shrink and record it
            nod["size_mm"] = max(6, int(nod["size_mm"] * 0.8))
            r = nod["size_mm"] / 2.0
            c = place_in_lobe(nod["lobe"], r)
        if c is not None:
            box = grid.box(c, (r * 1.3,) * 3)
            x, y, z = grid.coords(box)
            d = np.sqrt((x - c[0]) ** 2 + (y - c[1]) ** 2 + (z - c[2]) ** 2)
            # Lobulated margin: radius modulated by a low-order angular pattern, ±8%.
            ang = np.arctan2(y - c[1], x - c[0]) * 3 + np.arctan2(z - c[2], np.abs(x - c[0]) + 1e-3) * 2
            rr = r * (1.0 + 0.08 * np.sin(ang + rng.uniform(0, 6.28)))
            m = d <= np.maximum(rr, 0.55 * max(grid.spacing))  # at least the centre voxel
            label[box][m] = T["nodule"]
            aerated[box] &= ~m
            geo["nodule_center"] = np.asarray(c).tolist()
        else:
            labels["lung_nodule"] = False  # could not fit anywhere: the case honestly has no nodule

    consolidated = np.zeros(shape, bool)
    cons = labels["consolidation"]
    if cons:
        lid = LOBES[cons["lobe"]]
        lobe_mask = (lobes == lid) & aerated
        idx = np.argwhere(lobe_mask)
        if len(idx):
            ijk = idx[rng.integers(len(idx))]
            c = (ijk - (np.asarray(shape) - 1) / 2) * np.asarray(grid.spacing)
            radii = rng.uniform(25, 50, 3)
            box = grid.box(c, radii)
            blob = _ellipsoid(grid, box, c, radii)
            bshape = label[box].shape
            bumpy = _smooth_field(rng, bshape, tuple(max(2, n // 6) for n in bshape)) > -0.4
            m = blob & bumpy & lobe_mask[box]
            # Air bronchograms: thin branching air inside the opacity.
            air = (np.abs(f1[box]) < 0.03) & (np.abs(f2[box]) < 0.12)
            region = label[box]
            consolidated[box] = m
            region[m & ~air] = T["consolidation"]
            region[m & air] = T["airway"]
            label[box] = region
            aerated[box] &= ~m
            geo["consolidation_voxels"] = int(np.count_nonzero(m))
        if not len(idx) or geo.get("consolidation_voxels", 0) < 20:
            labels["consolidation"] = False

    if labels["arterial_calcification"]:
        n_calc = int(rng.integers(4, 11))
        rmin = 0.6 * max(grid.spacing)
        for _ in range(n_calc):
            p0, p1 = aorta_segments[int(rng.integers(len(aorta_segments)))]
            p0, p1 = np.asarray(p0), np.asarray(p1)
            p = p0 + rng.uniform(0.1, 0.9) * (p1 - p0)
            v = rng.standard_normal(3)
            axis = (p1 - p0) / (np.linalg.norm(p1 - p0) + 1e-9)
            v -= v.dot(axis) * axis
            v /= np.linalg.norm(v) + 1e-9
            spot = p + v * ar * 0.9
            rc = float(rng.uniform(rmin, rmin + 1.5))
            _paint_ellipsoid(grid, label, T["calcification"], spot, (rc, rc, rc))
        for _ in range(int(rng.integers(1, 4))):  # coronary calcifications on the upper heart surface
            a = rng.uniform(0, 2 * np.pi)
            spot = hc + np.array([np.cos(a) * hr[0] * 0.9, np.sin(a) * hr[1] * 0.9, 0.35 * hr[2]])
            rc = float(rng.uniform(rmin, rmin + 1.0))
            _paint_ellipsoid(grid, label, T["calcification"], spot, (rc, rc, rc))

    enlarged_nodes = np.zeros(shape, bool)
    lad = labels["lymphadenopathy"]
    if lad:
        sites = stations[lad["station"]]
        chosen = rng.permutation(len(sites))[: int(rng.integers(1, len(sites) + 1))]
        sizes = [lad["short_axis_mm"]] + [int(rng.integers(12, lad["short_axis_mm"] + 1)) for _ in chosen[1:]]
        before = label == T["lymph_node"]
        for k, s in zip(chosen, sizes):
            _paint_ellipsoid(grid, label, T["lymph_node"], sites[k], (s / 2, s / 2, s * 0.65), rot_xy=float(rng.uniform(0, 3)))
        enlarged_nodes = (label == T["lymph_node"]) & ~before
        aerated &= label != T["lymph_node"]

    # The lobe map keeps lung voxels and what findings replaced inside the lungs; anything else is not lung.
    in_lung = np.isin(label, [T["lung"], T["nodule"], T["consolidation"], T["emphysema"], T["vessel"], T["fissure"], T["pleural_fluid"]])
    lobes[~in_lung] = 0

    # --- Hounsfield units ----------------------------------------------------------------------------------------
    lut_mean = np.zeros(256, np.float32)
    lut_sd = np.zeros(256, np.float32)
    for name, tid in TISSUE.items():
        lut_mean[tid], lut_sd[tid] = HU[name]
    hu = lut_mean[label]
    tex = _smooth_field(rng, shape, (max(nx // 4, 2), max(ny // 4, 2), max(nz // 4, 2)))
    hu += lut_sd[label] * tex * 1.5
    lung_like = (label == T["lung"]) | (label == T["fissure"])
    grav = ((grid.y - yc) / B_c)  # −1 posterior … +1 anterior
    hu -= lung_like * (35.0 * np.broadcast_to(grav, shape)).astype(np.float32)
    hu[cortical] += 350.0
    hu = ndimage.gaussian_filter(hu, sigma=0.4, truncate=2.5)  # partial volume
    if noise_sd is None:
        noise_sd = float(rng.uniform(6, 18))
    hu += rng.standard_normal(shape, dtype=np.float32) * noise_sd
    np.clip(hu, -1024, 3071, out=hu)
    geo["noise_sd"] = noise_sd

    covers = {
        "lung_nodule": label == T["nodule"],
        "pleural_effusion": label == T["pleural_fluid"],
        "cardiomegaly": (label == T["heart"]) & bool(labels["cardiomegaly"]),
        "pericardial_effusion": label == T["pericardial_fluid"],
        "emphysema": label == T["emphysema"],
        "consolidation": consolidated & np.isin(label, [T["consolidation"], T["airway"]]),
        "arterial_calcification": label == T["calcification"],
        "lymphadenopathy": enlarged_nodes & (label == T["lymph_node"]),
    }
    findings = np.zeros(shape, np.uint8)
    for bit, name in enumerate(FINDINGS):
        findings |= covers[name].astype(np.uint8) << bit
    return Phantom(hu=hu.astype(np.float32), tissue=label, lobes=lobes, spacing=grid.spacing, labels=labels, geometry=geo,
                   findings=findings)
