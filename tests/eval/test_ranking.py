"""Full-ranking top-K metrics: hand-computed tiny cases, skipped users, masking, ties,
the labelled sampled option, and agreement with a per-user reference on random data."""

from __future__ import annotations

import math

import pytest
import torch

from plexus.eval.ranking import METRICS, full_ranking_metrics

INF = float("-inf")

# 4 users x 5 items. User 2 has no evaluation item (skipped, counted).
SCORES = torch.tensor([
    [0.9, 0.8, 0.7, 0.6, 0.5],  # user 0: item 0 excluded -> ranking 1, 2, 3, 4
    [0.1, 0.2, 0.3, 0.4, 0.5],  # user 1: items 4 (train), 3 (val) excluded -> 2, 1, 0
    [0.5, 0.5, 0.5, 0.5, 0.5],  # user 2: nothing to find
    [0.5, 0.1, 0.9, 0.3, 0.7],  # user 3: nothing excluded -> 2, 4, 0, 3, 1
])
TRAIN = torch.tensor([[0, 1], [0, 4]])
VAL = torch.tensor([[1], [3]])
TEST = torch.tensor([[0, 0, 1, 1, 3], [2, 4, 0, 2, 0]])  # u0 {2, 4}, u1 {0, 2}, u3 {0}

L3 = 1 / math.log2(3)  # discount of rank 2; rank 1 -> 1, rank 3 -> 1/2
# Hit ranks within the top 3: u0 [0, 1, 0], u1 [1, 0, 1], u3 [0, 0, 1]; |gt| = 2, 2, 1.
EXPECTED = {
    # K = 1: only u1 hits (rank 1).
    "recall@1": (0 + 1 / 2 + 0) / 3,
    "precision@1": (0 + 1 + 0) / 3,
    "hit_rate@1": (0 + 1 + 0) / 3,
    "ndcg@1": (0 + 1 / 1 + 0) / 3,  # IDCG over min(|gt|, 1) = 1 item
    "mrr@1": (0 + 1 + 0) / 3,
    # K = 2: u0 hits at rank 2, u1 at rank 1.
    "recall@2": (1 / 2 + 1 / 2 + 0) / 3,
    "precision@2": (1 / 2 + 1 / 2 + 0) / 3,
    "hit_rate@2": (1 + 1 + 0) / 3,
    "ndcg@2": (L3 / (1 + L3) + 1 / (1 + L3) + 0) / 3,
    "mrr@2": (1 / 2 + 1 + 0) / 3,
    # K = 3: u0 one hit (rank 2), u1 two (ranks 1, 3), u3 one (rank 3).
    "recall@3": (1 / 2 + 2 / 2 + 1 / 1) / 3,
    "precision@3": (1 / 3 + 2 / 3 + 1 / 3) / 3,
    "hit_rate@3": (1 + 1 + 1) / 3,
    "ndcg@3": (L3 / (1 + L3) + (1 + 1 / 2) / (1 + L3) + (1 / 2) / 1) / 3,
    "mrr@3": (1 / 2 + 1 + 1 / 3) / 3,
}


def score_rows(matrix: torch.Tensor):
    return lambda users: matrix[users].clone()


@pytest.mark.parametrize("batch_size", [1, 2, 1024])
def test_hand_computed_values_every_metric_and_k(batch_size):
    out = full_ranking_metrics(score_rows(SCORES), TEST, [TRAIN, VAL], num_users=4,
                               num_items=5, ks=(1, 2, 3), batch_size=batch_size)
    for name, value in EXPECTED.items():
        assert out[name] == pytest.approx(value, abs=1e-12), name
    assert out["num_eval_users"] == 3 and out["num_skipped_users"] == 1
    assert set(out) == set(EXPECTED) | {"num_eval_users", "num_skipped_users"}


def test_excluded_items_are_never_ranked():
    # Every user's best-scored item is excluded *and* an evaluation item: it must not count.
    scores = torch.tensor([[9.0, 1.0, 2.0, 3.0], [1.0, 9.0, 3.0, 2.0]])
    test = torch.tensor([[0, 1], [0, 1]])
    out = full_ranking_metrics(score_rows(scores), test, [test], 2, 4, ks=(1, 3))
    assert out["recall@3"] == 0 and out["hit_rate@3"] == 0 and out["mrr@3"] == 0

    # The items a batch ranks never include excluded ones while free items remain.
    seen = []

    def spy(users):
        s = torch.rand(users.numel(), 50, generator=torch.Generator().manual_seed(1))
        seen.append(s)
        return s

    train = torch.stack([torch.arange(50) % 3, torch.arange(50)])  # user u: items = u mod 3
    test = torch.tensor([[0, 1, 2], [3, 4, 5]])
    full_ranking_metrics(spy, test, [train], 3, 50, ks=(10,))
    for u in range(3):
        row = seen[0][u]
        assert torch.isinf(row[train[1][train[0] == u]]).all()
        top = torch.topk(row, 10).indices
        assert not (top % 3 == u).any()


def test_too_few_candidates_give_no_phantom_hits():
    # User 0 can only rank item 4; an excluded evaluation item in the -inf tail is no hit.
    scores = torch.tensor([[5.0, 4.0, 3.0, 2.0, 1.0]])
    exclude = torch.tensor([[0, 0, 0, 0], [0, 1, 2, 3]])
    test = torch.tensor([[0, 0], [1, 4]])
    out = full_ranking_metrics(score_rows(scores), test, [exclude], 1, 5, ks=(1, 5))
    assert out["recall@5"] == pytest.approx(0.5)  # item 4 found, item 1 excluded
    assert out["mrr@5"] == 1.0 and out["precision@5"] == pytest.approx(1 / 5)


