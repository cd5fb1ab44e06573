"""Item-to-item metrics (PinSage's protocol) against ranks counted by hand."""

from __future__ import annotations

import pytest
import torch

from plexus.eval.item_to_item import item_to_item_metrics, pair_ranks

# 3 query items over 6 items; row q holds q's scores for items 0..5.
SCORES = torch.tensor([
    [9.0, 5.0, 4.0, 3.0, 2.0, 1.0],  # item 0: its own score (9) must not count
    [0.5, 9.0, 0.5, 0.5, 0.1, 0.9],  # item 1: ties at 0.5
    [1.0, 2.0, 0.0, 3.0, 4.0, 5.0],
])


def scorer(queries: torch.Tensor) -> torch.Tensor:
    return SCORES[queries].clone()


def test_ranks_and_metrics_match_hand_computation():
    pairs = torch.tensor([[0, 0, 1, 2], [1, 4, 3, 0]])
    greater, ties = pair_ranks(scorer, pairs, 6, batch_size=2, chunk=1)
    # (0 -> 1): above 5 is nothing but q itself (excluded): rank 1
    # (0 -> 4): 5, 4, 3 above: rank 4
    # (1 -> 3): 0.9 above; 0.5 tied with items 0 and 2
    # (2 -> 0): 5, 4, 3, 2 above
    assert greater.tolist() == [0, 3, 1, 4]
    assert ties.tolist() == [0, 0, 2, 0]
    m = item_to_item_metrics(scorer, pairs, 6, ks=(1, 2, 3), mrr_scale=2)
    # hit@K with random tie-breaking: pair 3's rank is 2, 3 or 4 with prob 1/3 each
    assert m["hit_rate@1"] == pytest.approx((1 + 0 + 0 + 0) / 4)
    assert m["hit_rate@2"] == pytest.approx((1 + 0 + 1 / 3 + 0) / 4)
    assert m["hit_rate@3"] == pytest.approx((1 + 0 + 2 / 3 + 0) / 4)
    ranks = [1, 4, 1 + 1 + 1.0, 5]  # the tied pair at its expected rank 3
    assert m["mrr_unscaled"] == pytest.approx(sum(1 / r for r in ranks) / 4)
    assert m["mrr"] == pytest.approx((1 / 1 + 1 / 2 + 1 / 2 + 1 / 3) / 4)  # 1 / ceil(rank / 2)
    assert m["num_pairs"] == 4


def test_each_query_is_scored_once_whatever_the_pairs():
    calls = []

    def counting(queries):
        calls.extend(queries.tolist())
        return scorer(queries)

    pairs = torch.tensor([[2, 0, 2, 2, 0], [1, 3, 4, 5, 2]])
    item_to_item_metrics(counting, pairs, 6, ks=(2,), batch_size=1)
    assert sorted(calls) == [0, 2]


def test_bad_pairs_are_refused():
    with pytest.raises(ValueError, match="equals its query"):
        pair_ranks(scorer, torch.tensor([[1], [1]]), 6)
    with pytest.raises(ValueError, match="no evaluation pairs"):
        item_to_item_metrics(scorer, torch.empty(2, 0, dtype=torch.long), 6)
