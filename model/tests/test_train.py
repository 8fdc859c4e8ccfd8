"""The training pipeline on the tiny preset (seconds): every stage runs, reruns resume, results are deterministic."""

from __future__ import annotations

import dataclasses
import os

import pytest
import torch

from model import stages as S
from model import train as T
from model.batches import CTBatches
from model.checkpoints import checkpoint_model
from model.presets import PRESETS
from model.stages import train_stage0
from model.vocabulary import build_tokenizer


def states_equal(a: str, b: str) -> bool:
    sa, sb = torch.load(a)["model"], torch.load(b)["model"]
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_tiny_preset_end_to_end_resumes_and_is_deterministic(tmp_path, capsys):
    run = tmp_path / "run"
    assert T.main(["--preset", "tiny", "--out", str(run), "--threads", "1"]) == 0
    for f in ("stage0.pt", "stage1.pt", "stage2.pt"):
        assert (run / f).is_file(), f
    log = capsys.readouterr().out
    assert "stage0 step 3/3 ce" in log and "stage2 step 3/3 ce" in log and "aux" in log
    ck = torch.load(run / "stage2.pt")
    assert ck["routed"] and ck["variant"]["name"] == "tghmoe"

    # the stage-0 transfer: the 3D model starts from the 2D one
    s0 = torch.load(run / "stage0.pt")["model"]
    s1 = torch.load(run / "stage1.pt")["model"]
    frozen = "encoder.lower.blocks.0.attn.qkv.weight"  # freeze_blocks = 1 in the tiny preset
    assert torch.equal(s0[frozen], s1[frozen])
    assert "encoder.upper.0.mlp.shared.fc1.weight" in s1 and "encoder.lower.blocks.2.mlp.fc1.weight" in s0

    # rerun with stage 2 removed: stages 0–1 are skipped, stage 2 is retrained to identical weights
    os.replace(run / "stage2.pt", tmp_path / "first_stage2.pt")
    assert T.main(["--preset", "tiny", "--out", str(run), "--threads", "1"]) == 0
    log = capsys.readouterr().out
    assert "stage0 step" not in log and "stage1 step" not in log and "stage2 step 3/3" in log
    assert states_equal(str(run / "stage2.pt"), str(tmp_path / "first_stage2.pt"))


def test_an_interrupted_stage_resumes_from_its_checkpoint(tmp_path, monkeypatch):
    preset = dataclasses.replace(PRESETS["tiny"], stage0_steps=4, checkpoint_every=2)
    tok = build_tokenizer()
    train_stage0(preset, tok, str(tmp_path / "a"))  # uninterrupted reference

    run = tmp_path / "b"
    os.makedirs(run)
    real = S.multitask_loss
    calls = {"n": 0}

    def crash_on_third(*args, **kw):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(*args, **kw)

    monkeypatch.setattr(S, "multitask_loss", crash_on_third)
    with pytest.raises(KeyboardInterrupt):
        train_stage0(preset, tok, str(run))
    assert (run / "stage0.pt.part").is_file() and not (run / "stage0.pt").exists()
    monkeypatch.setattr(S, "multitask_loss", real)
    train_stage0(preset, tok, str(run))
    assert not (run / "stage0.pt.part").exists()
    assert states_equal(str(run / "stage0.pt"), str(tmp_path / "a" / "stage0.pt"))


def test_batches_are_a_function_of_the_step():
    tok = build_tokenizer()
    lines = [{"task": "report", "question": "Describe this chest CT.", "report": f"Findings: case {i}.", "index": i}
             for i in range(8)]
    lines += [{"task": "vqa", "question": "Is there emphysema?", "answer": "no", "index": i} for i in range(8)]
    preset = dataclasses.replace(PRESETS["tiny"], batch_reports=2, batch_vqa=3)
    b = CTBatches(tok, lines, 4, preset, "stage1")
    i1, bs1 = b(5)
    i2, bs2 = b(5)
    assert i1 == i2 and all(torch.equal(x["input_ids"], y["input_ids"]) for x, y in zip(bs1, bs2))
    assert b(6)[0] != i1 or not torch.equal(b(6)[1][0]["input_ids"], bs1[0]["input_ids"])
    batch = bs1[0]
    # labels only on the answer (+ <eos>), the prompt mask excludes the image tokens
    first = batch["input_ids"][0]
    plen = int(batch["prompt_mask"][0].sum()) + 4
    assert (batch["labels"][0, :plen] == -100).all() and batch["labels"][0, plen] == first[plen]
    assert not batch["prompt_mask"][0][first == tok.image_id].any()


