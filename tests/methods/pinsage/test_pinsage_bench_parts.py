"""The bench's own arithmetic on tiny inputs worked by hand: popularity groups, per-pair
expected hits with ties, the popularity scorer and the paired bootstrap."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from plexus.methods.pinsage.bench import _bootstrap, _expected_hits, _popularity_groups, popularity_scorer


def test_popularity_groups_are_thirds_of_the_interactions():
    # counts: item 0: 6, item 1: 3, item 2: 2, item 3: 1 (12 interactions). Head = the most popular
    # items whose cumulative share (themselves included) is at most 1/3: item 0 alone holds 0.5,
    # so the head is empty and item 0 is torso (<= 2/3); items 1-3 (0.75, 0.92, 1.0) are tail.
    train = torch.tensor([[0] * 12, [0] * 6 + [1] * 3 + [2] * 2 + [3]])
    groups = _popularity_groups(train, 5)  # item 4: never seen, tail
    assert groups.tolist() == [1, 2, 2, 2, 2]
    even = torch.tensor([[0] * 6, [0, 0, 1, 1, 2, 2]])
    assert _popularity_groups(even, 3).tolist() == [0, 1, 2]


def test_expected_hits_break_ties_at_random_in_expectation():
    scores = torch.tensor([[0.0, 5.0, 1.0, 1.0, 1.0, 0.5]])  # query 0

    def fn(q):
        return scores.expand(q.numel(), -1)

    pairs = torch.tensor([[0, 0, 0], [1, 2, 5]])
    # target 1: rank 1 -> hit@2 = 1; target 2: one above, tied with two others -> P(rank <= 2) = 1/3;
    # target 5: four above -> 0
    assert _expected_hits(fn, pairs, 6, k=2).tolist() == pytest.approx([1.0, 1 / 3, 0.0])


def test_popularity_scorer_and_bootstrap():
    train = torch.tensor([[0, 0, 1, 1], [2, 2, 1, 2]])
    assert popularity_scorer(train, 4)(torch.tensor([0, 3])).tolist() == [[0, 1, 3, 0]] * 2
    lo, hi = _bootstrap(np.full(50, 0.25))
    assert lo == hi == 0.25  # no spread, no interval
    rng = np.random.default_rng(0)
    lo, hi = _bootstrap(rng.normal(0.1, 1.0, 4000))
    assert lo < 0.1 < hi and hi - lo == pytest.approx(2 * 1.96 / np.sqrt(4000), rel=0.2)
