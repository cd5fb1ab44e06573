"""Negative item samplers for pairwise (BPR) training, behind one interface.

`make_sampler(kind, ...)` returns a sampler whose `.sample(users, pos_items, num_neg)` gives
a [B, num_neg] LongTensor of items. All randomness comes from the `torch.Generator` given
at construction (the global RNG when None), so a seeded generator gives the same
negatives on every run.

* ``uniform``: uniform over the items the user has *not* interacted with in training,
  exactly. Instead of sample-and-reject, it draws the j-th non-positive item directly:
  with the user's positives sorted, p_0 < p_1 < ..., the j-th free item is
  j + #{k : p_k - k <= j}, one `searchsorted` over a global sorted array. It is rejection
  with an acceptance rate of 1: no iteration cap, and users who have interacted with
  almost every item cost nothing extra.
* ``popularity``: p(i) ∝ count(i)^alpha over training counts (alpha = 0.75, word2vec's
  smoothing), restricted to the user's non-positives. Draws come from the inverse CDF;
  known positives are rejected and redrawn, vectorised, for `max_rounds` rounds, and the
  few draws still rejected (users whose positives hold much of the popularity mass) are
  drawn exactly from the restricted distribution with the same rank trick, weighted. So
  the distribution is exact with no unbounded loop. Items never interacted with in
  training have weight 0 and are never drawn, except for a user whose free items all have
  weight 0: that user gets uniform free items (`last_fallbacks` counts such draws).
* ``in_batch``: each row draws other rows' positive items from the same batch (so
  negatives follow popularity^1, as in sampled-softmax training). Known positives are
  rejected and redrawn within the batch for a few rounds, but the batch may hold nothing
  else: such draws keep a positive, and `last_unrejected` counts them. It cannot fully
  reject, by construction.

A user who has interacted with every item has no negative; their rows get uniform random
items, and `saturated_users` counts such users.
"""

from __future__ import annotations

from typing import Literal

import torch

from plexus.graph.interactions import PairIndex, searchsorted

__all__ = [
    "InBatchSampler",
    "NegativeSampler",
    "PopularitySampler",
    "UniformSampler",
    "make_sampler",
]

SamplerKind = Literal["uniform", "popularity", "in_batch"]