def test_stage3_changes_the_windows_and_trains_on_from_stage2(tmp_path, monkeypatch):
    """Stage 3 (the card's window experiment) starts from stage 2's weights and writes the new windows into the
    checkpoint's preprocessing, which export turns into the package's hu_windows."""
    from model.export import config_json
    from model.preprocess import PreprocessConfig

    windows = [[-950.0, 100.0], [40.0, 400.0], [400.0, 1800.0]]
    tiny3 = dataclasses.replace(PRESETS["tiny"], name="tiny3", stage3_steps=2, stage3_windows=windows)
    monkeypatch.setitem(PRESETS, "tiny3", tiny3)
    run = tmp_path / "run"
    assert T.main(["--preset", "tiny3", "--out", str(run), "--threads", "1"]) == 0
    s2, s3 = torch.load(run / "stage2.pt"), torch.load(run / "stage3.pt")
    assert s3["preprocess"]["hu_windows"] == [tuple(w) for w in windows] and s3["routed"]
    changed = [k for k in s2["model"] if not torch.equal(s2["model"][k], s3["model"][k])]
    assert "encoder.lower.patch_embed.proj.weight" in changed  # every parameter trains, the patch embedding too
    model = checkpoint_model(str(run / "stage3.pt"))
    cfg = config_json(model, build_tokenizer(), PreprocessConfig(**s3["preprocess"]), {})
    assert cfg["ctlens"]["hu_windows"] == windows and cfg["ctlens"]["hu_window_names"][0] == "low attenuation"


def test_stage3_from_another_run_with_finding_evidence_and_its_scores(tmp_path, monkeypatch, capsys):
    """``stage3_from`` starts stage 3 from another run's checkpoint, ``finding_evidence`` adds the evidence map
    (it trains and lands in the checkpoint's config), and ``model.ablate --score/--compare`` read the result."""
    from model import ablate
    from model.synth import main as synth_main

    first = tmp_path / "runs" / "first"
    assert T.main(["--preset", "tiny", "--out", str(first), "--threads", "1"]) == 0
    capsys.readouterr()
    monkeypatch.setattr(S, "RUNS", str(tmp_path / "runs"))
    tiny_ev = dataclasses.replace(PRESETS["tiny"], name="tiny_ev", stage3_steps=2, stage3_from="first/stage2.pt",
                                  finding_evidence=True, stage3_windows=[[-600.0, 1500.0], [40.0, 400.0], [-950.0, 100.0]])
    monkeypatch.setitem(PRESETS, "tiny_ev", tiny_ev)
    second = tmp_path / "second"  # empty: a continuation trains no stages 0-2 and reads the first run's data
    assert T.main(["--preset", "tiny_ev", "--out", str(second), "--threads", "1"]) == 0
    log = capsys.readouterr().out
    assert f"stage3 from {first / 'stage2.pt'}" in log and "stage0 step" not in log and "stage1 step" not in log
    assert sorted(os.listdir(second)) == ["stage3.pt"]
    s3 = torch.load(second / "stage3.pt")
    assert s3["config"]["finding_evidence"] is True
    assert s3["model"]["finding_evidence.weight"].abs().sum() > 0  # zero at the start, trained since
    assert checkpoint_model(str(second / "stage3.pt")).finding_evidence is not None

    val = tmp_path / "val"
    assert synth_main(["--out", str(val), "--n", "2", "--seed", "5", "--split", "val", "--size", "48,48,24"]) == 0
    out = tmp_path / "decisions.json"
    for label, ck in (("base", first / "stage2.pt"), ("evidence", second / "stage3.pt")):
        assert ablate.main(["--score", str(ck), "--label", label, "--test", str(val / "dataset.jsonl"), "--cases", "2",
                            "--out", str(out), "--threads", "1"]) == 0
    table = ablate.compare([str(out)], n_boot=50, baseline="base")
    rows = [l for l in table.splitlines() if l.startswith("| base") or l.startswith("| evidence")]
    assert len(rows) == 2 and rows[0].count("—") == 2 and "—" not in rows[1]


