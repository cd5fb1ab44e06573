"""PinSage mini-batches: negatives, hard negatives and computation blocks, built by workers.

A batch of positive pairs (q, i) needs, besides the pairs:

* shared negatives: `num_negatives` distinct items drawn uniformly for the whole batch, as
  the paper does (500 per mini-batch) to keep the number of embeddings per step bounded;
* hard negatives (`HardNegatives`): items ranked in a window of personalised PageRank
  scores w.r.t. q (the paper: ranks 2000-5000 of 3B items, far beyond where its targets
  rank). Here the window starts beyond the 95th percentile of the validation targets' own
  PPR ranks (`HardNegatives.window`), so hard negatives are rarely real positives;
  `n_hard` per pair by the curriculum, with their own weight in the loss;
* the blocks (`plexus.nn.pinsage.build_blocks`) that embed every distinct item above
  through the model's layers over this epoch's importance neighbourhoods.

`PinSageBatches` is a map-style dataset whose item b is batch b of an epoch, so a
`DataLoader` with `num_workers > 0` samples and builds the next batches in worker processes
while the main process trains on the current one — the paper's producer-consumer design.
Every random number of batch b comes from a generator seeded by (run seed, epoch, b), so
batches are the same with any number of workers and a resumed run replays them exactly.

PPR is the power iteration of `plexus.sampling.ppr` (not a visit-count approximation). The
graph does not change between epochs, so the window of every item is computed once per run
and kept as a table: [num_items, window width] item ids plus their scores. Cost: 2 x
`ppr_iters` sparse products over the training graph per 256 items — about a minute on
ml-1m (3.7k items) on 2 cores; on catalogues of 10^5+ items this dominates and the
window of visit counts would be the cheaper substitute.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from plexus.nn.pinsage import Block, build_blocks
from plexus.sampling.ppr import (PPROperator, calibrated_window, hard_negative_window, ppr_topk, target_ranks,
                                 window_bounds)
from plexus.sampling.random_walk import BipartiteCSR
from plexus.train.seed import stream_generator

__all__ = ["Batch", "HardNegatives", "PinSageBatches"]


class HardNegatives:
    """Each item's PPR rank window [lo, hi) (self excluded), and draws from it.

    `window(...)` chooses [lo, hi): calibrated beyond the validation targets' ranks, or
    fixed ranks / catalogue shares (`plexus.sampling.ppr.window_bounds`).
    """

    def __init__(self, graph: BipartiteCSR, lo: int, hi: int, alpha: float, num_iters: int, batch_size: int = 256):
        self.lo, self.hi = lo, hi
        items, scores = ppr_topk(PPROperator(graph), torch.arange(graph.num_items), self.hi, alpha, num_iters,
                                 exclude_self=True, batch_size=batch_size)
        self.items = items[:, self.lo:].contiguous()
        self.scores = scores[:, self.lo:].contiguous()

    @staticmethod
    def window(graph: BipartiteCSR, fixed, val_pairs: torch.Tensor, quantile: float, width: float,
               alpha: float, num_iters: int) -> tuple[tuple[int, int], dict]:
        """[lo, hi) and what it was chosen from (written to the run's artefacts)."""
        n = graph.num_items - 1  # the query itself is never a candidate
        if fixed is not None:
            lo, hi = window_bounds(n, tuple(fixed))
            return (lo, hi), {"how": "fixed", "window": list(fixed), "lo": lo, "hi": hi}
        ranks = target_ranks(graph, val_pairs[0], val_pairs[1], alpha, num_iters)
        lo, hi = calibrated_window(ranks, n, quantile, width)
        inside = float(((ranks >= lo) & (ranks < hi)).float().mean())
        return (lo, hi), {
            "how": f"calibrated: beyond the {quantile:g} quantile of validation targets' PPR ranks",
            "lo": lo, "hi": hi, "num_candidates": n, "quantile": quantile, "width": width,
            "num_val_pairs": int(ranks.numel()), "val_target_rank_median": float(ranks.double().median()),
            "val_target_rank_quantile": int(lo - 1), "val_targets_inside_window": inside,
            "val_targets_before_window": float((ranks < lo).float().mean())}

    def draw(self, queries: torch.Tensor, positives: torch.Tensor, num: int,
             generator: torch.Generator) -> torch.Tensor:
        """[B, num] hard negatives of each query (never its positive); -1 where none is left."""
        window = self.items[queries]
        # hard_negative_window excludes by column: the positive's column in the window, or -1.
        is_pos = window == positives[:, None]
        exclude = torch.where(is_pos.any(1), is_pos.long().argmax(1), -1)[:, None]
        cols = hard_negative_window(self.scores[queries], 0, window.size(1), num, generator, exclude)
        return torch.where(cols >= 0, torch.gather(window, 1, cols.clamp(min=0)), -1)


@dataclass
class Batch:
    blocks: list[Block]  # embed `blocks[-1].dst` (sorted distinct items)
    query: torch.Tensor  # [B] rows of the embedded items
    positive: torch.Tensor  # [B]
    negative: torch.Tensor  # [S] shared
    hard: torch.Tensor  # [B, H] rows, -1 = none


class PinSageBatches(torch.utils.data.Dataset):
    """Batch b of one epoch (see the module docstring)."""

    def __init__(self, pairs: torch.Tensor, neighbors: torch.Tensor, weights: torch.Tensor, num_layers: int,
                 num_negatives: int, num_hard: int, hard: HardNegatives | None, batch_size: int,
                 seed: tuple[int, ...]):
        self.pairs, self.neighbors, self.weights = pairs, neighbors, weights
        self.num_layers, self.num_items = num_layers, neighbors.size(0)
        self.num_negatives = min(num_negatives, self.num_items)
        self.num_hard = num_hard if hard is not None else 0
        self.hard, self.batch_size, self.seed = hard, batch_size, seed

    def __len__(self) -> int:
        return -(-self.pairs.size(1) // self.batch_size)

    def __getitem__(self, b: int) -> Batch:
        gen = stream_generator(*self.seed, b)
        q, p = self.pairs[:, b * self.batch_size:(b + 1) * self.batch_size]
        neg = torch.randperm(self.num_items, generator=gen)[:self.num_negatives]
        if self.num_hard:
            hard = self.hard.draw(q, p, self.num_hard, gen)
        else:
            hard = torch.empty(q.numel(), 0, dtype=torch.long)
        nodes, inverse = torch.unique(torch.cat([q, p, neg, hard[hard >= 0]]), return_inverse=True)
        b_, s = q.numel(), neg.numel()
        hard_rows = torch.full_like(hard, -1)
        hard_rows[hard >= 0] = inverse[2 * b_ + s:]
        return Batch(build_blocks(nodes, self.neighbors, self.weights, self.num_layers),
                     inverse[:b_], inverse[b_:2 * b_], inverse[2 * b_:2 * b_ + s], hard_rows)


def max_margin_loss(z: torch.Tensor, batch: Batch, margin: float, hard_weight: float = 1.0,
                    bias: torch.Tensor | None = None) -> torch.Tensor:
    """The paper's max-margin loss over a batch's embedded items `z` (rows of `blocks[-1].dst`).

    mean over (pair, shared negative) of max(0, s(q, n) - s(q, i) + margin), plus
    `hard_weight` x the same mean over the pair's hard negatives (their own term, so a few
    hard negatives are not drowned by hundreds of shared ones). s(q, x) = z_q . z_x (+ b_x
    with an item `bias`, rows of `z`). A shared draw can be the pair's own query or
    positive: those terms are skipped. Rows are distinct items, so comparing rows compares items.
    """
    zq, zp = z[batch.query], z[batch.positive]
    pos = (zq * zp).sum(1, keepdim=True)
    shared = zq @ z[batch.negative].t()  # [B, S]
    hard_rows = batch.hard.clamp(min=0)
    hard = torch.einsum("bd,bhd->bh", zq, z[hard_rows])  # [B, H]
    if bias is not None:
        pos = pos + bias[batch.positive][:, None]
        shared = shared + bias[batch.negative][None, :]
        hard = hard + bias[hard_rows]
    neg = batch.negative[None, :]
    valid_shared = (neg != batch.positive[:, None]) & (neg != batch.query[:, None])
    valid_hard = (batch.hard >= 0) & (batch.hard != batch.positive[:, None])
    loss = (torch.relu(shared - pos + margin) * valid_shared).sum() / valid_shared.sum().clamp(min=1)
    if valid_hard.any():
        loss = loss + hard_weight * (torch.relu(hard - pos + margin) * valid_hard).sum() / valid_hard.sum()
    return loss
