"""Training batches: a sample's token ids (``<bos> question <image>×n <answer> answer <eos>``), the padded batch
with its loss weights, and the deterministic multitask CT batches of a step.

Batches are drawn from a generator seeded by (seed, stage, step), so a resumed run sees the same batches as an
uninterrupted one; ``STAGE_CODE`` is the stage's part of that seed.
"""

from __future__ import annotations

import numpy as np
import torch

from .presets import Preset
from .tokenizer import WordTokenizer

STAGE_CODE = {"stage0": 0, "stage1": 1, "stage2": 2, "onestage": 3, "stage3": 4}


def encode_sample(tok: WordTokenizer, n_img: int, question: str, answer: str) -> tuple[list[int], int]:
    """ids of ``<bos> question <image>×n <answer> answer <eos>`` and the prompt length (up to <answer>).

    The image comes after the question, next to ``<answer>``: with an oracle image (finding labels written into
    the summary token) the LLM learned to read it sooner and more stably this way than with the image first."""
    prompt = [tok.bos_id] + tok.encode(question.strip()) + [tok.image_id] * n_img + [tok.answer_id]
    return prompt + tok.encode(answer.strip()) + [tok.eos_id], len(prompt)


def sentence_starts(tok: WordTokenizer, answer_ids: list[int], n: int) -> list[int]:
    """Positions (in answer_ids) of the first token of the first n sentences after "findings :": a report's
    finding sentences, one per finding in the labeller's order, each deciding its polarity there ("no …" or not)."""
    dot, colon = tok.ids["."], tok.ids[":"]
    starts = [answer_ids.index(colon) + 1]
    for i, t in enumerate(answer_ids):
        if t == dot and len(starts) < n:
            starts.append(i + 1)
    return starts[:n]


def finding_decisions(tok: WordTokenizer, line: dict, ids: list[int], plen: int) -> list[tuple[int, int]]:
    """(position in ids, finding index) of each token where the sample's answer decides a finding's presence: a
    report's 8 sentence starts, a presence question's yes/no. Other questions decide none."""
    from .labeller import FINDINGS

    if line["task"] == "report":
        return [(plen + at, j) for j, at in enumerate(sentence_starts(tok, ids[plen:], len(FINDINGS)))]
    kind, _, finding = line.get("qtype", "").partition(":")
    return [(plen, FINDINGS.index(finding))] if kind == "presence" else []


def collate(tok: WordTokenizer, samples: list[tuple[list[int], int]], decision_weight: float = 1.0,
            decisions: list[list[tuple[int, int]]] | None = None) -> dict:
    """Right-padded batch: input_ids, labels (-100 on prompt/pad), attention_mask, prompt_mask (non-image prompt),
    weights (CE weight per label position: ``decision_weight`` on the first answer token and on every token that
    starts a sentence — after "." or ":" — where the reports put a finding's polarity; 1 elsewhere); with
    ``decisions`` (per sample, from ``finding_decisions``) also ``decisions`` [n,3]: (row, position, finding)."""
    s = max(len(ids) for ids, _ in samples)
    b = len(samples)
    input_ids = torch.full((b, s), tok.pad_id, dtype=torch.long)
    labels = torch.full((b, s), -100, dtype=torch.long)
    attention = torch.zeros(b, s, dtype=torch.long)
    prompt_mask = torch.zeros(b, s, dtype=torch.bool)
    for r, (ids, plen) in enumerate(samples):
        input_ids[r, : len(ids)] = torch.tensor(ids)
        labels[r, plen : len(ids)] = torch.tensor(ids[plen:])
        attention[r, : len(ids)] = 1
        prompt_mask[r, :plen] = True
    prompt_mask &= input_ids != tok.image_id
    weights = torch.ones(b, s)
    if decision_weight != 1.0:
        marks = torch.tensor([tok.ids.get(m, -1) for m in (".", ":")])
        starts = torch.zeros(b, s, dtype=torch.bool)
        starts[:, 1:] = torch.isin(input_ids[:, :-1], marks)
        for r, (ids, plen) in enumerate(samples):
            starts[r, plen] = True
        weights[starts & (labels != -100)] = decision_weight
    out = {"input_ids": input_ids, "labels": labels, "attention_mask": attention, "prompt_mask": prompt_mask,
           "weights": weights}
    if decisions is not None:
        rows = [(r, k, f) for r, ds in enumerate(decisions) for k, f in ds]
        out["decisions"] = torch.tensor(rows, dtype=torch.long).reshape(-1, 3)
    return out


def report_findings(lines: list[dict]) -> dict[int, list[float]]:
    """Case index → the 8 findings (0/1) that model/labeller.py reads from the case's training report."""
    from .labeller import FINDINGS, label_report

    out = {}
    for l in lines:
        if l["task"] == "report":
            found = label_report(l["report"])
            out[l["index"]] = [float(found[f]) for f in FINDINGS]
    return out


class CTBatches:
    """Deterministic multitask batches: ``batch_reports`` report lines + ``batch_vqa`` VQA lines per step."""

    def __init__(self, tok: WordTokenizer, lines: list[dict], n_img: int, preset: Preset, stage: str, seed: int = 0):
        self.tok, self.n_img, self.preset, self.stage, self.seed = tok, n_img, preset, stage, seed
        self.reports = [l for l in lines if l["task"] == "report"]
        self.vqa = [l for l in lines if l["task"] == "vqa"]
        self.vqa_of: dict[int, list[dict]] = {}
        for l in self.vqa:
            self.vqa_of.setdefault(l["index"], []).append(l)
        self.findings = report_findings(lines)

    def labels(self, indices: list[int]) -> torch.Tensor:
        return torch.tensor([self.findings[i] for i in indices])

    def __call__(self, step: int) -> tuple[list[int], list[dict]]:
        p = self.preset
        rng = np.random.default_rng([p.seed, STAGE_CODE[self.stage], step, *([self.seed] if self.seed else [])])
        rep = [self.reports[i] for i in rng.choice(len(self.reports), p.batch_reports, replace=False)]
        if p.shared_cases:  # the questions of the same cases
            per_case = p.batch_vqa // p.batch_reports
            vqa = []
            for l in rep:
                own = self.vqa_of[l["index"]]
                vqa += [own[i] for i in rng.choice(len(own), per_case, replace=False)]
        else:
            vqa = [self.vqa[i] for i in rng.choice(len(self.vqa), p.batch_vqa, replace=False)]
        batches = []
        for group in (rep, vqa):
            samples = [encode_sample(self.tok, self.n_img, l["question"], l.get("report") or l["answer"]) for l in group]
            decisions = ([finding_decisions(self.tok, l, ids, plen) for l, (ids, plen) in zip(group, samples)]
                         if p.decision_distill_weight > 0 else None)
            batches.append(collate(self.tok, samples, p.decision_weight, decisions))
        return [l["index"] for l in rep + vqa], batches
