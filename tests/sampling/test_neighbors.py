"""Uniform neighbour sampling: true in-neighbours, fanouts, uniformity, determinism,
and identical batches in DataLoader worker processes."""

from __future__ import annotations

import pytest
import torch

from plexus.sampling.neighbors import (
    NeighborSampler,
    in_csr,
    neighbor_batches,
    segment_arange,
)


def _random_graph(num_nodes=300, num_edges=3000, seed=0):
    gen = torch.Generator().manual_seed(seed)
    # Skewed targets so some nodes have degree far above the fanout, others below it.
    weights = torch.arange(1, num_nodes + 1, dtype=torch.float64).pow(-1.0)
    dst = torch.multinomial(weights, num_edges, replacement=True, generator=gen)
    src = torch.randint(num_nodes, (num_edges,), generator=gen)
    keep = src != dst
    return torch.stack([src[keep], dst[keep]]), num_nodes


def _in_neighbours(edge_index, num_nodes):
    out = [set() for _ in range(num_nodes)]
    for s, d in edge_index.t().tolist():
        out[d].add(s)
    return out


def _unique_edges(edge_index):
    # The test graph may repeat (src, dst); keep one copy so degrees count distinct edges.
    return torch.unique(edge_index, dim=1)


def test_in_csr_and_segment_arange():
    ei = torch.tensor([[3, 0, 1, 2], [1, 2, 1, 0]])
    csr = in_csr(ei, 4)
    assert csr.indptr.tolist() == [0, 1, 3, 4, 4]
    assert csr.indices.tolist() == [2, 3, 1, 0]  # node 1's sources in edge_index order
    assert ei[0, csr.edge_perm].tolist() == csr.indices.tolist()
    assert segment_arange(torch.tensor([2, 0, 3])).tolist() == [0, 1, 0, 1, 2]
    with pytest.raises(ValueError):
        in_csr(torch.tensor([[0], [4]]), 4)


@pytest.mark.parametrize("replace", [False, True])
def test_sampled_edges_are_true_in_edges_within_fanout(replace):
    edge_index, n = _random_graph()
    edge_index = _unique_edges(edge_index)
    nbrs = _in_neighbours(edge_index, n)
    fanouts = [5, 3]
    sampler = NeighborSampler(edge_index, n, fanouts, replace=replace)
    seeds = torch.tensor([7, 0, 42, 3, 150])
    sub = sampler.sample(seeds, torch.Generator().manual_seed(1))
    assert sub.n_id[: sub.batch_size].tolist() == seeds.tolist() and sub.batch_size == 5
    assert len(set(sub.n_id.tolist())) == len(sub.n_id)
    assert sum(sub.num_sampled_nodes) == len(sub.n_id)
    assert sum(sub.num_sampled_edges) == sub.edge_index.size(1)
    src, dst = sub.n_id[sub.edge_index]
    for s, d in zip(src.tolist(), dst.tolist()):
        assert s in nbrs[d]
    # Hop k's targets are exactly the nodes first reached at hop k - 1.
    bounds = torch.cumsum(torch.tensor([0] + sub.num_sampled_nodes), 0)
    edge_bounds = torch.cumsum(torch.tensor([0] + sub.num_sampled_edges), 0)
    for k, fanout in enumerate(fanouts):
        tgt = sub.edge_index[1, edge_bounds[k]: edge_bounds[k + 1]]
        assert bool(((tgt >= bounds[k]) & (tgt < bounds[k + 1])).all())
        counts = torch.bincount(tgt - bounds[k], minlength=int(bounds[k + 1] - bounds[k]))
        degree = torch.tensor([len(nbrs[v]) for v in sub.n_id[bounds[k]: bounds[k + 1]]])
        if replace:
            assert torch.equal(counts, torch.where(degree > 0, fanout, 0))
        else:
            assert torch.equal(counts, degree.clamp(max=fanout))


