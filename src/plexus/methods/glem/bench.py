"""`plexus bench glem`: GLEM against the baselines it builds on, same splits and seeds.

Rows, per split (supervised 60/20/20 and semi-supervised 20 per class):
1. GCN on TF-IDF of the text, 2. MLP on frozen MiniLM embeddings, 3. GCN on frozen MiniLM
embeddings (`plexus run gnn`), 4. fine-tuned MiniLM alone, 5. GCN on the fine-tuned
MiniLM's embeddings, 6. GLEM-LM, 7. GLEM-GNN (`plexus run glem`). Rows 4 and 5 are the
`lm_pretrain` / `gnn_pretrain` stages of the same GLEM run (before any EM step), so they
cost nothing extra; their wall time is that stage's. GLEM-LM / GLEM-GNN are chosen on
validation among the EM iterations only. Every row is an ordinary run in a worker process
(`plexus.bench.run_rows`). `quick`: 3 seeds and a small LM budget (32 tokens, half a
pretraining epoch, a quarter epoch per E-step; the semi-supervised split keeps its 10
pretraining epochs over 120 nodes).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from plexus.bench import run_rows
from plexus.eval.aggregate import fmt, mean_std

SPLITS = ("semi", "supervised")
BASELINES = ("GCN on TF-IDF", "MLP on frozen MiniLM", "GCN on frozen MiniLM")
# The semi-supervised split has 120 gold nodes: more LM passes over them and more
# pseudo-labels per step (8 x #gold, LM and GNN); the supervised split runs the defaults.
# The GLEM run skips its own frozen-LM GNN: row 3 is that baseline, run as `plexus run gnn`.
GLEM_SPLIT = {"semi": ["lm.pretrain_epochs=10", "lm_pl_ratio=8", "gnn_pl_ratio=8"], "supervised": []}
GLEM_BENCH = ["frozen_start=false"]
# `quick`: a smaller LM budget than configs/glem/quick.yaml (64 tokens, 1 + 0.5 epochs), so the
# whole table (2 splits x 3 seeds x 2 EM iterations, plus the baselines) fits in about an hour
# on a shared 2-core CPU.
QUICK = ["lm.max_length=32", "lm.pretrain_epochs=0.5", "lm.em_epochs=0.25"]
QUICK_SEEDS = 3


def bench(quick: bool = False, quiet: bool = True, out: str = "runs/bench", jobs: int | None = None,
          seeds: int = 5, glem_overrides: list[str] | None = None) -> str:
    glem_extra = GLEM_BENCH + list(glem_overrides or [])
    quick_extra = []
    if quick:
        seeds = min(seeds, QUICK_SEEDS)
        quick_extra = QUICK
    baselines = dict(zip(BASELINES, (["features=tfidf", "model.kind=gcn"], ["features=lm", "model.kind=mlp"],
                                     ["features=lm", "model.kind=gcn"])))
    rows = {}
    for split in SPLITS:  # GLEM first: the longest rows start first
        rows[("glem", split)] = ("glem", "citeseer-tag",
                                 [f"seeds={seeds}", f"split.kind={split}"] + quick_extra + GLEM_SPLIT[split] + glem_extra)
    for split in SPLITS:
        for name, over in baselines.items():
            rows[(name, split)] = ("gnn", "citeseer-tag", [f"seeds={seeds}", f"split.kind={split}"] + over)
    done = run_rows(rows, out, jobs)
    return table({key: res for key, (res, _) in done.items()}, {key: wall for key, (_, wall) in done.items()})


def _baseline_name(res: dict[str, Any]) -> str:
    """Which baseline row a `gnn` result is, from its protocol string."""
    proto = res["protocol"]
    model = proto.split(" ", 1)[0]
    return ("GCN on TF-IDF" if "TF-IDF" in proto else
            "MLP on frozen MiniLM" if model == "MLP" else "GCN on frozen MiniLM")


def table_from_run_dirs(paths: list[str | Path]) -> str:
    """The bench table from finished `glem` / `gnn` run directories (their metrics.json).

    For suites run as separate commands (e.g. resumed after a kill, or with other seeds).
    Wall times are the runs' own training times.
    """
    results, walls = {}, {}
    for path in paths:
        res = json.loads((Path(path) / "metrics.json").read_text())
        split = "semi" if "semi-supervised" in res["protocol"] else "supervised"
        m = res["metrics"]
        if res["method"] == "glem":
            key = ("glem", split)
            walls[key] = mean_std(m["train_minutes"])[0] * m["train_minutes"]["n"] * 60
        else:
            key = (_baseline_name(res), split)
            walls[key] = float(m["wall_time_s"])
        results[key] = res
    return table(results, walls)


def table(results: dict[tuple[str, str], dict[str, Any]], walls: dict[tuple[str, str], float]) -> str:
    """Markdown rows per split: the three baselines, the fine-tuned LM (and the GCN on it),
    GLEM-LM, GLEM-GNN. A row whose run is missing (a killed suite) says so."""
    rows = ["| split | model | seeds | val acc | test acc | wall (min) |", "|---|---|---|---|---|---|"]
    for split in SPLITS:
        for name in BASELINES:
            if (name, split) not in results:
                rows.append(f"| {split} | {name} | 0 | not finished | | |")
                continue
            m = results[(name, split)]["metrics"]
            rows.append(f"| {split} | {name} | {m['test_acc']['n']} | {fmt(m['val_acc'])} | "
                        f"{fmt(m['test_acc'])} | {walls[(name, split)] / 60:.1f} |")
        if ("glem", split) not in results or not results[("glem", split)]["metrics"]:
            rows.append(f"| {split} | GLEM (all rows) | 0 | not finished | | |")
            continue
        m = results[("glem", split)]["metrics"]
        n = m["test_acc_glem_gnn"]["n"]
        pre_min = mean_std(m["seconds_lm_pretrain"])[0] * n / 60
        rows.append(f"| {split} | Fine-tuned MiniLM (GLEM's lm_pretrain stage) | {n} | "
                    f"{fmt(m['val_acc_lm_pretrain'])} | {fmt(m['test_acc_lm_pretrain'])} | {pre_min:.1f} |")
        gnn_min = mean_std(m["seconds_gnn_pretrain"])[0] * n / 60
        rows.append(f"| {split} | GCN on fine-tuned MiniLM (GLEM's gnn_pretrain stage) | {n} | "
                    f"{fmt(m['val_acc_gnn_pretrain'])} | {fmt(m['test_acc_gnn_pretrain'])} | {gnn_min:.1f} |")
        for kind, label in (("lm", "GLEM-LM"), ("gnn", "GLEM-GNN")):
            rows.append(f"| {split} | {label} | {n} | {fmt(m[f'val_acc_glem_{kind}'])} | "
                        f"{fmt(m[f'test_acc_glem_{kind}'])} | {walls[('glem', split)] / 60:.1f} |")
        rows.append(f"| {split} | GLEM stages (mean val / test) | {n} | " + "; ".join(
            f"{k[len('val_acc_'):]} {100 * mean_std(m[k])[0]:.1f} / {100 * mean_std(m['test_' + k[4:]])[0]:.1f}"
            for k in m if k.startswith("val_acc_") and "glem" not in k) + " | | |")
    glem_proto = results.get(("glem", "supervised"), {}).get("protocol", "not finished")
    rows += ["", f"citeseer-tag (3,186 papers, 6 classes), accuracy in %, mean ± std over the seeds shown (seed i "
             f"draws the same split for every row). Baselines: 2-layer, hidden 256, Adam lr 0.01, weight decay 5e-4, "
             f"best-validation epoch; frozen MiniLM = mean-pooled, 256 tokens. GLEM (supervised): {glem_proto}. "
             f"GLEM semi-supervised adds {', '.join(GLEM_SPLIT['semi'])}. GLEM-LM / GLEM-GNN share one run's wall "
             f"time. The GLEM paper reports no CiteSeer figure (its tables are ogbn-arxiv/products/papers100M)."]
    return "\n".join(rows)
