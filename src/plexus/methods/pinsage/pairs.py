"""PinSage's positive pairs: items co-engaged by the same user close in time.

The paper (Ying et al., KDD 2018, section 3.4) trains on pairs (q, i) where a user engaged
with i right after q — pins saved to the same board within a short time. Here:

* with interaction times (`moment_pairs`): a user's interactions with the same timestamp
  form one *moment* (a burst; MovieLens rates in bursts, and the order of rows inside a
  burst is only file order, often ascending item id). A burst is a set: every two distinct
  items of a moment are a pair (both ways), and every item of a moment pairs with every
  item of the user's next moment when that one starts at most `window` seconds later. The
  result is a set computed from sorted (user, time, item) keys, so shuffling the rows of the
  interaction table gives exactly the same pairs (same order too). Training draws
  `pairs_per_epoch` of them per epoch (default: as many as training interactions);
  evaluation uses all pairs of the held-out split under the same rule and window.
* without times there is no "next", so training falls back to co-engagement by the same
  user (`CoEngagementSampler`): a fresh sample each epoch, one pair per draw, q drawn in
  proportion to its training degree and i a random other item of a random user of q — the
  item -> user -> item walk of length one that DGL's PinSage example uses for positives;
  evaluation then uses `consecutive_pairs` in the data's own order (the only order there is).
"""

from __future__ import annotations

import numpy as np
import torch

from plexus.sampling.random_walk import BipartiteCSR, WalkConfig, walk_visits

__all__ = ["CoEngagementSampler", "consecutive_pairs", "moment_pairs"]


def moment_pairs(edge_index: torch.Tensor, times: torch.Tensor, window: float | None = None) -> torch.Tensor:
    """[2, P] (query, positive) item pairs: same moment, or the next moment within `window` s.

    A moment is one user's interactions sharing a timestamp. For an interaction in moment m,
    its partners are the other items of m and, when the user's next moment m + 1 starts at
    most `window` seconds after m (`None`: any gap), the items of m + 1. Pairs of an item
    with itself are dropped and each (user, query, positive) counts once. Rows come sorted
    by (user, query time, query, positive), a function of the set of interactions only.
    """
    edge_index = torch.as_tensor(edge_index).cpu().long()
    u = edge_index[0].numpy()
    it = edge_index[1].numpy()
    t = torch.as_tensor(times).cpu().numpy().astype(np.float64)
    if u.size == 0:
        return torch.empty(2, 0, dtype=torch.long)
    order = np.lexsort((it, t, u))  # canonical: independent of the row order
    u, it, t = u[order], it[order], t[order]
    dup = np.r_[False, (u[1:] == u[:-1]) & (t[1:] == t[:-1]) & (it[1:] == it[:-1])]
    u, it, t = u[~dup], it[~dup], t[~dup]
    new = np.r_[True, (u[1:] != u[:-1]) | (t[1:] != t[:-1])]
    moment = np.cumsum(new) - 1
    starts = np.flatnonzero(new)
    ends = np.r_[starts[1:], u.size]
    mu, mt = u[starts], t[starts]
    linked = np.r_[(mu[1:] == mu[:-1]) & ((np.diff(mt) <= window) if window is not None else True), False]
    reach = np.where(linked, np.r_[ends[1:], u.size], ends)  # end of the partner range of each moment
    lo, hi = starts[moment], reach[moment]  # row r's partners are rows [lo, hi)
    counts = hi - lo
    row = np.repeat(np.arange(u.size), counts)
    partner = np.repeat(lo - np.r_[0, np.cumsum(counts)[:-1]], counts) + np.arange(counts.sum())
    keep = it[row] != it[partner]
    row, partner = row[keep], partner[keep]
    # one (user, query, positive) per user: a repeated item at two times would repeat pairs
    key = np.stack([u[row], it[row], it[partner]])
    _, first = np.unique(key, axis=1, return_index=True)
    first.sort()
    return torch.from_numpy(np.stack([it[row][first], it[partner][first]]).astype(np.int64))


def consecutive_pairs(edge_index: torch.Tensor, times: torch.Tensor | None = None,
                      window: float | None = None) -> torch.Tensor:
    """[2, P] (query, next item) pairs of consecutive interactions of the same user.

    Interactions are ordered by user, then time (`times`, aligned with `edge_index`; the
    data order breaks ties and stands in for time when `times` is None). A pair is kept when
    both items differ and, with `window` and `times`, the gap is at most `window`.
    """
    edge_index = torch.as_tensor(edge_index).cpu().long()
    users, items = edge_index[0].numpy(), edge_index[1].numpy()
    position = np.arange(users.size)
    if times is None:
        order = np.lexsort((position, users))
    else:
        t = torch.as_tensor(times).cpu().numpy().astype(np.float64)
        order = np.lexsort((position, t, users))
    u, i = users[order], items[order]
    keep = (u[1:] == u[:-1]) & (i[1:] != i[:-1])
    if window is not None and times is not None:
        keep &= np.diff(t[order]) <= window
    return torch.from_numpy(np.stack([i[:-1][keep], i[1:][keep]]).astype(np.int64))


class CoEngagementSampler:
    """Per-epoch positive pairs for data without times: same-user co-engagement.

    Each draw picks a training interaction uniformly (so q in proportion to its degree),
    then one item -> user -> item hop from q; draws that land back on q are dropped, so an
    epoch holds slightly fewer pairs than draws.
    """

    _HOP = WalkConfig(num_traversals=1, termination_prob=0.0, num_random_walks=1, num_neighbors=1)

    def __init__(self, graph: BipartiteCSR, train: torch.Tensor):
        self.graph = graph
        self.items = torch.as_tensor(train[1]).cpu().long()

    def sample(self, num: int, generator: torch.Generator) -> torch.Tensor:
        """[2, <= num] (query, positive) pairs."""
        q = self.items[torch.randint(self.items.numel(), (num,), generator=generator)]
        visits, _ = walk_visits(self.graph, q, self._HOP, generator)
        i = visits[:, 0]
        keep = (i >= 0) & (i != q)
        return torch.stack([q[keep], i[keep]])
