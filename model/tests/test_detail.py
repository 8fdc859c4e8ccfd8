"""The local-detail branch (model/detail.py): folding its BatchNorm keeps the function, added at zero it changes
nothing, trained it moves only the summary token, and a package with it reloads the same features; its stand-alone
trainer runs and writes a checkpoint stage 3 reads."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from model.detail import DetailNet, case_labels, fold_batchnorm, load_detail
from model.detail import main as detail_main
from model.export import export_package
from model.labeller import FINDINGS
from model.package import load_package
from model.tests.test_export import tiny_model


def _trained_like_bn_net(width: int = 4) -> DetailNet:
    """A training-form net whose BatchNorm statistics and affine parameters are not the identity."""
    torch.manual_seed(0)
    net = DetailNet(width, batchnorm=True)
    net.train()
    with torch.no_grad():
        for _ in range(3):
            net(torch.randn(2, 3, 4, 32, 32) * 2 + 0.5)
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm3d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    return net.eval()


def test_folding_batchnorm_keeps_the_function():
    bn = _trained_like_bn_net()
    plain = DetailNet(4)
    plain.load_state_dict(fold_batchnorm(bn.state_dict()))
    x = torch.randn(3, 3, 4, 32, 32)
    with torch.no_grad():
        assert torch.allclose(plain(x), bn(x), atol=1e-5)
    assert not any(isinstance(m, torch.nn.BatchNorm3d) for m in plain.modules())


def _vision(model, x, text):
    with torch.no_grad():
        return model.vision(x, text)[0]


def test_zero_initialised_detail_evidence_leaves_the_model_unchanged_then_moves_only_the_summary_token():
    model, _, _ = tiny_model()
    model.enable_finding_evidence()
    x = torch.randn(2, 3, 4, 32, 32)
    text = torch.randn(2, model.cfg.llm.dim)
    before = _vision(model, x, text)
    model.enable_detail_evidence(DetailNet(16).state_dict())
    assert model.cfg.detail_evidence and torch.equal(_vision(model, x, text), before)
    with torch.no_grad():
        model.detail_evidence.weight.normal_(0, 0.5)
    after = _vision(model, x, text)
    assert torch.equal(after[:, :-1], before[:, :-1])
    with torch.no_grad():
        belief = torch.sigmoid(model.detail(x))
    assert torch.allclose(after[:, -1], before[:, -1] + belief @ model.detail_evidence.weight.T, atol=1e-6)
    with pytest.raises(ValueError, match="needs its logits"):
        model.image_features(model.encoder.encode_slices(x), text)


def _reloaded_from_package(model, tok, preset, tmp_path):
    """``model`` with a random evidence map, exported and read back: (the package's model, model) give equal
    features."""
    with torch.no_grad():
        model.detail_evidence.weight.normal_(0, 0.5)
    export_package(model, tok, preset.preprocess(), str(tmp_path / "pkg"), {"training": "test"})
    pkg = load_package(str(tmp_path / "pkg"))
    x = torch.randn(1, 3, 4, 32, 32)
    text = torch.randn(1, model.cfg.llm.dim)
    model.eval()
    assert torch.equal(_vision(pkg.model, x, text), _vision(model, x, text))
    return pkg.model


def test_a_package_with_the_detail_branch_reloads_the_same_features(tmp_path):
    model, tok, preset = tiny_model()
    model.enable_finding_evidence()
    model.enable_detail_evidence(fold_batchnorm(_trained_like_bn_net(16).state_dict()))
    reloaded = _reloaded_from_package(model, tok, preset, tmp_path)
    assert reloaded.detail is not None and reloaded.cfg.detail_evidence


def test_the_stand_alone_trainer_writes_a_checkpoint_with_its_windows_and_monitor_aucs(tmp_path):
    from model import train as T

    run = tmp_path / "run"
    assert T.main(["--preset", "tiny", "--out", str(run), "--threads", "1"]) == 0  # 3 cases with their reports
    out = tmp_path / "detail.pt"
    detail_main(["--data", str(run / "data"), "--out", str(out), "--steps", "5", "--stop-after", "3", "--batch", "2",
                 "--width", "4", "--monitor", "1", "--eval-every", "3"])
    windows, state = load_detail(str(out))
    assert windows == [[-600.0, 1500.0], [40.0, 400.0], [-950.0, 100.0]]
    net = DetailNet(4)
    net.load_state_dict(state)
    history = torch.load(out)["history"]
    assert history[-1]["step"] == 3 and set(history[-1]["auc"]) == set(FINDINGS)
    assert all(v is None for v in history[-1]["auc"].values())  # one monitor case: no AUC, and none made up


def test_case_labels_are_what_the_labeller_reads_from_each_training_report(tmp_path):
    from model import train as T
    from model.labeller import label_report

    run = tmp_path / "run"
    assert T.main(["--preset", "tiny", "--out", str(run), "--threads", "1"]) == 0
    labels = case_labels(str(run / "data" / "train_lines.jsonl"))
    with open(run / "data" / "train_lines.jsonl") as f:
        reports = {l["index"]: l["report"] for l in map(json.loads, f) if l["task"] == "report"}
    assert labels.shape == (3, len(FINDINGS))
    for i, report in reports.items():
        assert labels[i].tolist() == [float(label_report(report)[k]) for k in FINDINGS]


def test_the_finding_map_marks_each_present_finding_and_nothing_else():
    from model.phantom import FINDINGS as PH_FINDINGS
    from model.phantom import TISSUE
    from model.synth import generate_case

    for i in range(6):
        ph = generate_case(5, "train", i, size=(64, 64, 32)).phantom
        for bit, name in enumerate(PH_FINDINGS):
            covered = ((ph.findings >> bit) & 1).astype(bool)
            assert covered.any() == bool(ph.labels[name]), (i, name)
        nodes = ph.tissue == TISSUE["lymph_node"]
        enlarged = ((ph.findings >> PH_FINDINGS.index("lymphadenopathy")) & 1).astype(bool)
        assert not (enlarged & ~nodes).any()  # enlarged nodes are lymph node tissue; normal nodes are not marked


def test_finding_cells_are_the_resampled_coverage_on_the_model_grid():
    from model.ct_data import CELL, finding_cells
    from model.phantom import make_phantom

    ph = make_phantom(np.random.default_rng(3), shape=(64, 64, 32))
    ph.findings[:] = 0
    ph.findings[10:12, 20:24, 8:10] = 1  # "nodule" on RAS i 10–11, j 20–23, k 8–9: whole input voxels (2 a side)
    ph.findings[40, 40, 20] = 1  # one source voxel: 1/8 of an input voxel
    cells = finding_cells(ph, (16, 32, 32))  # [finding, slice cell, A cell, R cell]
    assert cells.shape == (8, 16 // CELL[0], 32 // CELL[1], 32 // CELL[2]) and cells.dtype == np.uint8
    assert not cells[1:].any()
    # input voxels (k 4, j 10–11, i 5) → cell (4 // 2, 10 // 4, 5 // 4); the lone voxel → (10 // 2, 20 // 4, 20 // 4)
    assert np.argwhere(cells[0]).tolist() == [[2, 2, 1], [5, 5, 5]]
    assert cells[0, 2, 2, 1] == 255 and cells[0, 5, 5, 5] == round(255 / 8)


def test_per_position_logits_add_their_highest_to_the_finding_logit_and_survive_folding():
    torch.manual_seed(1)
    bn = DetailNet(4, batchnorm=True, cells=True).eval()
    x = torch.randn(2, 3, 4, 32, 32)
    with torch.no_grad():
        logits, per_cell = bn.forward_with_cells(x)
        f = bn.features(x).flatten(2)
        head = bn.head(torch.cat([f.amax(2), f.mean(2)], 1))
    assert per_cell.shape == (2, 8, 1, 4, 4)
    assert torch.allclose(logits, head + per_cell.flatten(2).amax(2), atol=1e-6)
    plain = DetailNet(**DetailNet.shape_of(fold_batchnorm(bn.state_dict())))
    plain.load_state_dict(fold_batchnorm(bn.state_dict()))
    with torch.no_grad():
        assert torch.allclose(plain(x), bn(x), atol=1e-5)


def test_the_cell_loss_is_balanced_within_each_case_and_ignores_partly_covered_cells():
    from model.detail import cell_loss

    cover = torch.zeros(1, 8, 2, 8, 8)
    cover[0, 0, 0, 0, 0] = 1.0  # one covered voxel-cell → one positive cell of the 1×4×4 grid
    cover[0, 1, 0, 4, 4] = 0.2  # partly covered: neither positive nor negative
    right = torch.full((1, 8, 1, 4, 4), -6.0)
    right[0, 0, 0, 0, 0] = 6.0
    wrong = right.clone()
    wrong[0, 0, 0, 0, 0] = -6.0
    assert cell_loss(right, cover) < 0.01 < cell_loss(wrong, cover)
    # one missed positive among 16 cells costs as much as missing a whole finding: it is not diluted by negatives
    assert cell_loss(wrong, cover) > 6.0 / 8 * 0.9
    partial = right.clone()
    partial[0, 1, 0, 2, 2] = 6.0  # the partly covered cell: any value costs nothing
    assert torch.allclose(cell_loss(partial, cover), cell_loss(right, cover))


def test_a_model_with_cell_supervised_detail_reloads_from_its_package(tmp_path):
    model, tok, preset = tiny_model()
    model.enable_finding_evidence()
    model.enable_detail_evidence(fold_batchnorm(DetailNet(4, batchnorm=True, cells=True).eval().state_dict()))
    assert model.cfg.detail_cells and model.detail.cells is not None
    assert _reloaded_from_package(model, tok, preset, tmp_path).cfg.detail_cells


def test_the_trainer_with_cells_builds_them_trains_crops_then_volumes_and_refuses_an_unknown_preset(tmp_path):
    from model import train as T

    run = tmp_path / "run"
    assert T.main(["--preset", "tiny", "--out", str(run), "--threads", "1"]) == 0
    out = tmp_path / "detail.pt"
    detail_main(["--data", str(run / "data"), "--out", str(out), "--steps", "2", "--batch", "2", "--width", "4",
                 "--monitor", "1", "--eval-every", "2", "--cells", "tiny", "--crop-steps", "2", "--crop", "4,16,16",
                 "--crop-batch", "2"])
    history = torch.load(out)["history"]
    assert [(h["phase"], h["step"]) for h in history] == [("crops", 2), ("volumes", 2)]
    cells = np.load(run / "data" / "train_findings.npy")
    assert cells.shape == (3, 8, 2, 8, 8)
    labels = case_labels(str(run / "data" / "train_lines.jsonl"))
    assert ((cells.reshape(3, 8, -1).max(2) > 0) <= (labels > 0.5)).all()  # a cell only where the report has it
    _, state = load_detail(str(out))
    assert DetailNet.shape_of(state) == {"width": 4, "cells": True}
    with pytest.raises(SystemExit, match="no preset 'nope'"):
        detail_main(["--data", str(run / "data"), "--out", str(out), "--steps", "1", "--cells", "nope"])


def test_crops_line_up_with_their_cells_and_half_of_them_hold_a_small_finding():
    from model.detail import crop_batch

    rng = np.random.default_rng(0)
    hu = np.zeros((2, 32, 128, 128), np.float32)
    z, y, x = np.meshgrid(np.arange(32), np.arange(128), np.arange(128), indexing="ij")
    hu[:] = z * 1e4 + y * 100 + x  # each voxel says where it is
    cells = np.zeros((2, 8, 16, 32, 32), np.uint8)
    cells[0, 0, 12, 28, 3] = 255  # case 0: a nodule cell near an edge; case 1: nothing
    held = 0
    for _ in range(40):
        hx, target = crop_batch(hu, cells, np.array([0, 1]), (16, 64, 64), rng)
        assert hx.shape == (2, 16, 64, 64) and target.shape == (2, 8, 8, 16, 16)
        for b in range(2):
            z0, y0, x0 = int(hx[b, 0, 0, 0] // 1e4), int(hx[b, 0, 0, 0] % 1e4 // 100), int(hx[b, 0, 0, 0] % 100)
            assert z0 % 4 == 0 and y0 % 8 == 0 and x0 % 8 == 0  # on the net's output grid
            assert torch.equal(target[b], torch.from_numpy(
                cells[b, :, z0 // 2:z0 // 2 + 8, y0 // 4:y0 // 4 + 16, x0 // 4:x0 // 4 + 16]).float() / 255)
        held += int(target[0, 0].max() > 0)
    assert 14 <= held <= 36  # about half centred on the nodule, a few more by chance, not all


def test_the_trainer_pretrains_on_crops_only_with_cells():
    with pytest.raises(SystemExit, match="needs --cells"):
        detail_main(["--data", "nowhere", "--out", "x.pt", "--crop-steps", "3"])


def test_the_finding_loss_before_evidence_trains_no_evidence_map():
    """``finding_loss_before_evidence`` (Deviation 20): the finding head's BCE reads the summary token before the
    evidence maps add to it, so the BCE's gradient reaches neither map; after them (the runs before), it does."""
    from model.batches import collate
    from model.losses import multitask_loss

    model, tok, _ = tiny_model()
    model.enable_finding_evidence()
    model.enable_detail_evidence(DetailNet(4).state_dict())
    with torch.no_grad():
        model.finding_evidence.weight.normal_(0, 0.5)
        model.detail_evidence.weight.normal_(0, 0.5)
    x = torch.randn(2, 3, 4, 32, 32)
    tokens = model.encoder.encode_slices(x)
    with torch.no_grad():
        detail = model.detail(x)
    prompt = [tok.bos_id] + [tok.image_id] * model.cfg.num_image_tokens + tok.encode("describe the scan")
    answer = tok.encode("no pleural effusion .") + [tok.eos_id]
    batch = collate(tok, [(prompt + answer, len(prompt))] * 2)
    findings = torch.tensor([[1.0, 0, 0, 0, 0, 1, 0, 1], [0, 1, 0, 0, 1, 0, 0, 0]])

    def bce_grads(before: bool) -> dict:
        def loss(weight: float):
            return multitask_loss(model, tokens, [batch], findings=findings, finding_weight=weight,
                                  detail_logits=detail, finding_loss_before_evidence=before)[0]
        bce = loss(1.0) - loss(0.0)  # the language model's loss is the same in both
        maps = [model.finding_evidence.weight, model.detail_evidence.weight, model.finding_head.weight]
        return dict(zip(("finding", "detail", "head"), torch.autograd.grad(bce, maps, allow_unused=True)))

    after = bce_grads(False)
    assert all(float(g.abs().max()) > 0 for g in after.values())
    before = bce_grads(True)
    assert before["detail"] is None or float(before["detail"].abs().max()) == 0
    assert before["finding"] is None or float(before["finding"].abs().max()) == 0
    assert float(before["head"].abs().max()) > 0  # the head itself still learns


def test_a_second_branch_replaces_the_first_and_keeps_its_trained_evidence_map(tmp_path):
    from model.preprocess import PreprocessConfig
    from model.stages import add_detail_branch

    windows = [(-600.0, 1500.0), (40.0, 400.0), (-950.0, 100.0)]
    pre = PreprocessConfig(hu_windows=windows)

    def branch(seed: int, width: int = 4) -> str:
        torch.manual_seed(seed)
        path = str(tmp_path / f"branch{seed}-{width}.pt")
        torch.save({"width": width, "windows": windows, "state": DetailNet(width, batchnorm=True, cells=True).state_dict()}, path)
        return path

    model, _, _ = tiny_model()
    model.enable_finding_evidence()
    add_detail_branch(model, branch(1), pre)  # no branch yet: added with a zero map
    assert torch.count_nonzero(model.detail_evidence.weight) == 0
    with torch.no_grad():
        model.detail_evidence.weight.normal_(0, 0.5)  # as stage 3 trains it
    trained_map = model.detail_evidence.weight.clone()
    second = branch(2)
    add_detail_branch(model, second, pre)
    expected = load_detail(second)[1]
    assert all(torch.equal(model.detail.state_dict()[k], v) for k, v in expected.items())
    assert torch.equal(model.detail_evidence.weight, trained_map)
    with pytest.raises(ValueError, match="width 8"):
        add_detail_branch(model, branch(3, width=8), pre)
    with pytest.raises(ValueError, match="HU windows"):
        add_detail_branch(model, second, PreprocessConfig())
