"""report.md for a run directory: the metrics table and training-curve plots."""

from __future__ import annotations

import io
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")  # headless: runs write PNGs, never open windows
import matplotlib.pyplot as plt  # noqa: E402

from plexus.atomic import atomic_write_bytes, atomic_write_text  # noqa: E402
from plexus.result import Result  # noqa: E402
from plexus.train.rundir import RunDir  # noqa: E402


def plot_curves(run: RunDir, keys: list[str], x_key: str = "epoch", group_key: str = "seed") -> list[str]:
    """One PNG per history key, one line per group (seed); returns the file names."""
    history = run.history()
    names = []
    for key in keys:
        series: dict = defaultdict(lambda: ([], []))
        for rec in history:
            if key in rec and x_key in rec:
                xs, ys = series[rec.get(group_key, 0)]
                xs.append(rec[x_key])
                ys.append(rec[key])
        if not series:
            continue
        fig, ax = plt.subplots(figsize=(5, 3.2))
        for group, (xs, ys) in sorted(series.items()):
            ax.plot(xs, ys, lw=1, alpha=0.8, label=f"{group_key} {group}")
        ax.set_xlabel(x_key)
        ax.set_ylabel(key)
        if len(series) <= 10:
            ax.legend(fontsize=6)
        fig.tight_layout()
        name = f"curve_{key}.png"
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110)
        atomic_write_bytes(run.path / name, buf.getvalue())
        plt.close(fig)
        names.append(name)
    return names


def _cell(value) -> str:
    if isinstance(value, dict):
        return f"{value['mean']:.4f} ± {value['std']:.4f} (se {value['se']:.4f}, n={value['n']})"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def write_report(run: RunDir, result: Result, curves: list[str], x_key: str = "epoch") -> None:
    """report.md with the metrics table and a plot per curve over `x_key` (a history key:
    "epoch", or "stage_index" for methods that log stages, as GLEM)."""
    plots = plot_curves(run, curves, x_key=x_key)
    lines = [
        f"# {result.method} on {result.dataset}",
        "",
        f"**Protocol.** {result.protocol}",
        "",
        "| metric | value |",
        "|---|---|",
        *[f"| {k} | {_cell(v)} |" for k, v in result.metrics.items()],
        "",
        *[f"![{p}]({p})" for p in plots],
        "",
        "Config: `config.yaml`. Per-epoch history: `history.jsonl`.",
    ]
    atomic_write_text(run.path / "report.md", "\n".join(lines) + "\n")
