"""The two PinSage evaluation protocols over one split, shared by PinSage and its baselines.

Every model is scored through an item scorer ``score_fn(query items) -> [B, num_items]``,
so PinSage, the text-only neighbours, the visit-count recommender and LightGCN's item
embeddings answer exactly the same queries:

* item-to-item (the paper's protocol, `plexus.eval.item_to_item`): the held-out split's
  pairs of the same user under the training rule (`pairs.moment_pairs`: same moment, or
  the next moment within the same `window`; in the data's order without times), ranked
  among all items but q; metrics `hit_rate@K`, `mrr` (scaled by `mrr_scale`, 100 in the
  paper), `mrr_unscaled`. With cold items, "val" and "test" keep the pairs between
  trained items and "test_cold" holds the test pairs whose target is a cold item;
* user-level (DGL's PinSage example): each user's latest item before the split is the
  query; all items are ranked for the user with the already seen ones masked (training
  items for validation; training and validation items for test) and the user's held-out
  items are the targets: `user_hit_rate@K`, `user_recall@K` (`plexus.eval.ranking`).

"Latest" and "next" follow interaction times where the data has them, else the data's
order within a user. A user without any earlier item gets all-zero scores (a random order).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from plexus.eval.item_to_item import item_to_item_metrics
from plexus.methods.pinsage.pairs import consecutive_pairs, moment_pairs
from plexus.methods.recommenders.data import EDGE, InteractionSplit
from plexus.methods.recommenders.evaluation import scores_metrics

ItemScorer = Callable[[torch.Tensor], torch.Tensor]


def split_times(split: InteractionSplit, which: str) -> torch.Tensor | None:
    """Interaction times aligned with `split.<which>`, or None when the data has none."""
    if split.data is None:
        return None
    store = split.data[EDGE]
    key = "edge_time" if which == "train" else f"{which}_edge_time"
    return store[key] if key in store else None


def latest_items(edge_index: torch.Tensor, times: torch.Tensor | None, num_users: int) -> torch.Tensor:
    """[num_users] each user's last item (by time, then data order), -1 for users without one."""
    users, items = edge_index[0].numpy(), edge_index[1].numpy()
    position = np.arange(users.size)
    keys = (position, users) if times is None else (position, times.numpy().astype(np.float64), users)
    order = np.lexsort(keys)
    last = np.full(num_users, -1, dtype=np.int64)
    last[users[order]] = items[order]  # later writes win: the last of each user
    return torch.from_numpy(last)


@dataclass
class ItemEvaluation:
    split: InteractionSplit
    pairs: dict[str, torch.Tensor]  # "val" / "test": [2, P] (query, next item)
    latest: dict[str, torch.Tensor]  # "val" / "test": [num_users] query item, -1 none
    ks: tuple[int, ...]
    mrr_scale: float
    batch_size: int

    @classmethod
    def build(cls, split: InteractionSplit, ks, mrr_scale: float, batch_size: int, window: float | None = None,
              cold: torch.Tensor | None = None, train_times: torch.Tensor | None = None) -> "ItemEvaluation":
        """`train_times` align with `split.train` when it differs from the data's (cold items removed)."""
        t_train = train_times if train_times is not None else split_times(split, "train")
        t_val = split_times(split, "val")
        pairs = {}
        for w in ("val", "test"):
            times = split_times(split, w)
            edges = getattr(split, w)
            pairs[w] = consecutive_pairs(edges) if times is None else moment_pairs(edges, times, window)
        if cold is not None:
            test = pairs["test"]
            pairs["test_cold"] = test[:, cold[test[1]]]
            for w in ("val", "test"):
                pairs[w] = pairs[w][:, ~cold[pairs[w][0]] & ~cold[pairs[w][1]]]
        seen = torch.cat([split.train, split.val], 1)
        seen_t = torch.cat([t_train, t_val]) if t_train is not None and t_val is not None else None
        latest = {"val": latest_items(split.train, t_train, split.num_users),
                  "test": latest_items(seen, seen_t, split.num_users)}
        return cls(split, pairs, latest, tuple(ks), mrr_scale, batch_size)

    def item_to_item(self, score_fn: ItemScorer, which: str) -> dict[str, float]:
        """The item-to-item metrics alone, on `which` ("val", "test" or "test_cold")."""
        return item_to_item_metrics(score_fn, self.pairs[which], self.split.num_items, self.ks, self.mrr_scale)

    def evaluate(self, score_fn: ItemScorer, which: str) -> dict[str, float]:
        """Item-to-item and user-level metrics on `which` ("val" or "test")."""
        n = self.split.num_items
        out = item_to_item_metrics(score_fn, self.pairs[which], n, self.ks, self.mrr_scale)
        latest = self.latest[which]

        def user_scores(users: torch.Tensor) -> torch.Tensor:
            q = latest[users]
            scores = torch.zeros(users.numel(), n)
            has = q >= 0
            if bool(has.any()):
                scores[has] = score_fn(q[has]).float().cpu()
            return scores

        users = scores_metrics(user_scores, self.split, which, self.ks, self.batch_size)
        for k in self.ks:
            out[f"user_hit_rate@{k}"] = users[f"hit_rate@{k}"]
            out[f"user_recall@{k}"] = users[f"recall@{k}"]
        out["num_eval_users"] = users["num_eval_users"]
        return out


def embedding_scorer(emb: torch.Tensor, queries: torch.Tensor | None = None) -> ItemScorer:
    """Inner-product scores of query items against every item (the FAISS `ip` metric);
    `queries` are the items' vectors as queries when they differ (an item-bias column)."""
    emb_t = emb.t().contiguous()
    q_emb = emb if queries is None else queries
    return lambda q: q_emb[q] @ emb_t
