"""PinSage's positive pairs: items co-engaged in sequence by the same user.

The paper (Ying et al., KDD 2018, section 3.4) trains on pairs (q, i) where a user engaged
with i right after q — pins saved to the same board within a short time. Here:

* with interaction times: every user's interactions in time order, each consecutive pair
  (q = earlier, i = next) whose gap is at most `window` seconds (`window=None`: any gap),
  skipping repeats of the same item (`consecutive_pairs`). Equal times keep the data order.
* without times there is no "next", so training falls back to co-engagement by the same
  user (`CoEngagementSampler`): a fresh sample each epoch, one pair per draw, q drawn in
  proportion to its training degree and i a random other item of a random user of q — the
  item -> user -> item walk of length one that DGL's PinSage example uses for positives.

Evaluation uses `consecutive_pairs` on the held-out interactions (the next item the user
engaged with); without times the data's own order within a user stands in for time.
"""

from __future__ import annotations

import numpy as np
import torch

from plexus.sampling.random_walk import BipartiteCSR, WalkConfig, walk_visits

__all__ = ["CoEngagementSampler", "consecutive_pairs"]


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
