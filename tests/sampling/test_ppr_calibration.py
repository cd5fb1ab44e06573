"""The hard-negative window calibrated on where validation targets rank by PPR, on a tiny graph
whose PPR ranks are worked out by hand."""

from __future__ import annotations

import pytest
import torch

from plexus.sampling.ppr import calibrated_window, ppr_scores, target_ranks
from plexus.sampling.random_walk import bipartite_csr


def _star_graph():
    # user 0 rated items 0, 1, 2; user 1 rated items 2, 3; user 2 rated items 3, 4; item 5: user 3 alone
    edges = torch.tensor([[0, 0, 0, 1, 1, 2, 2, 3], [0, 1, 2, 2, 3, 3, 4, 5]])
    return bipartite_csr(edges, 4, 6)


def test_target_ranks_follow_the_ppr_order_by_hand():
    g = _star_graph()
    # From item 0 the walk reaches 1 and 2 in one hop with equal mass; 2 also gets mass back from
    # user 1 (via item 3), so 2 > 1; then 3 (via item 2's user 1), then 4; item 5 is unreachable.
    s = ppr_scores(g, torch.tensor([0]), alpha=0.15, num_iters=30)[0]
    assert s[2] > s[1] > s[3] > s[4] > s[5] == 0  # item 2 also collects mass back from user 1
    ranks = target_ranks(g, torch.tensor([0, 0, 0, 0, 0]), torch.tensor([2, 1, 3, 4, 5]), 0.15, 30)
    assert ranks.tolist() == [0, 1, 2, 3, 4]  # the query itself is not counted
    # batches of queries give the same ranks
    q, t = torch.tensor([0, 3, 0, 4]), torch.tensor([1, 2, 4, 3])
    assert torch.equal(target_ranks(g, q, t, 0.15, 30, batch_size=1), target_ranks(g, q, t, 0.15, 30))


def test_calibrated_window_excludes_95_percent_of_validation_targets():
    # 100 validation targets: ranks 0..9 ten times each, except the last ten rank 30..39
    ranks = torch.tensor([r for r in range(10) for _ in range(9)] + list(range(30, 40)))
    lo, hi = calibrated_window(ranks, num_candidates=1000, quantile=0.95, width=50)
    # sorted, the 95th-percentile ("higher") order statistic is element ceil(0.95 * 99) = 95 -> rank 35
    assert (lo, hi) == (36, 86)
    inside = ((ranks >= lo) & (ranks < hi)).float().mean()
    assert inside <= 0.05 and float((ranks < lo).float().mean()) >= 0.95
    # the typical (median) target rank is never inside the window
    assert not lo <= int(ranks.median()) < hi
    # width as a share of the catalogue, cut at its end
    assert calibrated_window(ranks, 100, 0.95, 0.5) == (36, 86)
    assert calibrated_window(ranks, 60, 0.95, 0.9) == (36, 60)
    with pytest.raises(ValueError, match="no ranks are left"):
        calibrated_window(ranks, 36, 0.95, 10)


def test_calibrated_window_on_the_tiny_graph_excludes_its_targets():
    g = _star_graph()
    queries, targets = torch.tensor([0, 0, 1, 3, 4, 2]), torch.tensor([1, 2, 0, 4, 3, 3])
    ranks = target_ranks(g, queries, targets, 0.15, 30)
    lo, hi = calibrated_window(ranks, g.num_items - 1, 0.95, 2)
    assert lo == int(ranks.max()) + 1  # 6 targets: the 95 % quantile is the largest rank
    assert not ((ranks >= lo) & (ranks < hi)).any()
