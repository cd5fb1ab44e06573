"""`plexus bench vgae` (and `gae`): GAE and VGAE, with and without features, on cora and
citeseer beside Table 1 of Kipf & Welling 2016."""

from __future__ import annotations

from plexus.bench import run_rows

# Kipf & Welling 2016, Table 1 (AUC, AP in %, mean over 10 runs; * = without features).
PAPER_TABLE = {
    ("gae", "cora", False): (84.3, 88.1), ("vgae", "cora", False): (84.0, 87.7),
    ("gae", "citeseer", False): (78.7, 84.1), ("vgae", "citeseer", False): (78.9, 84.1),
    ("gae", "cora", True): (91.0, 92.0), ("vgae", "cora", True): (91.4, 92.6),
    ("gae", "citeseer", True): (89.5, 89.9), ("vgae", "citeseer", True): (90.8, 92.0),
}


def bench(quick: bool = False, quiet: bool = True, out: str = "runs/bench", jobs: int | None = None) -> str:
    """GAE and VGAE, with and without features, on cora and citeseer beside Table 1."""
    seeds = 3 if quick else 10
    keys = sorted(PAPER_TABLE, key=lambda k: k[1] != "citeseer")  # largest graph first
    done = run_rows({(m, d, x): (m, d, [f"seeds={seeds}", f"features={'raw' if x else 'none'}"])
                     for m, d, x in keys}, out, jobs)
    rows = ["| model | dataset | features | paper AUC | ours AUC | paper AP | ours AP | seeds | wall (s) |",
            "|---|---|---|---|---|---|---|---|---|"]
    for key, (p_auc, p_ap) in PAPER_TABLE.items():
        method, dataset, with_x = key
        res, wall = done[key]
        auc, ap = res["metrics"]["test_auc"], res["metrics"]["test_ap"]
        rows.append(
            f"| {method.upper()}{'' if with_x else '*'} | {dataset} | {'yes' if with_x else 'no'} | {p_auc:.1f} | "
            f"{100 * auc['mean']:.1f} ± {100 * auc['se']:.1f} | {p_ap:.1f} | {100 * ap['mean']:.1f} ± {100 * ap['se']:.1f} | "
            f"{seeds} | {wall:.1f} |"
        )
    rows += ["", f"Ours: mean ± standard error over {seeds} seeds (the paper: mean ± se over 10 runs); "
             f"single-threaded worker processes. Protocol of every row (features aside): {res['protocol']}."]
    return "\n".join(rows)