def test_ties_do_not_crash_and_give_a_defined_result():
    scores = torch.zeros(3, 6)
    train = torch.tensor([[0, 1], [0, 1]])
    test = torch.tensor([[0, 0, 0, 0, 0, 1, 2], [1, 2, 3, 4, 5, 0, 3]])
    fn = score_rows(scores)
    a = full_ranking_metrics(fn, test, [train], 3, 6, ks=(2, 5))
    b = full_ranking_metrics(fn, test, [train], 3, 6, ks=(2, 5), batch_size=1)
    assert a == b  # deterministic, whatever topk's tie order
    for name, value in a.items():
        assert math.isfinite(value)
        if "@" in name:
            assert 0 <= value <= 1
    # User 0 finds an evaluation item in every free slot, whatever the order among ties.
    only_u0 = full_ranking_metrics(fn, test[:, :5], [train], 3, 6, ks=(2, 5))
    assert only_u0["recall@2"] == pytest.approx(2 / 5)
    assert only_u0["precision@5"] == 1 and only_u0["ndcg@5"] == pytest.approx(1)


def test_sampled_option_is_labelled_and_optimistic():
    # The evaluation item (4) scores below every other free item: full ranking misses it.
    scores = torch.tensor([[0.9, 0.8, 0.7, 0.6, 0.1, 0.5]])
    test = torch.tensor([[0], [4]])
    full = full_ranking_metrics(score_rows(scores), test, [], 1, 6, ks=(2,))
    sampled = full_ranking_metrics(score_rows(scores), test, [], 1, 6, ks=(2,), sampled=1)
    assert set(sampled) == {f"sampled_{m}@2" for m in METRICS} | {"num_eval_users",
                                                                 "num_skipped_users"}
    assert full["hit_rate@2"] == 0 and sampled["sampled_hit_rate@2"] == 1
    # With more negatives than free items, sampled ranking is full ranking.
    every = full_ranking_metrics(score_rows(SCORES), TEST, [TRAIN, VAL], 4, 5, ks=(1, 2, 3),
                                 sampled=100)
    for name, value in EXPECTED.items():
        assert every[f"sampled_{name}"] == pytest.approx(value)


def test_nan_scores_and_bad_arguments_raise():
    with pytest.raises(ValueError, match="NaN"):
        full_ranking_metrics(lambda u: torch.full((u.numel(), 5), float("nan")), TEST,
                             [TRAIN], 4, 5, ks=(2,))
    with pytest.raises(ValueError, match=r"\[3, 5\] tensor"):
        full_ranking_metrics(lambda u: torch.zeros(u.numel(), 4), TEST, [TRAIN], 4, 5, ks=(2,))
    with pytest.raises(ValueError, match="larger than the number of items"):
        full_ranking_metrics(score_rows(SCORES), TEST, [TRAIN], 4, 5, ks=(10,))
    with pytest.raises(ValueError, match="no user has an evaluation"):
        full_ranking_metrics(score_rows(SCORES), torch.empty(2, 0, dtype=torch.long),
                             [TRAIN], 4, 5, ks=(2,))


def reference(scores, test, exclude, ks):
    """Per-user loop, straight from the definitions (sort ties by item index)."""
    out = {f"{m}@{k}": 0.0 for k in ks for m in METRICS}
    users = sorted(set(test[0].tolist()))
    for u in users:
        gt = set(test[1][test[0] == u].tolist())
        seen = set(exclude[1][exclude[0] == u].tolist())
        ranked = [i for i in sorted(range(scores.size(1)), key=lambda i: (-scores[u, i].item(), i))
                  if i not in seen]
        for k in ks:
            hits = [1 if i in gt else 0 for i in ranked[:k]]
            dcg = sum(h / math.log2(r + 2) for r, h in enumerate(hits))
            idcg = sum(1 / math.log2(r + 2) for r in range(min(len(gt), k)))
            first = next((r for r, h in enumerate(hits) if h), None)
            out[f"recall@{k}"] += sum(hits) / len(gt)
            out[f"precision@{k}"] += sum(hits) / k
            out[f"hit_rate@{k}"] += float(sum(hits) > 0)
            out[f"ndcg@{k}"] += dcg / idcg
            out[f"mrr@{k}"] += 0.0 if first is None else 1 / (first + 1)
    return {name: v / len(users) for name, v in out.items()}, len(users)


def test_matches_a_per_user_reference_on_random_data():
    g = torch.Generator().manual_seed(0)
    num_users, num_items = 40, 30
    scores = torch.rand(num_users, num_items, generator=g)  # continuous: no ties
    pairs = torch.unique(torch.randint(num_users * num_items, (500,), generator=g))
    pairs = pairs[torch.randperm(pairs.numel(), generator=g)]
    edges = torch.stack([pairs // num_items, pairs % num_items])
    train, test = edges[:, :350], edges[:, 350:]
    expected, n_users = reference(scores, test, train, (1, 5, 10))
    for batch_size in (1, 7, 64):
        out = full_ranking_metrics(score_rows(scores), test, [train], num_users, num_items,
                                   ks=(10, 1, 5), batch_size=batch_size)
        assert out["num_eval_users"] == n_users
        assert out["num_skipped_users"] == num_users - n_users
        for name, value in expected.items():
            assert out[name] == pytest.approx(value, abs=1e-12), name
