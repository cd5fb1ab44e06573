"""`plexus bench pinsage`: PinSage against the paper's baselines on the same queries, fairly.

Every row is scored by `evaluation.ItemEvaluation` on the same validation and test pairs
(a user's items of one moment, or of the next moment within the hour), and every trained
row is selected by the same validation metric, item-to-item hit@10:

- PinSage, PinSage + item bias, and PinSage without hard negatives (the paper's "-hard"
  ablation), each a `plexus run pinsage` per seed;
- LightGCN's item embeddings (inner product), trained here with the recommenders' own
  LightGCN parts (`recommenders.bpr.seed_parts`) through `train/loop.py`, but validated and
  selected on item-to-item hit@10 like PinSage (its own bench selects on user Recall@20);
- untrained baselines: text nearest neighbours (the paper's "Annot."), Pixie-style visit
  counts of random walks (`VisitCountScorer`), and item popularity (the target's training
  count, whatever the query: the strongest simple baseline when targets are popular).

Trained rows get the same wall-clock budget per seed (`MINUTES`) with early stopping on
validation, over `SEEDS` seeds; cells are mean ± std over seeds. The difference PinSage -
LightGCN gets a paired bootstrap interval over test pairs (per-pair expected hit@10,
averaged over seeds, pairs resampled). Test hit@10 is also broken down by the target's
training popularity (head: the most popular items holding a third of the training
interactions; tail: the least popular holding a third; torso: between).

The cold-item table holds out a random 20 % of the items (a new draw per seed) from the
training graph entirely; PinSage embeds them after training from their text and their
training interactions (`cold_items`, as `plexus embed --new-items`). LightGCN cannot embed
an unseen id: its honest fallback is the mean of its trained item vectors. Pixie-style
walks and popularity use the cold items' interactions once they arrive (no training);
text neighbours need none. Test pairs whose target is a cold item.
"""

from __future__ import annotations

import multiprocessing as mp
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import replace

import numpy as np
import torch
import torch.nn.functional as F

from plexus.eval.item_to_item import pair_ranks
from plexus.methods.pinsage.evaluation import ItemScorer, embedding_scorer
from plexus.sampling.random_walk import BipartiteCSR, WalkConfig, bipartite_csr, walk_visits


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


def popularity_scorer(train: torch.Tensor, num_items: int) -> ItemScorer:
    """Every query gets the items by training count (ties: random in expectation)."""
    counts = torch.bincount(train[1], minlength=num_items).float()
    return lambda q: counts.expand(q.numel(), -1)


PIXIE_WALKS = 2000  # walks per query for the visit-count baseline (200 measured clearly worse on ml-100k)
SEEDS = 3
MINUTES = 4.0  # wall-clock budget per trained seed, the same for every trained row
COLD_SHARE = 0.2
# PinSage: more epochs of fewer pairs, so the curriculum reaches its hard negatives in the budget
PINSAGE = ["epochs=30", "patience=5", "pairs_per_epoch=16384", "num_random_walks=100", "num_workers=0",
           "threads=1", f"max_minutes={MINUTES}"]
LIGHTGCN = {"epochs": 400, "eval_every": 5, "patience": 30, "max_minutes": MINUTES}
QUICK = {"seeds": 2, "pinsage": ["epochs=2", "pairs_per_epoch=2048", "num_random_walks=20", "hidden_dim=32",
                                  "dim=16", "num_negatives=100", "num_workers=0", "threads=1"],
         "lightgcn": {"epochs": 10, "eval_every": 5, "patience": 30, "max_minutes": 1.0}}
VARIANTS = {"PinSage": [], "PinSage + item bias": ["item_bias=true"],
            "PinSage without hard negatives": ["max_hard_negatives=0"]}


def _pinsage_row(dataset: str, overrides: list[str], out: str) -> tuple[dict, float]:
    from plexus.bench import _run_row

    return _run_row("pinsage", dataset, overrides, out)


