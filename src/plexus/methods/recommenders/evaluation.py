"""Full-ranking evaluation of a recommender: every item scored for every evaluated user,
training items masked (and validation items for test), `plexus.eval.ranking` metrics."""

from __future__ import annotations

from typing import Callable

import torch

from plexus.methods.recommenders.data import InteractionSplit

METRIC_NAMES = ("recall", "ndcg", "precision", "hit_rate", "mrr")


def ranking_metrics(user_emb: torch.Tensor, item_emb: torch.Tensor, split: InteractionSplit, which: str,
                    ks, batch_size: int) -> dict[str, float]:
    """Full-ranking metrics of dot-product scores on `which` ("val" or "test")."""
    item_t = item_emb.t().contiguous()

    def score_fn(users: torch.Tensor) -> torch.Tensor:
        return user_emb[users.to(user_emb.device)] @ item_t

    return scores_metrics(score_fn, split, which, ks, batch_size)


def scores_metrics(score_fn: Callable[[torch.Tensor], torch.Tensor], split: InteractionSplit, which: str,
                   ks, batch_size: int) -> dict[str, float]:
    """Full-ranking metrics of `score_fn(users) -> [len(users), num_items]` on `which`."""
    from plexus.eval.ranking import full_ranking_metrics

    if which == "val":
        target, exclude = split.val, [split.train]
    else:
        target, exclude = split.test, [split.train, split.val]
    return full_ranking_metrics(score_fn, target, exclude, split.num_users, split.num_items,
                                ks=tuple(ks), batch_size=batch_size)


def metric_view(metrics: dict[str, float], prefix: str) -> dict[str, float]:
    """The rate metrics (recall@K ...) with a `val_`/`test_` prefix; counts stay out."""
    return {f"{prefix}{k}": float(v) for k, v in metrics.items() if "@" in k}
