"""Uniform neighbour sampling for mini-batch GNN training, in plain PyTorch.

PyG's `NeighborLoader` needs pyg-lib or torch-sparse to sample, and neither is installable
here, so this module does the same job with tensor operations only. The contract is
NeighborLoader's (`disjoint=False`, directed sampling of incoming edges):

* `NeighborSampler(edge_index, num_nodes, fanouts)` builds, once, a CSR of *incoming*
  edges (for every node, the sources of the edges that point at it);
* `sample(seeds, generator)` expands hop by hop: hop k draws up to `fanouts[k]`
  in-neighbours of every node first reached at hop k - 1 (hop 0 = the seeds). A node
  whose in-degree is <= the fanout keeps all its in-edges; otherwise `fanout` distinct
  edges are drawn uniformly without replacement (or with replacement if `replace=True`);
  a fanout of -1 keeps every in-edge. Nodes already reached are not expanded again;
* the result is a `SampledSubgraph`: `n_id` (global ids, the seeds first and in order,
  then each hop's new nodes), `edge_index` in local ids with row 0 = neighbour (source),
  row 1 = target, i.e. PyG's source-to-target message flow. Running any PyG model on
  `(x[n_id], edge_index)` and keeping `out[:batch_size]` gives the seeds' predictions.

Without-replacement draws use Floyd's algorithm vectorised over all nodes of a hop: `fanout`
rounds, each one random number per node, so the cost is O(nodes x fanout^2) and does not
grow with the degree of hubs (a random-key sort over all in-edges would). Every random
number comes from the `torch.Generator` passed in: a seeded generator gives the same
subgraph on every run and in every process.

`neighbor_batches` iterates an epoch of mini-batches, in process or in DataLoader worker
processes (`num_workers`): `SampledBatches` plans the epoch up front (seed order and one
random seed per batch), so batch i is the same whichever process samples it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import torch
from torch.utils.data import DataLoader, Dataset

__all__ = [
    "InCSR",
    "NeighborSampler",
    "SampledBatches",
    "SampledSubgraph",
    "in_csr",
    "neighbor_batches",
    "segment_arange",
]


@dataclass(frozen=True)
class InCSR:
    """Incoming edges grouped by target: the sources of node v's in-edges are
    `indices[indptr[v]:indptr[v + 1]]`, in the order they appear in `edge_index`.
    `edge_perm[j]` is the column of `edge_index` that CSR entry j came from (to carry
    edge weights along)."""

    indptr: torch.Tensor  # [num_nodes + 1]
    indices: torch.Tensor  # [num_edges] source of each edge
    edge_perm: torch.Tensor  # [num_edges]

    @property
    def degree(self) -> torch.Tensor:
        return self.indptr[1:] - self.indptr[:-1]


def in_csr(edge_index: torch.Tensor, num_nodes: int) -> InCSR:
    """CSR of the incoming edges of `edge_index` [2, E] (row 0 source, row 1 target)."""
    edge_index = torch.as_tensor(edge_index).long()
    if edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise ValueError(f"edge_index must have shape [2, E], not {list(edge_index.shape)}")
    if edge_index.numel() and (int(edge_index.min()) < 0 or int(edge_index.max()) >= num_nodes):
        raise ValueError(f"edge_index has node ids outside [0, {num_nodes})")
    src, dst = edge_index
    # Stable, so each node's neighbours keep their edge_index order: the CSR (and hence
    # every sample drawn from it) depends only on the input, not on sort internals.
    perm = torch.sort(dst, stable=True).indices
    indptr = torch.zeros(num_nodes + 1, dtype=torch.long)
    indptr[1:] = torch.cumsum(torch.bincount(dst, minlength=num_nodes), 0)
    return InCSR(indptr, src[perm], perm)


def segment_arange(counts: torch.Tensor) -> torch.Tensor:
    """[0..c0-1, 0..c1-1, ...]: the position of every element inside its segment."""
    ends = torch.cumsum(counts, 0)
    return torch.arange(int(ends[-1]) if len(ends) else 0) - torch.repeat_interleave(
        ends - counts, counts
    )


@dataclass
class SampledSubgraph:
    """One mini-batch: the seeds' sampled computation graph, in local ids.

    `num_sampled_nodes[k]` nodes of `n_id` were first reached at hop k (hop 0 = seeds) and
    `num_sampled_edges[k]` edges of `edge_index` were drawn at hop k + 1, in that order;
    a model uses the per-hop node counts to skip nodes a layer does not need.
    """

    n_id: torch.Tensor
    edge_index: torch.Tensor
    batch_size: int
    num_sampled_nodes: list[int] = field(default_factory=list)
    num_sampled_edges: list[int] = field(default_factory=list)

    @property
    def seeds(self) -> torch.Tensor:
        return self.n_id[: self.batch_size]


def _floyd_offsets(degree: torch.Tensor, k: int, generator: torch.Generator | None):
    """For each row, k distinct offsets uniform in [0, degree) (needs degree >= k).

    Floyd's algorithm: for j = d - k .. d - 1 draw t uniform in [0, j] and take j instead
    if t is already taken; every k-subset comes out with equal probability.
    """
    n = degree.numel()
    picks = torch.empty(n, k, dtype=torch.long)
    for step in range(k):
        j = degree - k + step
        # float64: exact floor for any degree a graph can have.
        t = (torch.rand(n, dtype=torch.float64, generator=generator) * (j + 1)).long()
        t = torch.minimum(t, j)
        if step:
            t = torch.where((picks[:, :step] == t[:, None]).any(1), j, t)
        picks[:, step] = t
    return picks


class NeighborSampler:
    """Hop-by-hop uniform sampling of in-neighbours (see the module docstring)."""

    def __init__(self, edge_index: torch.Tensor, num_nodes: int, fanouts: list[int],
                 replace: bool = False):
        if not fanouts or any(f == 0 or f < -1 for f in fanouts):
            raise ValueError(f"fanouts must be positive or -1 (all), got {fanouts}")
        self.csr = in_csr(torch.as_tensor(edge_index).cpu(), num_nodes)
        self.num_nodes = num_nodes
        self.fanouts = list(fanouts)
        self.replace = replace

    def _hop(self, frontier: torch.Tensor, fanout: int, generator):
        """Global ids of the sampled in-neighbours of `frontier`, and how many per node."""
        start = self.csr.indptr[frontier]
        degree = self.csr.indptr[frontier + 1] - start
        if fanout < 0:
            counts = degree
            offsets = segment_arange(counts)
        elif self.replace:
            counts = torch.where(degree > 0, fanout, 0)
            deg = torch.repeat_interleave(degree, counts)
            draws = torch.rand(len(deg), dtype=torch.float64, generator=generator)
            offsets = torch.minimum((draws * deg).long(), deg - 1)
        else:
            counts = degree.clamp(max=fanout)
            offsets = segment_arange(counts)
            big = torch.nonzero(degree > fanout).flatten()
            if len(big):
                # Rows with degree > fanout hold exactly `fanout` slots, contiguous.
                row_start = torch.cumsum(counts, 0)[big] - fanout
                slots = row_start[:, None] + torch.arange(fanout)
                offsets[slots.flatten()] = _floyd_offsets(degree[big], fanout, generator).flatten()
        positions = torch.repeat_interleave(start, counts) + offsets
        return self.csr.indices[positions], counts

    def sample(self, seeds: torch.Tensor, generator: torch.Generator | None = None
               ) -> SampledSubgraph:
        # A batch is a few dozen index/sort ops on ~1e5 elements, too small for intra-op
        # threads to pay off, and on a busy machine their OpenMP barriers cost 10x
        # (ogbn-arxiv-sized graph, fanouts 15/10, on a loaded 2-core machine: 2.5M sampled
        # edges/s on one thread, 0.24M on two). So sampling always runs on one thread.
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return self._sample(seeds, generator)
        finally:
            torch.set_num_threads(threads)

    def _sample(self, seeds: torch.Tensor, generator: torch.Generator | None
                ) -> SampledSubgraph:
        seeds = torch.as_tensor(seeds, dtype=torch.long).flatten().cpu()
        # Global -> local id; a fresh array per call keeps the sampler stateless, so one
        # instance can serve several worker processes (169k nodes: ~1 MB, microseconds).
        local = torch.full((self.num_nodes,), -1, dtype=torch.long)
        local[seeds] = torch.arange(len(seeds))
        if not torch.equal(local[seeds], torch.arange(len(seeds))):
            raise ValueError("seeds must be distinct")
        nodes, edges = [seeds], []
        num_nodes, num_edges = [len(seeds)], []
        frontier, frontier_local = seeds, torch.arange(len(seeds))
        total = len(seeds)
        for fanout in self.fanouts:
            nbr, counts = self._hop(frontier, fanout, generator)
            fresh = torch.unique(nbr[local[nbr] < 0])  # sorted: gathers x[n_id] in order
            local[fresh] = torch.arange(total, total + len(fresh))
            edges.append(torch.stack([local[nbr], torch.repeat_interleave(frontier_local,
                                                                          counts)]))
            nodes.append(fresh)
            num_nodes.append(len(fresh))
            num_edges.append(len(nbr))
            frontier, frontier_local = fresh, local[fresh]
            total += len(fresh)
        return SampledSubgraph(torch.cat(nodes), torch.cat(edges, 1), len(seeds),
                               num_nodes, num_edges)


class SampledBatches(Dataset):
    """One epoch of neighbour-sampled mini-batches; item i is batch i.

    The seed order and one random seed per batch are drawn from `generator` when the
    epoch is created, so every batch is reproducible in any process; build a new
    instance per epoch. Use with `DataLoader(..., batch_size=None)`: each item is a
    whole batch already, so nothing needs collating.
    """

    def __init__(self, sampler: NeighborSampler, nodes: torch.Tensor, batch_size: int,
                 shuffle: bool = False, generator: torch.Generator | None = None):
        nodes = torch.as_tensor(nodes, dtype=torch.long).flatten().cpu()
        if shuffle:
            nodes = nodes[torch.randperm(len(nodes), generator=generator)]
        self.sampler = sampler
        self.batches = nodes.split(batch_size)
        self.batch_seeds = torch.randint(2**62, (len(self.batches),), generator=generator)

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, i: int) -> SampledSubgraph:
        generator = torch.Generator().manual_seed(int(self.batch_seeds[i]))
        return self.sampler.sample(self.batches[i], generator)


def neighbor_batches(sampler: NeighborSampler, nodes: torch.Tensor, batch_size: int,
                     shuffle: bool = False, generator: torch.Generator | None = None,
                     num_workers: int = 0) -> Iterator[SampledSubgraph]:
    """The mini-batches of one epoch over `nodes`, like iterating PyG's NeighborLoader.

    With `num_workers` > 0, worker processes sample ahead while the caller trains on
    earlier batches (producer/consumer); the batches are identical to `num_workers=0`.
    """
    epoch = SampledBatches(sampler, nodes, batch_size, shuffle, generator)
    if num_workers == 0:
        return (epoch[i] for i in range(len(epoch)))
    return iter(DataLoader(epoch, batch_size=None, num_workers=num_workers))
