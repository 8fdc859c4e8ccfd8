"""The decoder LLM: the KV cache gives the logits of a full recomputation; padding is masked; positions matter."""

from __future__ import annotations

import torch

from model.llm import DecoderLM, LLMConfig, attention_bias


def lm() -> DecoderLM:
    torch.manual_seed(0)
    return DecoderLM(LLMConfig(vocab_size=50, dim=32, layers=2, heads=4, max_positions=64)).eval()


def test_kv_cache_matches_full_recomputation():
    model = lm()
    x = torch.randn(1, 9, 32)
    full, _ = model(x, torch.ones(1, 9, dtype=torch.long), torch.arange(9)[None])
    # prefill 5 positions from an empty (zero-length) cache, then 4 single steps
    logits, past = model(x[:, :5], torch.ones(1, 5, dtype=torch.long), torch.arange(5)[None], model.empty_past(1))
    steps = [logits]
    for i in range(5, 9):
        logits, past = model(x[:, i : i + 1], torch.ones(1, i + 1, dtype=torch.long), torch.tensor([[i]]), past)
        steps.append(logits)
    assert past[0][0].shape == (1, 4, 9, 8)  # [B,h,P+S,hd]
    assert (torch.cat(steps, 1) - full).abs().max().item() <= 1e-5


def test_right_padding_does_not_change_the_real_positions():
    model = lm()
    x = torch.randn(1, 6, 32)
    ref, _ = model(x, torch.ones(1, 6, dtype=torch.long), torch.arange(6)[None])
    padded = torch.cat([x, torch.randn(1, 3, 32)], 1)
    mask = torch.tensor([[1] * 6 + [0] * 3])
    out, _ = model(padded, mask, torch.arange(9)[None])
    assert (out[:, :6] - ref).abs().max().item() <= 1e-5


def test_attention_bias_is_causal_with_an_offset_for_the_cache():
    bias = attention_bias(torch.ones(1, 5, dtype=torch.long), 2)  # past 3, 2 new positions
    allowed = bias[0, 0] == 0
    assert allowed.tolist() == [[True, True, True, True, False], [True, True, True, True, True]]


def test_position_ids_are_used():
    model = lm()
    x = torch.randn(1, 1, 32)
    a, _ = model(x, torch.ones(1, 1, dtype=torch.long), torch.tensor([[0]]))
    b, _ = model(x, torch.ones(1, 1, dtype=torch.long), torch.tensor([[7]]))
    assert (a - b).abs().max() > 1e-4
