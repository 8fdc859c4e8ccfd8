"""ONNX export to the package layout of DESIGN 4 (Optimum / transformers.js style roles).

    python3 -m model.export --checkpoint model/runs/demo/stage2.pt --out media/models/ctlens-tghmoe-demo

- ``onnx/vision_encoder.onnx``: pixel_values [B,3,D,H,W], text_guidance [B,C_llm] → image_features [B,N_img,C_llm],
  group_gates [B,K,G], router_probs [B,K,N_vis,G,E]
- ``onnx/embed_tokens.onnx``: input_ids [B,S] int64 → inputs_embeds [B,S,C_llm]
- ``onnx/decoder_model_merged.onnx``: inputs_embeds [B,S,C], attention_mask [B,P+S] int64, position_ids [B,S]
  int64, past_key_values.{i}.{key,value} [B,h,P,hd] → logits [B,S,V], present.{i}.{key,value} [B,h,P+S,hd].
  One graph for prefill (P = 0: zero-length past tensors) and decoding (S = 1), hence "merged".

Constant folding is off and the wrappers report ``training = True`` to the exporter (the model inside is in eval
mode; it has no dropout or batch norm) so that torch keeps one initializer per parameter under its PyTorch name —
in eval mode it merges initializers whose values are equal, e.g. all zero biases of an untrained model — and
model/package.py can rebuild the PyTorch model from the ONNX files alone. ONNX Runtime folds constants itself
when it loads the graphs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil

import onnx
import torch
from torch import nn

from .checkpoints import load_checkpoint
from .mllm import CTLensMLLM
from .preprocess import PreprocessConfig
from .presets import PRESETS
from .tokenizer import WordTokenizer
from .vocabulary import build_tokenizer

OPSET = 17
CTLENS_VERSION = "2.6"  # the package format is 2 (what the runtime checks); .6: 2.5 trained 2,000 steps more (Deviation 24)
DEFAULT_GROUP_NAMES = ["group 0", "group 1"]
WINDOW_NAMES = {(-600.0, 1500.0): "lung", (40.0, 400.0): "soft tissue", (400.0, 1800.0): "bone",
                (-950.0, 100.0): "low attenuation"}


class VisionEncoderGraph(nn.Module):
    def __init__(self, model: CTLensMLLM):
        super().__init__()
        self.model = model

    def forward(self, pixel_values, text_guidance):
        feats, routing = self.model.vision(pixel_values, text_guidance)
        gates, probs = routing
        return feats, gates, probs


class EmbedTokensGraph(nn.Module):
    def __init__(self, model: CTLensMLLM):
        super().__init__()
        self.model = model

    def forward(self, input_ids):
        return self.model.embed_tokens(input_ids)


class DecoderGraph(nn.Module):
    def __init__(self, model: CTLensMLLM):
        super().__init__()
        self.model = model

    def forward(self, inputs_embeds, attention_mask, position_ids, *past_flat):
        past = [(past_flat[2 * i], past_flat[2 * i + 1]) for i in range(len(past_flat) // 2)]
        logits, presents = self.model.llm(inputs_embeds, attention_mask, position_ids, past)
        flat = []
        for k, v in presents:
            flat += [k, v]
        return (logits, *flat)


def _export(wrapper: nn.Module, args: tuple, path: str, **kw) -> None:
    wrapper.eval()
    wrapper.training = True  # only the top flag: disables torch's merging of equal-valued initializers
    torch.onnx.export(wrapper, args, path, opset_version=OPSET, do_constant_folding=False,
                      training=torch.onnx.TrainingMode.PRESERVE, **kw)
    _check(path)


def _check(path: str) -> None:
    onnx.checker.check_model(onnx.load(path))


def export_graphs(model: CTLensMLLM, onnx_dir: str) -> None:
    os.makedirs(onnx_dir, exist_ok=True)
    model = model.eval()
    cfg = model.cfg
    if not all(layer.routed for layer in model.encoder.moe_layers):
        raise ValueError("export needs the routed experts on (upcycle a stage-1 model first): the vision graph "
                         "outputs the routing")
    d, h, w = cfg.encoder.slices, cfg.encoder.vit.image_size, cfg.encoder.vit.image_size
    c = cfg.llm.dim
    with torch.no_grad():
        path = os.path.join(onnx_dir, "vision_encoder.onnx")
        _export(
            VisionEncoderGraph(model), (torch.randn(1, 3, d, h, w), torch.randn(1, c)), path,
            input_names=["pixel_values", "text_guidance"],
            output_names=["image_features", "group_gates", "router_probs"],
            dynamic_axes={"pixel_values": {0: "batch"}, "text_guidance": {0: "batch"},
                          "image_features": {0: "batch"}, "group_gates": {0: "batch"}, "router_probs": {0: "batch"}},
        )

        path = os.path.join(onnx_dir, "embed_tokens.onnx")
        _export(
            EmbedTokensGraph(model), (torch.tensor([[2, 5, 6]]),), path,
            input_names=["input_ids"], output_names=["inputs_embeds"],
            dynamic_axes={"input_ids": {0: "batch", 1: "sequence_length"},
                          "inputs_embeds": {0: "batch", 1: "sequence_length"}},
        )

        lc = cfg.llm
        past_len, seq = 3, 2
        past = []
        past_names, present_names, axes = [], [], {}
        for i in range(lc.layers):
            for kind in ("key", "value"):
                past.append(torch.randn(1, lc.heads, past_len, lc.head_dim))
                past_names.append(f"past_key_values.{i}.{kind}")
                present_names.append(f"present.{i}.{kind}")
                axes[f"past_key_values.{i}.{kind}"] = {0: "batch", 2: "past_sequence_length"}
                axes[f"present.{i}.{kind}"] = {0: "batch", 2: "total_sequence_length"}
        axes.update({"inputs_embeds": {0: "batch", 1: "sequence_length"},
                     "attention_mask": {0: "batch", 1: "total_sequence_length"},
                     "position_ids": {0: "batch", 1: "sequence_length"},
                     "logits": {0: "batch", 1: "sequence_length"}})
        path = os.path.join(onnx_dir, "decoder_model_merged.onnx")
        _export(
            DecoderGraph(model),
            (torch.randn(1, seq, c), torch.ones(1, past_len + seq, dtype=torch.long),
             torch.tensor([[past_len, past_len + 1]]), *past), path,
            input_names=["inputs_embeds", "attention_mask", "position_ids", *past_names],
            output_names=["logits", *present_names], dynamic_axes=axes,
        )


# Chat suggestions shipped in config.json (`ctlens.example_questions`): phrasings taken from the training
# questions of model/synth.py, so every word is in the tokenizer's vocabulary and the model has seen the form;
# chosen among the findings the demo model tells apart (its card: effusion, heart size, pericardial fluid, emphysema).
EXAMPLE_QUESTIONS = [
    "Is there a pleural effusion?",
    "Where is the pleural effusion?",
    "Is there an enlarged heart?",
    "Does this CT show a pericardial effusion?",
    "Is there emphysema?",
    {"question": "On which side is the pleural effusion?",
     "choices": ["left side", "right side", "both sides", "no effusion"]},
]


def group_names_rule(names) -> str:
    if list(names) == ["report", "vqa"]:
        return ("named by task: training supervised the text-guided gate with the prompt's task (group 0 report, "
                "group 1 questions); the model card gives the measured gate per task, held-out prompts included")
    return "numbered, not named: training gives no group a task of its own; the model card gives the measured gate per task"


def prompt_templates(report_prompt: str) -> dict:
    return {"report": f"<bos>{report_prompt}<image><answer>", "vqa": "<bos>{question}<image><answer>"}


def config_json(model: CTLensMLLM, tok: WordTokenizer, pre: PreprocessConfig, meta: dict) -> dict:
    cfg = model.cfg
    e, lc, moe = cfg.encoder, cfg.llm, cfg.encoder.moe
    return {
        "model_type": "ctlens-tghmoe",
        "architectures": ["CTLensMLLM"],
        "vocab_size": lc.vocab_size,
        "hidden_size": lc.dim,
        "num_hidden_layers": lc.layers,
        "num_attention_heads": lc.heads,
        "head_dim": lc.head_dim,
        "intermediate_size": lc.dim * lc.mlp_ratio,
        "max_position_embeddings": lc.max_positions,
        "bos_token_id": tok.bos_id,
        "eos_token_id": tok.eos_id,
        "pad_token_id": tok.pad_id,
        "image_token_id": tok.image_id,
        "tie_word_embeddings": True,
        "ctlens": {
            "version": CTLENS_VERSION,
            "input_size": list(pre.input_size),
            "hu_windows": [[float(l), float(w)] for l, w in pre.hu_windows],
            "hu_window_names": [WINDOW_NAMES.get((float(l), float(w)), f"L{l:g}/W{w:g}") for l, w in pre.hu_windows],
            "mean": list(pre.mean),
            "std": list(pre.std),
            "orientation": "RAS",
            "patch_grid": e.patch_grid,
            "patch_size": [1, e.vit.patch_size, e.vit.patch_size],
            "pooling": list(cfg.pooling),
            "image_grid": cfg.image_grid,
            "moe": {
                "layers": list(range(e.vit.depth - e.top_blocks, e.vit.depth)),
                "groups": moe.groups,
                "group_names": list(meta.get("group_names", moe.group_names)),
                "group_names_rule": meta.get("group_names_rule", group_names_rule(moe.group_names)),
                "experts_per_group": moe.experts_per_group,
                "top_k": moe.top_k,
                "text_guided": moe.text_guided,
            },
            "prompt_templates": prompt_templates(meta.get("report_prompt", "Generate a radiology report for this chest CT.")),
            "example_questions": meta.get("example_questions", EXAMPLE_QUESTIONS),
            "image_token": "<image>",
            "answer_token": "<answer>",
            "num_image_tokens": cfg.num_image_tokens,
            "text_guidance_dim": lc.dim,
            "text_guidance_rule": "mean of embed_tokens outputs over the prompt positions that are not <image>",
            "kv_cache": {"layout": "[batch, heads, sequence, head_dim]", "layers": lc.layers, "heads": lc.heads,
                         "head_dim": lc.head_dim, "first_step_past_length": 0},
            "trained_on": meta.get("trained_on", "synthetic chest CT phantoms (model/synth.py)"),
            "training": meta.get("training", "UNTRAINED"),
        },
        "model": cfg.to_dict(),
    }


def generation_config(tok: WordTokenizer, max_new_tokens: int = 192) -> dict:
    return {"max_new_tokens": max_new_tokens, "bos_token_id": tok.bos_id, "eos_token_id": tok.eos_id,
            "pad_token_id": tok.pad_id, "do_sample": False, "temperature": 1.0, "top_p": 1.0,
            "repetition_penalty": 1.0}


def export_package(model: CTLensMLLM, tok: WordTokenizer, pre: PreprocessConfig, out_dir: str, meta: dict,
                   card: str | None = None) -> dict:
    """Write every file of the package; returns the config written."""
    os.makedirs(out_dir, exist_ok=True)
    onnx_dir = os.path.join(out_dir, "onnx")
    if os.path.isdir(onnx_dir):
        shutil.rmtree(onnx_dir)
    export_graphs(model, onnx_dir)
    cfg = config_json(model, tok, pre, meta)
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    with open(os.path.join(out_dir, "generation_config.json"), "w") as f:
        json.dump(generation_config(tok, meta.get("max_new_tokens", 192)), f, indent=1)
    tok.save(os.path.join(out_dir, "tokenizer.json"))
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w") as f:
        json.dump(tok.tokenizer_config(cfg["ctlens"]["prompt_templates"], model.cfg.llm.max_positions), f, indent=1)
    if card is not None:
        with open(os.path.join(out_dir, "README.md"), "w") as f:
            f.write(card)
    return cfg


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python3 -m model.export", description=__doc__.split("\n\n")[0])
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", help="a stage checkpoint of model.train")
    src.add_argument("--untrained", metavar="PRESET", help="random weights of a preset (the early package)")
    p.add_argument("--out", required=True)
    p.add_argument("--training", help="config.json ctlens.training, e.g. \"preset demo\" (default: the checkpoint's preset)")
    a = p.parse_args(argv)
    if a.untrained:
        torch.manual_seed(0)
        preset = PRESETS[a.untrained]
        tok = build_tokenizer()
        model = CTLensMLLM(preset.model_config(len(tok), tok.image_id))
        pre, meta = preset.preprocess(), {"training": "UNTRAINED (random weights)"}
    else:
        model, tok, pre, meta = load_checkpoint(a.checkpoint)
        ck_preset = torch.load(a.checkpoint, map_location="cpu").get("preset")
        meta = {**meta, "training": a.training or meta.get("training") or (f"preset {ck_preset}" if ck_preset else "UNKNOWN")}
    if not all(layer.routed for layer in model.encoder.moe_layers):
        for layer in model.encoder.moe_layers:
            layer.upcycle()
    export_package(model, tok, pre, a.out, meta)
    print(f"exported {a.checkpoint or 'untrained ' + a.untrained} → {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
