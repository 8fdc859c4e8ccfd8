"""The 2D vision transformer of the stage-0 MLLM (DESIGN 3.2).

Parameter names follow the common "plain ViT" layout (timm / DeiT: ``patch_embed.proj``, ``pos_embed``,
``blocks.{i}.attn.qkv``, ``blocks.{i}.mlp.fc1`` ...), so a real 2D checkpoint of matching shape can be handed to
the 2D→3D transfer unchanged (``model.transfer.load_plain_vit_state``).

The attention takes an optional rotary embedding so that the transfer can reuse the very same block for
3D attention with slice RoPE; the 2D path never passes one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class ViTConfig:
    image_size: int = 64  # H = W of one slice / 2D image
    patch_size: int = 8
    dim: int = 128
    depth: int = 6
    heads: int = 4
    mlp_ratio: int = 4
    layer_norm_eps: float = 1e-6

    @property
    def grid(self) -> int:
        return self.image_size // self.patch_size

    @property
    def num_patches(self) -> int:
        return self.grid * self.grid


class PatchEmbed(nn.Module):
    def __init__(self, cfg: ViTConfig):
        super().__init__()
        self.proj = nn.Conv2d(3, cfg.dim, kernel_size=cfg.patch_size, stride=cfg.patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x [B,3,H,W] → [B,C,Hp,Wp] → [B,Hp*Wp,C] (row-major: token index = hp*Wp + wp)
        return self.proj(x).flatten(2).transpose(1, 2)


class Mlp(nn.Module):
    """The FFN of a block; also the shared expert and the template of every routed expert (DESIGN 3.3)."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate pairs (first half, second half) of the head dimension: x [B,h,N,hd], cos/sin [N,hd/2]."""
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.head_dim = dim // heads
        self.scale = 1.0 / math.sqrt(self.head_dim)  # a Python constant, so the ONNX trace keeps it fixed
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, rope: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)  # [3,B,h,N,hd]
        q, k, v = qkv[0], qkv[1], qkv[2]
        if rope is not None:
            q = apply_rotary(q, *rope)
            k = apply_rotary(k, *rope)
        att = (q @ k.transpose(-2, -1)) * self.scale  # [B,h,N,N]
        out = att.softmax(dim=-1) @ v  # [B,h,N,hd]
        return self.proj(out.transpose(1, 2).reshape(b, n, c))


class Block(nn.Module):
    def __init__(self, cfg: ViTConfig):
        super().__init__()
        self.norm1 = nn.LayerNorm(cfg.dim, eps=cfg.layer_norm_eps)
        self.attn = Attention(cfg.dim, cfg.heads)
        self.norm2 = nn.LayerNorm(cfg.dim, eps=cfg.layer_norm_eps)
        self.mlp = Mlp(cfg.dim, cfg.dim * cfg.mlp_ratio)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class ViT2D(nn.Module):
    """pixel [B,3,H,W] → patch tokens [B,Hp*Wp,C] (final LayerNorm applied; no class token)."""

    def __init__(self, cfg: ViTConfig):
        super().__init__()
        self.cfg = cfg
        self.patch_embed = PatchEmbed(cfg)
        self.pos_embed = nn.Parameter(torch.zeros(1, cfg.num_patches, cfg.dim))
        self.blocks = nn.ModuleList([Block(cfg) for _ in range(cfg.depth)])
        self.norm = nn.LayerNorm(cfg.dim, eps=cfg.layer_norm_eps)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        self.apply(_init_weights)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.patch_embed(x) + self.pos_embed  # [B,Np,C]
        for blk in self.blocks:
            h = blk(h)
        return self.norm(h)


def _init_weights(m: nn.Module) -> None:
    if isinstance(m, nn.Linear):
        nn.init.trunc_normal_(m.weight, std=0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.LayerNorm):
        nn.init.ones_(m.weight)
        nn.init.zeros_(m.bias)