def test_without_replacement_distinct_and_small_degrees_keep_everything():
    edge_index, n = _random_graph()
    edge_index = _unique_edges(edge_index)
    nbrs = _in_neighbours(edge_index, n)
    sampler = NeighborSampler(edge_index, n, [4])
    seeds = torch.arange(n)
    sub = sampler.sample(seeds, torch.Generator().manual_seed(3))
    src, dst = sub.n_id[sub.edge_index]
    per_node = [[] for _ in range(n)]
    for s, d in zip(src.tolist(), dst.tolist()):
        per_node[d].append(s)
    assert any(len(nbrs[v]) > 4 for v in range(n)) and any(len(nbrs[v]) < 4 for v in range(n))
    for v in range(n):
        assert len(per_node[v]) == len(set(per_node[v]))
        if len(nbrs[v]) <= 4:
            assert set(per_node[v]) == nbrs[v]


def test_deterministic_under_a_seeded_generator():
    edge_index, n = _random_graph()
    sampler = NeighborSampler(edge_index, n, [6, 4])
    seeds = torch.tensor([0, 1, 2, 9])
    a = sampler.sample(seeds, torch.Generator().manual_seed(5))
    b = sampler.sample(seeds, torch.Generator().manual_seed(5))
    c = sampler.sample(seeds, torch.Generator().manual_seed(6))
    assert torch.equal(a.n_id, b.n_id) and torch.equal(a.edge_index, b.edge_index)
    assert not torch.equal(a.n_id[a.edge_index], c.n_id[c.edge_index])


@pytest.mark.parametrize("replace", [False, True])
def test_uniform_over_a_star(replace):
    # Node 0 has 20 in-neighbours; each draw of 5 must pick every leaf with prob 5/20.
    leaves = torch.arange(1, 21)
    edge_index = torch.stack([leaves, torch.zeros_like(leaves)])
    sampler = NeighborSampler(edge_index, 21, [5], replace=replace)
    gen = torch.Generator().manual_seed(0)
    trials = 4000
    counts = torch.zeros(21)
    for _ in range(trials):
        sub = sampler.sample(torch.tensor([0]), gen)
        counts += torch.bincount(sub.n_id[sub.edge_index[0]], minlength=21)
    expected = trials * 5 / 20
    chi2 = float(((counts[1:] - expected) ** 2 / expected).sum())
    assert counts[0] == 0
    assert chi2 < 43.8  # chi-square, 19 degrees of freedom, p = 0.001


def test_floyd_picks_every_subset_uniformly():
    # 4 in-neighbours, fanout 2: the 6 possible pairs must come out equally often.
    edge_index = torch.tensor([[1, 2, 3, 4], [0, 0, 0, 0]])
    sampler = NeighborSampler(edge_index, 5, [2])
    gen = torch.Generator().manual_seed(1)
    seen: dict[tuple, int] = {}
    trials = 3000
    for _ in range(trials):
        sub = sampler.sample(torch.tensor([0]), gen)
        pair = tuple(sorted(sub.n_id[sub.edge_index[0]].tolist()))
        seen[pair] = seen.get(pair, 0) + 1
    assert len(seen) == 6
    expected = trials / 6
    assert sum((c - expected) ** 2 / expected for c in seen.values()) < 20.5  # 5 dof, p=.001


def test_duplicate_seeds_are_rejected():
    sampler = NeighborSampler(torch.tensor([[1], [0]]), 2, [1])
    with pytest.raises(ValueError, match="distinct"):
        sampler.sample(torch.tensor([0, 0]))


def _batches(sampler, nodes, num_workers):
    gen = torch.Generator().manual_seed(11)
    return list(neighbor_batches(sampler, nodes, batch_size=7, shuffle=True, generator=gen,
                                 num_workers=num_workers))


def test_epoch_covers_nodes_and_workers_give_the_same_batches():
    edge_index, n = _random_graph()
    sampler = NeighborSampler(edge_index, n, [5, 3])
    nodes = torch.arange(0, n, 3)
    local = _batches(sampler, nodes, 0)
    seeds = torch.cat([b.n_id[: b.batch_size] for b in local])
    assert sorted(seeds.tolist()) == nodes.tolist() and not torch.equal(seeds, nodes)
    workers = _batches(sampler, nodes, 2)
    assert len(workers) == len(local)
    for a, b in zip(local, workers):
        assert torch.equal(a.n_id, b.n_id) and torch.equal(a.edge_index, b.edge_index)
        assert a.num_sampled_nodes == b.num_sampled_nodes


def test_sampling_leaves_the_thread_count_as_it_was():
    sampler = NeighborSampler(torch.tensor([[1], [0]]), 2, [1])
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        sampler.sample(torch.tensor([0]))
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
