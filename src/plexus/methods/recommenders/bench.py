"""`plexus bench lightgcn` (also `mf`, `pop`): popularity vs MF-BPR vs LightGCN at equal
budget per dataset, Gowalla beside the paper's Table 3/4 (He et al., SIGIR 2020)."""

from __future__ import annotations

from plexus.bench import run_rows
from plexus.eval.aggregate import mean_std

# He et al. 2020, Table 3/4, Gowalla (Recall@20, NDCG@20): LightGCN and its MF baseline.
PAPER = {("gowalla", "lightgcn"): (0.1830, 0.1554), ("gowalla", "mf"): (0.1291, 0.1109)}

# The CPU budget on Gowalla: the paper's model and optimiser, bounded (configs/lightgcn/gowalla-cpu.yaml).
GOWALLA_CPU = {"epochs": 20, "eval_every": 5, "patience": 50, "max_minutes": 30.0}

# Equal budget per dataset: every learned model gets the same epochs, validation schedule and
# early stopping; popularity needs none. (full, quick)
BUDGETS = {
    "movielens-100k": ({"epochs": 300, "eval_every": 10, "patience": 50}, {"epochs": 20, "eval_every": 5}),
    "ml-1m": ({"epochs": 60, "eval_every": 5, "patience": 50, "max_minutes": 60.0},
              {"epochs": 3, "eval_every": 3}),
    "gowalla": (GOWALLA_CPU, None),  # skipped in quick mode
}


def bench(quick: bool = False, quiet: bool = True, out: str = "runs/bench", jobs: int | None = None) -> str:
    """Popularity vs MF-BPR vs LightGCN at equal budget; Gowalla beside the paper."""


    rows = []
    for dataset, (full, small) in BUDGETS.items():
        budget = small if quick else full
        if budget is None:
            continue
        for method in ("lightgcn", "mf", "pop"):
            rows.append((method, dataset, {} if method == "pop" else dict(budget)))
    order = sorted(rows, key=lambda r: (r[1] != "gowalla", r[1] != "ml-1m", r[0] == "pop"))  # longest first
    done = run_rows({(m, d): (m, d, [f"{k}={v}" for k, v in o.items()]) for m, d, o in order}, out, jobs)

    names = {"pop": "Popularity", "mf": "MF-BPR", "lightgcn": "LightGCN"}
    table = ["| dataset | model | epochs (best / run) | Recall@20 | NDCG@20 | paper Recall@20 | paper NDCG@20 | "
             "wall (min) |", "|---|---|---|---|---|---|---|---|"]
    for method, dataset, overrides in rows:
        res, wall = done[(method, dataset)]
        m = res["metrics"]

        def val(key):
            return mean_std(m[key])[0]

        epochs = "-" if method == "pop" else f"{val('best_epoch'):.0f} / {val('epochs_run'):.0f}"
        paper = PAPER.get((dataset, method))
        p_rec, p_ndcg = (f"{paper[0]:.4f}", f"{paper[1]:.4f}") if paper else ("-", "-")
        table.append(f"| {dataset} | {names[method]} | {epochs} | {val('test_recall@20'):.4f} | "
                     f"{val('test_ndcg@20'):.4f} | {p_rec} | {p_ndcg} | {wall / 60:.1f} |")
    budgets = "; ".join(
        f"{d}: " + ", ".join(f"{k}={v}" for k, v in (b[1] if quick else b[0]).items())
        for d, b in BUDGETS.items() if (b[1] if quick else b[0]) is not None)
    table += ["", f"Equal budget per dataset for MF-BPR and LightGCN ({budgets}); otherwise each model's defaults "
              f"(64-d, lr 0.001, batch 2048, reg 1e-4, uniform negatives; LightGCN 3 layers). Test metrics of the "
              f"best-validation epoch, full ranking over all items. Single-threaded worker processes. "
              f"Gowalla has no validation file: 10% of each user's training interactions are held out for "
              f"validation, so the models train on 90% of the paper's training set."]
    return "\n".join(table)
