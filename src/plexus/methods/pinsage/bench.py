"""`plexus bench pinsage`: PinSage against the paper's baselines on the same queries.

Rows per dataset, all scored by `evaluation.ItemEvaluation` on the same test pairs/users:

- PinSage, and PinSage without hard negatives (`max_hard_negatives=0`, the paper's
  "-hard" ablation), trained by `plexus run pinsage` in worker processes;
- LightGCN's item embeddings (inner product), trained by `plexus run lightgcn` (its own
  selection on validation Recall@20);
- text-only nearest neighbours (the paper's "Annot." baseline): cosine of the LM
  embeddings of the item text, no training (datasets with item text only);
- a Pixie-style random-walk recommender (`VisitCountScorer`): items ranked by how often
  walks with restart from the query visit them, no training.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from plexus.bench import run_rows
from plexus.methods.pinsage.evaluation import ItemScorer, embedding_scorer
from plexus.sampling.random_walk import BipartiteCSR, WalkConfig, walk_visits


class VisitCountScorer:
    """Pixie-style scores: visit counts of `num_random_walks` walks with restart from each query.

    The same item -> user -> item walks as PinSage's neighbourhoods, but every visited item
    is scored (not only the top T). Seeded once, so a run is deterministic.
    """

    def __init__(self, graph: BipartiteCSR, cfg: WalkConfig, seed: int = 0):
        self.graph, self.cfg = graph, cfg
        self.gen = torch.Generator().manual_seed(seed)

    def __call__(self, queries: torch.Tensor) -> torch.Tensor:
        visits, _ = walk_visits(self.graph, queries, self.cfg, self.gen)
        counts = torch.zeros(queries.numel(), self.graph.num_items)
        return counts.scatter_add_(1, visits.clamp(min=0), (visits >= 0).float())


def text_scorer(features: torch.Tensor) -> ItemScorer:
    """Cosine similarity of the items' LM text embeddings (the "Annot." baseline)."""
    return embedding_scorer(F.normalize(features, dim=1))


PIXIE_WALKS = 2000  # walks per query for the visit-count baseline (200 measured clearly worse on ml-100k)

# PinSage budgets (full, quick); quick runs movielens-100k only. ml-1m has no times: each
# epoch draws `pairs_per_epoch` co-engagement pairs instead of one per training interaction.
PINSAGE = {
    "movielens-100k": ({"epochs": 15}, {"epochs": 2, "pairs_per_epoch": 4096, "num_random_walks": 50}),
    "ml-1m": ({"epochs": 8, "pairs_per_epoch": 50000}, None),
}
# LightGCN: the lightgcn bench's budget on movielens-100k; ml-1m shortened from its 60 epochs (22 min).
LIGHTGCN = {
    "movielens-100k": ({"epochs": 300, "eval_every": 10, "patience": 50}, {"epochs": 20, "eval_every": 5}),
    "ml-1m": ({"epochs": 20, "eval_every": 5, "patience": 50}, None),
}
COLUMNS = ("hit_rate@10", "hit_rate@20", "mrr", "mrr_unscaled", "user_hit_rate@10", "user_recall@20")


def _overrides(budget: dict) -> list[str]:
    return [f"{k}={v}" for k, v in budget.items()]


def _baselines(dataset: str, overrides: list[str], lightgcn_run: str) -> dict[str, dict[str, float]]:
    """Test metrics of the untrained baselines and of LightGCN's item embeddings, on PinSage's queries."""
    import numpy as np

    from plexus.methods.pinsage.algorithm import prepare, walk_config
    from plexus.runner import build_config

    cfg = build_config("pinsage", dataset=dataset, overrides=overrides)
    data = prepare(cfg)
    scorers: dict[str, ItemScorer] = {}
    if data.features is not None:
        scorers["Annot. (text nearest neighbours)"] = text_scorer(data.features)
    walks = walk_config(cfg)
    walks.num_random_walks = PIXIE_WALKS
    scorers[f"Pixie-style visit counts ({PIXIE_WALKS} walks)"] = VisitCountScorer(data.graph, walks, cfg.seed)
    lightgcn_items = np.load(f"{lightgcn_run}/artifacts/item_embeddings.npy")
    scorers["LightGCN item embeddings"] = embedding_scorer(torch.from_numpy(lightgcn_items))
    return {name: data.evaluation.evaluate(fn, "test") for name, fn in scorers.items()}


def bench(quick: bool = False, quiet: bool = True, out: str = "runs/bench", jobs: int | None = None) -> str:
    """PinSage, PinSage without hard negatives, LightGCN, text NN and visit counts on the same queries."""
    rows = {}
    budgets = {}
    for dataset, (full, small) in PINSAGE.items():
        budget = small if quick else full
        if budget is None:
            continue
        budgets[dataset] = _overrides(budget)
        lgcn = _overrides(LIGHTGCN[dataset][1 if quick else 0])
        rows[("lightgcn", dataset)] = ("lightgcn", dataset, lgcn)
        rows[("pinsage", dataset)] = ("pinsage", dataset, budgets[dataset] + ["num_workers=0"])
        rows[("pinsage-nohard", dataset)] = ("pinsage", dataset,
                                             budgets[dataset] + ["num_workers=0", "max_hard_negatives=0"])
    done = run_rows(dict(sorted(rows.items(), key=lambda kv: kv[0][1] != "ml-1m")), out, jobs)

    table = ["| dataset | model | hit@10 | hit@20 | MRR (paper, /100) | MRR | user HIT@10 | user Recall@20 | "
             "wall (min) |", "|---|---|---|---|---|---|---|---|---|"]

    def line(dataset: str, name: str, m: dict[str, float], wall: float | None) -> str:
        cells = " | ".join(f"{m[c]:.4f}" for c in COLUMNS)
        return f"| {dataset} | {name} | {cells} | {'-' if wall is None else f'{wall / 60:.1f}'} |"

    for dataset, overrides in budgets.items():
        for key, name in (("pinsage", "PinSage"), ("pinsage-nohard", "PinSage without hard negatives")):
            res, wall = done[(key, dataset)]
            m = {c: res["metrics"][f"test_{c}"]["mean"] for c in COLUMNS}
            table.append(line(dataset, name, m, wall))
        lgcn_res, lgcn_wall = done[("lightgcn", dataset)]
        for name, m in _baselines(dataset, overrides, lgcn_res["run_dir"]).items():
            table.append(line(dataset, name, m, lgcn_wall if name.startswith("LightGCN") else None))
    table += ["", "Test split, selection on validation only. Item-to-item: pairs (a user's held-out item, the next "
              "one the user engaged with), the target ranked among all items but the query; MRR (paper) = mean "
              "1/ceil(rank/100). User-level (DGL's example): the user's latest earlier item as the query, seen "
              "items masked, the user's test items as targets. Budgets: " + "; ".join(
                  f"{d}: PinSage {' '.join(o)}, LightGCN {' '.join(rows[('lightgcn', d)][2])}"
                  for d, o in budgets.items()) + ". Single-threaded worker processes."]
    return "\n".join(table)
