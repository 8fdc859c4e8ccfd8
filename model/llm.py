"""The decoder LLM of the MLLM (DESIGN 3.4): a small pre-norm GPT with learned positions and a KV cache.

The call signature is the one the ONNX ``decoder_model_merged`` exposes (DESIGN 4), so the exported graph and
this module are the same function:

    inputs_embeds [B,S,C], attention_mask [B,P+S] (1 = attend), position_ids [B,S],
    past [(key [B,h,P,hd], value [B,h,P,hd])] · layers   →   logits [B,S,V], present [(key, value) [B,h,P+S,hd]]

Token embeddings live outside the decoder (``embed_tokens``) because image features replace the embeddings of
the ``<image>`` positions; the decoder adds the position embedding of ``position_ids`` itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

KV = tuple[torch.Tensor, torch.Tensor]


@dataclass
class LLMConfig:
    vocab_size: int = 1024
    dim: int = 256
    layers: int = 4
    heads: int = 4
    mlp_ratio: int = 4
    max_positions: int = 512
    layer_norm_eps: float = 1e-5

    @property
    def head_dim(self) -> int:
        return self.dim // self.heads


class DecoderAttention(nn.Module):
    def __init__(self, cfg: LLMConfig):
        super().__init__()
        self.heads = cfg.heads
        self.head_dim = cfg.head_dim
        self.scale = 1.0 / math.sqrt(cfg.head_dim)  # a Python constant, so the ONNX trace keeps it fixed
        self.q_proj = nn.Linear(cfg.dim, cfg.dim)
        self.k_proj = nn.Linear(cfg.dim, cfg.dim)
        self.v_proj = nn.Linear(cfg.dim, cfg.dim)
        self.o_proj = nn.Linear(cfg.dim, cfg.dim)

    def forward(self, x: torch.Tensor, bias: torch.Tensor, past: KV | None) -> tuple[torch.Tensor, KV]:
        b, s, c = x.shape

        def heads(t: torch.Tensor) -> torch.Tensor:  # [B,S,C] → [B,h,S,hd]
            return t.view(b, s, self.heads, self.head_dim).transpose(1, 2)

        q, k, v = heads(self.q_proj(x)), heads(self.k_proj(x)), heads(self.v_proj(x))
        if past is not None:
            k = torch.cat([past[0], k], dim=2)  # [B,h,P+S,hd]
            v = torch.cat([past[1], v], dim=2)
        att = (q @ k.transpose(-2, -1)) * self.scale + bias  # [B,h,S,P+S]
        out = att.softmax(-1) @ v  # [B,h,S,hd]
        return self.o_proj(out.transpose(1, 2).reshape(b, s, c)), (k, v)


class DecoderLayer(nn.Module):
    def __init__(self, cfg: LLMConfig):
        super().__init__()
        self.input_layernorm = nn.LayerNorm(cfg.dim, eps=cfg.layer_norm_eps)
        self.self_attn = DecoderAttention(cfg)
        self.post_attention_layernorm = nn.LayerNorm(cfg.dim, eps=cfg.layer_norm_eps)
        self.fc1 = nn.Linear(cfg.dim, cfg.dim * cfg.mlp_ratio)
        self.fc2 = nn.Linear(cfg.dim * cfg.mlp_ratio, cfg.dim)

    def forward(self, x, bias, past):
        a, present = self.self_attn(self.input_layernorm(x), bias, past)
        x = x + a
        x = x + self.fc2(F.gelu(self.fc1(self.post_attention_layernorm(x))))
        return x, present


def attention_bias(attention_mask: torch.Tensor, seq_len: int) -> torch.Tensor:
    """Causal + padding mask as an additive bias [B,1,S,P+S]; query i sits at absolute slot P+i."""
    total = attention_mask.shape[1]
    past_len = total - seq_len
    key_idx = torch.arange(total, device=attention_mask.device).unsqueeze(0)  # [1,P+S]
    query_idx = torch.arange(seq_len, device=attention_mask.device).unsqueeze(1) + past_len  # [S,1]
    allowed = (key_idx <= query_idx).unsqueeze(0) & (attention_mask.unsqueeze(1) > 0)  # [B,S,P+S]
    zero = torch.zeros((), dtype=torch.float32)
    neg = torch.full((), -1e9, dtype=torch.float32)
    return torch.where(allowed, zero, neg).unsqueeze(1)


class DecoderLM(nn.Module):
    def __init__(self, cfg: LLMConfig):
        super().__init__()
        self.cfg = cfg
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.dim)
        self.embed_positions = nn.Embedding(cfg.max_positions, cfg.dim)
        self.layers = nn.ModuleList([DecoderLayer(cfg) for _ in range(cfg.layers)])
        self.norm = nn.LayerNorm(cfg.dim, eps=cfg.layer_norm_eps)
        self.lm_head = nn.Linear(cfg.dim, cfg.vocab_size, bias=False)
        self.apply(self._init)
        self.lm_head.weight = self.embed_tokens.weight  # tied: fewer parameters for a small vocabulary

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def forward(
        self,
        inputs_embeds: torch.Tensor,
        attention_mask: torch.Tensor,
        position_ids: torch.Tensor,
        past: list[KV] | None = None,
    ) -> tuple[torch.Tensor, list[KV]]:
        x = inputs_embeds + self.embed_positions(position_ids)  # [B,S,C]
        bias = attention_bias(attention_mask, inputs_embeds.shape[1])
        presents = []
        for i, layer in enumerate(self.layers):
            x, present = layer(x, bias, past[i] if past is not None else None)
            presents.append(present)
        return self.lm_head(self.norm(x)), presents

    def empty_past(self, batch: int) -> list[KV]:
        """Zero-length cache: the first decoder step of the ONNX graph takes past length 0."""
        cfg = self.cfg
        z = torch.zeros(batch, cfg.heads, 0, cfg.head_dim)
        return [(z, z) for _ in range(cfg.layers)]
