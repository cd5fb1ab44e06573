"""Personalised PageRank over items, and PinSage's hard negatives with their curriculum.

PinSage (Ying et al., KDD 2018, section 3.3) makes training harder over time with "hard"
negatives: items somewhat related to the query but not as related as the positive, taken
from the items ranked 2000-5000 by personalised PageRank w.r.t. the query (out of 3B items),
and adds them by a curriculum: epoch n uses n - 1 hard negatives per positive.

The walk is the item-to-item random walk with restart of `plexus.sampling.random_walk`:
from an item, go to a uniformly random user of it, then to a uniformly random item of that
user; with probability `alpha` jump back to the query. With P the item -> item transition
matrix, the PPR vector of query q solves ``pi = alpha e_q + (1 - alpha) pi P``; here it is
approximated by `num_iters` steps of that power iteration from ``pi = e_q``, for a batch of
queries at once with two CSR products per step (item -> user, user -> item). A walker at an
item without users restarts (its mass goes back to the query), so each column sums to 1.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch

from plexus.sampling.random_walk import BipartiteCSR

__all__ = [
    "PPRConfig",
    "PPROperator",
    "calibrated_window",
    "curriculum_hard_negatives",
    "hard_negative_window",
    "ppr_scores",
    "ppr_topk",
    "target_ranks",
    "window_bounds",
]


@dataclass
class PPRConfig:
    """PPR and hard-negative settings.

    `window` is the rank window [lo, hi) hard negatives come from: ints are ranks, floats
    below 1 fractions of the catalogue (the paper's 2000-5000 of 3B items does not scale
    to a small catalogue by ratio; the defaults take ranks 2%-5% of the items, at least
    hard negatives beyond the first few). `max_hard_negatives` caps the curriculum.
    """

    alpha: float = 0.15
    num_iters: int = 20
    window: tuple[float, float] = (0.02, 0.05)
    max_hard_negatives: int = 6
    batch_size: int = 256

    def check(self) -> None:
        if not 0.0 < self.alpha <= 1.0:
            raise ValueError(f"alpha must be in (0, 1], not {self.alpha}")
        if self.num_iters < 0:
            raise ValueError(f"num_iters must be >= 0, not {self.num_iters}")
        if self.max_hard_negatives < 0:
            raise ValueError(f"max_hard_negatives must be >= 0, not {self.max_hard_negatives}")


class PPROperator:
    """The sparse item -> user -> item transition, kept as two CSR matrices.

    ``step(S)`` maps a [num_items, B] column-stochastic mass to ``P^T S`` (plus dangling
    mass returned to `restart`): S <- A_iu D_u^-1 A_ui D_i^-1 S.
    """

    def __init__(self, graph: BipartiteCSR):
        self.num_items, self.num_users = graph.num_items, graph.num_users
        with warnings.catch_warnings():  # torch warns that sparse CSR is "beta"
            warnings.simplefilter("ignore", UserWarning)
            ones = torch.ones(graph.num_edges, dtype=torch.float32)
            self.a_iu = torch.sparse_csr_tensor(graph.item_ptr, graph.item_users, ones,
                                                size=(graph.num_items, graph.num_users))
            self.a_ui = torch.sparse_csr_tensor(graph.user_ptr, graph.user_items, ones,
                                                size=(graph.num_users, graph.num_items))
        di, du = graph.item_degree.float(), graph.user_degree.float()
        self.inv_di = torch.where(di > 0, 1.0 / di.clamp(min=1), 0.0)[:, None]
        self.inv_du = torch.where(du > 0, 1.0 / du.clamp(min=1), 0.0)[:, None]
        self.dangling = di == 0

    def step(self, s: torch.Tensor, restart: torch.Tensor) -> torch.Tensor:
        lost = s[self.dangling].sum(0, keepdim=True)  # mass on items without users
        out = self.a_iu @ (self.inv_du * (self.a_ui @ (self.inv_di * s)))
        return out + restart * lost


def ppr_scores(
    graph: BipartiteCSR | PPROperator,
    queries: torch.Tensor,
    alpha: float = 0.15,
    num_iters: int = 20,
) -> torch.Tensor:
    """[B, num_items] personalised PageRank of every item w.r.t. each query item.

    `num_iters` power-iteration steps of ``pi <- alpha e_q + (1 - alpha) pi P`` from
    ``pi = e_q``; each row sums to 1.
    """
    op = graph if isinstance(graph, PPROperator) else PPROperator(graph)
    queries = torch.as_tensor(queries).cpu().long()
    if queries.numel() and (int(queries.min()) < 0 or int(queries.max()) >= op.num_items):
        raise ValueError(f"query item out of range [0, {op.num_items})")
    restart = torch.zeros(op.num_items, queries.numel())
    restart[queries, torch.arange(queries.numel())] = 1.0
    s = restart.clone()
    for _ in range(num_iters):
        s = alpha * restart + (1.0 - alpha) * op.step(s, restart)
    return s.t().contiguous()


def _ranking(scores: torch.Tensor) -> torch.Tensor:
    """Items of each row by decreasing score, ties by increasing item id (deterministic)."""
    # Stable sort on -score keeps ascending ids among equal scores.
    return torch.sort(-scores, dim=1, stable=True).indices


def ppr_topk(
    graph: BipartiteCSR | PPROperator,
    queries: torch.Tensor,
    k: int,
    alpha: float = 0.15,
    num_iters: int = 20,
    exclude_self: bool = True,
    batch_size: int = 256,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-k items by PPR w.r.t. each query: ``(items [B, k], scores [B, k])``.

    Queries go `batch_size` at a time (memory: batch_size x num_items floats).
    """
    op = graph if isinstance(graph, PPROperator) else PPROperator(graph)
    queries = torch.as_tensor(queries).cpu().long()
    k = min(k, op.num_items - int(exclude_self))
    items, scores = [], []
    for lo in range(0, queries.numel(), batch_size):
        q = queries[lo:lo + batch_size]
        s = ppr_scores(op, q, alpha, num_iters)
        if exclude_self:
            s[torch.arange(q.numel()), q] = -1.0
        order = _ranking(s)[:, :k]
        items.append(order)
        scores.append(torch.gather(s, 1, order))
    if not items:
        return torch.empty(0, k, dtype=torch.long), torch.empty(0, k)
    return torch.cat(items), torch.cat(scores)


