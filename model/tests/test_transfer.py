"""2D → 3D transfer (DESIGN 3.2): K = 0 is the 2D ViT per slice, every 2D parameter reused, plain ViT checkpoints
accepted, the top K blocks attend across slices, and upcycling does not change the function (DESIGN 3.3)."""

from __future__ import annotations

import pytest
import torch

from model.tghmoe import MoEConfig
from model.transfer import EncoderConfig, VolumeEncoder, transfer_2d_to_3d, vit_to_volume_state
from model.vit2d import ViT2D, ViTConfig

VIT = ViTConfig(image_size=32, patch_size=8, dim=32, depth=3, heads=2, mlp_ratio=2)


def enc_cfg(k: int, slices: int = 3) -> EncoderConfig:
    return EncoderConfig(vit=VIT, slices=slices, top_blocks=k, text_dim=16, moe=MoEConfig(guidance_dim=8))


def trained_vit(seed: int = 0) -> ViT2D:
    torch.manual_seed(seed)
    vit = ViT2D(VIT)
    with torch.no_grad():  # non-trivial values everywhere (LayerNorm affine included)
        for p in vit.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return vit.eval()


def per_slice_2d(vit: ViT2D, x: torch.Tensor) -> torch.Tensor:
    """The 2D ViT on each slice of [B,3,D,H,W] → [B,D·Np,C] in the encoder's token order."""
    outs = [vit(x[:, :, d]) for d in range(x.shape[2])]
    return torch.cat(outs, dim=1)


def test_k0_encoder_equals_2d_vit_per_slice():
    vit = trained_vit()
    enc = transfer_2d_to_3d(vit.state_dict(), enc_cfg(0)).eval()
    x = torch.randn(2, 3, 3, 32, 32)
    with torch.no_grad():
        y, routings = enc(x)
        ref = per_slice_2d(vit, x)
    assert routings == []
    assert y.shape == (2, 3 * 16, 32)
    assert (y - ref).abs().max().item() <= 1e-5


def test_every_2d_parameter_is_reused_unchanged():
    vit = trained_vit(1)
    enc = transfer_2d_to_3d(vit.state_dict(), enc_cfg(2))
    state = enc.state_dict()
    mapped = vit_to_volume_state(vit.state_dict(), enc_cfg(2))
    assert len(mapped) == len(vit.state_dict())
    for key, value in mapped.items():
        assert torch.equal(state[key], value), key
    # the only parameters not from the 2D model are the TGH-MoE's and the text projection
    new = [k for k in state if k not in mapped]
    assert new and all(any(s in k for s in ("expert_", "group_gate", "router", "text_proj")) for k in new)


def timm_style(vit: ViT2D) -> dict:
    """A plain ViT checkpoint layout: class token, its position row first, a classifier head."""
    sd = {k: v.clone() for k, v in vit.state_dict().items()}
    sd["cls_token"] = torch.randn(1, 1, VIT.dim)
    sd["pos_embed"] = torch.cat([torch.randn(1, 1, VIT.dim), sd["pos_embed"]], dim=1)
    sd["head.weight"] = torch.randn(10, VIT.dim)
    sd["head.bias"] = torch.randn(10)
    return sd


def test_plain_vit_state_dict_is_accepted():
    vit = trained_vit(2)
    enc = transfer_2d_to_3d(timm_style(vit), enc_cfg(0)).eval()
    x = torch.randn(1, 3, 3, 32, 32)
    with torch.no_grad():
        assert (enc(x)[0] - per_slice_2d(vit, x)).abs().max().item() <= 1e-5


def test_mismatched_checkpoint_is_refused_with_a_reason():
    sd = trained_vit().state_dict()
    sd["pos_embed"] = sd["pos_embed"][:, :9]
    with pytest.raises(ValueError, match="pos_embed has 9 positions, the slice grid needs 16"):
        transfer_2d_to_3d(sd, enc_cfg(1))
    sd = trained_vit().state_dict()
    sd["decoder.weight"] = torch.zeros(1)
    with pytest.raises(ValueError, match="unexpected key"):
        transfer_2d_to_3d(sd, enc_cfg(1))
    sd = trained_vit().state_dict()
    del sd["blocks.2.mlp.fc1.weight"]
    with pytest.raises(ValueError, match="lacks parameters"):
        transfer_2d_to_3d(sd, enc_cfg(1))


def test_top_blocks_attend_across_slices_and_lower_blocks_do_not():
    vit = trained_vit(3)
    x = torch.randn(1, 3, 3, 32, 32)
    x2 = x.clone()
    x2[:, :, 0] += 1.0  # change slice 0 only
    for k, crosses in ((0, False), (1, True)):
        enc = transfer_2d_to_3d(vit.state_dict(), enc_cfg(k)).eval()
        with torch.no_grad():
            a, b = enc(x)[0], enc(x2)[0]
        slice2 = slice(2 * 16, 3 * 16)
        assert ((a[:, slice2] - b[:, slice2]).abs().max().item() > 1e-4) == crosses


def test_slice_rope_is_parameter_free_and_depends_on_the_slice_only():
    enc = VolumeEncoder(enc_cfg(2))
    assert not any("rope" in n for n, _ in enc.named_parameters())
    cos = enc.rope_cos  # [D·Np, hd/2]
    assert torch.equal(cos[0], cos[15]) and not torch.equal(cos[15], cos[16])
    assert torch.allclose(cos[:16], torch.ones_like(cos[:16]))  # slice 0: no rotation


def test_upcycled_encoder_equals_stage1_encoder_before_training():
    vit = trained_vit(4)
    enc = transfer_2d_to_3d(vit.state_dict(), enc_cfg(2)).eval()
    with torch.no_grad():  # a "stage-1-trained" shared path and random routers
        for n, p in enc.named_parameters():
            if "router" in n or "group_gate" in n or "text_proj" in n:
                p.normal_(0, 0.5)
    x, t = torch.randn(2, 3, 3, 32, 32), torch.randn(2, 16)
    with torch.no_grad():
        before, r0 = enc(x, t)
        for layer in enc.moe_layers:
            layer.upcycle()
        after, r1 = enc(x, t)
    assert all(r is None for r in r0) and all(r is not None for r in r1)
    assert (before - after).abs().max().item() == 0.0
    for layer in enc.moe_layers:  # experts really are copies of the shared FFN, output projection zero
        assert torch.equal(layer.expert_fc1_weight[3], layer.shared.fc1.weight)
        assert layer.expert_fc2_weight.abs().sum() == 0
