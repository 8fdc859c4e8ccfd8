"""Synthetic chest CT benchmark (DESIGN 3.6): phantoms written as real NIfTI files plus ``dataset.jsonl``.

    python3 -m model.synth --out DIR --n N --seed S [--split train|val|test] [--size 128,128,64] [--vqa 5]

writes ``DIR/images/<id>.nii.gz``, its tissue map ``DIR/labels/<id>.nii.gz`` (``labels/tissues.json`` names the
ids), its finding map ``DIR/labels/<id>-findings.nii.gz`` (bit j for finding j, ``labels/findings.json``) and
``DIR/dataset.jsonl`` (contract C5: one JSON object per line,
``{id, image, task: "report"|"vqa", question, report|answer, choices?, answer_type?, labels}``, ``image`` relative
to the jsonl's folder; extra keys ``case`` and ``qtype`` say which case and which kind of question it is) and
``DIR/cases.jsonl`` (one line per case: geometry, orientation, scaling, labels).

Splits: case i of split X with seed S is drawn from ``SeedSequence([S, SPLIT_CODE[X], i])``, so the three splits
are different random streams for the same S (disjoint), and each case is reproducible on its own.

Files: int16 with qform = sform (code 1, scanner), ``xyzt_units`` mm; the voxel order is RAS or LPS at random
(readers must reorient), and a share of files store ``HU = stored * scl_slope + scl_inter`` with
``(1, -1024)`` or ``(0.5, 0)`` so that readers must apply the scaling. gzip has mtime 0: same seed, same bytes.

The in-memory API (``generate_case``) gives the canonical RAS HU array directly, for training without files.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
from dataclasses import dataclass

import numpy as np

from .phantom import FINDINGS, Phantom, make_phantom
from .reports import REPORT_PROMPTS, make_report, make_vqa

SPLIT_CODE = {"train": 0, "val": 1, "test": 2}
DEFAULT_SIZE = (128, 128, 64)
ORIENTATIONS = ("RAS", "LPS")
# (slope, inter) choices: none, the common CT offset, and a non-unit slope.
SCALINGS = ((1.0, 0.0), (1.0, -1024.0), (0.5, 0.0))
SCALING_P = (0.6, 0.25, 0.15)


@dataclass
class Case:
    id: str
    phantom: Phantom
    orientation: str  # voxel axis codes of the file: "RAS" or "LPS"
    scaling: tuple[float, float]  # scl_slope, scl_inter of the file
    origin: tuple[float, float, float]  # world (mm) of the canonical voxel (0, 0, 0)
    report: str
    report_prompt: str
    vqa: list[dict]

    @property
    def labels(self) -> dict:
        return self.phantom.labels

    def canonical_affine(self) -> np.ndarray:
        """Affine of the canonical RAS array (voxel → world mm, RAS+)."""
        a = np.diag([*self.phantom.spacing, 1.0])
        a[:3, 3] = self.origin
        return a

    def file_array_and_affine(self, array: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """HU array (or another canonical array such as the tissue map) in the file's voxel order and the affine
        that maps it to the same world positions."""
        hu = self.phantom.hu if array is None else array
        aff = self.canonical_affine()
        if self.orientation == "RAS":
            return hu, aff
        if self.orientation == "LPS":
            nx, ny, _ = hu.shape
            flip = np.eye(4)
            flip[0, 0], flip[0, 3] = -1, nx - 1  # file i = nx-1-i_ras
            flip[1, 1], flip[1, 3] = -1, ny - 1
            return hu[::-1, ::-1, :], aff @ flip
        raise ValueError(f"unknown orientation {self.orientation}")


def case_rng(seed: int, split: str, index: int) -> np.random.Generator:
    if split not in SPLIT_CODE:
        raise ValueError(f"unknown split {split!r} (expected one of {', '.join(SPLIT_CODE)})")
    return np.random.default_rng(np.random.SeedSequence([int(seed), SPLIT_CODE[split], int(index)]))


def case_id(seed: int, split: str, index: int) -> str:
    return f"{split}-s{seed}-{index:05d}"


def generate_case(seed: int, split: str, index: int, size=DEFAULT_SIZE, n_vqa: int = 5) -> Case:
    """Case ``index`` of ``split`` for ``seed``: phantom, file layout, report and questions."""
    rng = case_rng(seed, split, index)
    ph = make_phantom(rng, shape=size)
    orientation = ORIENTATIONS[int(rng.integers(len(ORIENTATIONS)))]
    scaling = SCALINGS[int(rng.choice(len(SCALINGS), p=SCALING_P))]
    n = np.asarray(ph.shape, np.float64)
    origin = tuple(float(v) for v in (-(n - 1) / 2 * np.asarray(ph.spacing) + rng.uniform(-20, 20, 3)))
    text_rng = np.random.default_rng(rng.integers(2**63))
    report = make_report(ph.labels, text_rng)
    prompt = REPORT_PROMPTS[int(text_rng.integers(len(REPORT_PROMPTS)))]
    vqa = make_vqa(ph.labels, text_rng, n_vqa)
    return Case(case_id(seed, split, index), ph, orientation, scaling, origin, report, prompt, vqa)


def stored_values(hu: np.ndarray, scaling: tuple[float, float]) -> np.ndarray:
    """int16 values whose stored * slope + inter is the (rounded) HU."""
    slope, inter = scaling
    return np.rint((np.rint(hu) - inter) / slope).astype(np.int16)


def nifti_bytes(case: Case) -> bytes:
    """The case's volume as an uncompressed NIfTI-1 single file (.nii)."""
    import nibabel as nib

    data, affine = case.file_array_and_affine()
    stored = stored_values(data, case.scaling)
    hdr = nib.Nifti1Header()
    hdr.set_data_shape(stored.shape)
    hdr.set_data_dtype(np.int16)
    hdr.set_qform(affine, code=1)
    hdr.set_sform(affine, code=1)
    hdr.set_xyzt_units("mm", "sec")
    slope, inter = case.scaling
    hdr["scl_slope"], hdr["scl_inter"] = slope, inter
    hdr["vox_offset"] = 352
    hdr["descrip"] = b"ctlens synthetic chest phantom"
    hdr["cal_min"], hdr["cal_max"] = 0, 0
    raw = hdr.binaryblock + b"\x00" * 4 + stored.tobytes(order="F")  # 348 header + 4 extension bytes, then data
    return raw


