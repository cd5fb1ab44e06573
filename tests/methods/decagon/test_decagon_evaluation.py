"""Per-relation metrics: AP@50 against a hand computation, AUROC/AUPRC equal to sklearn."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score, roc_auc_score

from plexus.methods.decagon.evaluation import ap_at_k, relation_metrics


def test_ap_at_k_by_hand():
    pos = torch.tensor([0.9, 0.5, 0.2])
    neg = torch.tensor([0.8, 0.4, 0.1])
    # ranking: .9 P, .8 N, .5 P, .4 N, .2 P, .1 N -> hits at 1, 3, 5
    assert ap_at_k(pos, neg, k=50) == pytest.approx((1 / 1 + 2 / 3 + 3 / 5) / 3, abs=1e-12)
    # top 2 only: one hit at rank 1, divided by min(3, 2)
    assert ap_at_k(pos, neg, k=2) == (1 / 1) / 2
    # ties keep positives first (the released code's stable sort of [positives, negatives])
    assert ap_at_k(torch.tensor([0.5]), torch.tensor([0.5]), k=1) == 1.0


def test_ap_at_50_matches_the_released_apk_on_many_scores():
    def apk(actual, predicted, k):  # mims-harvard/decagon main.py
        predicted = predicted[:k]
        score, hits = 0.0, 0.0
        for i, p in enumerate(predicted):
            if p in actual and p not in predicted[:i]:
                hits += 1.0
                score += hits / (i + 1.0)
        return score / min(len(actual), k)

    rng = np.random.default_rng(1)
    pos, neg = rng.normal(1, 1, 80), rng.normal(0, 1, 80)
    scores = np.concatenate([pos, neg])
    predicted = [i for _, i in sorted(zip(scores, range(160)), key=lambda t: t[0], reverse=True)]
    expect = apk(set(range(80)), predicted, 50)
    assert abs(ap_at_k(torch.tensor(pos), torch.tensor(neg), 50) - expect) < 1e-12


def test_per_relation_metrics_equal_sklearn_and_small_relations_are_excluded():
    rng = np.random.default_rng(0)
    pos_rel = torch.tensor([0] * 40 + [1] * 25 + [2] * 3)
    neg_rel = pos_rel[torch.randperm(pos_rel.numel())]
    pos = torch.tensor(rng.normal(0.5, 1, pos_rel.numel())).round(decimals=1)  # rounding makes ties
    neg = torch.tensor(rng.normal(0, 1, neg_rel.numel())).round(decimals=1)
    rm = relation_metrics(pos, pos_rel, neg, neg_rel, num_relations=4, min_edges=5)
    for r in (0, 1):
        p, n = pos[pos_rel == r].numpy(), neg[neg_rel == r].numpy()
        y = np.r_[np.ones(p.size), np.zeros(n.size)]
        s = np.r_[p, n]
        assert abs(rm.values["auroc"][r] - roc_auc_score(y, s)) < 1e-12
        assert abs(rm.values["auprc"][r] - average_precision_score(y, s)) < 1e-12
    assert np.isnan(rm.values["auroc"][2]) and np.isnan(rm.values["auroc"][3])  # 3 < 5 positives; none
    summary = rm.summary()
    assert summary["relations"] == 2
    assert abs(summary["auroc"] - np.mean(rm.values["auroc"][:2])) < 1e-12
    assert abs(summary["auprc_median"] - np.median(rm.values["auprc"][:2])) < 1e-12
