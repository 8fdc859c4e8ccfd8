"""Stage checkpoints: ``<run>/<stage>.pt`` (model, config, routed flag, vocabulary, preprocessing …), written
atomically; read back into a model by training (``checkpoint_model``) and by the export (``load_checkpoint``)."""

from __future__ import annotations

import os

import torch

from .mllm import CTLensMLLM, MLLMConfig
from .preprocess import PreprocessConfig
from .tokenizer import WordTokenizer


def save_checkpoint(path: str, **payload) -> None:
    tmp = path + ".tmp"
    torch.save(payload, tmp)
    os.replace(tmp, path)


def load_model_state(model: CTLensMLLM, state: dict, source: str) -> None:
    """Load a checkpoint's weights; one written before the projector had its standardisation (offset, scale) keeps
    the identity there. Any other missing or unexpected name is an error naming ``source``."""
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or set(missing) - {"projector.offset", "projector.scale"}:
        raise ValueError(f"{source} does not match its model: missing {missing}, unexpected {unexpected}")


def _model_of(ck: dict) -> CTLensMLLM:
    """The checkpoint's model with its MoE layers routed as they were (stage 2 and later), weights not loaded."""
    model = CTLensMLLM(MLLMConfig.from_dict(ck["config"]))
    if ck.get("routed"):
        for layer in model.encoder.moe_layers:
            layer.routed = True
    return model


def checkpoint_model(path: str) -> CTLensMLLM:
    """Training's reading, in eval mode: a checkpoint older than the projector's standardisation keeps the identity
    there (``load_model_state``)."""
    ck = torch.load(path, map_location="cpu")
    model = _model_of(ck)
    load_model_state(model, ck["model"], path)
    return model.eval()


def load_checkpoint(path: str) -> tuple[CTLensMLLM, WordTokenizer, PreprocessConfig, dict]:
    """The export's reading: every weight strictly, and the vocabulary and preprocessing the package needs."""
    ck = torch.load(path, map_location="cpu")
    model = _model_of(ck)
    model.load_state_dict(ck["model"])
    tok = WordTokenizer(ck["vocab"])
    pre = PreprocessConfig(**ck["preprocess"])
    return model, tok, pre, ck.get("meta", {})
