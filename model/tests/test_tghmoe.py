"""TGH-MoE routing (DESIGN 3.3): shapes, normalisation, top-k, text guidance, balance loss, sparse == dense."""

from __future__ import annotations

import torch

from model.tghmoe import MoEConfig, TGHMoE
from model.transfer import EncoderConfig, VolumeEncoder, stack_routing
from model.vit2d import Mlp, ViTConfig


def moe(text_guided: bool = True, seed: int = 0) -> TGHMoE:
    torch.manual_seed(seed)
    layer = TGHMoE(Mlp(16, 32), MoEConfig(groups=2, experts_per_group=4, top_k=2, guidance_dim=8,
                                          text_guided=text_guided))
    layer.upcycle()
    with torch.no_grad():  # trained-looking experts and routers
        for n, p in layer.named_parameters():
            p.normal_(0, 0.3)
    return layer


def test_routing_shapes_and_normalisation():
    layer = moe()
    x, t = torch.randn(3, 10, 16), torch.randn(3, 8)
    r = layer.route(x, t)
    assert r.group_gates.shape == (3, 2)
    assert torch.allclose(r.group_gates.sum(-1), torch.ones(3), atol=1e-6)
    assert r.router_probs.shape == (3, 10, 2, 4)
    nonzero = (r.router_probs > 0).sum(-1)
    assert torch.all(nonzero == 2)  # exactly top-k per group
    assert torch.allclose(r.router_probs.sum(-1), torch.ones(3, 10, 2), atol=1e-6)  # renormalised
    # the kept experts are the k most probable of the full softmax
    full = layer.router(torch.cat([x, t[:, None].expand(3, 10, 8)], -1)).view(3, 10, 2, 4).softmax(-1)
    assert torch.equal(r.router_probs > 0, full >= full.topk(2, -1).values[..., -1:])


def test_text_guidance_moves_the_group_gate_and_the_router():
    layer = moe()
    x = torch.randn(1, 10, 16)
    a, b = layer.route(x, torch.randn(1, 8)), layer.route(x, torch.randn(1, 8))
    assert (a.group_gates - b.group_gates).abs().max() > 1e-3
    assert (a.router_probs - b.router_probs).abs().max() > 1e-3


def test_token_only_moe_ignores_the_text():
    layer = moe(text_guided=False)
    x = torch.randn(1, 10, 16)
    a, b = layer.route(x, torch.randn(1, 8)), layer.route(x, torch.randn(1, 8))
    assert torch.allclose(a.group_gates, torch.full((1, 2), 0.5))
    assert torch.equal(a.router_probs, b.router_probs)


def test_sparse_experts_equal_dense_experts():
    layer = moe()
    x, t = torch.randn(2, 12, 16), torch.randn(2, 8)
    dense, _ = layer(x, t, sparse=False)
    sparse, _ = layer(x, t, sparse=True)
    assert (dense - sparse).abs().max().item() <= 1e-5
    # and the output is the formula of DESIGN 3.3, written out
    r = layer.route(x, t)
    ref = layer.shared(x)
    for g in range(2):
        for e in range(4):
            m = g * 4 + e
            h = torch.nn.functional.gelu(x @ layer.expert_fc1_weight[m].T + layer.expert_fc1_bias[m])
            out = h @ layer.expert_fc2_weight[m].T + layer.expert_fc2_bias[m]
            ref = ref + (r.group_gates[:, None, g, None] * r.router_probs[:, :, g, e, None]) * out
    assert (dense - ref).abs().max().item() <= 1e-5


def test_balance_loss_is_one_per_term_when_routing_is_uniform():
    layer = moe()
    with torch.no_grad():
        layer.router.weight.zero_()
        layer.router.bias.zero_()
        layer.group_gate.weight.zero_()
        layer.group_gate.bias.zero_()
    r = layer.route(torch.randn(2, 10, 16), torch.randn(2, 8))
    # token term E·Σ f·P = Σ f = 1, group term G·Σ (1/G)² = 1
    assert abs(r.aux_loss.item() - 2.0) < 1e-5


def test_encoder_outputs_the_routing_tensors_of_every_moe_layer():
    cfg = EncoderConfig(vit=ViTConfig(image_size=32, patch_size=8, dim=32, depth=3, heads=2, mlp_ratio=2),
                        slices=4, top_blocks=2, text_dim=24, moe=MoEConfig(guidance_dim=8))
    enc = VolumeEncoder(cfg).eval()
    for layer in enc.moe_layers:
        layer.upcycle()
    _, routings = enc(torch.randn(2, 3, 4, 32, 32), torch.randn(2, 24))
    gates, probs = stack_routing(routings)
    assert gates.shape == (2, 2, 2)  # [B,K,G]
    assert probs.shape == (2, 2, 4 * 16, 2, 4)  # [B,K,N_vis,G,E]
