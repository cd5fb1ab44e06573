"""Full-ranking top-K metrics for recommendation, batched over users, no loop per user.

For each batch of users: score every item (`score_fn`), set the user's excluded items
(training, and validation when testing) to -inf, take `torch.topk` of the largest K, and
look the top items up among the user's evaluation items. Per user, with `hits@K` the
number of evaluation items among the top K and `|gt|` the number of evaluation items:

* Recall@K = hits@K / |gt| (LightGCN's definition: divided by |gt|, not min(|gt|, K));
* Precision@K = hits@K / K;
* HitRate@K = 1 if hits@K > 0 else 0;
* NDCG@K = DCG / IDCG with binary relevance, DCG = sum over hit ranks r (1-based) of
  1 / log2(r + 1), IDCG the same sum over ranks 1..min(|gt|, K) (LightGCN's definition);
* MRR@K = 1 / rank of the first hit within the top K, 0 without a hit.

Metrics are averaged over users with at least one evaluation item; the others are skipped
and counted (`num_skipped_users`). Excluded items are never counted as hits, even when an
evaluation item is also excluded (it then only counts in |gt|), and a slot whose score is
-inf (a user with fewer than K candidates) is never a hit.

Ties: the order among equal scores is whatever `torch.topk` returns (on CPU that is not
guaranteed to be by item index). Tied scores can only change a user's metrics when an
evaluation item and another item tie across the K boundary or in rank; a trained model
rarely produces exact ties. NaN scores raise an error instead of ranking silently.

`sampled=N` is the explicit, labelled alternative (``sampled_recall@K`` ...): each user's
evaluation items are ranked against N negatives drawn uniformly, without replacement, from
the items neither excluded nor in the user's evaluation set. It is cheaper for a model
that cannot score all items, but it overestimates ranking quality and its numbers are not
comparable with full ranking (Krichene & Rendle, KDD 2020).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from plexus.graph.interactions import PairIndex

__all__ = ["METRICS", "full_ranking_metrics"]

METRICS = ("recall", "ndcg", "precision", "hit_rate", "mrr")


def full_ranking_metrics(
    score_fn: Callable[[torch.Tensor], torch.Tensor],
    eval_edge_index: torch.Tensor,
    exclude_edge_index: Sequence[torch.Tensor] | torch.Tensor | None,
    num_users: int,
    num_items: int,
    ks: Sequence[int] = (10, 20),
    batch_size: int = 1024,
    sampled: int | None = None,
    seed: int = 0,
) -> dict[str, float]:
    """Top-K metrics over all items (see the module docstring).

    `score_fn(users)` gets a CPU LongTensor of B user indices and returns a [B, num_items]
    float tensor on any device; the returned tensor is modified in place (excluded items
    set to -inf), so return a fresh one, not a view of a cached matrix. It is called
    under `torch.no_grad()`. `eval_edge_index` [2, n] holds (user, item) pairs to find;
    `exclude_edge_index` the pairs never to rank (e.g. `[train]` for validation,
    `[train, val]` for test). `seed` drives the negatives of `sampled` only.

    Returns `recall@K`, `ndcg@K`, `precision@K`, `hit_rate@K`, `mrr@K` for each K (with a
    `sampled_` prefix when `sampled` is set), `num_eval_users` and `num_skipped_users`.
    """
    ks = sorted({int(k) for k in ks})
    if not ks or ks[0] < 1:
        raise ValueError(f"ks must be positive integers, got {ks}")
    if ks[-1] > num_items:
        raise ValueError(f"K={ks[-1]} is larger than the number of items ({num_items})")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, not {batch_size}")
    if sampled is not None and sampled < 1:
        raise ValueError(f"sampled must be a positive number of negatives, not {sampled}")
    max_k = ks[-1]

    gt = PairIndex(eval_edge_index, num_users, num_items)
    if isinstance(exclude_edge_index, torch.Tensor):
        exclude_edge_index = [exclude_edge_index]
    excluded = [torch.as_tensor(e).cpu().long() for e in exclude_edge_index or []]
    ex = PairIndex(torch.cat(excluded, dim=1) if excluded else torch.empty(2, 0, dtype=torch.long),
               num_users, num_items)
    gt_count = gt.degree
    eval_users = torch.nonzero(gt_count > 0).flatten()
    if eval_users.numel() == 0:
        raise ValueError("no user has an evaluation interaction; nothing to rank")

    discount = 1.0 / torch.log2(torch.arange(2, max_k + 2, dtype=torch.float64))
    idcg = torch.cumsum(discount, 0)  # idcg[m - 1]: ideal DCG with m relevant items
    k_idx = torch.tensor(ks) - 1
    k_val = torch.tensor(ks, dtype=torch.float64)
    totals = torch.zeros(len(METRICS), len(ks), dtype=torch.float64)
    generator = torch.Generator().manual_seed(seed) if sampled is not None else None

    with torch.no_grad():
        for start in range(0, eval_users.numel(), batch_size):
            users = eval_users[start : start + batch_size]
            scores = score_fn(users)
            if not isinstance(scores, torch.Tensor) or scores.shape != (users.numel(), num_items):
                got = list(scores.shape) if isinstance(scores, torch.Tensor) else type(scores)
                raise ValueError(
                    f"score_fn must return a [{users.numel()}, {num_items}] tensor, got {got}"
                )
            scores = scores.detach()
            if not scores.is_floating_point():
                scores = scores.float()
            device = scores.device
            ex_rows, ex_cols = ex.segments(users)
            scores[ex_rows.to(device), ex_cols.to(device)] = float("-inf")
            if sampled is not None:
                keep = _sampled_candidates(users, ex_rows, ex_cols, gt, sampled, generator)
                scores.masked_fill_(~keep.to(device), float("-inf"))
            values, top = torch.topk(scores, max_k, dim=1)
            values, top = values.cpu(), top.cpu()
            if torch.isnan(values).any():
                raise ValueError("score_fn returned NaN scores; the model has diverged")
            hit = gt.contains(users[:, None], top) & (values > float("-inf"))
            hit_f = hit.double()
            hits = torch.cumsum(hit_f, 1)[:, k_idx]  # [B, len(ks)]
            dcg = torch.cumsum(hit_f * discount, 1)[:, k_idx]
            n_gt = gt_count[users].double()[:, None]
            ideal = idcg[torch.minimum(n_gt.long(), k_idx + 1) - 1]
            first = torch.where(hit.any(1), hit_f.argmax(1), max_k)[:, None]  # 0-based rank
            mrr = torch.where(first < k_idx + 1, 1.0 / (first + 1).double(), 0.0)
            totals += torch.stack([
                (hits / n_gt).sum(0),
                (dcg / ideal).sum(0),
                (hits / k_val).sum(0),
                (hits > 0).double().sum(0),
                mrr.sum(0),
            ])

    means = totals / eval_users.numel()
    prefix = "sampled_" if sampled is not None else ""
    out: dict[str, float] = {}
    for j, k in enumerate(ks):
        for i, name in enumerate(METRICS):
            out[f"{prefix}{name}@{k}"] = float(means[i, j])
    out["num_eval_users"] = int(eval_users.numel())
    out["num_skipped_users"] = int(num_users - eval_users.numel())
    return out


def _sampled_candidates(users, ex_rows, ex_cols, gt: PairIndex, sampled: int,
                        generator: torch.Generator) -> torch.Tensor:
    """[B, num_items] mask: each user's eval items plus `sampled` distinct free negatives."""
    b, n = users.numel(), gt.num_items
    key = torch.rand(b, n, generator=generator)  # random order of the free items
    gt_rows, gt_cols = gt.segments(users)
    key[ex_rows, ex_cols] = -1.0
    key[gt_rows, gt_cols] = -1.0
    values, neg = torch.topk(key, min(sampled, n), dim=1)
    keep = torch.zeros(b, n, dtype=torch.bool)
    keep.scatter_(1, neg, values >= 0)
    keep[gt_rows, gt_cols] = True
    return keep
