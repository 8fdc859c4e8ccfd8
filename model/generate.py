"""Generation with the KV cache, in the exact steps the TypeScript runtime takes (src/core/model/generate.ts):

1. prompt ids from the template (one ``<image>``) → expanded to ``num_image_tokens`` image ids;
2. ``embed_tokens(ids)``; text guidance = mean over the non-image positions;
3. ``vision(pixel_values, text guidance)`` → image features (+ routing), written over the image positions;
4. prefill: decoder on the whole prompt with an empty cache (past length 0), position ids 0..S-1;
5. each step: pick a token from the last logits (greedy, or temperature/top-p sampling with a repetition
   penalty), stop on EOS or max tokens, feed its embedding with the cache (``present`` → next ``past``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .mllm import CTLensMLLM, merge_image_features


@dataclass
class Generation:
    ids: list[int]  # generated ids (EOS included when it was produced)
    prompt_ids: list[int]  # expanded prompt ids fed to the decoder
    prefill_logits: torch.Tensor  # [V] logits at the last prompt position
    routing: tuple[torch.Tensor, torch.Tensor] | None  # group_gates [1,K,G], router_probs [1,K,N,G,E]


def expand_image_tokens(ids: list[int], image_id: int, count: int) -> list[int]:
    if ids.count(image_id) != 1:
        raise ValueError(f"the prompt must hold the image token exactly once, found {ids.count(image_id)}")
    at = ids.index(image_id)
    return ids[:at] + [image_id] * count + ids[at + 1 :]


@dataclass
class PromptVision:
    """Steps 1–3 for one prompt and volume: what the prefill starts from."""

    ids: list[int]  # expanded prompt ids
    image_mask: torch.Tensor  # [1,S] True at the image positions
    embeds: torch.Tensor  # [1,S,C] token embeddings (image positions not yet replaced)
    text_guidance: torch.Tensor  # [1,C]
    image_features: torch.Tensor  # [1,N_img,C]
    routing: tuple[torch.Tensor, torch.Tensor] | None


@torch.no_grad()
def encode_prompt(model: CTLensMLLM, pixel_values: torch.Tensor, prompt_ids: list[int]) -> PromptVision:
    cfg = model.cfg
    ids = expand_image_tokens(list(prompt_ids), cfg.image_token_id, cfg.num_image_tokens)
    input_ids = torch.tensor([ids])
    image_mask = input_ids == cfg.image_token_id
    embeds = model.embed_tokens(input_ids)
    text = model.text_guidance(embeds, ~image_mask)
    feats, routing = model.vision(pixel_values, text)
    return PromptVision(ids, image_mask, embeds, text, feats, routing)


@torch.no_grad()
def teacher_forced_logits(model: CTLensMLLM, pv: PromptVision, answer_ids: list[int]) -> torch.Tensor:
    """Logits [S,V] over the prompt of ``pv`` followed by ``answer_ids``, in one pass without a cache: those at
    position k predict token k + 1 (answer token j is predicted at len(pv.ids) + j − 1)."""
    t = torch.tensor([list(pv.ids) + list(answer_ids)])
    embeds = merge_image_features(model.embed_tokens(t), pv.image_features, t == model.cfg.image_token_id)
    logits, _ = model.llm(embeds, torch.ones_like(t), torch.arange(t.shape[1])[None])
    return logits[0]


def apply_repetition_penalty(logits: torch.Tensor, seen: list[int], penalty: float) -> torch.Tensor:
    """CTRL rule (as transformers): a seen token's logit is divided by the penalty if positive, else multiplied."""
    if penalty == 1.0 or not seen:
        return logits
    logits = logits.clone()
    idx = torch.tensor(sorted(set(seen)))
    vals = logits[idx]
    logits[idx] = torch.where(vals > 0, vals / penalty, vals * penalty)
    return logits


def pick_token(logits: torch.Tensor, do_sample: bool, temperature: float, top_p: float, generator) -> int:
    if not do_sample:
        return int(torch.argmax(logits))
    probs = torch.softmax(logits / max(temperature, 1e-6), -1)
    sorted_p, order = probs.sort(descending=True)
    keep = sorted_p.cumsum(0) - sorted_p < top_p  # smallest set whose mass reaches top_p (always ≥ 1 token)
    sorted_p = torch.where(keep, sorted_p, torch.zeros_like(sorted_p))
    choice = torch.multinomial(sorted_p / sorted_p.sum(), 1, generator=generator)
    return int(order[choice])


@torch.no_grad()
def generate(
    model: CTLensMLLM,
    pixel_values: torch.Tensor,
    prompt_ids: list[int],
    eos_id: int,
    max_new_tokens: int = 192,
    do_sample: bool = False,
    temperature: float = 1.0,
    top_p: float = 1.0,
    repetition_penalty: float = 1.0,
    seed: int | None = None,
    min_new_tokens: int = 0,
) -> Generation:
    pv = encode_prompt(model, pixel_values, prompt_ids)
    ids, routing = pv.ids, pv.routing
    embeds = merge_image_features(pv.embeds, pv.image_features, pv.image_mask)
    s = len(ids)
    past = model.llm.empty_past(1)
    logits, past = model.llm(embeds, torch.ones(1, s, dtype=torch.long), torch.arange(s)[None], past)
    prefill = logits[0, -1].clone()
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    out: list[int] = []
    last = prefill
    for step in range(max_new_tokens):
        scores = apply_repetition_penalty(last, out, repetition_penalty)
        if step < min_new_tokens:  # fixed-length runs (benchmarks): EOS is not allowed yet
            scores = scores.clone()
            scores[eos_id] = float("-inf")
        tok = pick_token(scores, do_sample, temperature, top_p, generator)
        out.append(tok)
        if tok == eos_id:
            break
        if step == max_new_tokens - 1:
            break
        pos = s + len(out) - 1
        e = model.embed_tokens(torch.tensor([[tok]]))
        logits, past = model.llm(e, torch.ones(1, pos + 1, dtype=torch.long), torch.tensor([[pos]]), past)
        last = logits[0, -1]
    return Generation(out, ids, prefill, routing)