def _lightgcn_row(dataset: str, seed: int, cold: float, budget: dict, out: str) -> tuple[dict, float]:
    """One LightGCN seed selected on item-to-item validation hit@10; its item embeddings."""
    torch.set_num_threads(1)
    from plexus.methods.pinsage.algorithm import prepare
    from plexus.methods.recommenders.bpr import seed_parts
    from plexus.methods.recommenders.lightgcn import SPEC
    from plexus.runner import build_config
    from plexus.train.loop import LoopSettings, train_seed
    from plexus.train.rundir import RunDir

    t0 = time.perf_counter()
    cfg = build_config("lightgcn", dataset=dataset, overrides=[f"seed={seed}", "threads=1"] +
                       [f"{k}={v}" for k, v in budget.items()])
    data = prepare(build_config("pinsage", dataset=dataset, overrides=[f"seed={seed}", f"cold_items={cold}"]))
    split, models = data.split, []

    def items() -> torch.Tensor:
        emb = models[0].final()[1].detach().cpu().float()
        if data.cold is not None:  # an unseen id has no vector: the mean of the trained ones
            emb = emb.clone()
            emb[data.cold] = emb[~data.cold].mean(0)
        return emb

    def setup(gen):
        parts = seed_parts(SPEC, cfg, split, gen)
        models.append(parts.model)
        return replace(parts, validate=lambda: data.evaluation.item_to_item(embedding_scorer(items()), "val"),
                       test=lambda: {"hit_rate@10": 0.0})

    def finish(fitted, _test):
        return {"item_emb": items().numpy(), "val": fitted.best_val, "best_epoch": fitted.best_epoch,
                "epochs_run": fitted.epochs_run}

    run = RunDir.create(out, "lightgcn-i2i", f"{dataset}-seed{seed}{'-cold' if cold else ''}")
    settings = LoopSettings(cfg.epochs, cfg.eval_every, "hit_rate@10", cfg.patience, cfg.max_minutes)
    record = train_seed(run, 0, seed, setup, settings, finish, True)
    return {"run_dir": str(run.path), **record}, time.perf_counter() - t0


def _expected_hits(score_fn: ItemScorer, pairs: torch.Tensor, num_items: int, k: int = 10) -> np.ndarray:
    """Per-pair expected hit@k (ties broken at random in expectation, as item_to_item does)."""
    g, e = (x.double() for x in pair_ranks(score_fn, pairs, num_items))
    return ((k - g).clamp(min=0).minimum(e + 1) / (e + 1)).numpy()


def _popularity_groups(train: torch.Tensor, num_items: int) -> np.ndarray:
    """[num_items] 0 = head, 1 = torso, 2 = tail: thirds of the training interactions by item popularity."""
    counts = torch.bincount(train[1], minlength=num_items).numpy()
    order = np.argsort(-counts, kind="stable")
    share = np.cumsum(counts[order]) / max(counts.sum(), 1)
    group = np.empty(num_items, dtype=np.int64)
    group[order] = np.where(share <= 1 / 3, 0, np.where(share <= 2 / 3, 1, 2))
    return group


def _bootstrap(diff: np.ndarray, n: int = 2000, seed: int = 0) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    means = np.array([diff[rng.integers(0, diff.size, diff.size)].mean() for _ in range(n)])
    return float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


def _ms(values) -> str:
    v = np.asarray(values, dtype=np.float64)
    return f"{v.mean():.4f} ± {v.std(ddof=1) if v.size > 1 else 0.0:.4f}"


def _run_all(tasks: dict, jobs: int) -> dict:
    t0 = time.perf_counter()
    done = {}
    with ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn")) as pool:
        futures = {pool.submit(fn, *args): key for key, (fn, args) in tasks.items()}
        for i, future in enumerate(as_completed(futures), 1):
            key = futures[future]
            done[key] = future.result()
            print(f"[bench {i}/{len(tasks)}] {key}: {done[key][1]:.0f} s ({time.perf_counter() - t0:.0f} s elapsed)",
                  file=sys.stderr, flush=True)
    return done


