"""Text-Guided Hierarchical Mixture-of-Experts FFN (DESIGN 3.3).

    y_i = FFN(x_i) + Σ_g g_g · Σ_{e ∈ topk_g(i)} p_{i,g,e} · E_{g,e}(x_i)

- ``shared``: the pre-trained FFN of the 2D block, reused as is (task-shared features).
- ``experts``: G groups × E experts, each an FFN upcycled from the shared one with its output projection zeroed,
  so that switching the routed path on does not change the function (``upcycle``).
- Level 1, task level: ``g = softmax(W_g t)`` over groups, ``t`` the text guidance (already mapped by the
  encoder's small linear ``text_proj`` from the mean prompt embedding).
- Level 2, token level: ``p_i = softmax(W_r [x_i ; t])`` over the E experts of each group, top-k, renormalised.

The routed experts are stored as stacked tensors ``[M = G·E, ...]``. ``forward`` computes them densely (one
batched einsum: simple, exportable to ONNX, what inference uses); ``sparse=True`` evaluates each expert only on
its routed tokens (training speed on CPU; same result, tested).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from .vit2d import Mlp


@dataclass
class MoEConfig:
    groups: int = 2  # G
    experts_per_group: int = 4  # E
    top_k: int = 2  # k (inside each group)
    guidance_dim: int = 64  # width of t after the encoder's text_proj
    aux_loss_weight: float = 0.01
    text_guided: bool = True  # False: "token-only MoE" ablation (uniform group gate, router sees x only)
    group_names: list[str] = field(default_factory=lambda: ["group 0", "group 1"])


@dataclass
class Routing:
    group_gates: torch.Tensor  # [B,G]
    router_probs: torch.Tensor  # [B,N,G,E] renormalised top-k probabilities, zero outside the top-k
    aux_loss: torch.Tensor  # scalar load-balancing loss (unweighted)


class TGHMoE(nn.Module):
    def __init__(self, shared: Mlp, cfg: MoEConfig):
        super().__init__()
        self.cfg = cfg
        self.shared = shared
        dim, hidden = shared.fc1.in_features, shared.fc1.out_features
        m = cfg.groups * cfg.experts_per_group
        self.expert_fc1_weight = nn.Parameter(torch.zeros(m, hidden, dim))
        self.expert_fc1_bias = nn.Parameter(torch.zeros(m, hidden))
        self.expert_fc2_weight = nn.Parameter(torch.zeros(m, dim, hidden))
        self.expert_fc2_bias = nn.Parameter(torch.zeros(m, dim))
        self.group_gate = nn.Linear(cfg.guidance_dim, cfg.groups)
        self.router = nn.Linear(dim + cfg.guidance_dim, m)
        nn.init.normal_(self.group_gate.weight, std=0.02)
        nn.init.zeros_(self.group_gate.bias)
        nn.init.normal_(self.router.weight, std=0.02)
        nn.init.zeros_(self.router.bias)
        # Stage 1 runs the shared path only; stage 2 switches the routed path on after ``upcycle``.
        self.routed = False

    @torch.no_grad()
    def upcycle(self, noise: float = 0.0, generator: torch.Generator | None = None) -> None:
        """Every expert := the shared FFN, output projection zeroed (function unchanged; DESIGN 3.3).

        ``noise`` > 0 breaks the experts' symmetry: each expert's input projection gets its own Gaussian perturbation
        of ``noise`` × the weights' std. The output is still exactly the stage-1 function (the output projections
        are zero), but from the first step the experts compute different features and get different gradients — so
        the group gate has something to choose between (identical copies give it a zero gradient)."""
        m = self.expert_fc1_weight.shape[0]
        self.expert_fc1_weight.copy_(self.shared.fc1.weight.unsqueeze(0).expand(m, -1, -1))
        self.expert_fc1_bias.copy_(self.shared.fc1.bias.unsqueeze(0).expand(m, -1))
        if noise > 0:
            std = float(self.shared.fc1.weight.std())
            self.expert_fc1_weight.add_(torch.randn(self.expert_fc1_weight.shape, generator=generator) * noise * std)
        self.expert_fc2_weight.zero_()
        self.expert_fc2_bias.zero_()
        self.routed = True

    def route(self, x: torch.Tensor, t: torch.Tensor) -> Routing:
        """x [B,N,C], t [B,Tg] → gates [B,G], dense top-k probs [B,N,G,E], aux loss."""
        cfg = self.cfg
        b, n, _ = x.shape
        if cfg.text_guided:
            gates = self.group_gate(t).softmax(-1)  # [B,G]
            tg = t
        else:
            gates = x.new_full((b, cfg.groups), 1.0 / cfg.groups)
            tg = torch.zeros_like(t)
        logits = self.router(torch.cat([x, tg.unsqueeze(1).expand(b, n, tg.shape[-1])], dim=-1))  # [B,N,G*E]
        probs = logits.view(b, n, cfg.groups, cfg.experts_per_group).softmax(-1)  # [B,N,G,E]
        top_p, top_i = probs.topk(cfg.top_k, dim=-1)  # [B,N,G,k]
        top_p = top_p / top_p.sum(-1, keepdim=True)
        dense = torch.zeros_like(probs).scatter(-1, top_i, top_p)  # [B,N,G,E]
        return Routing(gates, dense, self._balance_loss(probs, top_i, gates))

    def _balance_loss(self, probs: torch.Tensor, top_i: torch.Tensor, gates: torch.Tensor) -> torch.Tensor:
        # Switch/MoE-LLaVA style per group: E · Σ_e f_e · P_e, f_e = share of routed slots, P_e = mean prob;
        # plus the same idea at group level over the batch (G · Σ_g mean_b(g)²) when text-guided, so that the
        # text gate does not collapse every prompt onto one group.
        cfg = self.cfg
        e = cfg.experts_per_group
        onehot = F.one_hot(top_i, e).sum(-2).float()  # [B,N,G,E]
        f = onehot.mean(dim=(0, 1)) / cfg.top_k  # [G,E]
        p = probs.mean(dim=(0, 1))  # [G,E]
        token_loss = (e * (f * p).sum(-1)).mean()
        if not cfg.text_guided:
            return token_loss
        gbar = gates.mean(0)  # [G]
        return token_loss + cfg.groups * (gbar * gbar).sum()

    def forward(self, x: torch.Tensor, t: torch.Tensor | None, sparse: bool = False):
        """x [B,N,C] → (y [B,N,C], Routing | None)."""
        y = self.shared(x)
        if not self.routed:
            return y, None
        assert t is not None, "the routed path needs the text guidance t"
        r = self.route(x, t)
        b, n, c = x.shape
        weights = (r.group_gates[:, None, :, None] * r.router_probs).reshape(b, n, -1)  # [B,N,M]
        if sparse:
            y = y + self._experts_sparse(x, weights)
        else:
            m, hid = self.expert_fc1_weight.shape[:2]
            # all experts' first layers as one matmul: [B·N,C] @ [C,M·H]
            h = F.gelu(F.linear(x.reshape(b * n, c), self.expert_fc1_weight.reshape(m * hid, c),
                                self.expert_fc1_bias.reshape(m * hid)))
            h = h.view(b * n, m, hid).transpose(0, 1)  # [M,B·N,H]
            out = torch.bmm(h, self.expert_fc2_weight.transpose(1, 2)) + self.expert_fc2_bias.unsqueeze(1)  # [M,BN,C]
            y = y + (out * weights.reshape(b * n, m).t().unsqueeze(-1)).sum(0).view(b, n, c)
        return y, r

    def _experts_sparse(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        # Dispatch: every (token, expert) pair with a non-zero weight, sorted by expert so that each expert
        # runs one dense matmul on a contiguous slice; then one index_add back onto the tokens.
        b, n, c = x.shape
        flat = x.reshape(b * n, c)
        w = weights.reshape(b * n, -1)  # [BN,M]
        tok, exp = (w > 0).nonzero(as_tuple=True)  # row-major: sorted by token; re-sort by expert
        order = torch.argsort(exp, stable=True)
        tok, exp = tok[order], exp[order]
        counts = torch.bincount(exp, minlength=w.shape[1]).tolist()
        xs = flat.index_select(0, tok).split(counts)
        w1, b1 = self.expert_fc1_weight.unbind(0), self.expert_fc1_bias.unbind(0)
        w2, b2 = self.expert_fc2_weight.unbind(0), self.expert_fc2_bias.unbind(0)
        outs = [F.linear(F.gelu(F.linear(xm, w1[m], b1[m])), w2[m], b2[m]) for m, xm in enumerate(xs)]
        routed = torch.cat(outs, 0) * w[tok, exp].unsqueeze(-1)  # [A,C]
        return torch.zeros_like(flat).index_add(0, tok, routed).view(b, n, c)