def target_ranks(
    graph: BipartiteCSR | PPROperator,
    queries: torch.Tensor,
    targets: torch.Tensor,
    alpha: float = 0.15,
    num_iters: int = 20,
    batch_size: int = 256,
) -> torch.Tensor:
    """[P] the 0-based rank of each target in its query's PPR ranking (the query excluded).

    Ranks count as `ppr_topk` orders items: higher score first, ties by smaller item id, so
    rank r means the target would be `ppr_topk(...)[r]`. Each distinct query is scored once.
    """
    op = graph if isinstance(graph, PPROperator) else PPROperator(graph)
    queries = torch.as_tensor(queries).cpu().long()
    targets = torch.as_tensor(targets).cpu().long()
    uniq, inverse = torch.unique(queries, return_inverse=True)
    ranks = torch.empty(targets.numel(), dtype=torch.long)
    ids = torch.arange(op.num_items)
    for lo in range(0, uniq.numel(), batch_size):
        q = uniq[lo:lo + batch_size]
        s = ppr_scores(op, q, alpha, num_iters)
        s[torch.arange(q.numel()), q] = -1.0  # the query is not a candidate
        mine = torch.nonzero((inverse >= lo) & (inverse < lo + q.numel())).flatten()
        rows = s[inverse[mine] - lo]  # [m, num_items]
        t = targets[mine]
        st = rows.gather(1, t[:, None])
        ranks[mine] = ((rows > st) | ((rows == st) & (ids[None, :] < t[:, None]))).sum(1)
    return ranks