def bench(quick: bool = False, quiet: bool = True, out: str = "runs/bench", jobs: int | None = None) -> str:
    """The warm and cold item-to-item tables on movielens-100k (see the module docstring)."""
    from plexus.methods.pinsage.algorithm import prepare, query_vectors, walk_config
    from plexus.runner import build_config

    dataset = "movielens-100k"
    seeds = list(range(QUICK["seeds"] if quick else SEEDS))
    base = QUICK["pinsage"] if quick else PINSAGE
    lgcn = QUICK["lightgcn"] if quick else LIGHTGCN
    t_start = time.perf_counter()
    tasks = {}
    for s in seeds:
        tasks[("LightGCN", s, 0.0)] = (_lightgcn_row, (dataset, s, 0.0, lgcn, out))
        tasks[("LightGCN", s, COLD_SHARE)] = (_lightgcn_row, (dataset, s, COLD_SHARE, lgcn, out))
        for name, extra in VARIANTS.items():
            tasks[(name, s, 0.0)] = (_pinsage_row, (dataset, base + extra + [f"seed={s}", "seeds=1"], out))
        tasks[("PinSage", s, COLD_SHARE)] = (_pinsage_row, (dataset, base + [f"seed={s}", "seeds=1",
                                                                               f"cold_items={COLD_SHARE}"], out))
    done = _run_all(tasks, jobs or 2)

    warm_cfg = build_config("pinsage", dataset=dataset, overrides=base)
    warm = prepare(warm_cfg)
    n = warm.split.num_items
    walks = walk_config(warm_cfg)
    walks.num_random_walks = PIXIE_WALKS

    def trained_scorer(key) -> tuple[ItemScorer, dict, float]:
        res, wall = done[key]
        if key[0] == "LightGCN":
            emb = torch.from_numpy(res["item_emb"])
            return embedding_scorer(emb), {"val": res["val"]["hit_rate@10"], "epochs": res["epochs_run"],
                                           "best": res["best_epoch"]}, wall
        emb = torch.from_numpy(np.load(f"{res['run_dir']}/artifacts/item_embeddings.npy"))
        bias = "item_bias=true" in tasks[key][1][1]
        m = res["metrics"]
        return embedding_scorer(emb, query_vectors(emb, bias)), {
            "val": m["val_hit_rate@10"]["mean"], "epochs": m["epochs_run"]["mean"],
            "best": m["best_epoch"]["mean"]}, wall

    # ------------------------------------------------------------------ warm items
    groups = _popularity_groups(warm.split.train, n)
    test_pairs = warm.evaluation.pairs["test"]
    tgroup = groups[test_pairs[1].numpy()]
    rows: dict[str, dict] = {}
    for name in list(VARIANTS) + ["LightGCN"]:
        hits, vals, test10, epochs, walls = [], [], [], [], []
        for s in seeds:
            fn, info, wall = trained_scorer((name, s, 0.0))
            h = _expected_hits(fn, test_pairs, n)
            hits.append(h)
            vals.append(info["val"])
            test10.append(h.mean())
            epochs.append(f"{info['best']:.0f}/{info['epochs']:.0f}")
            walls.append(wall)
        rows[name] = {"hits": np.stack(hits), "val": vals, "test": test10, "epochs": ", ".join(epochs),
                      "wall": float(np.mean(walls))}
    untrained = {"Popularity": popularity_scorer(warm.split.train, n),
                 f"Pixie-style visit counts ({PIXIE_WALKS} walks)": None,
                 "Annot. (text nearest neighbours)": text_scorer(warm.features)}
    for name, fn in untrained.items():
        t0 = time.perf_counter()
        hits, vals = [], []
        for s in seeds:
            f = fn if fn is not None else VisitCountScorer(warm.graph, walks, s)
            vals.append(warm.evaluation.item_to_item(f, "val")["hit_rate@10"])
            f = fn if fn is not None else VisitCountScorer(warm.graph, walks, s)
            hits.append(_expected_hits(f, test_pairs, n))
        rows[name] = {"hits": np.stack(hits), "val": vals, "test": [h.mean() for h in hits], "epochs": "-",
                      "wall": (time.perf_counter() - t0) / len(seeds)}

    table = [f"Warm items — {dataset}, test item-to-item pairs: {test_pairs.size(1):,}; head / torso / tail targets: "
             f"{(tgroup == 0).sum():,} / {(tgroup == 1).sum():,} / {(tgroup == 2).sum():,}", "",
             "| model | val hit@10 | test hit@10 | head | torso | tail | best/run epochs per seed | "
             "wall per seed (min) |",
             "|---|---|---|---|---|---|---|---|"]
    for name, r in rows.items():
        per_group = [_ms(r["hits"][:, tgroup == g].mean(1)) for g in range(3)]
        table.append(f"| {name} | {_ms(r['val'])} | {_ms(r['test'])} | {' | '.join(per_group)} | {r['epochs']} | "
                     f"{r['wall'] / 60:.1f} |")
    lg = rows["LightGCN"]["hits"].mean(0)
    table.append("")
    for name in VARIANTS:
        lo, hi = _bootstrap(rows[name]["hits"].mean(0) - lg)
        diff = rows[name]["hits"].mean() - rows["LightGCN"]["hits"].mean()
        table.append(f"{name} - LightGCN, test hit@10: {diff:+.4f}, paired bootstrap 95% interval "
                     f"[{lo:+.4f}, {hi:+.4f}] (2,000 resamples of the test pairs, seeds averaged per pair)")

    # ------------------------------------------------------------------ cold items
    cold_rows: dict[str, dict] = {}
    cold_counts = []
    for s in seeds:
        cdata = prepare(build_config("pinsage", dataset=dataset, overrides=base + [f"seed={s}",
                                                                                   f"cold_items={COLD_SHARE}"]))
        pairs = cdata.evaluation.pairs["test_cold"]
        cold_counts.append(pairs.size(1))
        full = cdata.full_train  # the cold items' interactions have arrived
        full_graph = bipartite_csr(full, cdata.split.num_users, n)
        scorers = {"PinSage (inductive)": trained_scorer(("PinSage", s, COLD_SHARE))[0],
                   "LightGCN (mean item vector for unseen ids)": trained_scorer(("LightGCN", s, COLD_SHARE))[0],
                   "Popularity (with the new interactions)": popularity_scorer(full, n),
                   f"Pixie-style visit counts ({PIXIE_WALKS} walks, with the new interactions)":
                       VisitCountScorer(full_graph, walks, s),
                   "Annot. (text nearest neighbours)": text_scorer(cdata.features)}
        for name, fn in scorers.items():
            h = _expected_hits(fn, pairs, n)
            r = cold_rows.setdefault(name, {"test": [], "hits": []})
            r["test"].append(h.mean())
    table += ["", f"Cold items — {dataset}: {COLD_SHARE:.0%} of the items held out of training (a new draw per "
              f"seed); test pairs whose target is a cold item: {', '.join(f'{c:,}' for c in cold_counts)} per seed",
              "", "| model | cold test hit@10 |", "|---|---|"]
    for name, r in cold_rows.items():
        table.append(f"| {name} | {_ms(r['test'])} |")
    table += ["", f"mean ± std over {len(seeds)} seeds ({', '.join(map(str, seeds))}). Selection on validation "
              f"item-to-item hit@10 for every trained row. Budgets per trained seed: PinSage {' '.join(base)}; "
              f"LightGCN (item-to-item selection) {' '.join(f'{k}={v}' for k, v in lgcn.items())}. Two "
              f"single-threaded worker processes; total wall {(time.perf_counter() - t_start) / 60:.1f} min."]
    return "\n".join(table)