class NegativeSampler:
    """Common state: the training positives (`PairIndex`) and the generator."""

    kind: str = ""

    def __init__(self, train_edge_index: torch.Tensor, num_users: int, num_items: int,
                 generator: torch.Generator | None = None):
        if num_items < 1 or num_users < 1:
            raise ValueError(f"need at least one user and one item (got {num_users}, {num_items})")
        self.positives = pairs = PairIndex(train_edge_index, num_users, num_items)
        self.num_users, self.num_items = num_users, num_items
        self.generator = generator
        # Global sorted array for the exact complement draw (module docstring): user u's
        # entries are u * num_items + (p_k - k), all below (u + 1) * num_items.
        rank = torch.arange(pairs.rows.numel()) - pairs.ptr[pairs.rows]
        self._free_keys = pairs.rows * num_items + (pairs.cols - rank)
        self.free = num_items - pairs.degree  # non-positive items per user
        self.saturated_users = int((self.free == 0).sum())

    def sample(self, users: torch.Tensor, pos_items: torch.Tensor,
               num_neg: int = 1) -> torch.Tensor:
        """[B, num_neg] negative items for the B (user, positive item) pairs.

        Sampling runs on the CPU (index work, no FLOPs); the result comes back on the
        device of `users`.
        """
        device = users.device
        users, pos_items = self._check(users, pos_items, num_neg)
        return self._sample(users, pos_items, num_neg).to(device)

    def _sample(self, users, pos_items, num_neg):  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> str:
        """One phrase for the protocol line."""
        return self.kind

    # ------------------------------------------------------------------ helpers

    def _check(self, users, pos_items, num_neg):
        if num_neg < 1:
            raise ValueError(f"num_neg must be >= 1, not {num_neg}")
        users, pos_items = users.cpu().long(), pos_items.cpu().long()
        if users.dim() != 1 or users.shape != pos_items.shape:
            raise ValueError(
                f"users and pos_items must be 1-D of equal length, got {list(users.shape)} "
                f"and {list(pos_items.shape)}"
            )
        if users.numel() and (int(users.min()) < 0 or int(users.max()) >= self.num_users):
            raise ValueError(f"user index out of range [0, {self.num_users})")
        return users, pos_items

    def is_positive(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Whether each (user, item) is a training interaction (same shape as `items`)."""
        return self.positives.contains(users, items)

    def _uniform_free(self, users: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
        """Items uniform over each user's non-positives; `users` broadcasts to `shape`."""
        u = torch.broadcast_to(users, shape)
        free = torch.broadcast_to(self.free[users], shape)
        j = (torch.rand(shape, generator=self.generator, dtype=torch.float64) * free).long()
        j = torch.minimum(j, (free - 1).clamp(min=0))
        below = searchsorted(self._free_keys, u * self.num_items + j, right=True)
        items = j + (below - self.positives.ptr[u])
        if self.saturated_users:
            full = free == 0
            if bool(full.any()):
                items[full] = torch.randint(self.num_items, (int(full.sum()),),
                                            generator=self.generator)
        return items


class UniformSampler(NegativeSampler):
    """Uniform over the user's non-positive items, exact (see the module docstring)."""

    kind = "uniform"

    def _sample(self, users, pos_items, num_neg):
        return self._uniform_free(users[:, None], (users.numel(), num_neg))

    def describe(self) -> str:
        return "uniform negatives (known training positives excluded)"


class PopularitySampler(NegativeSampler):
    """p(i) ∝ count(i)^alpha over the user's non-positives (see the module docstring)."""

    kind = "popularity"

    def __init__(self, train_edge_index, num_users, num_items, alpha: float = 0.75,
                 generator=None, max_rounds: int = 4):
        super().__init__(train_edge_index, num_users, num_items, generator)
        if alpha < 0:
            raise ValueError(f"alpha must be >= 0, not {alpha}")
        self.alpha, self.max_rounds = alpha, max_rounds
        count = torch.bincount(torch.as_tensor(train_edge_index)[1].cpu().long(),
                               minlength=num_items).double()
        weight = count.pow(alpha) if alpha > 0 else (count > 0).double()
        total = float(weight.sum())
        if total == 0:
            raise ValueError("popularity sampler needs at least one training interaction")
        self.weight, self.probs = weight, weight / total
        self._cdf = torch.cumsum(weight, 0)
        # For the exact draw over a user's non-positives: per positive entry (CSR order),
        # the weight of the user's positives before it (`_before`) and the free mass below
        # it, keyed by user as u * (total + 1) + mass (sorted, like `_free_keys`).
        pairs = self.positives
        w_pos = weight[pairs.cols]
        cum = torch.cumsum(w_pos, 0)
        first = pairs.ptr[pairs.rows]
        self._before = (cum - w_pos) - (cum[first] - w_pos[first]) if cum.numel() else cum
        free_below = (self._cdf[pairs.cols] - w_pos) - self._before
        self._span = total + 1.0
        self._mass_keys = pairs.rows.double() * self._span + free_below
        pos_mass = torch.zeros(num_users, dtype=torch.float64).index_add_(0, pairs.rows, w_pos)
        self._free_mass = total - pos_mass
        self._w_pos = w_pos
        self.last_fallbacks = 0

    def _draw(self, n: int) -> torch.Tensor:
        r = torch.rand(n, generator=self.generator, dtype=torch.float64) * self._cdf[-1]
        return searchsorted(self._cdf, r, right=True).clamp_(max=self.num_items - 1)

    def _exact(self, u: torch.Tensor) -> torch.Tensor:
        """One draw per row from p restricted to user u's non-positives, no rejection."""
        mass = self._free_mass[u]
        t = torch.rand(u.numel(), generator=self.generator, dtype=torch.float64) * mass
        start = self.positives.ptr[u]
        # k = number of the user's positives whose free mass below is <= t: exactly the
        # positives below the answer; the answer then sits at t + their weight in the cdf.
        k = searchsorted(self._mass_keys, u.double() * self._span + t, right=True) - start
        last = (start + k - 1).clamp(min=0)
        skipped = torch.where(k > 0, self._before[last] + self._w_pos[last], 0.0) \
            if self._w_pos.numel() else torch.zeros_like(t)
        items = searchsorted(self._cdf, t + skipped, right=True).clamp_(max=self.num_items - 1)
        # No popularity mass left among the user's free items, or a rounding slip at an
        # interval boundary: fall back to a uniform free item.
        bad = (mass <= 1e-9 * self._cdf[-1]) | (self.weight[items] == 0)
        bad |= self.is_positive(u, items)
        self.last_fallbacks = int(bad.sum())
        if self.last_fallbacks:
            items[bad] = self._uniform_free(u[bad], (self.last_fallbacks,))
        return items

    def _sample(self, users, pos_items, num_neg):
        shape = (users.numel(), num_neg)
        u = users[:, None].expand(shape).reshape(-1)
        items = self._draw(u.numel())
        todo = torch.nonzero(self.is_positive(u, items)).flatten()
        for _ in range(self.max_rounds):  # cheap rejection first: most draws pass
            if todo.numel() == 0:
                break
            redraw = self._draw(todo.numel())
            items[todo] = redraw
            todo = todo[self.is_positive(u[todo], redraw)]
        self.last_fallbacks = 0
        if todo.numel():
            items[todo] = self._exact(u[todo])
        return items.view(shape)

    def describe(self) -> str:
        return (f"popularity negatives, p(i) ∝ count(i)^{self.alpha:g} "
                f"(known training positives excluded)")


class InBatchSampler(NegativeSampler):
    """Other rows' positive items from the same batch (see the module docstring)."""

    kind = "in_batch"

    def __init__(self, train_edge_index, num_users, num_items, generator=None,
                 max_rounds: int = 5):
        super().__init__(train_edge_index, num_users, num_items, generator)
        self.max_rounds = max_rounds
        self.last_unrejected = 0

    def _sample(self, users, pos_items, num_neg):
        b = users.numel()
        if b < 2:
            raise ValueError("in-batch negatives need a batch of at least 2 interactions")
        shape = (b, num_neg)
        rows = torch.arange(b)[:, None].expand(shape).reshape(-1)
        u = users[rows]

        def other_rows(n, own):
            j = torch.randint(b - 1, (n,), generator=self.generator)
            return j + (j >= own).long()  # skip the row itself

        pick = other_rows(rows.numel(), rows)
        todo = torch.nonzero(self.is_positive(u, pos_items[pick])).flatten()
        for _ in range(self.max_rounds):
            if todo.numel() == 0:
                break
            pick[todo] = other_rows(todo.numel(), rows[todo])
            todo = todo[self.is_positive(u[todo], pos_items[pick[todo]])]
        self.last_unrejected = int(todo.numel())
        return pos_items[pick].view(shape)

    def describe(self) -> str:
        return ("in-batch negatives (other rows' positives; known positives rejected where "
                "the batch allows)")


def make_sampler(
    kind: SamplerKind,
    train_edge_index: torch.Tensor,
    num_users: int,
    num_items: int,
    alpha: float = 0.75,
    generator: torch.Generator | None = None,
) -> NegativeSampler:
    """A negative sampler over the training interactions (see the module docstring)."""
    if kind == "uniform":
        return UniformSampler(train_edge_index, num_users, num_items, generator)
    if kind == "popularity":
        return PopularitySampler(train_edge_index, num_users, num_items, alpha, generator)
    if kind == "in_batch":
        return InBatchSampler(train_edge_index, num_users, num_items, generator)
    raise ValueError(f"unknown sampler kind {kind!r}; choose 'uniform', 'popularity' or 'in_batch'")