def test_stage3_with_the_detail_branch_keeps_it_frozen_and_trains_its_evidence(tmp_path, monkeypatch, capsys):
    """``detail_from`` adds the stand-alone-trained detail branch (model/detail.py) at stage 3: its weights stay as
    trained (folded), its evidence map trains, and the checkpoint rebuilds the same model."""
    from model.detail import load_detail
    from model.detail import main as detail_main

    first = tmp_path / "runs" / "first"
    assert T.main(["--preset", "tiny", "--out", str(first), "--threads", "1"]) == 0
    detail_main(["--data", str(first / "data"), "--out", str(tmp_path / "runs" / "detail.pt"), "--steps", "2",
                 "--batch", "2", "--width", "4", "--monitor", "1", "--eval-every", "2"])
    capsys.readouterr()
    monkeypatch.setattr(S, "RUNS", str(tmp_path / "runs"))
    windows = [[-600.0, 1500.0], [40.0, 400.0], [-950.0, 100.0]]
    tiny_d = dataclasses.replace(PRESETS["tiny"], name="tiny_d", stage3_steps=2, stage3_from="first/stage2.pt",
                                 finding_evidence=True, detail_from="detail.pt", stage3_windows=windows)
    monkeypatch.setitem(PRESETS, "tiny_d", tiny_d)
    second = tmp_path / "second"
    assert T.main(["--preset", "tiny_d", "--out", str(second), "--threads", "1"]) == 0
    assert "detail branch frozen, from detail.pt" in capsys.readouterr().out
    s3 = torch.load(second / "stage3.pt")
    assert s3["config"]["detail_evidence"] is True and s3["config"]["detail_width"] == 4
    assert s3["model"]["detail_evidence.weight"].abs().sum() > 0  # zero at the start, trained since
    _, folded = load_detail(str(tmp_path / "runs" / "detail.pt"))
    assert all(torch.equal(s3["model"][f"detail.{k}"], v) for k, v in folded.items())  # frozen
    assert checkpoint_model(str(second / "stage3.pt")).detail is not None

    # detail_evidence_lr: the map alone at its own rate. AdamW's first steps move each weight by about the rate
    # whatever the gradient's size, so the map ends about 100× larger and nothing else moves further.
    fast = dataclasses.replace(tiny_d, name="tiny_d_fast", detail_evidence_lr=100 * tiny_d.stage3_lr)
    monkeypatch.setitem(PRESETS, "tiny_d_fast", fast)
    assert T.main(["--preset", "tiny_d_fast", "--out", str(tmp_path / "fast"), "--threads", "1"]) == 0
    assert f"its evidence map at {fast.detail_evidence_lr}, everything else at {tiny_d.stage3_lr}" in capsys.readouterr().out
    s3_fast = torch.load(tmp_path / "fast" / "stage3.pt")
    ratio = s3_fast["model"]["detail_evidence.weight"].abs().max() / s3["model"]["detail_evidence.weight"].abs().max()
    assert 30 < float(ratio) < 300
    start = torch.load(first / "stage2.pt")["model"]
    for name in ("llm.embed_tokens.weight", "finding_head.weight"):
        moved = (s3_fast["model"][name] - start[name]).abs().max()
        assert 0 < moved <= 3 * (s3["model"][name] - start[name]).abs().max()

    # continued without detail_from: the branch comes with the checkpoint and stays frozen, its map trains on
    monkeypatch.setattr(S, "RUNS", str(tmp_path))
    more = dataclasses.replace(tiny_d, name="tiny_d_more", stage3_from="second/stage3.pt", detail_from=None)
    monkeypatch.setitem(PRESETS, "tiny_d_more", more)
    (tmp_path / "first").symlink_to(tmp_path / "runs" / "first")  # the chain's paths, now relative to tmp_path
    assert T.continuation_data_dir("second/stage3.pt") == str(tmp_path / "first" / "data")  # second has none
    assert T.main(["--preset", "tiny_d_more", "--out", str(tmp_path / "more"), "--threads", "1"]) == 0
    assert not (tmp_path / "second" / "data").exists()  # trained on first's data, not a new copy
    assert "detail branch frozen, from " in capsys.readouterr().out
    s4 = torch.load(tmp_path / "more" / "stage3.pt")
    assert all(torch.equal(s4["model"][f"detail.{k}"], v) for k, v in folded.items())
    assert not torch.equal(s4["model"]["detail_evidence.weight"], s3["model"]["detail_evidence.weight"])
    monkeypatch.setattr(S, "RUNS", str(tmp_path / "runs"))

    other = dataclasses.replace(tiny_d, name="tiny_d2", stage3_windows=[[-600.0, 1500.0], [40.0, 400.0], [400.0, 1800.0]])
    monkeypatch.setitem(PRESETS, "tiny_d2", other)
    with pytest.raises(ValueError, match="trained on HU windows"):
        T.main(["--preset", "tiny_d2", "--out", str(tmp_path / "third"), "--threads", "1"])


def test_data_workers_generate_the_same_cases_as_one_process(tmp_path):
    """--data-workers splits the case indices between processes writing one file: same HU and lines as one."""
    import numpy as np

    from model.ct_data import build_ct_data

    preset = dataclasses.replace(PRESETS["tiny"], train_cases=5)
    one = build_ct_data(preset, "train", 5, str(tmp_path / "one"))
    three = build_ct_data(preset, "train", 5, str(tmp_path / "three"), workers=3)
    assert np.array_equal(np.asarray(one["hu"]), np.asarray(three["hu"])) and np.asarray(one["hu"], dtype=np.float32).std() > 0
    assert one["lines"] == three["lines"] and [l["index"] for l in three["lines"] if l["task"] == "report"] == [0, 1, 2, 3, 4]
    assert not any(p.name.endswith(".part.npy") for p in (tmp_path / "three").iterdir())
    # read back from disk on the next call (no regeneration)
    again = build_ct_data(preset, "train", 5, str(tmp_path / "three"), workers=3)
    assert again["lines"] == three["lines"]
