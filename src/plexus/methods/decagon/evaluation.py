"""Per-side-effect metrics, as the paper reports them: AUROC, AUPRC and AP@50 of each
relation's positives against its equally many negatives, then the mean and the median over
relations.

AUROC and AUPRC are scikit-learn's `roc_auc_score` and `average_precision_score` (computed
by `plexus.eval.link_prediction`, which is tested against them). AP@50 is the released
code's `apk(actual, predicted, k=50)`: rank positives and negatives together by score
(ties keep positives first, as the released code's stable sort of [positives, negatives]),
then sum precision@i over the hits i among the top 50, divided by min(#positives, 50).

A relation is evaluated on a split only if it has at least `min_edges` positives there;
the others are listed, not averaged (a stated exclusion).
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from plexus.atomic import atomic_write_bytes, atomic_write_text
from plexus.eval.link_prediction import average_precision, roc_auc

METRICS = ("auroc", "auprc", "ap@50")


def ap_at_k(pos: torch.Tensor, neg: torch.Tensor, k: int = 50) -> float:
    """The released code's AP@k (see the module docstring)."""
    scores = torch.cat([pos, neg]).double()
    labels = torch.cat([torch.ones(pos.numel()), torch.zeros(neg.numel())]).double()
    order = torch.argsort(scores, descending=True, stable=True)[:k]
    hits = labels[order]
    precision = torch.cumsum(hits, 0) / torch.arange(1, hits.numel() + 1, dtype=torch.float64)
    return float((precision * hits).sum() / min(pos.numel(), k)) if pos.numel() else 0.0


@dataclass
class RelationMetrics:
    """Per relation: #positives and each metric (NaN where the relation was not evaluated)."""

    positives: np.ndarray
    values: dict[str, np.ndarray]

    def evaluated(self) -> np.ndarray:
        return ~np.isnan(self.values["auroc"])

    def summary(self) -> dict[str, float]:
        """mean and median over the evaluated relations: {auroc, auroc_median, ...}."""
        ok = self.evaluated()
        out: dict[str, float] = {}
        for m in METRICS:
            v = self.values[m][ok]
            out[m] = float(v.mean()) if v.size else math.nan
            out[f"{m}_median"] = float(np.median(v)) if v.size else math.nan
        out["relations"] = float(ok.sum())
        return out


def relation_metrics(pos_scores: torch.Tensor, pos_rel: torch.Tensor, neg_scores: torch.Tensor,
                     neg_rel: torch.Tensor, num_relations: int, min_edges: int = 1, k: int = 50) -> RelationMetrics:
    pos_scores, neg_scores = pos_scores.detach().double().cpu(), neg_scores.detach().double().cpu()
    values = {m: np.full(num_relations, np.nan) for m in METRICS}
    counts = torch.bincount(pos_rel, minlength=num_relations).numpy()
    p_order, n_order = torch.argsort(pos_rel, stable=True), torch.argsort(neg_rel, stable=True)
    p_sorted, n_sorted = pos_scores[p_order], neg_scores[n_order]
    p_ptr = np.concatenate([[0], np.cumsum(counts)])
    n_ptr = np.concatenate([[0], np.cumsum(torch.bincount(neg_rel, minlength=num_relations).numpy())])
    for r in range(num_relations):
        if counts[r] < max(min_edges, 1) or n_ptr[r + 1] == n_ptr[r]:
            continue
        pos, neg = p_sorted[p_ptr[r]:p_ptr[r + 1]], n_sorted[n_ptr[r]:n_ptr[r + 1]]
        values["auroc"][r] = roc_auc(pos, neg)
        values["auprc"][r] = average_precision(pos, neg)
        values["ap@50"][r] = ap_at_k(pos, neg, k)
    return RelationMetrics(counts, values)


def write_relation_table(path: Path, names: list[str], texts: list[str], counts: dict[str, np.ndarray],
                         per_seed: list[dict[str, np.ndarray]], excluded: list[tuple[str, int, str]]) -> None:
    """CSV: one row per relation — name, text, #edges per split, each test metric's mean over
    seeds (blank where not evaluated) — then the relations excluded before training."""
    f = io.StringIO(newline="")
    w = csv.writer(f)
    w.writerow(["relation", "text", "train_edges", "val_edges", "test_edges",
                *[f"test_{m}" for m in METRICS], *[f"val_{m}" for m in METRICS], "status"])
    for r, name in enumerate(names):
        row = [name, texts[r], *[int(counts[s][r]) for s in ("train", "val", "test")]]
        for split in ("test", "val"):
            for m in METRICS:
                vals = [s[f"{split}_{m}"][r] for s in per_seed]
                row.append("" if np.isnan(vals).all() else f"{np.nanmean(vals):.6f}")
        row.append("evaluated" if row[5] != "" else "too few test edges to evaluate")
        w.writerow(row)
    for name, n, why in excluded:
        w.writerow([name, "", n, "", "", *[""] * (2 * len(METRICS)), f"excluded: {why}"])
    atomic_write_text(path, f.getvalue())


def plot_distribution(path: Path, per_relation: dict[str, np.ndarray], title: str) -> None:
    """Histogram of each test metric over relations (one panel per metric)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(METRICS), figsize=(10, 3))
    for ax, m in zip(axes, METRICS):
        v = per_relation[m][~np.isnan(per_relation[m])]
        ax.hist(v, bins=20, range=(0, 1), color="#4477aa")
        if v.size:
            ax.axvline(np.median(v), color="k", lw=1, ls="--", label=f"median {np.median(v):.3f}")
            ax.legend(fontsize=7)
        ax.set_xlabel(f"test {m.upper()}")
        ax.set_ylabel("relations")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())
