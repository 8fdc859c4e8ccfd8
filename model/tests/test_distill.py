"""Decision distillation (model/README.md, Deviation 21): where a sample's answer decides a finding, and the loss
that pulls the language model's decision there towards the detail branch's belief."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from model.batches import collate, encode_sample, finding_decisions
from model.detail import DetailNet
from model.labeller import FINDINGS
from model.losses import decision_distillation, multitask_loss
from model.phantom import draw_findings
from model.reports import REPORT_PROMPTS, make_report, make_vqa
from model.tests.test_export import tiny_model
from model.tokenizer import WordTokenizer
from model.vocabulary import build_tokenizer


def _lines(n_cases: int, seed: int = 0) -> list[dict]:
    """Report and VQA lines as model.synth writes them, for n_cases drawn label sets."""
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(n_cases):
        labels = draw_findings(rng)
        lines.append({"task": "report", "question": REPORT_PROMPTS[0], "report": make_report(labels, rng),
                      "labels": labels})
        for item in make_vqa(labels, rng, n=8):
            lines.append({"task": "vqa", "question": item["question"], "answer": item["answer"],
                          "qtype": item["qtype"], "labels": labels})
    return lines


def _sample(tok: WordTokenizer, line: dict, n_img: int = 3):
    return encode_sample(tok, n_img, line["question"], line.get("report") or line["answer"])


def test_a_reports_decisions_are_its_eight_sentence_starts_saying_no_exactly_when_the_finding_is_absent():
    tok = build_tokenizer()
    for line in (l for l in _lines(40) if l["task"] == "report"):
        ids, plen = _sample(tok, line)
        decisions = finding_decisions(tok, line, ids, plen)
        assert [f for _, f in decisions] == list(range(len(FINDINGS)))
        for k, f in decisions:
            assert plen <= k < len(ids)
            assert (ids[k] == tok.ids["▁no"]) == (not line["labels"][FINDINGS[f]]), tok.decode(ids[plen:])


def test_a_presence_question_decides_its_finding_at_the_yes_or_no_and_other_questions_decide_none():
    tok = build_tokenizer()
    seen = {"presence": 0, "other": 0}
    for line in (l for l in _lines(40) if l["task"] == "vqa"):
        ids, plen = _sample(tok, line)
        decisions = finding_decisions(tok, line, ids, plen)
        if line["qtype"].startswith("presence:"):
            seen["presence"] += 1
            assert decisions == [(plen, FINDINGS.index(line["qtype"].split(":")[1]))]
            assert ids[plen] == tok.ids["▁" + line["answer"]]
            assert (line["answer"] == "no") == (not line["labels"][line["qtype"].split(":")[1]])
        else:
            seen["other"] += 1
            assert decisions == []
    assert seen["presence"] > 20 and seen["other"] > 20


def test_collate_keeps_each_decision_with_its_row():
    tok = build_tokenizer()
    lines = [l for l in _lines(3) if l["task"] == "report"]
    samples = [_sample(tok, l) for l in lines]
    decisions = [finding_decisions(tok, l, ids, plen) for l, (ids, plen) in zip(lines, samples)]
    batch = collate(tok, samples, 4.0, decisions)
    assert batch["decisions"].shape == (8 * len(lines), 3)
    for r, k, f in batch["decisions"].tolist():
        assert (int(batch["input_ids"][r, k]) == tok.ids["▁no"]) == (not lines[r]["labels"][FINDINGS[f]])
    assert "decisions" not in collate(tok, samples, 4.0)
    assert collate(tok, samples, 4.0, [[] for _ in samples])["decisions"].shape == (0, 3)


def test_the_distillation_is_the_bce_of_one_minus_p_no_against_the_belief_and_leaves_the_belief_alone():
    torch.manual_seed(0)
    logits = torch.randn(2, 6, 11, requires_grad=True)
    beliefs = torch.rand(2, 8, requires_grad=True)
    decisions = torch.tensor([[0, 3, 1], [1, 5, 7], [1, 2, 0]])
    no_id = 4
    got = decision_distillation(logits, decisions, beliefs, no_id)
    want = 0.0
    for r, k, f in decisions.tolist():
        p_yes = 1 - float(logits[r, k - 1].softmax(-1)[no_id])
        b = float(beliefs[r, f])
        want += -(b * np.log(p_yes) + (1 - b) * np.log(1 - p_yes))
    assert float(got) == pytest.approx(want, rel=1e-5)
    got.backward()
    assert beliefs.grad is None  # the branch is the teacher
    assert float(logits.grad.abs().sum()) > 0
    assert float(decision_distillation(logits, torch.zeros(0, 3, dtype=torch.long), beliefs, no_id)) == 0.0


def _model_with_branch():
    """The tiny model with finding evidence and a detail branch; its per-slice tokens and branch logits for 2 volumes."""
    model, tok, _ = tiny_model()
    model.enable_finding_evidence()
    model.enable_detail_evidence(DetailNet(4).state_dict())
    x = torch.randn(2, 3, 4, 32, 32)
    tokens = model.encoder.encode_slices(x)
    with torch.no_grad():
        detail = model.detail(x)
    return model, tok, tokens, detail


def test_multitask_loss_adds_the_weighted_mean_distillation_and_needs_the_branch():
    model, tok, tokens, detail = _model_with_branch()
    lines = [l for l in _lines(2) if l["task"] == "report"]
    n_img = model.cfg.num_image_tokens
    samples = [_sample(tok, l, n_img) for l in lines]
    decisions = [finding_decisions(tok, l, ids, plen) for l, (ids, plen) in zip(lines, samples)]
    batch = collate(tok, samples, 4.0, decisions)
    no_id = tok.ids["▁no"]

    def loss(w: float):
        return multitask_loss(model, tokens, [batch], detail_logits=detail, distill_weight=w, no_id=no_id)

    with torch.no_grad():
        base, _ = loss(0.0)
        with_it, info = loss(2.0)
        assert "distill" in info and info["distill"] > 0
        assert float(with_it - base) == pytest.approx(2.0 * info["distill"], rel=1e-4)
        with pytest.raises(ValueError, match="detail branch"):
            multitask_loss(model, tokens, [batch], distill_weight=1.0, no_id=no_id)


def test_task_weights_count_each_sub_batchs_decisions_that_many_times_in_the_mean():
    model, tok, tokens, detail = _model_with_branch()
    lines = _lines(2)
    report = [l for l in lines if l["task"] == "report"][:1]
    presence = [l for l in lines if l.get("qtype", "").startswith("presence:")][:1]
    n_img = model.cfg.num_image_tokens
    batches = []
    for group in (report, presence):
        samples = [_sample(tok, l, n_img) for l in group]
        batches.append(collate(tok, samples, 4.0, [finding_decisions(tok, l, i, p) for l, (i, p) in zip(group, samples)]))
    no_id = tok.ids["▁no"]

    def distill(weights):
        return multitask_loss(model, tokens, batches, detail_logits=detail, distill_weight=1.0, no_id=no_id,
                              distill_task_weights=weights)[1]["distill"]

    with torch.no_grad():
        only_report, only_presence = distill((1.0, 0.0)), distill((0.0, 1.0))
        # 8 report decisions and 1 presence decision; weight 8 on the presence one makes the two count alike
        assert distill((1.0, 8.0)) == pytest.approx((only_report + only_presence) / 2, rel=1e-5)
        assert distill(None) == pytest.approx((8 * only_report + only_presence) / 9, rel=1e-5)
