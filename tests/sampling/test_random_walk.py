"""Random-walk importance neighbourhoods: exact counts, the walk distribution, top-T rules."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch

from plexus.sampling.random_walk import (
    WalkConfig,
    bipartite_csr,
    importance_neighbors,
    walk_visits,
)


def _graph(pairs, num_users, num_items):
    return bipartite_csr(torch.tensor(pairs, dtype=torch.long).t(), num_users, num_items)


def _random_graph(num_users=12, num_items=15, p=0.3, seed=0):
    rng = np.random.default_rng(seed)
    adj = rng.random((num_users, num_items)) < p
    adj[np.arange(num_users), rng.integers(0, num_items, num_users)] = True  # no idle users
    adj[:, 14] = False  # item 14 has no users
    users, items = np.nonzero(adj)
    return bipartite_csr(torch.tensor(np.stack([users, items])), num_users, num_items), adj


def test_bipartite_csr_both_directions():
    g = _graph([(0, 1), (0, 2), (1, 2), (1, 2), (2, 0)], 3, 4)
    assert g.user_ptr.tolist() == [0, 2, 3, 4] and g.user_items.tolist() == [1, 2, 2, 0]
    assert g.item_ptr.tolist() == [0, 1, 2, 4, 4] and g.item_users.tolist() == [2, 0, 0, 1]
    assert g.item_degree.tolist() == [1, 1, 2, 0] and g.num_edges == 4


def test_deterministic_neighbourhoods_on_degree_one_components():
    # user 0: items {0, 1}; user 1: item {2} only; item 3 has no user.
    g = _graph([(0, 0), (0, 1), (1, 2)], 2, 4)
    cfg = WalkConfig(num_traversals=4, termination_prob=0.0, num_random_walks=50, num_neighbors=3)
    nbr, w = importance_neighbors(g, cfg, generator=torch.Generator().manual_seed(0))
    assert nbr.tolist() == [[1, -1, -1], [0, -1, -1], [-1, -1, -1], [-1, -1, -1]]
    assert w.tolist() == [[1, 0, 0], [1, 0, 0], [0, 0, 0], [0, 0, 0]]
    # Item 2's walks are fully deterministic: 2 -> user 1 -> 2, every traversal.
    visits, steps = walk_visits(g, torch.tensor([2, 3]), cfg, torch.Generator().manual_seed(0))
    assert (visits[0] == 2).all() and (visits[1] == -1).all()
    assert steps == 50 * 4 * 2


def test_counts_and_top_t_match_brute_force():
    g, adj = _random_graph()
    cfg = WalkConfig(num_traversals=3, termination_prob=0.3, num_random_walks=40, num_neighbors=5)
    queries = torch.arange(g.num_items)
    visits, _ = walk_visits(g, queries, cfg, torch.Generator().manual_seed(7))
    nbr, w = importance_neighbors(g, cfg, queries, torch.Generator().manual_seed(7))
    for q in range(g.num_items):
        row = visits[q].tolist()
        # Every walker's trace is a chain of item -> user -> item hops, then -1s.
        for walker in range(cfg.num_random_walks):
            trace = [q] + row[walker * 3:(walker + 1) * 3]
            for a, b in zip(trace, trace[1:]):
                if b == -1:
                    break
                assert a != -1 and (adj[:, a] & adj[:, b]).any()
        counts = Counter(v for v in row if v not in (-1, q))
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
        expect = [item for item, _ in ranked] + [-1] * (5 - len(ranked))
        assert nbr[q].tolist() == expect
        total = sum(c for _, c in ranked)
        expect_w = [c / total for _, c in ranked] + [0.0] * (5 - len(ranked))
        assert w[q].tolist() == pytest.approx(expect_w, abs=1e-6)
    assert (nbr[14] == -1).all()  # item without users: empty neighbourhood


def test_weights_sorted_normalised_self_excluded():
    g, _ = _random_graph(seed=3)
    cfg = WalkConfig(num_random_walks=100, num_neighbors=6)
    nbr, w = importance_neighbors(g, cfg, generator=torch.Generator().manual_seed(1), chunk_size=4)
    has = (nbr >= 0).any(1)
    assert torch.allclose(w[has].sum(1), torch.ones(int(has.sum())))
    assert (w[:, :-1] >= w[:, 1:]).all()  # descending
    assert ((nbr >= 0) == (w > 0)).all()
    assert not (nbr == torch.arange(g.num_items)[:, None]).any()


def test_deterministic_under_seed():
    g, _ = _random_graph(seed=5)
    cfg = WalkConfig(num_random_walks=30, num_neighbors=4)
    a = importance_neighbors(g, cfg, generator=torch.Generator().manual_seed(3))
    b = importance_neighbors(g, cfg, generator=torch.Generator().manual_seed(3))
    c = importance_neighbors(g, cfg, generator=torch.Generator().manual_seed(4))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[1], c[1])


def test_visit_frequencies_match_exact_walk_distribution():
    g, adj = _random_graph(seed=2)
    a = adj.astype(np.float64)
    du, di = a.sum(1), a.sum(0)
    p_item_user = np.divide(a.T, di[:, None], out=np.zeros_like(a.T), where=di[:, None] > 0)
    P = p_item_user @ (a / du[:, None])  # item -> item transition
    L, term, W = 4, 0.4, 20000
    cfg = WalkConfig(num_traversals=L, termination_prob=term, num_random_walks=W,
                     num_neighbors=g.num_items)
    queries = torch.tensor([0, 5, 9])
    nbr, w = importance_neighbors(g, cfg, queries, torch.Generator().manual_seed(0))
    for row, q in enumerate(queries.tolist()):
        expected = np.zeros(g.num_items)
        dist = np.eye(g.num_items)[q]
        for t in range(L):
            dist = dist @ P
            expected += (1 - term) ** t * dist
        expected[q] = 0
        expected /= expected.sum()
        got = np.zeros(g.num_items)
        keep = nbr[row] >= 0
        got[nbr[row][keep].numpy()] = w[row][keep].numpy()
        assert np.abs(got - expected).max() < 0.01


def test_bad_input():
    g, _ = _random_graph()
    with pytest.raises(ValueError, match="termination_prob"):
        importance_neighbors(g, WalkConfig(termination_prob=1.0))
    with pytest.raises(ValueError, match="out of range"):
        importance_neighbors(g, WalkConfig(), torch.tensor([99]))
