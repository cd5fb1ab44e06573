"""Link-prediction metrics: positives scored against a fixed set of negatives.

ROC-AUC and AP are scikit-learn's definitions (as Kipf & Welling used), computed in torch:
sklearn's input validation costs ~7 ms a call, a fifth of a GAE epoch when validation runs
every epoch. Tests check both against scikit-learn, ties included. Hits@K and MRR follow
OGB: Hits@K is the share of positives scored above the K-th best negative; the rank of a
positive among all negatives averages the optimistic and pessimistic rank, so ties neither
help nor hurt.
"""

from __future__ import annotations

import torch


def roc_auc(pos: torch.Tensor, neg: torch.Tensor) -> float:
    """P(score of a random positive > a random negative), ties counting one half."""
    sorted_neg = torch.sort(neg.double()).values
    pos = pos.double()
    below = torch.searchsorted(sorted_neg, pos, right=False)
    ties = torch.searchsorted(sorted_neg, pos, right=True) - below
    return float((below.double() + 0.5 * ties.double()).sum() / (pos.numel() * neg.numel()))


def average_precision(pos: torch.Tensor, neg: torch.Tensor) -> float:
    """sum_k (R_k - R_{k-1}) P_k over distinct score thresholds (sklearn's definition)."""
    scores = torch.cat([pos, neg]).double()
    labels = torch.cat([torch.ones(pos.numel()), torch.zeros(neg.numel())]).double()
    order = torch.argsort(scores, descending=True, stable=True)
    scores, labels = scores[order], labels[order]
    tp = torch.cumsum(labels, 0)
    fp = torch.arange(1, scores.numel() + 1, dtype=torch.float64) - tp
    last = torch.ones_like(scores, dtype=torch.bool)  # last index of each tied group
    last[:-1] = scores[1:] != scores[:-1]
    tp, fp = tp[last], fp[last]
    precision = tp / (tp + fp)
    recall = tp / pos.numel()
    delta = torch.diff(recall, prepend=recall.new_zeros(1))
    return float((delta * precision).sum())


def link_metrics(
    pos_scores: torch.Tensor, neg_scores: torch.Tensor, ks: tuple[int, ...] = (10, 50, 100)
) -> dict[str, float]:
    pos = pos_scores.detach().float().cpu().flatten()
    neg = neg_scores.detach().float().cpu().flatten()
    if pos.numel() == 0 or neg.numel() == 0:
        raise ValueError("link_metrics needs at least one positive and one negative score")
    out = {"auc": roc_auc(pos, neg), "ap": average_precision(pos, neg)}
    out.update(hits_at_k(pos, neg, ks))
    out["mrr"] = mrr(pos, neg)
    return out


def hits_at_k(pos: torch.Tensor, neg: torch.Tensor, ks: tuple[int, ...]) -> dict[str, float]:
    out = {}
    sorted_neg = torch.sort(neg, descending=True).values
    for k in ks:
        if k > neg.numel():
            continue  # undefined: fewer negatives than K
        kth = sorted_neg[k - 1]
        out[f"hits@{k}"] = float((pos > kth).float().mean())
    return out


def mrr(pos: torch.Tensor, neg: torch.Tensor) -> float:
    """Mean reciprocal rank of each positive among all negatives (ties: mean rank)."""
    sorted_neg = torch.sort(neg).values
    # negatives strictly above / at-or-above each positive, by binary search
    above = neg.numel() - torch.searchsorted(sorted_neg, pos, right=True)
    at_or_above = neg.numel() - torch.searchsorted(sorted_neg, pos, right=False)
    rank = 1.0 + (above + at_or_above).float() / 2.0
    return float((1.0 / rank).mean())


# --- Filtered entity ranking (knowledge-graph completion, Bordes et al. 2013) -------------
#
# A query (h, r, ?) scores every entity; the true tail's rank counts only the entities that
# outscore it and are *not* themselves a known true tail of (h, r) in any split (the
# "filtered" setting). Ties count half, as above, so a constant scorer ranks the target in
# the middle rather than first.


def filtered_ranks(scores: torch.Tensor, targets: torch.Tensor, known: torch.Tensor | None = None) -> torch.Tensor:
    """Rank (1 = best) of `targets[i]` among row `scores[i]` of [B, E] entity scores.

    `known` is a [2, F] LongTensor of (row, entity) pairs that are other true answers of row
    i's query; they are left out of the ranking (the target itself is never left out).
    """
    scores = scores.detach().double().clone()
    rows = torch.arange(scores.size(0))
    target_score = scores[rows, targets].clone()
    if known is not None and known.numel():
        keep = known[1] != targets[known[0]]
        scores[known[0, keep], known[1, keep]] = float("nan")  # excluded: neither above nor tied
    above = (scores > target_score[:, None]).sum(1)
    ties = (scores == target_score[:, None]).sum(1) - 1  # the target ties with itself
    return 1.0 + above.double() + ties.double() / 2.0


def rank_metrics(ranks: torch.Tensor, ks: tuple[int, ...] = (1, 3, 10)) -> dict[str, float]:
    """MRR and Hits@K of filtered ranks (a half-rank tie counts towards Hits@K only when the
    rank is <= K)."""
    ranks = ranks.double()
    out = {"mrr": float((1.0 / ranks).mean())}
    for k in ks:
        out[f"hits@{k}"] = float((ranks <= k).double().mean())
    return out
