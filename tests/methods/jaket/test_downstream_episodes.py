"""N-way K-shot episodes and the prototypical classifier, against hand computations."""

from __future__ import annotations

import pytest
import torch

from plexus.methods.jaket.downstream.episodes import (
    Episode, episode_accuracy, prototype_logits, sample_episode, sample_episodes)


def _pools(classes=8, per_class=12):
    return {c: torch.arange(c * per_class, (c + 1) * per_class) for c in range(classes)}


@pytest.mark.parametrize("n,k,q", [(5, 1, 5), (5, 5, 5), (10, 1, 2), (10, 5, 1)])
def test_episode_shape_classes_and_disjoint_query(n, k, q):
    pools = _pools(classes=12)
    ep = sample_episode(pools, n, k, q, torch.Generator().manual_seed(3))
    assert ep.support.shape == (n, k) and ep.query.shape == (n, q)
    assert len(set(ep.classes.tolist())) == n
    for i, c in enumerate(ep.classes.tolist()):
        s, qq = set(ep.support[i].tolist()), set(ep.query[i].tolist())
        assert s | qq <= set(pools[c].tolist())  # every item is of its episode class
        assert not s & qq and len(s) == k and len(qq) == q  # query disjoint from support, no repeats


def test_a_fixed_seed_gives_the_same_episodes():
    a = sample_episodes(_pools(), 5, 5, 5, 50, seed=7)
    b = sample_episodes(_pools(), 5, 5, 5, 50, seed=7)
    c = sample_episodes(_pools(), 5, 5, 5, 50, seed=8)
    same = lambda x, y: all(torch.equal(e.support, f.support) and torch.equal(e.query, f.query)
                            and torch.equal(e.classes, f.classes) for e, f in zip(x, y))
    assert same(a, b) and not same(a, c)


def test_too_few_classes_or_items_is_an_error():
    with pytest.raises(ValueError, match="10-way"):
        sample_episode(_pools(classes=8), 10, 1, 1, torch.Generator())
    with pytest.raises(ValueError, match="takes 5 \\+ 10"):
        sample_episode(_pools(per_class=12), 5, 5, 10, torch.Generator())


def test_prototype_logits_by_hand():
    support = torch.tensor([[[0.0, 0.0], [2.0, 0.0]],  # prototype (1, 0)
                            [[0.0, 4.0], [0.0, 2.0]]])  # prototype (0, 3)
    query = torch.tensor([[1.0, 1.0]])
    # distances^2: to (1,0): 0 + 1 = 1; to (0,3): 1 + 4 = 5
    assert torch.allclose(prototype_logits(support, query), torch.tensor([[-1.0, -5.0]]))
    assert torch.allclose(prototype_logits(support, query, temperature=2.0), torch.tensor([[-0.5, -2.5]]))


def test_episode_accuracy_by_hand():
    # items 0, 1 near (0, 0); items 2, 3 near (10, 0); item 4 sits at (6, 0): closer to class 1
    vectors = torch.tensor([[0.0, 0.0], [1.0, 0.0], [10.0, 0.0], [9.0, 0.0], [6.0, 0.0]])
    ep = Episode(torch.tensor([0, 1]), support=torch.tensor([[0], [2]]), query=torch.tensor([[1, 4], [3, 3]]))
    # query 1 -> class 0 (right), 4 -> class 1 (wrong: labelled 0), 3 -> class 1 twice (right)
    assert episode_accuracy(vectors, [ep]) == pytest.approx(3 / 4)
