"""Most-popular baseline: every user gets the items with the most training interactions.

No training and no randomness. Evaluated like the learned recommenders (`plexus.methods.recommenders`):
full ranking over all items, training items masked (and validation items for test), the same
metrics. Its export makes `plexus recommend` return the most popular unseen items: user
vectors are 1, item vectors the training count, so the inner product is the count (and
`plexus similar` returns the most popular other items).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from plexus.methods.recommenders.data import RecConfig, check_rec_config, dataset_name, load_split
from plexus.methods.recommenders.evaluation import metric_view, scores_metrics
from plexus.methods.recommenders.export import export_recommender
from plexus.result import Result
from plexus.train.report import write_report
from plexus.train.rundir import RunDir


@dataclass
class Config(RecConfig):
    pass


def item_counts(train: torch.Tensor, num_items: int) -> torch.Tensor:
    """Training interactions per item (float32), the popularity score."""
    return torch.bincount(train[1], minlength=num_items).to(torch.float32)


def run(cfg: Config, run_dir: RunDir, quiet: bool = False) -> Result:
    check_rec_config(cfg)
    split = load_split(cfg)
    t0 = time.perf_counter()
    counts = item_counts(split.train, split.num_items)

    def score_fn(users: torch.Tensor) -> torch.Tensor:
        return counts.unsqueeze(0).expand(users.numel(), -1).clone()

    val = scores_metrics(score_fn, split, "val", cfg.ks, cfg.eval_batch_size)
    test = scores_metrics(score_fn, split, "test", cfg.ks, cfg.eval_batch_size)
    metrics = {**metric_view(val, "val_"), **metric_view(test, "test_"), "wall_time_s": time.perf_counter() - t0}
    artifacts = export_recommender(run_dir, split, torch.ones(split.num_users, 1), counts.unsqueeze(1))
    protocol = (f"{split.protocol}; most popular items by training interaction count (no training, "
                f"deterministic: one run); full ranking over all {split.num_items} items with training items "
                f"masked (and validation items for test)")
    result = Result("pop", dataset_name(cfg), protocol, metrics, run_dir.path, artifacts)
    run_dir.write_metrics(result.to_json())
    run_dir.log(**{k: v for k, v in metrics.items()})
    write_report(run_dir, result, curves=[])
    return result
