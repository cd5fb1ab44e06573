"""Item-to-item ranking metrics: PinSage's offline protocol (Ying et al., KDD 2018, 4.2).

Each evaluation pair (q, i) is a query item and the item the same user engaged with next.
Every item except q is scored against q (`score_fn`), and i's rank R among them gives

* hit_rate@K: the share of pairs with R <= K;
* mrr: the paper's scaled mean reciprocal rank, mean of 1 / ceil(R / scale). The paper uses
  scale = 100 because its candidate pool holds billions of items, so a rank of 150 should
  still count; `scale=1` is the usual MRR (reported as `mrr_unscaled`).

Ties are broken uniformly at random, in expectation: with g items scoring above i and e
others tied with it, hit@K = clamp(K - g, 0, e + 1) / (e + 1) exactly, and the reciprocal
rank uses the expected rank 1 + g + e / 2. This matters for count-based scores (a random
walk's visit counts tie on every unvisited item); a learned embedding rarely ties.

Scores are computed once per distinct query item, in batches, so an expensive `score_fn`
(e.g. walks) costs one call per item, however many pairs share the query.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

__all__ = ["item_to_item_metrics", "pair_ranks"]


def pair_ranks(score_fn: Callable[[torch.Tensor], torch.Tensor], pairs: torch.Tensor, num_items: int,
               batch_size: int = 256, chunk: int = 4096) -> tuple[torch.Tensor, torch.Tensor]:
    """(greater, ties) per pair: how many items other than q score above / equal to i.

    `score_fn(queries)` gets a CPU LongTensor of B item indices and returns [B, num_items]
    scores. Pairs with i == q are not allowed (a query is never its own target).
    """
    pairs = torch.as_tensor(pairs).cpu().long()
    if pairs.dim() != 2 or pairs.size(0) != 2:
        raise ValueError(f"pairs must have shape [2, P], not {list(pairs.shape)}")
    if bool((pairs[0] == pairs[1]).any()):
        raise ValueError("a pair's target equals its query; the query is excluded from the ranking")
    order = torch.argsort(pairs[0], stable=True)
    q_sorted, t_sorted = pairs[0, order], pairs[1, order]
    queries, counts = torch.unique_consecutive(q_sorted, return_counts=True)
    ends = torch.cumsum(counts, 0)
    greater = torch.empty(pairs.size(1), dtype=torch.long)
    ties = torch.empty(pairs.size(1), dtype=torch.long)
    with torch.no_grad():
        for lo in range(0, queries.numel(), batch_size):
            qb = queries[lo:lo + batch_size]
            scores = score_fn(qb)
            if not isinstance(scores, torch.Tensor) or scores.shape != (qb.numel(), num_items):
                raise ValueError(f"score_fn must return a [{qb.numel()}, {num_items}] tensor")
            scores = scores.detach().float().cpu().clone()
            if torch.isnan(scores).any():
                raise ValueError("score_fn returned NaN scores")
            scores[torch.arange(qb.numel()), qb] = float("-inf")  # q is never a candidate
            p_lo = int(ends[lo - 1]) if lo > 0 else 0
            p_hi = int(ends[lo + qb.numel() - 1])
            row = torch.repeat_interleave(torch.arange(qb.numel()), counts[lo:lo + qb.numel()])
            for c in range(p_lo, p_hi, chunk):
                r = row[c - p_lo:min(c + chunk, p_hi) - p_lo]
                t = t_sorted[c:c + r.numel()]
                s = scores[r]
                target = s.gather(1, t[:, None])
                greater[order[c:c + r.numel()]] = (s > target).sum(1)
                ties[order[c:c + r.numel()]] = (s == target).sum(1) - 1
    return greater, ties


def item_to_item_metrics(score_fn: Callable[[torch.Tensor], torch.Tensor], pairs: torch.Tensor,
                         num_items: int, ks: Sequence[int] = (10, 20), mrr_scale: float = 100.0,
                         batch_size: int = 256) -> dict[str, float]:
    """hit_rate@K for each K, `mrr` (scaled by `mrr_scale`), `mrr_unscaled`, `num_pairs`."""
    if mrr_scale <= 0:
        raise ValueError(f"mrr_scale must be positive, not {mrr_scale}")
    if torch.as_tensor(pairs).size(1) == 0:
        raise ValueError("no evaluation pairs: nothing to rank")
    greater, ties = pair_ranks(score_fn, pairs, num_items, batch_size)
    g, e = greater.double(), ties.double()
    out = {}
    for k in sorted({int(k) for k in ks}):
        out[f"hit_rate@{k}"] = float(((k - g).clamp(min=0).minimum(e + 1) / (e + 1)).mean())
    rank = 1.0 + g + e / 2
    out["mrr"] = float((1.0 / torch.ceil(rank / mrr_scale)).mean())
    out["mrr_unscaled"] = float((1.0 / rank).mean())
    out["num_pairs"] = int(g.numel())
    return out

