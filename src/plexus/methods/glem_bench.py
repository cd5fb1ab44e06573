"""`plexus bench glem`: GLEM against the baselines it builds on, same splits and seeds.

Rows, per split (supervised 60/20/20 and semi-supervised 20 per class):
1. GCN on TF-IDF of the text, 2. MLP on frozen MiniLM embeddings, 3. GCN on frozen MiniLM
embeddings (`plexus run gnn`), 4. fine-tuned MiniLM alone, 5. GLEM-LM, 6. GLEM-GNN
(`plexus run glem`). Row 4 is the `lm_pretrain` stage of the same GLEM run — the LM
fine-tuned on gold labels before any EM step — so it costs nothing extra; its wall time
is that stage's. Every row is an ordinary run in a worker process (`plexus.bench.run_rows`).
"""

from __future__ import annotations

from typing import Any

SPLITS = ("semi", "supervised")
# The semi-supervised split has 120 gold nodes: more LM passes over them, more pseudo-labels
# per step (8 x #gold) and a second EM iteration; the supervised split runs the defaults.
GLEM_SPLIT = {"semi": ["lm.pretrain_epochs=10", "pl_ratio=8", "em_iters=2"], "supervised": []}


def _value(m: dict[str, Any], key: str) -> tuple[float, float]:
    v = m[key]
    return (v["mean"], v["std"]) if isinstance(v, dict) else (float(v), 0.0)


def _cell(m: dict[str, Any], key: str) -> str:
    mean, std = _value(m, key)
    return f"{100 * mean:.1f} ± {100 * std:.1f}"


def bench(quick: bool = False, quiet: bool = True, out: str = "runs/bench", jobs: int | None = None,
          seeds: int = 5, glem_overrides: list[str] | None = None) -> str:
    from plexus.bench import run_rows

    glem_extra = list(glem_overrides or [])
    if quick:  # the `quick` preset's LM budget, 2 seeds: a smoke test of the whole table
        seeds = min(seeds, 2)
        glem_extra = ["lm.max_length=64", "lm.pretrain_epochs=1.0", "lm.em_epochs=0.5"] + glem_extra
    baselines = {
        "GCN on TF-IDF": ["features=tfidf", "model.kind=gcn"],
        "MLP on frozen MiniLM": ["features=lm", "model.kind=mlp"],
        "GCN on frozen MiniLM": ["features=lm", "model.kind=gcn"],
    }
    rows = {}
    for split in SPLITS:  # GLEM first: the longest rows start first
        rows[("glem", split)] = ("glem", "citeseer-tag",
                                 [f"seeds={seeds}", f"split.kind={split}"] + GLEM_SPLIT[split] + glem_extra)
    for split in SPLITS:
        for name, over in baselines.items():
            rows[(name, split)] = ("gnn", "citeseer-tag", [f"seeds={seeds}", f"split.kind={split}"] + over)
    done = run_rows(rows, out, jobs)

    table = ["| split | model | val acc | test acc | wall (min) |", "|---|---|---|---|---|"]
    for split in SPLITS:
        for name in baselines:
            res, wall = done[(name, split)]
            m = res["metrics"]
            table.append(f"| {split} | {name} | {_cell(m, 'val_acc')} | {_cell(m, 'test_acc')} | {wall / 60:.1f} |")
        res, wall = done[("glem", split)]
        m = res["metrics"]
        pre_min = _value(m, "seconds_lm_pretrain")[0] * seeds / 60
        table.append(f"| {split} | Fine-tuned MiniLM (GLEM's lm_pretrain stage) | {_cell(m, 'val_acc_lm_pretrain')} | "
                     f"{_cell(m, 'test_acc_lm_pretrain')} | {pre_min:.1f} |")
        for kind, label in (("lm", "GLEM-LM"), ("gnn", "GLEM-GNN")):
            table.append(f"| {split} | {label} | {_cell(m, f'val_acc_glem_{kind}')} | "
                         f"{_cell(m, f'test_acc_glem_{kind}')} | {wall / 60:.1f} |")
    glem_proto = done[("glem", "supervised")][0]["protocol"]
    table += ["", f"citeseer-tag (3,186 papers, 6 classes), accuracy in %, mean ± std over {seeds} seeds (seed i draws "
              f"the same split for every row). Baselines: 2-layer, hidden 256, Adam lr 0.01, weight decay 5e-4, "
              f"best-validation epoch. GLEM (supervised): {glem_proto}. GLEM semi-supervised adds "
              f"{', '.join(GLEM_SPLIT['semi'])}. GLEM rows share one run's wall time. "
              f"The GLEM paper reports no CiteSeer figure (its tables are ogbn-arxiv/products/papers100M)."]
    return "\n".join(table)
