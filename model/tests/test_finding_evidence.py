"""Finding evidence (CTLensMLLM.enable_finding_evidence): added at zero it changes nothing; trained, it is part of
the vision graph, exported and read back with the same features, and a checkpoint records it."""

from __future__ import annotations

import torch

from model.export import export_package
from model.mllm import CTLensMLLM, MLLMConfig
from model.package import load_package
from model.tests.test_export import tiny_model


def _features(model, x, text):
    with torch.no_grad():
        return model.image_features(model.encoder.encode_slices(x), text)[0]


def test_zero_initialised_evidence_leaves_the_model_unchanged_and_then_moves_only_the_summary_token():
    model, tok, _ = tiny_model()
    x = torch.randn(2, 3, 4, 32, 32)
    text = torch.randn(2, model.cfg.llm.dim)
    before = _features(model, x, text)
    model.enable_finding_evidence()
    assert model.cfg.finding_evidence and torch.equal(_features(model, x, text), before)
    with torch.no_grad():
        model.finding_evidence.weight.normal_(0, 0.5)
    after = _features(model, x, text)
    assert torch.equal(after[:, :-1], before[:, :-1])  # the grid tokens are the projector's alone
    belief = torch.sigmoid(model.finding_head(before[:, -1]))
    assert torch.allclose(after[:, -1], before[:, -1] + belief @ model.finding_evidence.weight.T, atol=1e-6)
    # The config round trip keeps it, so checkpoints rebuild the same module.
    assert CTLensMLLM(MLLMConfig.from_dict(model.cfg.to_dict())).finding_evidence is not None


def test_a_package_with_finding_evidence_reloads_the_same_features(tmp_path):
    model, tok, preset = tiny_model()
    model.enable_finding_evidence()
    with torch.no_grad():
        model.finding_evidence.weight.normal_(0, 0.5)
    export_package(model, tok, preset.preprocess(), str(tmp_path / "pkg"), {"training": "test"})
    pkg = load_package(str(tmp_path / "pkg"))
    assert pkg.model.finding_head is not None and pkg.model.finding_evidence is not None
    x = torch.randn(1, 3, 4, 32, 32)
    text = torch.randn(1, model.cfg.llm.dim)
    assert torch.equal(_features(pkg.model, x, text), _features(model, x, text))
