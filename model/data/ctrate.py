"""CT-RATE (Hamamci et al., huggingface.co/datasets/ibrahimhamamci/CT-RATE) in its published layout:

    <root>/dataset/train_fixed/train_1/train_1_a/train_1_a_1.nii.gz     (also ``train/``, ``valid_fixed/``, ``valid/``)
    <root>/dataset/radiology_text_reports/train_reports.csv             (validation_reports.csv for ``valid``)
    <root>/dataset/multi_abnormality_labels/train_predicted_labels.csv  (valid_predicted_labels.csv)

(the ``dataset/`` level is optional). Reports CSV: ``VolumeName, ClinicalInformation_EN, Technique_EN,
Findings_EN, Impressions_EN``; labels CSV: ``VolumeName`` and one 0/1 column per abnormality (18 in the release:
``LABELS``). A volume's folder is its name's first two and three ``_`` fields: ``train_1`` / ``train_1_a``.

One report sample per volume, "Findings: <Findings_EN> Impression: <Impressions_EN>" (the synthetic benchmark's
report form), asked with one of the training report prompts; with ``label_questions`` one yes/no question per
label column ("Is there cardiomegaly?"). Volumes are read with the header's scaling (the ``_fixed`` release
carries HU in its NIfTI scaling; the non-fixed one needs metadata/ RescaleSlope/Intercept, not handled here).
"""

from __future__ import annotations

import os

from . import DatasetIndex, Rejected, Sample
from .tables import csv_rows, row_where

LABELS = ("Medical material", "Arterial wall calcification", "Cardiomegaly", "Pericardial effusion",
          "Coronary artery wall calcification", "Hiatal hernia", "Lymphadenopathy", "Emphysema", "Atelectasis",
          "Lung nodule", "Lung opacity", "Pulmonary fibrotic sequela", "Pleural effusion",
          "Mosaic attenuation pattern", "Peribronchial thickening", "Consolidation", "Bronchiectasis",
          "Interlobular septal thickening")
REPORT_COLUMNS = ("VolumeName", "Findings_EN", "Impressions_EN")
REPORTS_CSV = {"train": "train_reports.csv", "valid": "validation_reports.csv"}
LABELS_CSV = {"train": "train_predicted_labels.csv", "valid": "valid_predicted_labels.csv"}


def _first(paths: list[str]) -> str | None:
    return next((p for p in paths if os.path.exists(p)), None)


def _text(v) -> str:
    v = (v or "").strip()
    return "" if v.lower() in ("nan", "none") else v


def volume_relpath(name: str) -> str | None:
    """``train_1_a_1.nii.gz`` → ``train_1/train_1_a/train_1_a_1.nii.gz`` (None if the name has another form)."""
    stem = name[: -len(".nii.gz")] if name.endswith(".nii.gz") else None
    parts = stem.split("_") if stem else []
    if len(parts) < 4 or not parts[1].isdigit():
        return None
    return os.path.join("_".join(parts[:2]), "_".join(parts[:3]), name)


def read_ct_rate(root: str, split: str = "train", label_questions: bool = True) -> DatasetIndex:
    from ..reports import REPORT_PROMPTS

    if split not in REPORTS_CSV:
        raise ValueError(f"CT-RATE split is train or valid, not {split!r}")
    bases = [os.path.join(root, "dataset"), root]
    vol_dir = _first([os.path.join(b, d) for b in bases for d in (f"{split}_fixed", split)])
    reports = _first([os.path.join(b, "radiology_text_reports", REPORTS_CSV[split]) for b in bases])
    labels_csv = _first([os.path.join(b, "multi_abnormality_labels", LABELS_CSV[split]) for b in bases])
    if reports is None:
        raise FileNotFoundError(f"CT-RATE: no radiology_text_reports/{REPORTS_CSV[split]} under {root}")
    if vol_dir is None:
        raise FileNotFoundError(f"CT-RATE: no dataset/{split}_fixed (or {split}) volume folder under {root}")
    rejected: list[Rejected] = []

    labels: dict[str, dict[str, int]] = {}
    label_names: list[str] = []
    if labels_csv:
        with csv_rows(labels_csv, ("VolumeName",)) as (columns, rows):
            label_names = [c for c in columns if c and c != "VolumeName"]
            for n, row in rows:
                name = _text(row.get("VolumeName"))
                try:
                    values = {c: int(float(row[c])) for c in label_names}
                    if any(v not in (0, 1) for v in values.values()):
                        raise ValueError("labels must be 0 or 1")
                except (TypeError, ValueError) as e:
                    rejected.append(Rejected(row_where(labels_csv, n, name), f"bad label value ({e})"))
                    continue
                labels[name] = values

    samples: list[Sample] = []
    seen: set[str] = set()
    with csv_rows(reports, REPORT_COLUMNS) as (_, rows):
        for n, row in rows:
            name = _text(row.get("VolumeName"))
            where = row_where(reports, n, name)
            findings, impression = _text(row.get("Findings_EN")), _text(row.get("Impressions_EN"))
            if not name:
                rejected.append(Rejected(where, "no VolumeName"))
                continue
            rel = volume_relpath(name)
            if rel is None:
                rejected.append(Rejected(where, "VolumeName is not <split>_<patient>_<study>_<n>.nii.gz"))
                continue
            if not findings and not impression:
                rejected.append(Rejected(where, "empty Findings_EN and Impressions_EN"))
                continue
            if name in seen:
                rejected.append(Rejected(where, "duplicate VolumeName (the first row is used)"))
                continue
            path = os.path.join(vol_dir, rel)
            if not os.path.isfile(path):
                rejected.append(Rejected(where, f"volume not found: {os.path.relpath(path, root)}"))
                continue
            seen.add(name)
            case = name[: -len(".nii.gz")]
            lab = labels.get(name, {})
            report = f"Findings: {findings} Impression: {impression}".strip()
            samples.append(Sample(id=f"{case}-report", image=path, task="report",
                                  question=REPORT_PROMPTS[len(seen) % len(REPORT_PROMPTS)], answer=report,
                                  case=case, labels=lab, meta={"row": n}))
            if label_questions:
                for c in label_names if name in labels else []:
                    samples.append(Sample(id=f"{case}-{c.lower().replace(' ', '-')}", image=path, task="vqa",
                                          question=f"Is there {c.lower()}?", answer="yes" if lab[c] else "no",
                                          case=case, labels=lab, meta={"row": n, "qtype": "presence",
                                                                       "answer_type": "closed"}))
    return DatasetIndex("ct-rate", samples, rejected)
