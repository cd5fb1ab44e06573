"""PinSage positive pairs: consecutive interactions within a time window; co-engagement draws."""

from __future__ import annotations

import torch

from plexus.methods.pinsage.pairs import CoEngagementSampler, consecutive_pairs
from plexus.sampling.random_walk import bipartite_csr


def test_consecutive_pairs_follow_time_and_the_window():
    # user 0: items 5 (t=0), 6 (t=100), 7 (t=10000), 7 again (t=10050); user 1: 8 (t=50), 9 (t=60)
    # rows deliberately out of time order
    edge_index = torch.tensor([[0, 1, 0, 0, 1, 0], [7, 9, 5, 6, 8, 7]])
    times = torch.tensor([10000, 60, 0, 100, 50, 10050])
    pairs = consecutive_pairs(edge_index, times, window=3600)
    # 6 -> 7 is 9900 s apart (out of the window); 7 -> 7 repeats the item
    assert sorted(map(tuple, pairs.t().tolist())) == [(5, 6), (8, 9)]
    any_gap = consecutive_pairs(edge_index, times, window=None)
    assert sorted(map(tuple, any_gap.t().tolist())) == [(5, 6), (6, 7), (8, 9)]


def test_without_times_the_data_order_stands_in():
    edge_index = torch.tensor([[1, 0, 1, 0], [3, 2, 1, 4]])
    pairs = consecutive_pairs(edge_index)
    assert sorted(map(tuple, pairs.t().tolist())) == [(2, 4), (3, 1)]


def test_co_engagement_draws_are_items_of_a_common_user():
    edge_index = torch.tensor([[0, 0, 0, 1, 1, 2, 2], [0, 1, 2, 2, 3, 4, 5]])
    graph = bipartite_csr(edge_index, 3, 6)
    sampler = CoEngagementSampler(graph, edge_index)
    pairs = sampler.sample(2000, torch.Generator().manual_seed(0))
    users_of = {i: {u for u, j in edge_index.t().tolist() if j == i} for i in range(6)}
    assert 1000 < pairs.size(1) <= 2000  # draws landing back on the query are dropped
    for q, i in pairs.t().tolist():
        assert q != i and users_of[q] & users_of[i]
    again = sampler.sample(2000, torch.Generator().manual_seed(0))
    assert torch.equal(pairs, again)  # seeded