def write_label_map(case: Case, path: str) -> None:
    """The phantom's tissue map (TISSUE ids, uint8; finding tissues such as nodule 11 or calcification 14 included)
    as a NIfTI on the same grid and affine as the volume: ground truth to open as an overlay next to a routing
    heatmap, and what model/analysis.py scores the experts' heatmaps against."""
    _write_uint8_map(case, case.phantom.tissue, path, b"ctlens phantom tissue labels (model/phantom.py TISSUE)")


def write_finding_map(case: Case, path: str) -> None:
    """The phantom's finding map as a NIfTI on the volume's grid: bit j (value 2^j) set where finding j of
    ``labels/findings.json`` covers the voxel. Unlike the tissue map it tells an enlarged lymph node from a normal
    one, and marks an enlarged heart and a consolidation's air bronchograms."""
    _write_uint8_map(case, case.phantom.findings, path, b"ctlens phantom finding bits (model/phantom.py FINDINGS)")


def _write_uint8_map(case: Case, canonical: np.ndarray, path: str, descrip: bytes) -> None:
    import nibabel as nib

    data, affine = case.file_array_and_affine(canonical)
    img = nib.Nifti1Image(np.ascontiguousarray(data).astype(np.uint8), affine)
    img.header.set_qform(affine, code=1)
    img.header.set_sform(affine, code=1)
    img.header.set_xyzt_units("mm", "sec")
    img.header["descrip"] = descrip
    nib.save(img, path)


def write_nifti(case: Case, path: str, compresslevel: int = 1) -> None:
    raw = nifti_bytes(case)
    if path.endswith(".gz"):
        with open(path, "wb") as f, gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0, compresslevel=compresslevel) as gz:
            gz.write(raw)
    else:
        with open(path, "wb") as f:
            f.write(raw)


def dataset_lines(case: Case, image: str) -> list[dict]:
    """The C5 lines of one case: one report sample, then its VQA samples."""
    labels = case.labels
    lines = [{"id": f"{case.id}-report", "image": image, "task": "report", "question": case.report_prompt,
              "report": case.report, "labels": labels, "case": case.id}]
    for q, item in enumerate(case.vqa):
        line = {"id": f"{case.id}-q{q}", "image": image, "task": "vqa", "question": item["question"],
                "answer": item["answer"], "answer_type": item["answer_type"]}
        if "choices" in item:
            line["choices"] = item["choices"]
        line.update(labels=labels, case=case.id, qtype=item["qtype"])
        lines.append(line)
    return lines


