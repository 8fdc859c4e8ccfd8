"""Load an exported package back into PyTorch — the reference on the very weights the runtime runs.

    pkg = load_package("media/models/ctlens-tghmoe-demo")
    pkg.answer("chest.nii.gz", "Is there a pleural effusion?", task="vqa")      # → "no"
    pkg.generate(pixel_values, "report")                                         # → Generation (ids, logits, routing)

The weights come from the ONNX initializers (model/export.py keeps PyTorch parameter names), the architecture from
``config.json["model"]``, the tokenizer from ``tokenizer.json``, prompts from ``config.json["ctlens"]``.
Used by model.evaluate, the parity fixtures and the PyTorch-vs-ORT benchmark.
"""

from __future__ import annotations

import json
import os
import time

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from .generate import Generation, generate
from .mllm import CTLensMLLM, MLLMConfig
from .preprocess import PreprocessConfig, preprocess_file
from .tokenizer import WordTokenizer

GRAPHS = ("vision_encoder", "embed_tokens", "decoder_model_merged")
PREFIX = "model."  # the export wrappers hold the MLLM as ``self.model``


class PackageError(Exception):
    pass


def onnx_weights(onnx_dir: str) -> dict[str, np.ndarray]:
    weights: dict[str, np.ndarray] = {}
    for g in GRAPHS:
        path = os.path.join(onnx_dir, f"{g}.onnx")
        if not os.path.isfile(path):
            raise PackageError(f"onnx/{g}.onnx is missing from the package")
        for init in onnx.load(path).graph.initializer:
            if init.name.startswith(PREFIX):
                weights[init.name[len(PREFIX):]] = numpy_helper.to_array(init)
    return weights


class PackageModel:
    def __init__(self, directory: str):
        self.dir = directory
        with open(os.path.join(directory, "config.json")) as f:
            self.config = json.load(f)
        with open(os.path.join(directory, "generation_config.json")) as f:
            self.generation_config = json.load(f)
        c = self.config["ctlens"]
        self.ctlens = c
        self.preprocess = PreprocessConfig(input_size=list(c["input_size"]),
                                           hu_windows=[tuple(w) for w in c["hu_windows"]],
                                           mean=list(c["mean"]), std=list(c["std"]))
        self.tokenizer = WordTokenizer.from_file(os.path.join(directory, "tokenizer.json"))
        self.model = CTLensMLLM(MLLMConfig.from_dict(self.config["model"]))
        for layer in self.model.encoder.moe_layers:
            layer.routed = True
        weights = onnx_weights(os.path.join(directory, "onnx"))
        state = self.model.state_dict()
        missing = []
        for name, t in state.items():
            if name.startswith("finding_head.") and not self.model.cfg.finding_evidence:
                continue  # training-only head, not part of any graph (unless its evidence feeds the summary token)
            if ".group_gate." in name and not self.model.cfg.encoder.moe.text_guided:
                continue  # token-only MoE (an ablation): the gate is uniform, the exporter drops the unused weights
            if name == "llm.lm_head.weight":  # tied to embed_tokens (the decoder graph may carry either name)
                src = weights.get(name, weights.get("llm.embed_tokens.weight"))
            else:
                src = weights.get(name)
            if src is None:
                missing.append(name)
                continue
            if tuple(src.shape) != tuple(t.shape):
                raise PackageError(f"{name}: ONNX initializer shape {src.shape} != model shape {tuple(t.shape)}")
            state[name] = torch.from_numpy(src.copy())
        if missing:
            raise PackageError(f"the ONNX graphs lack initializers for {missing[:5]} (+{max(0, len(missing) - 5)})")
        self.model.load_state_dict(state)
        if not self.model.cfg.finding_evidence:
            self.model.finding_head = None
        self.model.eval()
        self._pixels: dict[str, torch.Tensor] = {}

    # -- prompts ----------------------------------------------------------------------------------------------
    def prompt_ids(self, task: str, question: str | None = None) -> list[int]:
        """Template ids with the single <image> (not yet expanded), as the runtime's buildPrompt tokenizes them."""
        t = self.ctlens["prompt_templates"]
        text = t["report"] if task == "report" else t["vqa"].replace("{question}", (question or "").strip())
        return self.tokenizer.encode(text)

    def pixels(self, image_path: str) -> torch.Tensor:
        if image_path not in self._pixels:
            self._pixels = {image_path: preprocess_file(image_path, self.preprocess)}  # one volume cached
        return self._pixels[image_path]

    # -- generation -------------------------------------------------------------------------------------------
    def generate(self, pixel_values: torch.Tensor, task: str, question: str | None = None,
                 max_new_tokens: int | None = None, **sampling) -> Generation:
        g = self.generation_config
        return generate(self.model, pixel_values, self.prompt_ids(task, question), g["eos_token_id"],
                        max_new_tokens=max_new_tokens or g["max_new_tokens"],
                        do_sample=sampling.get("do_sample", g["do_sample"]),
                        temperature=sampling.get("temperature", g["temperature"]),
                        top_p=sampling.get("top_p", g["top_p"]),
                        repetition_penalty=sampling.get("repetition_penalty", g["repetition_penalty"]),
                        seed=sampling.get("seed"), min_new_tokens=sampling.get("min_new_tokens", 0))

    def answer(self, image_path: str, question: str | None, task: str = "vqa", max_new_tokens: int | None = None) -> str:
        """Greedy text for one dataset line (reports use the package's report prompt, as the runtime does)."""
        out = self.generate(self.pixels(image_path), task, question, max_new_tokens)
        return self.decode(out.ids)

    def decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode([i for i in ids if i != self.generation_config["eos_token_id"]])

    def timed_report(self, pixel_values: torch.Tensor, max_new_tokens: int = 128, min_new_tokens: int = 0) -> dict:
        """End-to-end PyTorch-eager timing of one report (for the runtime's ORT-vs-PyTorch benchmark)."""
        t0 = time.perf_counter()
        out = self.generate(pixel_values, "report", max_new_tokens=max_new_tokens, min_new_tokens=min_new_tokens)
        return {"ms": (time.perf_counter() - t0) * 1000, "tokens": len(out.ids)}


def load_package(directory: str) -> PackageModel:
    for f in ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json"):
        if not os.path.isfile(os.path.join(directory, f)):
            raise PackageError(f"{f} is missing from the model package {directory}")
    return PackageModel(directory)
