"""One LLMRec training epoch: BPR over the observed triples plus a per-batch sample of the
LLM's augmented triples (pruned), the MAE reconstruction and the feature regulariser.

Per batch of B observed triples (the official LightGCN sampler, one uniform negative each):

    augmented  floor(aug_sample_rate * B) of the batch's users drawn without replacement;
               those with an accepted LLM triple add (user, liked, disliked)   [official main.py]
    BPR        mean of the per-sample losses softplus(s_neg - s_pos) over the observed
               triples and the augmented triples kept by pruning (denoise.py; prune_scope)
    reg        reg * (||E0_u||^2 + ||E0_i||^2 + ||E0_j||^2) / 2 / B on the layer-0 rows of every
               triple used (the core LightGCN regulariser)
    + feat_reg_decay * (||R_u t||^2 + ||R_i R_u t||^2) / 2 / I   (official feature regulariser)
    + att_re_rate * SCE(masked profiles) + SCE(masked attributes)   (MAE, denoise.py)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from plexus.methods.llmrec.denoise import bpr_losses, prune_keep


@dataclass
class LossSettings:
    batch_size: int
    reg: float
    aug_sample_rate: float
    prune_loss_drop_rate: float
    prune_scope: str  # "augmented" | "all"
    feat_reg_decay: float
    att_re_rate: float


class AugmentedTriples:
    """The accepted LLM triples, looked up by user (one per user, as the paper's prompt gives)."""

    def __init__(self, triples: torch.Tensor, num_users: int):
        self.liked = torch.full((num_users,), -1, dtype=torch.long)
        self.disliked = torch.full((num_users,), -1, dtype=torch.long)
        if triples.numel():
            self.liked[triples[0]] = triples[1]
            self.disliked[triples[0]] = triples[2]
        self.count = int((self.liked >= 0).sum())

    def sample(self, batch_users: torch.Tensor, rate: float, gen: torch.Generator):
        """(users, liked, disliked) for floor(rate * B) of the batch's users that have a triple."""
        m = int(rate * batch_users.numel())
        if m == 0 or self.count == 0:
            empty = batch_users.new_empty(0)
            return empty, empty, empty
        users = batch_users[torch.randperm(batch_users.numel(), generator=gen)[:m]]
        users = users[self.liked[users] >= 0]
        return users, self.liked[users], self.disliked[users]


def batch_loss(model, u, p, n, aug_rows, s: LossSettings, gen) -> tuple[torch.Tensor, dict[str, float]]:
    """The loss of one batch (see the module docstring) and its parts."""
    out = model(gen)
    ue, ie = out["user"], out["item"]
    losses = bpr_losses((ue[u] * ie[p]).sum(-1), (ue[u] * ie[n]).sum(-1))
    au, ap, an = aug_rows
    aug_losses = bpr_losses((ue[au] * ie[ap]).sum(-1), (ue[au] * ie[an]).sum(-1))
    if s.prune_scope == "all":
        every = torch.cat([losses, aug_losses])
        keep = prune_keep(every, s.prune_loss_drop_rate)
        bpr = every[keep].mean()
        kept_aug = int((keep >= losses.numel()).sum())
    else:
        keep = prune_keep(aug_losses, s.prune_loss_drop_rate)
        bpr = (losses.sum() + aug_losses[keep].sum()) / (losses.numel() + keep.numel())
        kept_aug = keep.numel()
    nu = model.num_users
    rows = torch.cat([u, p + nu, n + nu, au, ap + nu, an + nu])
    reg = s.reg * 0.5 * model.embedding[rows].pow(2).sum() / u.numel()
    feat = s.feat_reg_decay * out["text_reg"]
    sce = s.att_re_rate * out["sce"]
    loss = bpr + reg + feat + sce
    return loss, {"bpr_loss": bpr.item(), "reg_loss": reg.item(), "feat_reg": feat.item(), "sce_loss": sce.item(),
                  "aug_used": float(au.numel()), "aug_kept": float(kept_aug)}


def train_epoch(model, opt, sampler, aug: AugmentedTriples | None, s: LossSettings, gen: torch.Generator
                ) -> dict[str, float]:
    """One epoch; the mean of each loss part over the batches, augmented triples summed."""
    model.train()
    users, pos = sampler.epoch()
    totals: dict[str, float] = {}
    batches = 0
    empty = users.new_empty(0)
    for start in range(0, users.numel(), s.batch_size):
        u, p = users[start:start + s.batch_size], pos[start:start + s.batch_size]
        n = sampler.negatives_for(u, p)
        aug_rows = aug.sample(u, s.aug_sample_rate, gen) if aug is not None else (empty, empty, empty)
        loss, parts = batch_loss(model, u, p, n, aug_rows, s, gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        totals["loss"] = totals.get("loss", 0.0) + loss.item()
        for k, v in parts.items():
            totals[k] = totals.get(k, 0.0) + v
        batches += 1
    b = max(batches, 1)
    return {k: (v if k.startswith("aug_") else v / b) for k, v in totals.items()}
