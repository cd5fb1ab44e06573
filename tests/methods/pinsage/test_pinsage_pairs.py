"""PinSage positive pairs: moments (same-timestamp bursts as sets) within a time window;
consecutive pairs without times; co-engagement draws."""

from __future__ import annotations

import numpy as np
import torch

from plexus.methods.pinsage.pairs import CoEngagementSampler, consecutive_pairs, moment_pairs
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


def _as_set(pairs: torch.Tensor) -> list[tuple[int, int]]:
    return sorted(map(tuple, pairs.t().tolist()))


def test_a_burst_is_a_set_and_the_next_moment_is_within_the_window():
    # user 0: {1, 2} at t=0 (a burst), {3} at t=60, {4} at t=10000 (beyond the hour), {4, 4} repeat
    # user 1: {5} at t=0, {6, 7} at t=3600 (exactly the window)
    edge_index = torch.tensor([[0, 0, 0, 0, 1, 1, 1], [2, 1, 3, 4, 7, 5, 6]])
    times = torch.tensor([0, 0, 60, 10000, 3600, 0, 3600])
    got = _as_set(moment_pairs(edge_index, times, window=3600))
    burst = [(1, 2), (2, 1)]  # both ways: inside a burst there is no order
    to_next = [(1, 3), (2, 3)]  # every item of a moment -> every item of the next one
    user1 = [(5, 6), (5, 7), (6, 7), (7, 6)]
    assert got == sorted(burst + to_next + user1)
    # no window: 3 -> 4 joins (any gap)
    assert _as_set(moment_pairs(edge_index, times, window=None)) == sorted(burst + to_next + [(3, 4)] + user1)


def test_shuffled_interaction_rows_give_the_same_pairs():
    rng = np.random.default_rng(0)
    n = 3000
    users = rng.integers(0, 40, n)
    items = rng.integers(0, 200, n)
    times = rng.integers(0, 50, n) * 1800  # many equal timestamps: bursts
    edge_index = torch.tensor(np.stack([users, items]))
    ref = moment_pairs(edge_index, torch.tensor(times), window=3600)
    assert ref.size(1) > 1000
    for seed in range(3):
        perm = torch.from_numpy(np.random.default_rng(seed + 1).permutation(n))
        again = moment_pairs(edge_index[:, perm], torch.tensor(times)[perm], window=3600)
        assert torch.equal(again, ref)  # same set, and the same order
    # in contrast, the old "consecutive in the file" rule depends on the row order
    perm = torch.from_numpy(np.random.default_rng(9).permutation(n))
    assert _as_set(consecutive_pairs(edge_index, torch.tensor(times), 3600)) != _as_set(
        consecutive_pairs(edge_index[:, perm], torch.tensor(times)[perm], 3600))
