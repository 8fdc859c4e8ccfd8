"""Training data from disk, one adapter per format, one sample type for all (issue 13).

| source | adapter | layout read |
| --- | --- | --- |
| ``synthetic`` | ``synthetic.read_synthetic`` | the benchmark's ``dataset.jsonl`` (C5 lines) + its ``images/*.nii.gz`` |
| ``ct-rate`` | ``ctrate.read_ct_rate`` | CT-RATE: ``dataset/<split>_fixed/<patient>/<study>/<volume>.nii.gz``, ``radiology_text_reports/*_reports.csv``, ``multi_abnormality_labels/*_predicted_labels.csv`` |
| ``m3d-cap`` | ``m3d.read_m3d_cap`` | M3D-Cap: ``M3D_Cap.json`` (``{split: [{image, text}]}``, image = ``.npy``, text = ``.txt``) |
| ``m3d-vqa`` | ``m3d.read_m3d_vqa`` | M3D-VQA: ``M3D_VQA_<split>.csv`` (Image Path, Text, Question Type, Question, Choice A–D, Answer, Answer Choice) |

Every adapter returns a ``DatasetIndex``: the ``Sample``s it could read and the rows it refused (``Rejected``: where
— file and row — and why). Volumes are read and preprocessed later, in DataLoader workers (``volumes.CaseDataset``).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Sample:
    id: str  # unique within the dataset
    image: str  # absolute path of the volume (.nii.gz / .nii / .npy); the case key
    task: str  # "report" | "vqa"
    question: str  # the prompt text (a report instruction or the question)
    answer: str  # the report ("Findings: … Impression: …") or the answer
    case: str  # the volume's id
    kind: str = "nifti"  # how to read the volume: "nifti" (HU via the header's scaling) | "m3d-npy" ([0,1] intensities)
    labels: dict = field(default_factory=dict)  # the source's per-volume labels (names are the source's)
    meta: dict = field(default_factory=dict)  # source extras: qtype, choices, answer_choice, row …


@dataclass
class Rejected:
    where: str  # "train_reports.csv row 7 (train_3_a_1.nii.gz)"
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


@dataclass
class DatasetIndex:
    source: str
    samples: list[Sample]
    rejected: list[Rejected]

    def summary(self) -> str:
        vols = len({s.image for s in self.samples})
        tasks = {t: sum(s.task == t for s in self.samples) for t in ("report", "vqa")}
        return (f"{self.source}: {len(self.samples)} samples ({tasks['report']} reports, {tasks['vqa']} questions) on "
                f"{vols} volumes; {len(self.rejected)} rows refused")


def load_index(data_cfg, log=print) -> DatasetIndex:
    """The adapter named by ``data_cfg.source`` (model/config.py DataConfig); refusals are logged, never raised."""
    import os

    src = data_cfg.source
    if src == "synthetic":
        from .synthetic import read_synthetic

        idx = read_synthetic(data_cfg.path or os.path.join(data_cfg.root, "dataset.jsonl"))
    elif src == "ct-rate":
        from .ctrate import read_ct_rate

        idx = read_ct_rate(data_cfg.root, data_cfg.split, label_questions=data_cfg.label_questions)
    elif src == "m3d-cap":
        from .m3d import read_m3d_cap

        idx = read_m3d_cap(data_cfg.path or os.path.join(data_cfg.root, "M3D_Cap.json"), data_cfg.split,
                           data_root=data_cfg.root)
    elif src == "m3d-vqa":
        from .m3d import read_m3d_vqa

        idx = read_m3d_vqa(data_cfg.path or os.path.join(data_cfg.root, f"M3D_VQA_{data_cfg.split}.csv"),
                           data_root=data_cfg.root)
    else:
        raise ValueError(f"no adapter for data source {src!r}")
    for r in idx.rejected[:20]:
        log(f"data: refused {r}")
    if len(idx.rejected) > 20:
        log(f"data: … and {len(idx.rejected) - 20} more refused rows")
    if data_cfg.limit:
        keep = list(dict.fromkeys(s.image for s in idx.samples))[: data_cfg.limit]
        keep_set = set(keep)
        idx.samples = [s for s in idx.samples if s.image in keep_set]
    log(f"data: {idx.summary()}")
    return idx
