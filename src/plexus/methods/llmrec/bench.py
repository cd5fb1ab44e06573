"""`plexus bench llmrec`: LightGCN, + item text, + LLM implicit feedback, + LLM profiles and
attributes, full LLMRec, and the paper's ablations (Wei et al., WSDM 2024, Table 3: w/o-u-i,
w/o-u, w/o-u&i, w/o-prune, w/o-MAE) on MovieLens-100K, all from ONE augmentation.

Stage 1 runs the full LLMRec row (it asks the LLM, or finds every answer in the on-disk cache)
beside the plain LightGCN row, which needs no LLM. Stage 2 runs the other rows with
`augmentation_from=` the full row's run directory, so they differ only in which parts they use
(rates set to 0). Every row: same split, backbone, optimiser, epochs, seeds, validation-selected
epoch (recall@20), full-ranking test metrics, mean ± std over the seeds.
"""

from __future__ import annotations

from plexus.bench import run_rows
from plexus.eval.aggregate import mean_std

OFF = {"model_cat_rate": 0, "user_cat_rate": 0, "item_cat_rate": 0, "aug_sample_rate": 0}
FULL: dict = {}  # every LLMRec part at its default rate
ROWS = {  # name -> overrides on top of the LLMRec defaults
    "LightGCN": dict(OFF),
    "LightGCN + text features": {**OFF, "model_cat_rate": 0.02},
    "+ u-i augmentation": {**OFF, "model_cat_rate": 0.02, "aug_sample_rate": 0.0036, "prune_loss_drop_rate": 0},
    "+ profiles/attributes": {"prune_loss_drop_rate": 0, "mask_rate": 0},
    "LLMRec (full)": FULL,
    "w/o-u-i": {"aug_sample_rate": 0},
    "w/o-u": {"user_cat_rate": 0},
    "w/o-u&i": {"user_cat_rate": 0, "item_cat_rate": 0},
    "w/o-prune": {"prune_loss_drop_rate": 0},
    "w/o-MAE": {"mask_rate": 0},
}
NO_LLM = ("LightGCN", "LightGCN + text features")

# The CPU budget (2 shared cores). The LLM is asked about the first 8 users and 8 items
# (24 prompts; measured 8-60 s each with the 135M local model on a 2-core machine at load ~20: the
# whole-dataset augmentation, 3,568 prompts, needs a faster endpoint or hours). Every row
# trains 40 epochs of batch 8192 at lr 0.01 (one step costs a full-graph propagation whatever
# the batch, so fewer, larger batches make an epoch ~4x cheaper; the core LightGCN's
# 0.001 / 2048 needs hundreds of epochs), validated every 5, with the text embeddings reduced
# to 64 principal components before their learned projection (side_dim).
BUDGET = {"full": {"augment_users": 8, "augment_items": 8, "epochs": 40, "eval_every": 5, "lr": 0.01,
                   "batch_size": 8192, "side_dim": 64, "seeds": 5},
          "quick": {"augment_users": 20, "augment_items": 30, "candidates": 5, "candidate_epochs": 5,
                    "epochs": 4, "eval_every": 2, "seeds": 1}}
METRICS = ("recall@10", "recall@20", "ndcg@20", "precision@20", "recall@50", "ndcg@50")


def _title(metric: str) -> str:
    name, k = metric.split("@")
    return {"recall": "Recall", "ndcg": "NDCG", "precision": "Precision"}[name] + "@" + k


def _overrides(opts: dict) -> list[str]:
    return [f"{k}={v}" for k, v in opts.items()]


def bench(quick: bool = False, quiet: bool = True, out: str = "runs/bench", jobs: int | None = None,
          seeds: int | None = None, epochs: int | None = None, augmentation_from: str | None = None,
          extra: list[str] | None = None) -> str:
    """The table. `augmentation_from` (a run directory holding an augmentation of the same
    users and items) skips stage 1: every row then reuses it, the full row included.
    `extra`: more overrides for every row (e.g. device=cuda)."""
    budget = dict(BUDGET["quick" if quick else "full"])
    budget.update({k: v for k, v in (("seeds", seeds), ("epochs", epochs)) if v})
    dataset = "movielens-100k"
    base = _overrides(budget) + list(extra or [])
    done: dict = {}
    if augmentation_from:
        first: dict = {}
        source = augmentation_from
    else:
        first = {name: ("llmrec", dataset, base + _overrides(ROWS[name])) for name in ("LLMRec (full)", "LightGCN")}
        done = run_rows(first, out, jobs)
        source = done["LLMRec (full)"][0]["run_dir"]
    rest = {name: ("llmrec", dataset, base + _overrides(opts) + ([] if name in NO_LLM else
                                                                 [f"augmentation_from={source}"]))
            for name, opts in ROWS.items() if name not in first}
    done.update(run_rows(rest, out, jobs))
    return table(done, budget, dataset)


def table(done: dict, budget: dict, dataset: str) -> str:
    full = done["LLMRec (full)"][0]["metrics"]
    head = "| model | " + " | ".join(_title(m) for m in METRICS) + " | epochs (best / run) | wall (min) |"
    lines = [head, "|" + "---|" * (len(METRICS) + 3)]
    for name in ROWS:
        res, wall = done[name]
        m = res["metrics"]
        cells = []
        for key in METRICS:
            mean, std = mean_std(m[f"test_{key}"])
            cells.append(f"{mean:.4f} ± {std:.4f}")
        best, run = mean_std(m["best_epoch"])[0], mean_std(m["epochs_run"])[0]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {best:.0f} / {run:.0f} | {wall / 60:.1f} |")
    llm = done["LLMRec (full)"][0]["protocol"].split("LLM: ")[-1].split(";")[0]

    def val(key):
        return mean_std(full[key])[0]

    lines += ["", f"{dataset}, LLM: {llm}. Augmentation asked once for the first "
              f"{budget['augment_users']} users (implicit feedback: one liked and one disliked of "
              f"{budget.get('candidates', 10)} LightGCN candidates; profile) and the first {budget['augment_items']} "
              f"items (attributes): {val('aug_calls'):.0f} LLM calls, {val('aug_cache_hits'):.0f} cache hits, "
              f"{val('aug_rejects'):.0f} rejected answers, {val('aug_wall_s') / 60:.1f} min wall time of the "
              f"augmentation (as recorded in its manifest); {val('aug_triples'):.0f} triples accepted, "
              f"{val('aug_profiles'):.0f} profiles, "
              f"{val('aug_attributes'):.0f} attribute sets. The other rows reuse its artefacts "
              f"(`augmentation_from`). Every row: LightGCN 64-d, 3 layers, batch {budget.get('batch_size', 2048)}, "
              f"lr {budget.get('lr', 0.001)}, side features reduced to {budget.get('side_dim') or 'all'} dims, "
              f"{budget['epochs']} epochs validated every {budget['eval_every']}, the best-validation (recall@20) "
              f"epoch tested once; full ranking over all items, test metrics mean ± std over {budget['seeds']} "
              f"seed(s). Ablations remove one part of the full model (rate 0), as the paper's Table 3."]
    return "\n".join(lines)
