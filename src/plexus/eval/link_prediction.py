"""Link-prediction metrics: positives scored against a fixed set of negatives.

ROC-AUC and AP follow Kipf & Welling (scikit-learn over sigmoid scores). Hits@K and MRR
follow OGB: Hits@K is the share of positives scored above the K-th best negative; the
rank of a positive among all negatives averages the optimistic and pessimistic rank, so
ties neither help nor hurt.
"""

from __future__ import annotations

import torch
from sklearn.metrics import average_precision_score, roc_auc_score


def link_metrics(
    pos_scores: torch.Tensor, neg_scores: torch.Tensor, ks: tuple[int, ...] = (10, 50, 100)
) -> dict[str, float]:
    pos = pos_scores.detach().float().cpu().flatten()
    neg = neg_scores.detach().float().cpu().flatten()
    if pos.numel() == 0 or neg.numel() == 0:
        raise ValueError("link_metrics needs at least one positive and one negative score")
    labels = torch.cat([torch.ones_like(pos), torch.zeros_like(neg)]).numpy()
    scores = torch.cat([pos, neg]).numpy()
    out = {"auc": float(roc_auc_score(labels, scores)), "ap": float(average_precision_score(labels, scores))}
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
