"""Negative samplers: no known positive comes back, the right distributions, determinism."""

from __future__ import annotations

import pytest
import torch

from plexus.sampling import PopularitySampler, make_sampler

NUM_USERS, NUM_ITEMS = 6, 20


def train_edges() -> torch.Tensor:
    """User 0: nothing; 1: items 0-4; 2: all but item 7 (nearly saturated); 3: every item;
    4: the 5 most popular; 5: item 19 twice (a repeated pair)."""
    pairs = [(1, i) for i in range(5)]
    pairs += [(2, i) for i in range(NUM_ITEMS) if i != 7]
    pairs += [(3, i) for i in range(NUM_ITEMS)]
    pairs += [(4, i) for i in range(5)]
    pairs += [(5, 19), (5, 19)]
    return torch.tensor(pairs).t()


def positives(train: torch.Tensor) -> set[tuple[int, int]]:
    return set(map(tuple, train.t().tolist()))


@pytest.mark.parametrize("kind", ["uniform", "popularity"])
def test_never_returns_a_known_positive(kind):
    train = train_edges()
    sampler = make_sampler(kind, train, NUM_USERS, NUM_ITEMS,
                           generator=torch.Generator().manual_seed(0))
    users = torch.tensor([0, 1, 2, 4, 5]).repeat(2000)
    neg = sampler.sample(users, torch.zeros_like(users), num_neg=3)
    assert neg.shape == (users.numel(), 3) and neg.dtype == torch.long
    assert ((neg >= 0) & (neg < NUM_ITEMS)).all()
    known = positives(train)
    assert not any((u, i) in known for u, row in zip(users.tolist(), neg.tolist()) for i in row)
    # The nearly saturated user can only get item 7.
    assert (neg[users == 2] == 7).all()
    assert sampler.saturated_users == 1  # user 3 has no negative at all
    assert sampler.sample(torch.tensor([3]), torch.tensor([0]), 4).shape == (1, 4)


def test_uniform_is_uniform_over_non_positives():
    g = torch.Generator().manual_seed(1)
    sampler = make_sampler("uniform", train_edges(), NUM_USERS, NUM_ITEMS, generator=g)
    n = 150_000
    neg = sampler.sample(torch.full((n,), 1), torch.zeros(n, dtype=torch.long)).flatten()
    freq = torch.bincount(neg, minlength=NUM_ITEMS).double() / n
    assert (freq[:5] == 0).all()
    assert torch.allclose(freq[5:], torch.full((15,), 1 / 15, dtype=torch.float64), atol=0.004)


def test_popularity_frequencies_follow_count_to_the_075():
    counts = torch.tensor([40, 20, 10, 5, 1, 1, 0, 2])
    items = torch.repeat_interleave(torch.arange(8), counts)
    train = torch.stack([torch.arange(items.numel()) % 10 + 1, items])  # users 1..10
    g = torch.Generator().manual_seed(2)
    sampler = make_sampler("popularity", train, 12, 8, generator=g)  # user 0, 11: no items
    n = 200_000
    neg = sampler.sample(torch.zeros(n, dtype=torch.long), torch.zeros(n, dtype=torch.long))
    freq = torch.bincount(neg.flatten(), minlength=8).double() / n
    expected = counts.double() ** 0.75
    expected /= expected.sum()
    assert freq[6] == 0  # never interacted with: weight 0
    assert torch.allclose(freq, expected, atol=0.005)
    assert torch.allclose(sampler.probs, expected)

    # For a user with positives, rejection leaves p restricted to the other items.
    user = int(train[0][train[1] == 0][0])
    mine = set(train[1][train[0] == user].tolist())
    neg = sampler.sample(torch.full((n,), user), torch.zeros(n, dtype=torch.long)).flatten()
    freq = torch.bincount(neg, minlength=8).double() / n
    free = torch.tensor([i not in mine for i in range(8)])
    cond = torch.where(free, expected, torch.zeros_like(expected))
    cond /= cond.sum()
    assert torch.allclose(freq, cond, atol=0.006)

    # The exact draw that takes over after the rejection rounds, on its own.
    exact = PopularitySampler(train, 12, 8, generator=torch.Generator().manual_seed(5),
                              max_rounds=0)
    neg = exact.sample(torch.full((n,), user), torch.zeros(n, dtype=torch.long)).flatten()
    freq = torch.bincount(neg, minlength=8).double() / n
    assert torch.allclose(freq, cond, atol=0.006) and exact.last_fallbacks == 0


def test_popularity_falls_back_when_positives_hold_the_popular_items():
    # User 0 has every popular item; its only negatives (items 5..9) have count 0.
    train = torch.tensor([[0] * 5 + [1] * 5, [0, 1, 2, 3, 4, 0, 1, 2, 3, 4]])
    sampler = make_sampler("popularity", train, 2, 10, generator=torch.Generator().manual_seed(3))
    neg = sampler.sample(torch.zeros(1000, dtype=torch.long), torch.zeros(1000, dtype=torch.long))
    assert ((neg >= 5) & (neg < 10)).all()
    assert sampler.last_fallbacks == 1000


@pytest.mark.parametrize("kind", ["uniform", "popularity", "in_batch"])
def test_deterministic_under_a_generator(kind):
    train = train_edges()
    users = torch.tensor([0, 1, 2, 4, 5, 1, 0, 4] * 50)
    items = torch.arange(users.numel()) % NUM_ITEMS

    def draw(seed):
        sampler = make_sampler(kind, train, NUM_USERS, NUM_ITEMS,
                               generator=torch.Generator().manual_seed(seed))
        return torch.cat([sampler.sample(users, items, 2) for _ in range(3)])

    assert torch.equal(draw(7), draw(7))
    assert not torch.equal(draw(7), draw(8))


def test_in_batch_draws_other_rows_items_and_rejects_where_possible():
    train = train_edges()
    users = torch.tensor([0, 1, 4, 5, 0, 1])
    items = torch.tensor([11, 12, 13, 19, 15, 16])
    sampler = make_sampler("in_batch", train, NUM_USERS, NUM_ITEMS,
                           generator=torch.Generator().manual_seed(4))
    for _ in range(50):
        neg = sampler.sample(users, items, num_neg=4)
        assert neg.shape == (6, 4)
        for row in range(6):
            others = set(items.tolist()) - {int(items[row])} | (
                {int(items[row])} if (items == items[row]).sum() > 1 else set())
            assert set(neg[row].tolist()) <= others
        assert not (neg[3] == 19).any()  # user 5's known positive is rejected
    # A batch made only of the user's positives cannot be fully rejected: it says so.
    neg = sampler.sample(torch.tensor([1, 1, 1]), torch.tensor([0, 1, 2]), 2)
    assert sampler.last_unrejected == 6 and set(neg.flatten().tolist()) <= {0, 1, 2}
    with pytest.raises(ValueError, match="at least 2"):
        sampler.sample(torch.tensor([1]), torch.tensor([0]))


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown sampler kind"):
        make_sampler("hard", train_edges(), NUM_USERS, NUM_ITEMS)
    sampler = make_sampler("uniform", train_edges(), NUM_USERS, NUM_ITEMS)
    with pytest.raises(ValueError, match="num_neg"):
        sampler.sample(torch.tensor([0]), torch.tensor([0]), num_neg=0)
    with pytest.raises(ValueError, match="equal length"):
        sampler.sample(torch.tensor([0, 1]), torch.tensor([0]))
    with pytest.raises(ValueError, match="out of range"):
        make_sampler("uniform", train_edges(), NUM_USERS, 10)
