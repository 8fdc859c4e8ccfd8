"""Dataset adapters (model/data/), each on a tiny stand-in written here in that dataset's published layout — no
real CT-RATE / M3D data is available on this machine — and the preprocessing DataLoader (workers, cache, skips)."""

from __future__ import annotations

import csv
import gzip
import json
import os

import numpy as np
import pytest
import torch

from model.data import load_index
from model.data.ctrate import LABELS, read_ct_rate
from model.data.m3d import read_m3d_cap, read_m3d_vqa
from model.data.synthetic import read_synthetic
from model.data.volumes import CaseDataset, cases_from_index
from model.preprocess import PreprocessConfig, hu_to_pixels, load_canonical_hu
from model.synth import generate_case, write_dataset, write_nifti

PRE = PreprocessConfig(input_size=[4, 16, 16])


def write_csv(path, header, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


@pytest.fixture(scope="module")
def ct_rate(tmp_path_factory):
    """Three phantoms as a CT-RATE train split (dataset/train_fixed/…, reports CSV, labels CSV) + bad rows."""
    root = tmp_path_factory.mktemp("ctrate")
    names = ["train_1_a_1.nii.gz", "train_1_a_2.nii.gz", "train_2_a_1.nii.gz"]
    for i, name in enumerate(names):
        parts = name[:-7].split("_")
        d = root / "dataset" / "train_fixed" / "_".join(parts[:2]) / "_".join(parts[:3])
        d.mkdir(parents=True, exist_ok=True)
        write_nifti(generate_case(0, "train", i, size=(32, 32, 16)), str(d / name))
    header = ["VolumeName", "ClinicalInformation_EN", "Technique_EN", "Findings_EN", "Impressions_EN"]
    rows = [[n, "Cough.", "Non-contrast chest CT.", f"Findings of case {i}.", "No acute abnormality."]
            for i, n in enumerate(names)]
    rows += [["", "x", "y", "Orphan findings.", "x"],  # row 5: no VolumeName
             ["train_3_a_1.nii.gz", "x", "y", "Missing volume.", "x"],  # row 6: no file
             ["train_2_a_2.nii.gz", "x", "y", "", ""],  # row 7: no text
             ["train_1_a_1.nii.gz", "x", "y", "Again.", "x"]]  # row 8: duplicate
    write_csv(str(root / "dataset" / "radiology_text_reports" / "train_reports.csv"), header, rows)
    lab_rows = [[n] + [int(j == i) for j in range(len(LABELS))] for i, n in enumerate(names)]
    lab_rows.append(["train_2_a_2.nii.gz"] + ["maybe"] * len(LABELS))
    write_csv(str(root / "dataset" / "multi_abnormality_labels" / "train_predicted_labels.csv"),
              ["VolumeName", *LABELS], lab_rows)
    return root


def test_ct_rate_columns_rows_and_refusals(ct_rate):
    idx = read_ct_rate(str(ct_rate), "train")
    reports = [s for s in idx.samples if s.task == "report"]
    assert [s.case for s in reports] == ["train_1_a_1", "train_1_a_2", "train_2_a_1"]
    assert reports[0].answer == "Findings: Findings of case 0. Impression: No acute abnormality."
    assert reports[0].image.endswith("dataset/train_fixed/train_1/train_1_a/train_1_a_1.nii.gz")
    assert reports[1].labels["Arterial wall calcification"] == 1 and reports[1].labels["Medical material"] == 0
    qs = [s for s in idx.samples if s.task == "vqa" and s.case == "train_1_a_2"]
    assert len(qs) == 18 and {"question": "Is there arterial wall calcification?", "answer": "yes"} in \
        [{"question": s.question, "answer": s.answer} for s in qs]
    why = {r.where: r.reason for r in idx.rejected}
    assert why["train_reports.csv row 5 (?)"] == "no VolumeName"
    assert "volume not found: dataset/train_fixed/train_3/train_3_a/train_3_a_1.nii.gz" in \
        why["train_reports.csv row 6 (train_3_a_1.nii.gz)"]
    assert "empty Findings_EN" in why["train_reports.csv row 7 (train_2_a_2.nii.gz)"]
    assert "duplicate" in why["train_reports.csv row 8 (train_1_a_1.nii.gz)"]
    assert "bad label value" in why["train_predicted_labels.csv row 5 (train_2_a_2.nii.gz)"]


def test_m3d_vqa_and_cap(tmp_path):
    vol = tmp_path / "M3D_Cap_npy" / "ct_case" / "000006"
    vol.mkdir(parents=True)
    np.save(vol / "Axial_non_contrast.npy", np.random.default_rng(0).random((1, 8, 32, 32), dtype=np.float32))
    (vol / "text.txt").write_text("A mass in the  liver.\n")
    rel = "M3D_Cap_npy/ct_case/000006/Axial_non_contrast.npy"
    header = ["Image Path", "Text", "Question Type", "Question", "Choice A", "Choice B", "Choice C", "Choice D",
              "Answer", "Answer Choice"]
    write_csv(str(tmp_path / "M3D_VQA_train.csv"), header, [
        [rel, "report", 3, "Which organ has the mass?", "Liver", "Lung", "Kidney", "Spleen", "Liver", "A"],
        [rel, "report", 1, "Which plane is this image?", "Axial", "Coronal", "Sagittal", "Oblique", "Axial", "E"],
        ["M3D_Cap_npy/ct_case/999/x.npy", "r", 4, "What is abnormal?", "a", "b", "c", "d", "a", "A"]])
    idx = read_m3d_vqa(str(tmp_path / "M3D_VQA_train.csv"))
    assert [(s.question, s.answer) for s in idx.samples] == [
        ("Which organ has the mass?", "Liver"),
        ("Which organ has the mass? Choices: A. Liver B. Lung C. Kidney D. Spleen", "A. Liver")]
    assert idx.samples[0].meta["qtype"] == "organ" and idx.samples[0].kind == "m3d-npy"
    why = {r.where: r.reason for r in idx.rejected}
    assert "Answer Choice 'E'" in why[f"M3D_VQA_train.csv row 3 ({rel})"]
    assert "volume not found" in why["M3D_VQA_train.csv row 4 (M3D_Cap_npy/ct_case/999/x.npy)"]

    (tmp_path / "M3D_Cap.json").write_text(json.dumps({"train": [
        {"image": rel, "text": "M3D_Cap_npy/ct_case/000006/text.txt"},
        {"image": rel, "text": "M3D_Cap_npy/ct_case/000006/none.txt"}, {"img": rel}]}))
    cap = read_m3d_cap(str(tmp_path / "M3D_Cap.json"), "train")
    assert [(s.task, s.answer) for s in cap.samples] == [("report", "A mass in the liver.")]
    assert [r.where for r in cap.rejected] == [f"M3D_Cap.json train[1] ({rel})", "M3D_Cap.json train[2]"]
    # M3D's [0,1] volume → HU range → the package's preprocessing
    ds = CaseDataset(cases_from_index(cap), PRE, 0, 1, 2)
    item = ds[0]
    arr = np.load(vol / "Axial_non_contrast.npy")[0]
    ref = hu_to_pixels((-1000 + 2000 * arr).transpose(2, 1, 0), PRE)
    assert torch.allclose(item["pixels"], ref, atol=1e-5) and item["reports"] == [(cap.samples[0].question,
                                                                                    "A mass in the liver.")]


def test_synthetic_jsonl_and_the_loader(tmp_path, ct_rate):
    write_dataset(str(tmp_path / "syn"), 2, seed=3, split="train", size=(32, 32, 16), n_vqa=3, label_maps=False)
    path = tmp_path / "syn" / "dataset.jsonl"
    with open(path, "a") as f:
        f.write("{not json\n")
        f.write(json.dumps({"id": "x-report", "image": "images/nope.nii.gz", "task": "report", "question": "q",
                            "report": "r"}) + "\n")
    idx = read_synthetic(str(path))
    assert len(idx.samples) == 8 and {s.task for s in idx.samples} == {"report", "vqa"}
    assert [str(r) for r in idx.rejected] == ["dataset.jsonl line 9: not JSON (Expecting property name enclosed in "
                                              "double quotes)",
                                              "dataset.jsonl line 10 (x-report): volume not found: images/nope.nii.gz"]

    # the loader: the package's preprocessing, a cache, a corrupt volume skipped with its reason
    cases = cases_from_index(idx)
    bad = tmp_path / "bad.nii.gz"
    bad.write_bytes(gzip.compress(b"not a nifti"))
    cases.insert(1, type(cases[0])(str(bad), "nifti", [("q", "a")], []))
    ds = CaseDataset(cases, PRE, seed=0, stage=1, per_case=2, cache=str(tmp_path / "cache"))
    ref = hu_to_pixels(load_canonical_hu(cases[0].key)[0], PRE)
    first = ds[0]
    assert torch.allclose(first["pixels"], ref, atol=2e-3) and len(first["vqa"]) == 2 and not first["skipped"]
    assert len(os.listdir(tmp_path / "cache")) == 1
    loader = torch.utils.data.DataLoader(ds, batch_size=None, num_workers=1)
    items = list(loader)
    assert [it["index"] for it in items] == [0, 2, 2]  # case 1 unreadable: replaced by the next one
    assert items[1]["skipped"][0][0] == str(bad) and "ImageFileError" in items[1]["skipped"][0][1]
    assert torch.equal(items[0]["pixels"], first["pixels"])  # the cached copy
    assert any(f.endswith(".bad") for f in os.listdir(tmp_path / "cache"))
    assert "remembered" in ds[1]["skipped"][0][1]
    ds.epoch = 1
    assert ds[0]["vqa"] != first["vqa"] or ds[0]["reports"] == first["reports"]  # another draw, same case

    class Cfg:  # load_index: the dispatcher the trainer uses
        source, root, path, split, label_questions, limit = "ct-rate", str(ct_rate), None, "train", False, 2
    logged = []
    out = load_index(Cfg, logged.append)
    assert {s.case for s in out.samples} == {"train_1_a_1", "train_1_a_2"} and len(out.samples) == 2
    assert any("refused train_reports.csv row 6" in m for m in logged)
