"""The whole MLLM: volume encoder (2D ViT transferred to 3D, TGH-MoE) → projector → decoder LLM (DESIGN 3.4).

The same class is the stage-0 2D MLLM (a 2D image is a one-slice volume with K = 0) and the 3D CT model, so the
stage-0 checkpoint maps onto the 3D model key for key except the encoder's new TGH-MoE parts.

Prompt layout (the runtime builds it the same way, see model/README.md):

    <bos> <image>×N_img  prompt words ...  <answer>  answer words ...  <eos>

- The ``<image>`` positions take the projected visual tokens instead of their token embedding.
- Text guidance = mean of ``embed_tokens`` outputs over the prompt positions that are not ``<image>``
  (``<bos>``, the prompt words and ``<answer>``), i.e. everything up to and including ``<answer>``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from .labeller import FINDINGS
from .llm import DecoderLM, LLMConfig
from .tghmoe import MoEConfig
from .transfer import EncoderConfig, VolumeEncoder, stack_routing
from .vit2d import ViTConfig

N_FINDINGS = len(FINDINGS)  # the finding head's outputs, in the labeller's order


@dataclass
class MLLMConfig:
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    llm: LLMConfig = field(default_factory=LLMConfig)
    pooling: list[int] = field(default_factory=lambda: [2, 2, 2])  # visual tokens pooled over (d, h, w)
    image_token_id: int = 4
    summary_token: bool = False  # one more image token: a linear summary of the whole pooled grid (see Projector)
    summary_max: bool = False  # the summary also reads the channel-wise max over all visual tokens (small findings)
    finding_evidence: bool = False  # the finding head's beliefs are written back into the summary token (see below)
    detail_evidence: bool = False  # the local-detail branch's beliefs too (model/detail.py)
    detail_width: int = 16
    detail_cells: bool = False  # the branch's mask-supervised per-position logits (model/detail.py, Deviation 19)

    @property
    def image_grid(self) -> list[int]:
        d, h, w = self.encoder.patch_grid
        pd, ph, pw = self.pooling
        return [d // pd, h // ph, w // pw]

    @property
    def num_grid_tokens(self) -> int:
        g = self.image_grid
        return g[0] * g[1] * g[2]

    @property
    def num_image_tokens(self) -> int:
        return self.num_grid_tokens + int(self.summary_token)

    def to_dict(self) -> dict:
        return asdict(self)

    @staticmethod
    def from_dict(d: dict) -> "MLLMConfig":
        e = dict(d["encoder"])
        e["vit"] = ViTConfig(**e["vit"])
        e["moe"] = MoEConfig(**e["moe"])
        return MLLMConfig(encoder=EncoderConfig(**e), llm=LLMConfig(**d["llm"]), pooling=list(d["pooling"]),
                          image_token_id=d["image_token_id"], summary_token=d.get("summary_token", False),
                          summary_max=d.get("summary_max", False), finding_evidence=d.get("finding_evidence", False),
                          detail_evidence=d.get("detail_evidence", False), detail_width=d.get("detail_width", 16),
                          detail_cells=d.get("detail_cells", False))


class Projector(nn.Module):
    """Average-pool the visual token grid, standardise, then an MLP into the LLM width:
    [B,D·Hp·Wp,C] → [B,N_img,C_llm].

    The standardisation ``(x + offset[n]) · scale`` has one offset per pooled position and channel and one scale per
    channel; ``calibrate`` sets them from training volumes (minus the mean feature at each position, over the
    spread around it), then they train like any weight. Why: chest CTs share their anatomy, so most of a visual
    token is the same in every volume and what differs (a finding) is a few percent of it — measured on the demo
    features: std across volumes 0.044 against a mean |x| of 0.35. Without it the LLM learned to ignore the image
    (same loss with the volumes of a batch shuffled, after 600 stage-1 steps), although a linear probe on the same
    pooled features told effusion, cardiomegaly or pericardial fluid with 96–100 % accuracy.
    """

    def __init__(self, in_dim: int, out_dim: int, n_tokens: int, summary: bool = False, summary_max: bool = False):
        super().__init__()
        self.offset = nn.Parameter(torch.zeros(n_tokens, in_dim))
        self.scale = nn.Parameter(torch.ones(in_dim))
        self.fc1 = nn.Linear(in_dim, out_dim)
        self.fc2 = nn.Linear(out_dim, out_dim)
        # Summary token: one linear map of the whole standardised grid [N_img·C] → C_llm, appended after the grid
        # tokens. A finding shows in a few tokens; this token can gather it from wherever it is (like a linear probe
        # over the grid), so the LLM reads "is there an effusion" from one place instead of learning to search 32.
        # With ``summary_max`` it also reads the channel-wise maximum over every visual token before pooling: a
        # finding of a few voxels lives in one token, and the average pool divides it by the pool size while the
        # max keeps it (measured: nodule and calcification are ~1 token at 32×128×128).
        self.summary_max = summary and summary_max
        self.summary = nn.Linear(n_tokens * in_dim + (in_dim if self.summary_max else 0), out_dim) if summary else None
        if self.summary is not None:
            nn.init.normal_(self.summary.weight, std=0.02)
            nn.init.zeros_(self.summary.bias)

    @staticmethod
    def pool(tokens: torch.Tensor, grid: list[int], pooling: list[int]) -> torch.Tensor:
        b, _, c = tokens.shape
        d, h, w = grid
        x = tokens.transpose(1, 2).reshape(b, c, d, h, w)
        x = F.avg_pool3d(x, kernel_size=pooling, stride=pooling)  # [B,C,D',H',W']
        return x.flatten(2).transpose(1, 2)  # [B,N_img,C], order (d', h', w') row-major

    @torch.no_grad()
    def calibrate(self, pooled: torch.Tensor) -> None:
        """pooled [N,N_img,C] from training volumes → offset = −mean over volumes, scale = 1 / spread per channel."""
        mean = pooled.mean(0)
        self.offset.copy_(-mean)
        self.scale.copy_(1.0 / (pooled - mean).std(dim=(0, 1)).clamp(min=1e-4))

    def forward(self, tokens: torch.Tensor, grid: list[int], pooling: list[int]) -> torch.Tensor:
        x = (self.pool(tokens, grid, pooling) + self.offset) * self.scale  # [B,N,C]
        out = self.fc2(F.gelu(self.fc1(x)))  # [B,N,C_llm]
        if self.summary is None:
            return out
        flat = x.flatten(1)
        if self.summary_max:
            # [B,C], layer-normalised without weights (its scale is the residual stream's); written out rather
            # than F.layer_norm, whose weightless ONNX export onnx 1.12's checker refuses
            peak = tokens.amax(1)
            mu = peak.mean(-1, keepdim=True)
            peak = (peak - mu) / torch.sqrt((peak - mu).pow(2).mean(-1, keepdim=True) + 1e-5)
            flat = torch.cat([flat, peak], dim=1)
        return torch.cat([out, self.summary(flat).unsqueeze(1)], dim=1)  # [B,N+1,C_llm]


class CTLensMLLM(nn.Module):
    def __init__(self, cfg: MLLMConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = VolumeEncoder(cfg.encoder)
        self.projector = Projector(cfg.encoder.vit.dim, cfg.llm.dim, cfg.num_grid_tokens, cfg.summary_token,
                                   cfg.summary_max)
        self.llm = DecoderLM(cfg.llm)
        # Training only (not exported): the 8 findings read linearly from the summary token, trained on labels
        # that model/labeller.py reads from each training report. See model/README.md, "Deviations".
        self.finding_head = nn.Linear(cfg.llm.dim, N_FINDINGS) if cfg.summary_token else None
        # Finding evidence (model/README.md, Deviations): the head's 8 probabilities, mapped by one linear layer,
        # are added to the summary token, so the head becomes part of the vision graph. Why: on validation the head
        # told consolidation at AUC 0.83 from the summary token while the report's own decision read 0.62 from the
        # same token — the LLM lost what the encoder had; an 8-number belief is what it reads most easily (with
        # the labels themselves in that place it learned to report from them within a few hundred steps).
        self.finding_evidence = None
        if cfg.finding_evidence:
            self.enable_finding_evidence()
        # Local-detail evidence (model/detail.py, Deviation 18): a small 3D CNN over the full-resolution input tells
        # the findings of a few voxels that the 32×32 patch embedding cannot; its 8 beliefs join the summary token
        # the same way.
        self.detail = None
        self.detail_evidence = None
        if cfg.detail_evidence:
            self.enable_detail_evidence()

    def enable_finding_evidence(self) -> None:
        """Adds the finding-evidence map, zero-initialised: the model computes exactly what it did before."""
        if self.finding_head is None:
            raise ValueError("finding evidence needs the summary token and its finding head")
        self.cfg.finding_evidence = True
        self.finding_evidence = self._zero_belief_map()

    def enable_detail_evidence(self, detail_state: dict | None = None) -> None:
        """Adds the local-detail branch (weights and width from ``detail_state`` when given, else cfg.detail_width)
        and its zero-initialised map into the summary token: the model computes exactly what it did before."""
        from .detail import DetailNet

        if self.finding_head is None:
            raise ValueError("detail evidence needs the summary token")
        self.cfg.detail_evidence = True
        if detail_state is not None:
            shape = DetailNet.shape_of(detail_state)
            self.cfg.detail_width, self.cfg.detail_cells = shape["width"], shape["cells"]
        self.detail = DetailNet(self.cfg.detail_width, cells=self.cfg.detail_cells)
        if detail_state is not None:
            self.detail.load_state_dict(detail_state)
        self.detail_evidence = self._zero_belief_map()

    def _zero_belief_map(self) -> nn.Linear:
        """8 beliefs → the summary token's width, zero at the start (an added evidence path changes nothing yet)."""
        m = nn.Linear(N_FINDINGS, self.cfg.llm.dim, bias=False)
        nn.init.zeros_(m.weight)
        return m

    # -- pieces that the ONNX graphs export one by one -------------------------------------------------------
    def embed_tokens(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.llm.embed_tokens(input_ids)  # [B,S] → [B,S,C_llm]

    def text_guidance(self, embeds: torch.Tensor, prompt_mask: torch.Tensor) -> torch.Tensor:
        """Mean embedding over prompt positions that are not image tokens: embeds [B,S,C], mask [B,S] → [B,C]."""
        m = prompt_mask.to(embeds.dtype).unsqueeze(-1)
        return (embeds * m).sum(1) / m.sum(1).clamp(min=1.0)

    def image_features(self, tokens: torch.Tensor, text_embedding: torch.Tensor | None, sparse: bool = False,
                       detail_logits: torch.Tensor | None = None, plain_summary: bool = False):
        """tokens after the per-slice blocks [B,D·Np,C] (+ the detail branch's logits [B,8] when it is on) → image
        features [B,N_img,C_llm], routing, aux loss (+ with ``plain_summary`` the summary token before the evidence
        is added [B,C_llm]: what the finding head reads)."""
        enc, routings = self.encoder.encode_volume(tokens, text_embedding, sparse=sparse)
        feats = self.projector(enc, self.cfg.encoder.patch_grid, self.cfg.pooling)
        plain = feats[:, -1]
        if self.finding_evidence is not None or self.detail_evidence is not None:
            out = plain
            if self.finding_evidence is not None:
                out = out + self.finding_evidence(torch.sigmoid(self.finding_head(plain)))  # [B,8] beliefs
            if self.detail_evidence is not None:
                if detail_logits is None:
                    raise ValueError("this model reads the detail branch: image_features needs its logits")
                out = out + self.detail_evidence(torch.sigmoid(detail_logits))
            feats = torch.cat([feats[:, :-1], out.unsqueeze(1)], dim=1)
        aux = sum((r.aux_loss for r in routings if r is not None), torch.zeros(()))
        n_routed = sum(r is not None for r in routings)
        if plain_summary:
            return feats, stack_routing(routings), aux / max(n_routed, 1), plain
        return feats, stack_routing(routings), aux / max(n_routed, 1)

    def vision(self, pixel_values: torch.Tensor, text_embedding: torch.Tensor | None):
        """The vision_encoder graph: [B,3,D,H,W], [B,C_llm] → features, (group_gates, router_probs) | None."""
        detail = self.detail(pixel_values) if self.detail is not None else None
        feats, routing, _ = self.image_features(self.encoder.encode_slices(pixel_values), text_embedding,
                                                detail_logits=detail)
        return feats, routing

    # -- training --------------------------------------------------------------------------------------------
    def loss(self, slice_tokens: torch.Tensor, batch: dict, sparse: bool = True,
             detail_logits: torch.Tensor | None = None) -> tuple[torch.Tensor, dict]:
        """Next-token cross-entropy on the answer positions (+ weighted load-balancing loss when routed).

        slice_tokens [B,D·Np,C] (per-slice encoder output, possibly cached), batch from ``model.batches.collate``:
        input_ids/labels/attention_mask [B,S] with N_img image tokens after <bos>, prompt_mask [B,S].
        """
        ids = batch["input_ids"]
        embeds = self.embed_tokens(ids)
        text = self.text_guidance(embeds, batch["prompt_mask"])
        feats, _, aux = self.image_features(slice_tokens, text, sparse=sparse, detail_logits=detail_logits)
        embeds = merge_image_features(embeds, feats, ids == self.cfg.image_token_id)
        pos = torch.arange(ids.shape[1]).unsqueeze(0).expand_as(ids)
        logits, _ = self.llm(embeds, batch["attention_mask"], pos)
        labels = batch["labels"]
        ce = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1),
                             ignore_index=-100)
        total = ce + self.cfg.encoder.moe.aux_loss_weight * aux
        return total, {"ce": float(ce), "aux": float(aux)}


def merge_image_features(embeds: torch.Tensor, feats: torch.Tensor, image_mask: torch.Tensor) -> torch.Tensor:
    """Place feats [B,N_img,C] at the image positions of embeds [B,S,C] (each row has exactly N_img of them)."""
    out = embeds.clone()
    out[image_mask] = feats.reshape(-1, feats.shape[-1]).to(out.dtype)
    return out
