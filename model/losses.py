"""The training losses: answer-token cross-entropy with the image features in place, and the multitask loss of a
step (one encoder pass, the LLM per task sub-batch, the MoE balance term, the gate's task NLL, the finding head).

Report and VQA samples share a batch (so the text-guided group gate sees both tasks) but run through the LLM as two
length-homogeneous sub-batches.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .mllm import CTLensMLLM, merge_image_features


def lm_loss(model: CTLensMLLM, batch: dict, feats: torch.Tensor, embeds: torch.Tensor,
            with_logits: bool = False):
    """Cross-entropy of the answer tokens, the image features placed at the <image> positions (and the logits
    [B,S,V] with ``with_logits``)."""
    ids = batch["input_ids"]
    embeds = merge_image_features(embeds, feats, ids == model.cfg.image_token_id)
    pos = torch.arange(ids.shape[1]).unsqueeze(0).expand_as(ids)
    logits, _ = model.llm(embeds, batch["attention_mask"], pos)
    labels = batch["labels"][:, 1:].reshape(-1)
    ce = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), labels, ignore_index=-100, reduction="none")
    w = batch["weights"][:, 1:].reshape(-1) * (labels != -100)
    ce = (ce * w).sum() / w.sum().clamp(min=1e-6)
    return (ce, logits) if with_logits else ce


def decision_distillation(logits: torch.Tensor, decisions: torch.Tensor, beliefs: torch.Tensor,
                          no_id: int) -> torch.Tensor:
    """Summed BCE between the language model's P(present) at each finding decision, 1 − P("no") from the logits
    before the deciding token, and the detail branch's belief in that finding for that sample.

    logits [B,S,V]; decisions [n,3] (row, position, finding) from ``batches.finding_decisions``; beliefs [B,8]
    (sigmoid of the branch's logits, no gradient: the branch is the teacher). Why (model/README.md, Deviation 21):
    the label is only partly predictable from the image, so its cross-entropy teaches a weakly informed decision
    mostly the prior; the belief is a function of the image the model holds, which the decision can match exactly,
    and the branch's balanced training puts its 0.5 where positives and negatives weigh alike."""
    if decisions.numel() == 0:
        return logits.new_zeros(())
    r, k, f = decisions.unbind(1)
    log_no = logits[r, k - 1].log_softmax(-1)[:, no_id]  # the logits at position k − 1 predict token k
    log_yes = torch.log1p(-log_no.exp().clamp(max=1 - 1e-6))
    target = beliefs[r, f].detach()
    return -(target * log_yes + (1 - target) * log_no).sum()


def multitask_loss(model: CTLensMLLM, tokens: torch.Tensor, batches: list[dict], sparse: bool = True,
                   findings: torch.Tensor | None = None, finding_weight: float = 0.0, gate_task_weight: float = 0.0,
                   detail_logits: torch.Tensor | None = None, finding_loss_before_evidence: bool = False,
                   distill_weight: float = 0.0, no_id: int | None = None,
                   distill_task_weights: tuple[float, ...] | None = None):
    """One encoder pass over all samples (their text guidance each), then the LLM per sub-batch.

    tokens [B,N,C] per-slice encoder output, rows in the order of the concatenated sub-batches; findings [B,8]
    (0/1 from the labeller) for the summary token's finding head; detail_logits [B,8] the local-detail branch's
    output for the same rows (models with detail evidence).
    Returns (loss, info); loss = mean CE over sub-batches (weighted by samples) + 0.01·balance
    + finding_weight·BCE(finding head) + gate_task_weight·NLL(group gate, task) where sub-batch i is task i.
    The finding head's BCE reads the summary token as the language model gets it (evidence added), or with
    ``finding_loss_before_evidence`` as the head itself reads it in the model, before the evidence (Deviation 20).
    With ``distill_weight`` > 0, + distill_weight · the mean over the step's finding decisions (sub-batches with
    ``decisions``) of ``decision_distillation`` against the detail branch's beliefs (token ``no_id`` = "no"), a
    decision of sub-batch i counting ``distill_task_weights[i]`` times in that mean (default: 1 each).
    """
    embeds = [model.embed_tokens(b["input_ids"]) for b in batches]
    text = torch.cat([model.text_guidance(e, b["prompt_mask"]) for e, b in zip(embeds, batches)])
    feats, routing, aux, plain = model.image_features(tokens, text, sparse=sparse, detail_logits=detail_logits,
                                                      plain_summary=True)
    distill = distill_weight > 0
    if distill and (detail_logits is None or no_id is None):
        raise ValueError("decision distillation needs the detail branch's logits and the id of \"no\"")
    ce, start, bce_sum, n_dec = 0.0, 0, 0.0, 0
    for i, (e, b) in enumerate(zip(embeds, batches)):
        n = b["input_ids"].shape[0]
        part, logits = lm_loss(model, b, feats[start : start + n], e, with_logits=True)
        ce = ce + part * n
        if distill and "decisions" in b:
            w = distill_task_weights[i] if distill_task_weights else 1.0
            beliefs = torch.sigmoid(detail_logits[start : start + n])
            bce_sum = bce_sum + w * decision_distillation(logits, b["decisions"], beliefs, no_id)
            n_dec += w * b["decisions"].shape[0]
        start += n
    ce = ce / start
    loss = ce + model.cfg.encoder.moe.aux_loss_weight * aux
    info = {"ce": float(ce), "aux": float(aux)}
    if distill and n_dec:
        distilled = bce_sum / n_dec
        loss = loss + distill_weight * distilled
        info["distill"] = float(distilled)
    if gate_task_weight > 0 and routing is not None:
        gates = routing[0]  # [B,K,G]
        task = torch.cat([torch.full((b["input_ids"].shape[0],), i, dtype=torch.long) for i, b in enumerate(batches)])
        nll = F.nll_loss(gates.clamp(min=1e-6).log().flatten(0, 1), task.repeat_interleave(gates.shape[1]))
        loss = loss + gate_task_weight * nll
        info.update(gate_nll=float(nll), gate_acc=float((gates.mean(1).argmax(-1) == task).float().mean()))
    if findings is not None and finding_weight > 0 and model.finding_head is not None:
        logits = model.finding_head(plain if finding_loss_before_evidence else feats[:, -1])  # the summary token
        bce = F.binary_cross_entropy_with_logits(logits, findings)
        loss = loss + finding_weight * bce
        info.update(find_bce=float(bce), find_acc=float(((logits > 0).float() == findings).float().mean()))
    return loss, info
