"""Link-prediction metrics and seed summaries, against values worked out by hand."""

from __future__ import annotations

import math

import pytest
import torch

from plexus.eval.aggregate import fmt, summarize, summarize_runs
from plexus.eval.link_prediction import hits_at_k, link_metrics, mrr

T = torch.tensor


# --------------------------------------------------------------------------- AUC / AP


def test_auc_and_ap_by_hand():
    # Ranked: 0.9 (+), 0.5 (-), 0.4 (+), 0.1 (-).
    # AUC: of the 4 (pos, neg) pairs, 3 are ordered correctly (0.4 < 0.5 is the miss) -> 0.75.
    # AP: precision at each positive: 1/1 at 0.9, 2/3 at 0.4 -> (1 + 2/3) / 2 = 5/6.
    m = link_metrics(T([0.9, 0.4]), T([0.5, 0.1]), ks=())
    assert m["auc"] == pytest.approx(0.75)
    assert m["ap"] == pytest.approx(5 / 6)


def test_auc_counts_a_tie_as_half():
    # pairs: (0.7 vs 0.7) tie = 1/2, (0.7 vs 0.2) = 1 -> 1.5 / 2
    assert link_metrics(T([0.7]), T([0.7, 0.2]), ks=())["auc"] == pytest.approx(0.75)


def test_perfect_and_inverted_rankings():
    good = link_metrics(T([0.9, 0.8, 0.7]), T([0.3, 0.2]), ks=(1, 2))
    assert good["auc"] == 1.0 and good["ap"] == 1.0 and good["mrr"] == 1.0
    assert good["hits@1"] == 1.0 and good["hits@2"] == 1.0
    bad = link_metrics(T([0.1, 0.2]), T([0.8, 0.9]), ks=(1,))
    assert bad["auc"] == 0.0 and bad["hits@1"] == 0.0
    assert bad["mrr"] == pytest.approx(1 / 3)  # both positives rank 3rd


def test_link_metrics_keys_and_empty_input():
    m = link_metrics(T([0.9, 0.4]), T([0.5, 0.1, 0.3]), ks=(1, 3, 4))
    assert set(m) == {"auc", "ap", "hits@1", "hits@3", "mrr"}  # hits@4 > 3 negatives: omitted
    with pytest.raises(ValueError):
        link_metrics(T([]), T([0.1]))
    with pytest.raises(ValueError):
        link_metrics(T([0.1]), T([]))


# ---------------------------------------------------------------------------- Hits@K


def test_hits_at_k_by_hand():
    pos = T([0.9, 0.6, 0.4, 0.2])
    neg = T([0.5, 0.7, 0.1])  # sorted: 0.7, 0.5, 0.1
    h = hits_at_k(pos, neg, (1, 2, 3, 4))
    # K=1: above 0.7 -> {0.9} = 1/4; K=2: above 0.5 -> {0.9, 0.6} = 2/4; K=3: above 0.1 -> all
    assert h == {"hits@1": 0.25, "hits@2": 0.5, "hits@3": 1.0}  # K=4 > #neg: omitted


def test_hits_at_k_is_strict_at_the_kth_negative():
    # A positive equal to the K-th best negative is not a hit (OGB's `>`).
    h = hits_at_k(T([0.5, 0.6]), T([0.5, 0.3]), (1,))
    assert h["hits@1"] == 0.5


# ------------------------------------------------------------------------------- MRR


def test_mrr_without_ties_by_hand():
    # neg: 0.8, 0.5, 0.3. pos 0.9 -> rank 1; pos 0.6 -> rank 2; pos 0.1 -> rank 4.
    assert mrr(T([0.9, 0.6, 0.1]), T([0.8, 0.5, 0.3])) == pytest.approx((1 + 1 / 2 + 1 / 4) / 3)


def test_mrr_with_ties_averages_optimistic_and_pessimistic_rank():
    neg = T([0.5, 0.7, 0.5, 0.1])
    # pos 0.5: strictly above it 1 (0.7) -> optimistic rank 2; at-or-above 3 -> pessimistic 4;
    #          rank = (2 + 4) / 2 = 3.
    # pos 0.7: optimistic 1, pessimistic 2 -> 1.5.
    # pos 0.1: optimistic 4, pessimistic 5 -> 4.5.
    expected = (1 / 3 + 1 / 1.5 + 1 / 4.5) / 3
    assert mrr(T([0.5, 0.7, 0.1]), neg) == pytest.approx(expected)
    assert link_metrics(T([0.5, 0.7, 0.1]), neg, ks=())["mrr"] == pytest.approx(expected)


def test_mrr_all_tied_is_not_rewarded():
    # One positive tied with 9 negatives: ranks 1..10 equally likely -> mean rank 5.5.
    assert mrr(T([0.3]), torch.full((9,), 0.3)) == pytest.approx(1 / 5.5)


# ------------------------------------------------------------------------- summaries


def test_summarize_mean_std_se():
    s = summarize([1.0, 2.0, 4.0])
    mean = 7 / 3
    std = math.sqrt(((1 - mean) ** 2 + (2 - mean) ** 2 + (4 - mean) ** 2) / 2)  # ddof=1
    assert s["mean"] == pytest.approx(mean)
    assert s["std"] == pytest.approx(std)
    assert s["se"] == pytest.approx(std / math.sqrt(3))
    assert s["n"] == 3


def test_summarize_two_values_and_single_value():
    s = summarize([0.8, 0.9])
    assert s["std"] == pytest.approx(math.sqrt(0.005))  # (0.05^2 * 2) / 1
    assert s["se"] == pytest.approx(0.05)
    assert summarize([0.7]) == {"mean": 0.7, "std": 0.0, "se": 0.0, "n": 1}
    with pytest.raises(ValueError):
        summarize([])


def test_summarize_runs_and_fmt():
    runs = [{"auc": 0.9, "ap": 0.8}, {"auc": 0.7, "ap": 0.8}]
    out = summarize_runs(runs)
    assert set(out) == {"auc", "ap"}
    assert out["auc"]["mean"] == pytest.approx(0.8) and out["ap"]["std"] == 0.0
    assert fmt(out["auc"]) == f"80.0 ± {100 * math.sqrt(0.02):.1f}"
    assert fmt(0.9134) == "91.3"


@pytest.mark.parametrize("trial", range(25))
def test_auc_and_ap_match_scikit_learn_with_ties(trial):
    """Our torch AUC/AP equal scikit-learn's on random scores with many ties."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    from plexus.eval.link_prediction import average_precision, roc_auc

    g = torch.Generator().manual_seed(trial)
    pos = torch.randint(0, 10, (int(torch.randint(1, 60, (1,), generator=g)),), generator=g).float() / 10
    neg = torch.randint(0, 10, (int(torch.randint(1, 60, (1,), generator=g)),), generator=g).float() / 10
    labels = [1] * pos.numel() + [0] * neg.numel()
    scores = torch.cat([pos, neg]).numpy()
    assert roc_auc(pos, neg) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    assert average_precision(pos, neg) == pytest.approx(average_precision_score(labels, scores), abs=1e-12)
