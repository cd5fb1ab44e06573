"""LLMRec's denoised data robustification (Wei et al., WSDM 2024, Sec. 3.4).

Noisy implicit-feedback pruning
    The paper (Sec. 3.4.1) sorts the per-sample BPR losses of a batch in ascending order
    (SortAscend) and sums only the first part of that list, so the samples with the *largest*
    loss are dropped: a pair the model contradicts most strongly is taken as the least
    reliable (the small-loss criterion of co-teaching / T-CE). Here the dropped share is
    `prune_loss_drop_rate` (the official parser's name; 0.4 in its MovieLens block). The official code (`main.py`, `prune_loss`) sorts
    log-sigmoid(s_pos - s_neg), i.e. minus the loss, ascending and keeps the first
    (1 - prune_loss_drop_rate) share: it keeps the *highest*-loss samples and drops the
    easiest ones, the opposite of the paper. Plexus follows the paper: `pruned_bpr` drops
    the floor(omega * n) largest losses, and keeps at least one sample of a non-empty batch.
    By default only the LLM's augmented triples are pruned (`prune_scope=augmented`: the
    observed interactions are not what the LLM may have got wrong); `prune_scope=all`
    prunes the union of observed and augmented samples, as the paper's equation is written.

MAE feature enhancement
    A share `mask_rate` of users (items) gets its profile (attribute) embedding replaced by a
    learnable [MASK] vector before projection; a decoder (linear + LeakyReLU, as the official
    `Decoder`) maps the propagated features of the masked nodes back to the input space, and
    the scaled cosine error (SCE, GraphMAE) mean_i (1 - cos(x_i, x_hat_i))^gamma measures the
    reconstruction (official `alpha_l` = gamma = 2; weight `att_re_rate` = 1e-5 in the
    official parser).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def bpr_losses(pos_scores: torch.Tensor, neg_scores: torch.Tensor) -> torch.Tensor:
    """Per-sample BPR losses -log sigmoid(s_pos - s_neg) = softplus(s_neg - s_pos)."""
    return F.softplus(neg_scores - pos_scores)


def prune_keep(losses: torch.Tensor, drop_rate: float) -> torch.Tensor:
    """Indices of the samples kept: all but the floor(drop_rate * n) largest losses, in
    ascending order of loss (ties keep the earlier sample). At least one is kept if n > 0."""
    n = losses.numel()
    if n == 0 or drop_rate <= 0:
        return torch.arange(n, device=losses.device)
    keep = max(1, n - int(drop_rate * n))
    order = torch.sort(losses.detach(), stable=True).indices
    return order[:keep]


def pruned_bpr(pos_scores: torch.Tensor, neg_scores: torch.Tensor, drop_rate: float
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """(sum of the kept per-sample BPR losses, indices kept); see the module docstring."""
    losses = bpr_losses(pos_scores, neg_scores)
    keep = prune_keep(losses, drop_rate)
    return losses[keep].sum(), keep


def mask_nodes(n: int, mask_rate: float, generator: torch.Generator) -> torch.Tensor:
    """floor(mask_rate * n) distinct node indices drawn uniformly (the masked nodes)."""
    k = int(mask_rate * n)
    return torch.randperm(n, generator=generator)[:k]


def apply_mask(features: torch.Tensor, nodes: torch.Tensor, token: torch.Tensor) -> torch.Tensor:
    """A copy of `features` with the rows `nodes` replaced by the [MASK] token."""
    if nodes.numel() == 0:
        return features
    out = features.clone()
    out[nodes] = token.to(out.dtype)
    return out


def sce_loss(recon: torch.Tensor, target: torch.Tensor, gamma: float = 2.0) -> torch.Tensor:
    """Scaled cosine error: mean over rows of (1 - cos(recon_i, target_i))^gamma."""
    if recon.numel() == 0:
        return recon.sum()
    cos = (F.normalize(recon, dim=-1) * F.normalize(target, dim=-1)).sum(-1)
    return (1 - cos).pow(gamma).mean()
