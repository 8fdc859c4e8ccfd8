"""ONNX export and the package round trip: valid graphs, weights read back from the initializers give the same
model, and the bundled package in onnxruntime-node matches its PyTorch references (logits ≤ 1e-3, greedy equal)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess

import onnx
import pytest
import torch

from model.export import export_package
from model.generate import generate
from model.mllm import CTLensMLLM
from model.package import PackageError, load_package
from model.preprocess import preprocess_file
from model.presets import PRESETS
from model.vocabulary import build_tokenizer

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PACKAGE = os.path.join(ROOT, "media", "models", "ctlens-tghmoe-demo")
FIXTURES = os.path.join(ROOT, "test", "fixtures", "model")


def tiny_model():
    torch.manual_seed(0)
    tok = build_tokenizer()
    preset = PRESETS["tiny"]
    model = CTLensMLLM(preset.model_config(len(tok), tok.image_id))
    for layer in model.encoder.moe_layers:
        layer.upcycle()
    with torch.no_grad():  # every parameter non-trivial (zeroed expert outputs would hide a wrong mapping)
        for p in model.parameters():
            p.add_(0.02 * torch.randn_like(p))
    return model.eval(), tok, preset


def test_export_writes_every_package_file_and_reloads_the_same_model(tmp_path):
    model, tok, preset = tiny_model()
    out = tmp_path / "pkg"
    cfg = export_package(model, tok, preset.preprocess(), str(out), {"training": "test"})
    for f in ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
              "onnx/vision_encoder.onnx", "onnx/embed_tokens.onnx", "onnx/decoder_model_merged.onnx"):
        assert (out / f).is_file(), f
    c = cfg["ctlens"]
    assert c["num_image_tokens"] == model.cfg.num_image_tokens
    assert c["patch_grid"] == [4, 2, 2] and c["moe"]["layers"] == [2]
    dec = onnx.load(str(out / "onnx" / "decoder_model_merged.onnx")).graph
    assert [i.name for i in dec.input][:4] == ["inputs_embeds", "attention_mask", "position_ids",
                                               "past_key_values.0.key"]
    assert [o.name for o in dec.output] == ["logits", "present.0.key", "present.0.value"]
    vis = onnx.load(str(out / "onnx" / "vision_encoder.onnx")).graph
    assert [o.name for o in vis.output] == ["image_features", "group_gates", "router_probs"]

    pkg = load_package(str(out))
    ref = model.state_dict()
    for k, v in pkg.model.state_dict().items():
        assert torch.equal(v, ref[k]), k
    x = torch.randn(1, 3, 4, 32, 32)
    ids = tok.encode("<bos>Is there a pleural effusion?<image><answer>")
    a = generate(model, x, ids, tok.eos_id, max_new_tokens=6)
    b = pkg.generate(x, "vqa", "Is there a pleural effusion?", max_new_tokens=6)
    assert a.ids == b.ids and torch.equal(a.prefill_logits, b.prefill_logits)
    # The package's templates give the runtime exactly the prompt training used (image expanded in place).
    from model.batches import encode_sample
    from model.generate import expand_image_tokens
    n = model.cfg.num_image_tokens
    for task, question in (("vqa", "Is there a PLEURAL effusion?"), ("report", "Generate a radiology report for this chest CT.")):
        trained, plen = encode_sample(tok, n, question, "x")
        assert expand_image_tokens(pkg.prompt_ids(task, question), tok.image_id, n) == trained[:plen]


def test_a_package_missing_a_graph_is_refused(tmp_path):
    model, tok, preset = tiny_model()
    out = tmp_path / "pkg"
    export_package(model, tok, preset.preprocess(), str(out), {})
    os.remove(out / "onnx" / "embed_tokens.onnx")
    with pytest.raises(PackageError, match="onnx/embed_tokens.onnx is missing"):
        load_package(str(out))


def sha256(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def test_references_belong_to_the_bundled_package():
    with open(os.path.join(FIXTURES, "references.json")) as f:
        refs = json.load(f)
    for name, digest in refs["package_onnx_sha256"].items():
        assert sha256(os.path.join(PACKAGE, "onnx", name)) == digest, f"stale references for {name}: re-run make_references.py"
    assert len(refs["cases"]) >= 20


def test_bundled_package_pytorch_reference_reproduces_the_fixture():
    """The saved pixels and a few references regenerate exactly from the package (the fixture is not stale)."""
    with open(os.path.join(FIXTURES, "references.json")) as f:
        refs = json.load(f)
    pkg = load_package(PACKAGE)
    for case in refs["cases"][:6:5]:  # a report and a VQA case
        x = preprocess_file(os.path.join(ROOT, case["image"]), pkg.preprocess)
        if case["pixel_values"]:
            saved = torch.from_file(os.path.join(FIXTURES, case["pixel_values"]), size=x.numel(), dtype=torch.float32)
            assert (saved.view_as(x) - x).abs().max().item() <= 1e-6
        g = pkg.generate(x, case["task"], case["question"], max_new_tokens=8, min_new_tokens=8)
        assert g.prompt_ids == case["input_ids"]
        assert g.ids == case["greedy_ids"][:8]
        assert (g.prefill_logits - torch.tensor(case["prefill_logits"])).abs().max().item() <= 1e-4


def test_bundled_package_in_onnxruntime_node_matches_pytorch(tmp_path):
    node = shutil.which("node")
    if node is None or not os.path.isdir(os.path.join(ROOT, "node_modules", "onnxruntime-node")):
        pytest.skip("node or onnxruntime-node not installed")
    with open(os.path.join(FIXTURES, "references.json")) as f:
        refs = json.load(f)
    pkg = load_package(PACKAGE)
    for case in refs["cases"]:  # phantoms without a saved tensor: preprocess here, hand the tensor to Node
        if not case["pixel_values"]:
            name = os.path.basename(case["image"]).replace(".nii.gz", ".f32")
            if not (tmp_path / name).exists():
                preprocess_file(os.path.join(ROOT, case["image"]), pkg.preprocess).numpy().astype("<f4").tofile(
                    str(tmp_path / name))
    res = subprocess.run([node, os.path.join(FIXTURES, "check_ort.mjs"), "--pixels", str(tmp_path)],
                         capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert res.stdout.strip(), res.stderr
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert summary["checked"] == len(refs["cases"]) >= 20
    assert summary["greedyEqual"] == summary["checked"], summary["failures"]
    assert summary["maxLogitsDiff"] <= 1e-3
    assert res.returncode == 0


def test_a_token_only_moe_package_reloads_without_its_unused_group_gate(tmp_path):
    model, tok, preset = tiny_model()
    for layer in model.encoder.moe_layers:
        layer.cfg.text_guided = False  # as model.train does for the token-only ablation
    out = tmp_path / "pkg"
    export_package(model, tok, preset.preprocess(), str(out), {})
    pkg = load_package(str(out))
    assert not pkg.model.cfg.encoder.moe.text_guided
    x = torch.randn(1, 3, 4, 32, 32)
    ids = tok.encode("<bos>Is there a pleural effusion?<image><answer>")
    a = generate(model, x, ids, tok.eos_id, max_new_tokens=6)
    b = pkg.generate(x, "vqa", "Is there a pleural effusion?", max_new_tokens=6)
    assert a.ids == b.ids and torch.allclose(a.prefill_logits, b.prefill_logits)
