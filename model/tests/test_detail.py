"""The local-detail branch (model/detail.py): folding its BatchNorm keeps the function, added at zero it changes
nothing, trained it moves only the summary token, and a package with it reloads the same features; its stand-alone
trainer runs and writes a checkpoint stage 3 reads."""

from __future__ import annotations

import json

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


def test_a_package_with_the_detail_branch_reloads_the_same_features(tmp_path):
    model, tok, preset = tiny_model()
    model.enable_finding_evidence()
    model.enable_detail_evidence(fold_batchnorm(_trained_like_bn_net(16).state_dict()))
    with torch.no_grad():
        model.detail_evidence.weight.normal_(0, 0.5)
    export_package(model, tok, preset.preprocess(), str(tmp_path / "pkg"), {"training": "test"})
    pkg = load_package(str(tmp_path / "pkg"))
    assert pkg.model.detail is not None and pkg.model.cfg.detail_evidence
    x = torch.randn(1, 3, 4, 32, 32)
    text = torch.randn(1, model.cfg.llm.dim)
    model.eval()
    assert torch.equal(_vision(pkg.model, x, text), _vision(model, x, text))


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