def case_record(case: Case, image: str, label_map: str | None = None, finding_map: str | None = None) -> dict:
    ph = case.phantom
    data, affine = case.file_array_and_affine()
    rec = {"id": case.id, "image": image, "shape": list(ph.shape), "spacing": list(ph.spacing),
           "orientation": case.orientation, "scl_slope": case.scaling[0], "scl_inter": case.scaling[1],
           "affine": affine.tolist(), "labels": case.labels}
    if label_map:
        rec["label_map"] = label_map
    if finding_map:
        rec["finding_map"] = finding_map
    return rec


def write_dataset(out: str, n: int, seed: int, split: str, size=DEFAULT_SIZE, n_vqa: int = 5, start: int = 0,
                  progress=None, label_maps: bool = True) -> dict:
    """Generate cases start..start+n-1 into out/; returns counts and timing. With ``label_maps`` each volume gets
    its tissue map beside it (``labels/<id>.nii.gz``, ``labels/tissues.json`` names the ids) and its finding map
    (``labels/<id>-findings.nii.gz``, ``labels/findings.json`` names the bits)."""
    from .phantom import FINDINGS, TISSUE

    os.makedirs(os.path.join(out, "images"), exist_ok=True)
    if label_maps:
        os.makedirs(os.path.join(out, "labels"), exist_ok=True)
        with open(os.path.join(out, "labels", "tissues.json"), "w") as f:
            json.dump({str(v): k for k, v in TISSUE.items()}, f, indent=1)
        with open(os.path.join(out, "labels", "findings.json"), "w") as f:
            json.dump({str(1 << j): k for j, k in enumerate(FINDINGS)}, f, indent=1)
    t0 = time.perf_counter()
    n_lines = 0
    with open(os.path.join(out, "dataset.jsonl"), "w") as ds, open(os.path.join(out, "cases.jsonl"), "w") as cs:
        for i in range(start, start + n):
            case = generate_case(seed, split, i, size=size, n_vqa=n_vqa)
            image = f"images/{case.id}.nii.gz"
            write_nifti(case, os.path.join(out, image))
            label_map = f"labels/{case.id}.nii.gz" if label_maps else None
            finding_map = f"labels/{case.id}-findings.nii.gz" if label_maps else None
            if label_map:
                write_label_map(case, os.path.join(out, label_map))
                write_finding_map(case, os.path.join(out, finding_map))
            for line in dataset_lines(case, image):
                ds.write(json.dumps(line) + "\n")
                n_lines += 1
            cs.write(json.dumps(case_record(case, image, label_map, finding_map)) + "\n")
            if progress:
                progress(i - start + 1, n)
    dt = time.perf_counter() - t0
    return {"cases": n, "lines": n_lines, "seconds": dt, "seconds_per_case": dt / max(n, 1)}


def _parse_size(text: str) -> tuple[int, int, int]:
    try:
        parts = tuple(int(p) for p in text.split(","))
    except ValueError:
        parts = ()
    if len(parts) != 3 or min(parts) < 16:
        raise argparse.ArgumentTypeError(f"--size wants three integers ≥ 16 like 128,128,64, got {text!r}")
    return parts  # type: ignore[return-value]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python3 -m model.synth", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="output folder (images/, dataset.jsonl, cases.jsonl)")
    p.add_argument("--n", type=int, required=True, help="number of cases")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--split", choices=list(SPLIT_CODE), default="train")
    p.add_argument("--size", type=_parse_size, default=DEFAULT_SIZE, help="canonical grid nx,ny,nz (default 128,128,64)")
    p.add_argument("--vqa", type=int, default=5, help="VQA samples per case (default 5)")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--no-label-maps", action="store_true", help="do not write labels/<id>.nii.gz tissue maps")
    a = p.parse_args(argv)
    if a.n < 1:
        p.error("--n must be at least 1")

    def progress(k, n):
        if not a.quiet and (k == n or k % max(1, n // 20) == 0):
            print(f"synth: {k}/{n} cases", file=sys.stderr, flush=True)

    stats = write_dataset(a.out, a.n, a.seed, a.split, a.size, a.vqa, progress=progress,
                          label_maps=not a.no_label_maps)
    print(json.dumps({"out": a.out, "split": a.split, "seed": a.seed, **stats}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
