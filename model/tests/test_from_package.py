"""model/from_package.py: a package read back into a stage-3 checkpoint and a detail-branch checkpoint holds exactly
the weights that were exported, reads back strictly, and a package without a finding head or branch is refused
with a message."""

from __future__ import annotations

import pytest
import torch

from model.checkpoints import checkpoint_model, load_checkpoint
from model.detail import DetailNet, fold_batchnorm, load_detail
from model.export import export_package
from model.from_package import main as from_package
from model.tests.test_detail import _trained_like_bn_net
from model.tests.test_export import tiny_model


def _exported(tmp_path, detail: bool = True, evidence: bool = True):
    model, tok, preset = tiny_model()
    if evidence:
        model.enable_finding_evidence()
    if detail:
        model.enable_detail_evidence(fold_batchnorm(_trained_like_bn_net(16).state_dict()))
        with torch.no_grad():
            model.detail_evidence.weight.normal_()  # a trained map, not the zero one it starts with
    pkg = tmp_path / "pkg"
    export_package(model, tok, preset.preprocess(), str(pkg), {"training": "test"})
    return model, tok, preset, pkg


def test_a_package_reads_back_into_the_checkpoints_it_was_exported_from(tmp_path):
    model, tok, preset, pkg = _exported(tmp_path)
    out, det, data = tmp_path / "run" / "stage3.pt", tmp_path / "branch" / "detail.pt", tmp_path / "data"
    data.mkdir()
    assert from_package(["--package", str(pkg), "--preset", "tiny", "--out", str(out), "--detail-out", str(det),
                         "--data", str(data)]) == 0
    want = model.state_dict()
    got = checkpoint_model(str(out)).state_dict()
    assert set(got) == set(want)
    for k in want:
        assert torch.equal(got[k], want[k]), k
    strict, tok2, pre, _ = load_checkpoint(str(out))  # the export's reading: every weight, vocabulary, windows
    assert tok2.vocab == tok.vocab and pre.hu_windows == preset.preprocess().hu_windows
    assert all(m.routed for m in strict.encoder.moe_layers)
    assert torch.load(out)["preset"] == "tiny"
    assert (out.parent / "data").resolve() == data.resolve()

    windows, state = load_detail(str(det))  # folded again by model.detail's reader: the package's weights exactly
    assert windows == [list(w) for w in preset.preprocess().hu_windows]
    assert set(state) == set(model.detail.state_dict())
    for k, v in model.detail.state_dict().items():
        assert torch.equal(state[k], v), k
    DetailNet(16, batchnorm=True).load_state_dict(torch.load(det)["state"])  # the training form model.detail writes


def test_packages_without_a_finding_head_or_a_branch_are_refused_with_a_message(tmp_path, capsys):
    _, _, _, pkg = _exported(tmp_path, detail=False, evidence=False)
    with pytest.raises(SystemExit) as e:
        from_package(["--package", str(pkg), "--preset", "tiny", "--out", str(tmp_path / "a.pt")])
    assert e.value.code == 1 and "has no finding head" in capsys.readouterr().err
    _, _, _, pkg = _exported(tmp_path / "b", detail=False)
    with pytest.raises(SystemExit) as e:
        from_package(["--package", str(pkg), "--preset", "tiny", "--out", str(tmp_path / "b.pt"),
                      "--detail-out", str(tmp_path / "d.pt")])
    assert e.value.code == 1 and "has no detail branch" in capsys.readouterr().err
    assert not (tmp_path / "b.pt").exists()  # nothing half-written
    with pytest.raises(SystemExit) as e:
        from_package(["--package", str(tmp_path / "nowhere"), "--preset", "tiny", "--out", str(tmp_path / "c.pt")])
    assert e.value.code == 1 and "config.json is missing" in capsys.readouterr().err
