"""Filtered entity ranking for KG link prediction, checked against hand computations."""

from __future__ import annotations

import pytest
import torch

from plexus.eval.link_prediction import filtered_ranks, rank_metrics


def test_filtered_ranks_by_hand():
    # two queries over 5 entities
    scores = torch.tensor([[0.9, 0.5, 0.7, 0.1, 0.8],
                           [0.2, 0.2, 0.6, 0.2, 0.1]])
    targets = torch.tensor([2, 0])
    # raw: query 0 has 0.9 and 0.8 above 0.7 -> rank 3; query 1: 0.6 above, ties with 1 and 3 -> 2 + 2/2 = 3
    assert filtered_ranks(scores, targets).tolist() == [3.0, 3.0]
    # entity 0 is another true answer of query 0; entity 2 of query 1; the target itself listed is ignored
    known = torch.tensor([[0, 0, 1], [0, 2, 2]])
    ranks = filtered_ranks(scores, targets, known)
    assert ranks.tolist() == [2.0, 2.0]
    m = rank_metrics(ranks, ks=(1, 2, 3))
    assert m["mrr"] == pytest.approx(0.5)
    assert (m["hits@1"], m["hits@2"], m["hits@3"]) == (0.0, 1.0, 1.0)


def test_a_constant_scorer_ranks_in_the_middle():
    ranks = filtered_ranks(torch.zeros(1, 5), torch.tensor([3]))
    assert ranks.tolist() == [3.0]  # 4 ties -> 1 + 4/2
    assert rank_metrics(torch.tensor([1.0, 4.0]), ks=(1, 10)) == {"mrr": pytest.approx(0.625), "hits@1": 0.5,
                                                                    "hits@10": 1.0}