def calibrated_window(ranks: torch.Tensor, num_candidates: int, quantile: float = 0.95,
                      width: float | int = 0.1) -> tuple[int, int]:
    """Hard-negative ranks [lo, hi) that start beyond where real targets rank.

    `ranks` are validation targets' PPR ranks (`target_ranks`); lo = 1 + their `quantile`
    (the "higher" order statistic), so at least that share of the targets ranks before the
    window. `width` is a count of ranks, or a share of the `num_candidates` when a float < 1;
    the window is cut at the catalogue's end. The paper's window (ranks 2000-5000 of
    billions) lies far beyond its targets; on a small catalogue a window at a fixed share
    (e.g. 2-5 %) lands among them, which makes hard negatives real positives.
    """
    if not 0.0 < quantile < 1.0:
        raise ValueError(f"quantile must be in (0, 1), not {quantile}")
    if ranks.numel() == 0:
        raise ValueError("no validation targets to calibrate the hard-negative window on")
    q = torch.quantile(ranks.double(), quantile, interpolation="higher")
    lo = int(q) + 1
    w = int(round(width * num_candidates)) if isinstance(width, float) and width < 1 else int(width)
    hi = min(lo + max(w, 1), num_candidates)
    if lo >= hi:
        raise ValueError(f"the {quantile:.0%} quantile of validation targets' PPR ranks is {int(q)} of "
                         f"{num_candidates}: no ranks are left beyond it for hard negatives")
    return lo, hi


def window_bounds(num_items: int, window: tuple[float, float]) -> tuple[int, int]:
    """Rank window [lo, hi) from ints (ranks) or floats < 1 (fractions of the catalogue)."""
    def rank(x: float) -> int:
        return int(round(x * num_items)) if isinstance(x, float) and x < 1 else int(x)

    lo, hi = rank(window[0]), rank(window[1])
    hi = min(hi, num_items)
    if not 0 <= lo < hi:
        raise ValueError(
            f"hard-negative window {window} gives ranks [{lo}, {hi}) on {num_items} items; "
            f"it must hold at least one rank (lower it or use fractions of the catalogue)"
        )
    return lo, hi


def hard_negative_window(
    ppr: torch.Tensor,
    lo: int,
    hi: int,
    num: int,
    generator: torch.Generator | None = None,
    exclude: torch.Tensor | None = None,
) -> torch.Tensor:
    """[B, num] hard negatives: items ranked in positions [lo, hi) of each PPR row.

    Ranks count from 0 = highest score (ties: smaller item id first). Draws are uniform
    with replacement over the window's items, skipping the row's `exclude` items ([B, m],
    -1 padded: the query itself and its positives). A row whose window holds only excluded
    items gets -1.
    """
    if num < 0:
        raise ValueError(f"num must be >= 0, not {num}")
    b, n = ppr.shape
    if not 0 <= lo < hi <= n:
        raise ValueError(f"window [{lo}, {hi}) must lie within [0, {n}) and be non-empty")
    if num == 0:
        return torch.empty(b, 0, dtype=torch.long)
    window = _ranking(ppr)[:, lo:hi]  # [B, hi - lo]
    valid = torch.ones_like(window, dtype=torch.bool)
    if exclude is not None and exclude.numel():
        exclude = torch.as_tensor(exclude).long().view(b, -1)
        valid = ~(window[:, :, None] == exclude[:, None, :]).any(-1)
    # Valid items first (stable), then draw a position among the first `count`.
    order = torch.sort((~valid).to(torch.uint8), dim=1, stable=True).indices
    count = valid.sum(1, keepdim=True)
    r = torch.rand(b, num, generator=generator, dtype=torch.float64)
    j = (r * count).long().clamp(max=hi - lo - 1)
    items = torch.gather(window, 1, torch.gather(order, 1, j))
    return torch.where(count > 0, items, -1)


def curriculum_hard_negatives(epoch: int, max_hard: int | None = None) -> int:
    """Hard negatives per positive in epoch `epoch` (1-based): epoch - 1, capped at `max_hard`."""
    if epoch < 1:
        raise ValueError(f"epochs count from 1, not {epoch}")
    n = epoch - 1
    return n if max_hard is None else min(n, max_hard)
