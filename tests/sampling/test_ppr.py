"""Personalised PageRank, the hard-negative window and the curriculum schedule."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from plexus.sampling.ppr import (
    PPROperator,
    curriculum_hard_negatives,
    hard_negative_window,
    ppr_scores,
    ppr_topk,
    window_bounds,
)
from plexus.sampling.random_walk import bipartite_csr


def _random_graph(num_users=20, num_items=30, p=0.2, seed=0, isolated=(29,)):
    rng = np.random.default_rng(seed)
    adj = rng.random((num_users, num_items)) < p
    adj[np.arange(num_users), rng.integers(0, num_items, num_users)] = True
    adj[rng.integers(0, num_users, num_items), np.arange(num_items)] = True
    adj[:, list(isolated)] = False
    users, items = np.nonzero(adj)
    return bipartite_csr(torch.tensor(np.stack([users, items])), num_users, num_items), adj


def _dense_ppr(adj, q, alpha, iters):
    a = adj.astype(np.float64)
    du, di = a.sum(1), a.sum(0)
    P = np.divide(a.T, di[:, None], out=np.zeros_like(a.T), where=di[:, None] > 0) @ (a / du[:, None])
    dangling = di == 0
    e = np.eye(a.shape[1])[q]
    pi = e.copy()
    for _ in range(iters):
        pi = alpha * e + (1 - alpha) * (pi @ P + pi[dangling].sum() * e)
    return pi


def test_ppr_matches_dense_reference():
    g, adj = _random_graph()
    queries = torch.tensor([0, 3, 29, 7])
    got = ppr_scores(g, queries, alpha=0.2, num_iters=15)
    for row, q in enumerate(queries.tolist()):
        assert np.allclose(got[row].numpy(), _dense_ppr(adj, q, 0.2, 15), atol=1e-6)
    assert torch.allclose(got.sum(1), torch.ones(4), atol=1e-5)
    assert got[2, 29] == pytest.approx(1.0)  # an item without users keeps its mass


def test_ppr_converges_to_the_closed_form():
    g, adj = _random_graph(isolated=())
    a = adj.astype(np.float64)
    P = (a.T / a.sum(0)[:, None]) @ (a / a.sum(1)[:, None])
    alpha = 0.3
    exact = alpha * np.linalg.inv(np.eye(a.shape[1]) - (1 - alpha) * P)
    got = ppr_scores(PPROperator(g), torch.arange(a.shape[1]), alpha=alpha, num_iters=80)
    assert np.allclose(got.numpy(), exact, atol=1e-5)


def test_ppr_topk_excludes_self_and_sorts():
    g, adj = _random_graph()
    queries = torch.tensor([1, 2, 3, 4, 5])
    items, scores = ppr_topk(g, queries, k=6, alpha=0.2, num_iters=15, batch_size=2)
    full = ppr_scores(g, queries, alpha=0.2, num_iters=15)
    for row, q in enumerate(queries.tolist()):
        assert q not in items[row].tolist()
        assert (scores[row, :-1] >= scores[row, 1:]).all()
        s = full[row].clone()
        s[q] = -1
        assert torch.allclose(scores[row], torch.sort(s, descending=True).values[:6])


def test_hard_negative_window_positions_and_exclusion():
    b, n = 3, 100
    gen = torch.Generator().manual_seed(0)
    perms = torch.stack([torch.randperm(n, generator=gen) for _ in range(b)])
    ppr = torch.zeros(b, n)
    ppr.scatter_(1, perms, torch.arange(n, 0, -1, dtype=torch.float32).expand(b, n))
    lo, hi = 10, 20
    exclude = torch.stack([perms[0, [12, 15, 0]], perms[1, [0, 1, 2]], perms[2, [3, 4, 5]]])
    neg = hard_negative_window(ppr, lo, hi, 500, torch.Generator().manual_seed(1), exclude)
    assert neg.shape == (b, 500)
    for row in range(b):
        window = set(perms[row, lo:hi].tolist()) - set(exclude[row].tolist())
        assert set(neg[row].tolist()) == window  # all of it, nothing else
    again = hard_negative_window(ppr, lo, hi, 500, torch.Generator().manual_seed(1), exclude)
    assert torch.equal(neg, again)


def test_hard_negative_window_fully_excluded_row_gets_minus_one():
    ppr = torch.tensor([[5.0, 4.0, 3.0, 2.0, 1.0]])
    neg = hard_negative_window(ppr, 1, 3, 4, exclude=torch.tensor([[1, 2, -1]]))
    assert neg.tolist() == [[-1, -1, -1, -1]]
    ties = hard_negative_window(torch.zeros(1, 5), 0, 2, 50, torch.Generator().manual_seed(0))
    assert set(ties[0].tolist()) == {0, 1}  # equal scores rank by item id
    with pytest.raises(ValueError, match="window"):
        hard_negative_window(ppr, 3, 9, 1)


def test_window_bounds():
    assert window_bounds(1000, (0.02, 0.05)) == (20, 50)
    assert window_bounds(1000, (100, 300)) == (100, 300)
    assert window_bounds(150, (100, 300)) == (100, 150)
    with pytest.raises(ValueError, match="at least one rank"):
        window_bounds(50, (100, 300))


def test_curriculum_schedule():
    assert [curriculum_hard_negatives(e) for e in (1, 2, 3, 10)] == [0, 1, 2, 9]
    assert [curriculum_hard_negatives(e, max_hard=3) for e in (1, 3, 4, 5, 20)] == [0, 2, 3, 3, 3]
    with pytest.raises(ValueError, match="from 1"):
        curriculum_hard_negatives(0)
