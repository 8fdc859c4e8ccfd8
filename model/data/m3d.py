"""M3D-Cap and M3D-VQA (Bai et al., M3D, arXiv 2404.00578; huggingface.co/datasets/GoodBaiBai88/M3D-Cap and
…/M3D-VQA).

M3D-Cap: ``M3D_Cap.json`` = ``{"train": [{"image": "ct_case/000006/Axial_non_contrast.npy",
"text": "ct_case/000006/text.txt"}, …], "validation": […], "test": […]}``, paths relative to the data root; the
volumes are the ``.npy`` files that the card's ``m3d_cap_data_prepare.py`` writes (``[1, 32, 256, 256]``, C×D×H×W,
intensities normalised to [0, 1]); the caption is the text file's content.

M3D-VQA: ``M3D_VQA_{train,val,test,test5k}.csv`` with columns ``Image Path, Text, Question Type, Question,
Choice A, Choice B, Choice C, Choice D, Answer, Answer Choice`` (five question types: plane, phase, organ,
abnormality, location); ``Image Path`` is relative to the data root. Each row gives an open sample (question →
Answer) and a closed one (question + "Choices: A. … B. … C. … D. …" → "<Answer Choice>. <Answer>"), the two forms
M3D trains on.

M3D's volumes hold no HU: ``kind = "m3d-npy"`` samples are mapped linearly from [0, 1] to ``m3d_hu_range``
(default −1000…1000 HU, an assumption) before the package's preprocessing; their orientation is taken as
D = superior→inferior order of the file, H = A, W = R (not checked against a header: there is none).
"""

from __future__ import annotations

import json
import os

from . import DatasetIndex, Rejected, Sample
from .tables import cell, csv_rows, row_where

VQA_COLUMNS = ("Image Path", "Question Type", "Question", "Choice A", "Choice B", "Choice C", "Choice D", "Answer",
               "Answer Choice")
QUESTION_TYPES = {1: "plane", 2: "phase", 3: "organ", 4: "abnormality", 5: "location"}
CAPTION_PROMPT = "Describe the findings of this CT scan."


def _root(path: str, data_root: str | None) -> str:
    return data_root or os.path.dirname(os.path.abspath(path))


def read_m3d_cap(path: str, split: str = "train", data_root: str | None = None) -> DatasetIndex:
    root = _root(path, data_root)
    name = os.path.basename(path)
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    if not isinstance(doc, dict) or split not in doc:
        raise ValueError(f"{name}: no {split!r} list (keys: {list(doc) if isinstance(doc, dict) else type(doc).__name__})")
    samples, rejected = [], []
    for i, entry in enumerate(doc[split]):
        where = f"{name} {split}[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("image"), str) or not isinstance(entry.get("text"), str):
            rejected.append(Rejected(where, "an entry needs 'image' and 'text' paths"))
            continue
        where = f"{where} ({entry['image']})"
        image, text_path = os.path.join(root, entry["image"]), os.path.join(root, entry["text"])
        if not os.path.isfile(image):
            rejected.append(Rejected(where, f"volume not found: {entry['image']}"))
            continue
        try:
            with open(text_path, encoding="utf-8") as t:
                text = " ".join(t.read().split())
        except OSError:
            rejected.append(Rejected(where, f"caption file not found: {entry['text']}"))
            continue
        if not text:
            rejected.append(Rejected(where, "empty caption"))
            continue
        case = os.path.splitext(entry["image"])[0]
        samples.append(Sample(id=f"{case}-cap", image=image, task="report", question=CAPTION_PROMPT, answer=text,
                              case=case, kind="m3d-npy", meta={"row": i}))
    return DatasetIndex("m3d-cap", samples, rejected)


def read_m3d_vqa(path: str, data_root: str | None = None, forms: tuple[str, ...] = ("open", "closed")) -> DatasetIndex:
    root = _root(path, data_root)
    samples, rejected = [], []
    with csv_rows(path, VQA_COLUMNS) as (_, rows):
        for n, row in rows:
            rel = cell(row, "Image Path")
            where = row_where(path, n, rel)
            q, ans, choice = cell(row, "Question"), cell(row, "Answer"), cell(row, "Answer Choice").upper()
            choices = {c: cell(row, f"Choice {c}") for c in "ABCD"}
            if not rel or not q or not ans:
                rejected.append(Rejected(where, "empty Image Path, Question or Answer"))
                continue
            if choice not in choices or not all(choices.values()):
                rejected.append(Rejected(where, f"Answer Choice {choice!r} is not one of four filled choices A–D"))
                continue
            try:
                qtype = int(float(row["Question Type"]))
            except (TypeError, ValueError):
                rejected.append(Rejected(where, f"Question Type {row.get('Question Type')!r} is not a number"))
                continue
            image = os.path.join(root, rel)
            if not os.path.isfile(image):
                rejected.append(Rejected(where, f"volume not found: {rel}"))
                continue
            case = os.path.splitext(rel)[0]
            meta = {"row": n, "qtype": QUESTION_TYPES.get(qtype, str(qtype)), "choices": choices,
                    "answer_choice": choice}
            if "open" in forms:
                samples.append(Sample(id=f"{case}-r{n}-open", image=image, task="vqa", question=q, answer=ans,
                                      case=case, kind="m3d-npy", meta={**meta, "answer_type": "open"}))
            if "closed" in forms:
                listed = " ".join(f"{c}. {v}" for c, v in choices.items())
                samples.append(Sample(id=f"{case}-r{n}-closed", image=image, task="vqa",
                                      question=f"{q} Choices: {listed}", answer=f"{choice}. {choices[choice]}",
                                      case=case, kind="m3d-npy", meta={**meta, "answer_type": "closed"}))
    return DatasetIndex("m3d-vqa", samples, rejected)
