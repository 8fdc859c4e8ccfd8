"""2D → 3D transfer that reuses every pre-trained parameter (DESIGN 3.2).

A volume [B,3,D,H,W] is a sequence of D three-channel slices. The 2D patch embedding and 2D position embedding
run unchanged on every slice; blocks ``0..L-K-1`` attend within each slice (exactly the 2D computation); the top
``K`` blocks attend across all D·Hp·Wp tokens of the volume with a parameter-free rotary embedding over the
slice index on queries and keys, and carry the TGH-MoE FFN (``model.tghmoe``) whose shared expert is the block's
pre-trained FFN. With K = 0 the encoder is the 2D ViT applied slice by slice (tested).

Token order everywhere: index = d·Hp·Wp + hp·Wp + wp (slice-major, then row-major inside the slice), which is
the ``patch_grid [D,Hp,Wp]`` of the package config.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from .tghmoe import MoEConfig, Routing, TGHMoE
from .vit2d import Attention, Block, Mlp, ViT2D, ViTConfig, _init_weights


@dataclass
class EncoderConfig:
    vit: ViTConfig = field(default_factory=ViTConfig)
    slices: int = 16  # D
    top_blocks: int = 2  # K, the blocks turned into 3D attention with TGH-MoE FFNs
    rope_theta: float = 10000.0
    moe: MoEConfig = field(default_factory=MoEConfig)
    text_dim: int = 256  # width of the LLM embeddings that the text guidance is computed from

    @property
    def patch_grid(self) -> list[int]:
        return [self.slices, self.vit.grid, self.vit.grid]

    @property
    def num_tokens(self) -> int:
        return self.slices * self.vit.num_patches


def slice_rope(slices: int, per_slice: int, head_dim: int, theta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """cos/sin [D·Np, hd/2]: the angle of a token depends only on its slice index d (no weights)."""
    half = head_dim // 2
    inv_freq = theta ** (-torch.arange(half, dtype=torch.float32) / half)  # [hd/2]
    d = torch.arange(slices, dtype=torch.float32).repeat_interleave(per_slice)  # [D·Np]
    ang = d[:, None] * inv_freq[None, :]
    return ang.cos(), ang.sin()


class Block3D(nn.Module):
    """A pre-trained 2D block, now attending over the whole volume, its FFN wrapped as the TGH-MoE shared expert."""

    def __init__(self, vit: ViTConfig, moe: MoEConfig):
        super().__init__()
        self.norm1 = nn.LayerNorm(vit.dim, eps=vit.layer_norm_eps)
        self.attn = Attention(vit.dim, vit.heads)
        self.norm2 = nn.LayerNorm(vit.dim, eps=vit.layer_norm_eps)
        self.mlp = TGHMoE(Mlp(vit.dim, vit.dim * vit.mlp_ratio), moe)

    def forward(self, x, rope, t, sparse=False):
        x = x + self.attn(self.norm1(x), rope)
        y, routing = self.mlp(self.norm2(x), t, sparse=sparse)
        return x + y, routing


class VolumeEncoder(nn.Module):
    def __init__(self, cfg: EncoderConfig):
        super().__init__()
        self.cfg = cfg
        v = cfg.vit
        self.lower = ViT2D(v)  # patch_embed, pos_embed, blocks[0..L-K-1], norm (the final norm, shared by both paths)
        del self.lower.blocks[v.depth - cfg.top_blocks :]
        self.upper = nn.ModuleList([Block3D(v, cfg.moe) for _ in range(cfg.top_blocks)])
        for blk in self.upper:  # the TGH-MoE keeps its own init (zero experts, small router)
            for part in (blk.norm1, blk.attn, blk.norm2, blk.mlp.shared):
                part.apply(_init_weights)
        # t = text_proj(mean prompt embedding) — the "small linear map" of DESIGN 3.3, shared by the MoE layers.
        self.text_proj = nn.Linear(cfg.text_dim, cfg.moe.guidance_dim)
        rope = slice_rope(cfg.slices, v.num_patches, v.dim // v.heads, cfg.rope_theta)
        self.register_buffer("rope_cos", rope[0], persistent=False)
        self.register_buffer("rope_sin", rope[1], persistent=False)

    @property
    def moe_layers(self) -> list[TGHMoE]:
        return [blk.mlp for blk in self.upper]

    def encode_slices(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """The per-slice (2D) part: [B,3,D,H,W] → [B,D·Np,C] (before the top K blocks)."""
        b, _, d, h, w = pixel_values.shape
        x = pixel_values.permute(0, 2, 1, 3, 4).reshape(b * d, 3, h, w)  # slices as a batch of 2D images
        x = self.lower.patch_embed(x) + self.lower.pos_embed  # [B·D,Np,C]
        for blk in self.lower.blocks:
            x = blk(x)
        return x.reshape(b, d * x.shape[1], x.shape[2])

    def encode_volume(self, tokens: torch.Tensor, text_embedding: torch.Tensor | None, sparse: bool = False):
        """The 3D part: tokens [B,D·Np,C], mean prompt embedding [B,text_dim] → ([B,D·Np,C], [Routing|None]·K)."""
        t = self.text_proj(text_embedding) if text_embedding is not None else None
        rope = (self.rope_cos, self.rope_sin)
        routings = []
        for blk in self.upper:
            tokens, r = blk(tokens, rope, t, sparse=sparse)
            routings.append(r)
        return self.lower.norm(tokens), routings

    def forward(self, pixel_values: torch.Tensor, text_embedding: torch.Tensor | None = None, sparse: bool = False):
        return self.encode_volume(self.encode_slices(pixel_values), text_embedding, sparse=sparse)


def stack_routing(routings: list[Routing | None]) -> tuple[torch.Tensor, torch.Tensor] | None:
    """K per-layer routings → group_gates [B,K,G], router_probs [B,K,N,G,E] (None when the experts are off)."""
    if not routings or any(r is None for r in routings):
        return None
    return torch.stack([r.group_gates for r in routings], 1), torch.stack([r.router_probs for r in routings], 1)


def vit_to_volume_state(vit_state: dict[str, torch.Tensor], cfg: EncoderConfig) -> dict[str, torch.Tensor]:
    """Rename a 2D ViT state dict into VolumeEncoder keys: every tensor reused, nothing re-initialised.

    Accepts this project's ViT2D and plain (timm/DeiT-style) ViT checkpoints of matching shape: a class token and
    its position-embedding row are dropped, ``head.*``/``fc_norm.*`` (classifier) are ignored, and the 2D position
    grid must match the slice grid.
    """
    depth, k = cfg.vit.depth, cfg.top_blocks
    out: dict[str, torch.Tensor] = {}
    for key, value in vit_state.items():
        if key.startswith(("head.", "fc_norm.", "head_drop.")) or key == "cls_token":
            continue
        if key == "pos_embed":
            n = cfg.vit.num_patches
            if value.shape[1] == n + 1:  # plain ViT with a class token: its row goes with it
                value = value[:, 1:]
            if value.shape[1] != n:
                raise ValueError(f"pos_embed has {value.shape[1]} positions, the slice grid needs {n}")
            out["lower.pos_embed"] = value
        elif key.startswith("blocks."):
            i = int(key.split(".")[1])
            rest = key.split(".", 2)[2]
            if i < depth - k:
                out[f"lower.blocks.{i}.{rest}"] = value
            else:
                j = i - (depth - k)
                if rest.startswith("mlp."):
                    rest = "mlp.shared." + rest[len("mlp.") :]
                out[f"upper.{j}.{rest}"] = value
        elif key.startswith(("patch_embed.", "norm.")):
            out["lower." + key] = value
        else:
            raise ValueError(f"unexpected key in the 2D ViT state dict: {key}")
    return out


def transfer_2d_to_3d(vit_state: dict[str, torch.Tensor], cfg: EncoderConfig) -> VolumeEncoder:
    """A VolumeEncoder whose every 2D parameter comes from ``vit_state``; new parameters are only the TGH-MoE
    experts (zero until ``upcycle``), routers/gates and the text projection (none of which act in stage 1)."""
    enc = VolumeEncoder(cfg)
    mapped = vit_to_volume_state(vit_state, cfg)
    missing, unexpected = enc.load_state_dict(mapped, strict=False)
    if unexpected:
        raise ValueError(f"unexpected keys after transfer: {unexpected}")
    new_only = ("expert_", "group_gate", "router", "text_proj")
    left = [m for m in missing if not any(s in m for s in new_only)]
    if left:
        raise ValueError(f"2D checkpoint lacks parameters the transfer needs: {left}")
    return enc
