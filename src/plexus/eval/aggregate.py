"""Summaries over seeds: mean, std (sample, ddof=1) and standard error."""

from __future__ import annotations

import math
from typing import Iterable


def summarize(values: Iterable[float]) -> dict[str, float]:
    vals = [float(v) for v in values]
    n = len(vals)
    if n == 0:
        raise ValueError("summarize() needs at least one value")
    mean = sum(vals) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in vals) / (n - 1)) if n > 1 else 0.0
    return {"mean": mean, "std": std, "se": std / math.sqrt(n), "n": n}


def summarize_runs(runs: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    """Per-metric summary over a list of per-seed metric dicts (same keys in each)."""
    keys = list(runs[0])
    return {k: summarize(r[k] for r in runs) for k in keys}


def mean_std(metric: float | dict[str, float]) -> tuple[float, float]:
    """(mean, std) of a summarised metric; a plain number has std 0."""
    if isinstance(metric, dict):
        return metric["mean"], metric["std"]
    return float(metric), 0.0


def fmt(metric: float | dict[str, float], scale: float = 100.0, spread: str = "std") -> str:
    """`91.4 ± 0.3` (scaled to percent by default)."""
    if isinstance(metric, dict):
        return f"{metric['mean'] * scale:.1f} ± {metric[spread] * scale:.1f}"
    return f"{metric * scale:.1f}"


def summarize_seeds(records: list[dict], select_key: str, wall: float) -> tuple[dict, int]:
    """Metrics over the seeds' records (`record["metrics"]`, mean ± std/se) plus the wall time,
    and the index of the seed whose `select_key` (a validation metric) is best: the one a run
    exports."""
    metrics: dict = summarize_runs([r["metrics"] for r in records])
    metrics["wall_time_s"] = wall
    scores = [r["metrics"][select_key] for r in records]
    return metrics, max(range(len(scores)), key=lambda i: (scores[i], -i))
