"""Edge splits for link prediction, following Kipf & Welling's GAE protocol.

Undirected edges (self-loops dropped) are split into train/val/test; val and test get the
same number of negative pairs, sampled uniformly from node pairs that are not an edge in
either direction (against the *full* graph, so no test negative is a true edge), disjoint
from each other. The encoder must only ever see `train_pos`.

PyG's `RandomLinkSplit` is close, but keeps self-loops in the positive pool and may return
the same unordered pair twice among negatives; this module makes both guarantees explicit
and testable.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from plexus.errors import InputError


@dataclass
class LinkSplit:
    """Each tensor is [2, E] with row 0 < row 1 (one direction per undirected pair)."""

    train_pos: torch.Tensor
    val_pos: torch.Tensor
    val_neg: torch.Tensor
    test_pos: torch.Tensor
    test_neg: torch.Tensor
    num_nodes: int

    def train_edge_index(self) -> torch.Tensor:
        """Training edges in both directions: the only structure the encoder may see."""
        return torch.cat([self.train_pos, self.train_pos.flip(0)], dim=1)


def undirected_pairs(edge_index: torch.Tensor) -> torch.Tensor:
    """Unique unordered pairs (i < j) of an edge list, self-loops removed."""
    lo = torch.minimum(edge_index[0], edge_index[1])
    hi = torch.maximum(edge_index[0], edge_index[1])
    keep = lo != hi
    pairs = torch.stack([lo[keep], hi[keep]])
    return torch.unique(pairs, dim=1)


def split_edges(
    edge_index: torch.Tensor,
    num_nodes: int,
    val_ratio: float = 0.05,
    test_ratio: float = 0.10,
    generator: torch.Generator | None = None,
) -> LinkSplit:
    pairs = undirected_pairs(edge_index)
    num = pairs.size(1)
    n_val, n_test = int(num * val_ratio), int(num * test_ratio)
    if num - n_val - n_test <= 0 or n_val == 0 or n_test == 0:
        raise InputError(f"the graph has too few edges ({num} undirected) for a {val_ratio}/{test_ratio} "
                         f"validation/test split: each part needs at least one edge and training the rest.")
    perm = torch.randperm(num, generator=generator)
    pairs = pairs[:, perm]
    test_pos = pairs[:, :n_test]
    val_pos = pairs[:, n_test : n_test + n_val]
    train_pos = pairs[:, n_test + n_val :]
    neg = sample_non_edges(pairs, num_nodes, n_val + n_test, generator)
    return LinkSplit(train_pos, val_pos, neg[:, n_test:], test_pos, neg[:, :n_test], num_nodes)


def sample_non_edges(
    pairs: torch.Tensor, num_nodes: int, count: int, generator: torch.Generator | None = None
) -> torch.Tensor:
    """`count` distinct unordered pairs (i < j) that are not in `pairs`, uniformly at random."""
    max_pairs = num_nodes * (num_nodes - 1) // 2
    if count > max_pairs - pairs.size(1):
        raise ValueError("graph too dense to sample that many negative pairs")
    taken = pairs[0] * num_nodes + pairs[1]  # key of each true pair
    found = torch.empty(0, dtype=torch.long)
    while found.numel() < count:
        want = 2 * (count - found.numel()) + 16
        i = torch.randint(num_nodes, (want,), generator=generator)
        j = torch.randint(num_nodes, (want,), generator=generator)
        lo, hi = torch.minimum(i, j), torch.maximum(i, j)
        keys = (lo * num_nodes + hi)[lo != hi]
        keys = keys[~torch.isin(keys, taken) & ~torch.isin(keys, found)]
        # keep first occurrences only, in sampling order (unique() would sort them)
        uniq, inverse = torch.unique(keys, return_inverse=True)
        first = torch.full((uniq.numel(),), keys.numel(), dtype=torch.long)
        first.scatter_reduce_(0, inverse, torch.arange(keys.numel()), reduce="amin")
        found = torch.cat([found, keys[first.sort().values]])
    found = found[:count]
    return torch.stack([found // num_nodes, found % num_nodes])
