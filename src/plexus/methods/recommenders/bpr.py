"""The BPR training of MF-BPR and LightGCN (He et al., SIGIR 2020, and its official code).

- `BPRConfig`: the paper's training setting (64-d, lr 0.001, batch 2048, reg 1e-4);
- `bpr_loss`: the official LightGCN loss, softplus(s_neg - s_pos) averaged over the batch plus
  `reg * (||e_u||^2 + ||e_i||^2 + ||e_j||^2) / 2 / batch` on the layer-0 rows of the batch;
- `TripleSampler`: one epoch of (user, positive) pairs, all sampled at once;
  `sampling="user"` is the official LightGCN sampler (as many samples as training
  interactions, users drawn uniformly, one random positive of the user each),
  `sampling="interaction"` visits every training interaction once (RecBole); negatives per batch;
- `run_bpr`: every seed through the one training loop (`plexus.train.loop`: validation every
  `eval_every` epochs, early stopping after `patience` epochs, a `max_minutes` budget,
  checkpoint + resume, the best-validation state tested once), then the export read by
  `plexus recommend / similar / serve`.

A model is an `nn.Module` with `batch_rows(users, pos, neg) -> (final rows [3B, d], layer-0
rows [3B, d])` (users, then positives, then negatives) and `final() -> (user_emb, item_emb)`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Literal

import torch
import torch.nn.functional as F
from torch import nn

from plexus.errors import ConfigError, InputError
from plexus.eval.aggregate import summarize_seeds
from plexus.methods.recommenders.data import InteractionSplit, RecConfig, check_rec_config, dataset_name, load_split
from plexus.methods.recommenders.evaluation import METRIC_NAMES, metric_view, ranking_metrics
from plexus.methods.recommenders.export import export_recommender
from plexus.result import Result
from plexus.train.optim import make_optimizer
from plexus.train.loop import Fitted, LoopSettings, SeedParts, train_seed
from plexus.train.report import write_report
from plexus.train.rundir import RunDir
from plexus.train.threads import torch_threads


@dataclass
class BPRConfig(RecConfig):
    """The paper's training setting (LightGCN, He et al. 2020, and its official code)."""

    dim: int = 64
    lr: float = 0.001
    batch_size: int = 2048
    reg: float = 1e-4  # L2 on the batch's layer-0 embeddings, / 2 / batch size
    init_std: float = 0.1  # normal init of the embeddings (official code)
    epochs: int = 1000
    negative: Literal["uniform", "popularity", "in_batch"] = "uniform"
    neg_alpha: float = 0.75  # popularity^alpha for negative=popularity
    sampling: Literal["user", "interaction"] = "user"  # see TripleSampler
    eval_every: int = 10  # epochs between validations (official code: every 10)
    patience: int = 50  # stop after this many epochs without a better validation score (paper: 50)
    select: str = "recall@20"  # the validation metric that selects the epoch (paper: recall@20)
    max_minutes: float | None = None  # wall-clock budget per seed (training + validation)
    threads: int = 0  # torch CPU threads for this run (0: torch's default)
    seeds: int = 1


def check_config(cfg: BPRConfig) -> None:
    check_rec_config(cfg)
    for name in ("dim", "batch_size", "epochs", "eval_every"):
        if getattr(cfg, name) < 1:
            raise ConfigError(f"{name} must be at least 1, got {getattr(cfg, name)}.")
    valid = [f"{m}@{k}" for m in METRIC_NAMES for k in cfg.ks]
    if cfg.select not in valid:
        raise ConfigError(f"select={cfg.select!r} is not a computed metric; one of {', '.join(valid)} "
                          f"(ks={cfg.ks}).")
    if cfg.max_minutes is not None and cfg.max_minutes <= 0:
        raise ConfigError("max_minutes must be positive (or null for no budget).")
    if cfg.threads < 0:
        raise ConfigError(f"threads must be >= 0 (0: torch's default), got {cfg.threads}.")


# ------------------------------------------------------------------------------ training


def bpr_loss(final: torch.Tensor, layer0: torch.Tensor, reg: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(BPR loss, weighted reg loss) of a batch; rows are users, positives, negatives.

    The official LightGCN code: mean softplus(s_neg - s_pos) and
    reg * (||E0_u||^2 + ||E0_i||^2 + ||E0_j||^2) / 2 / batch size.
    """
    b = final.size(0) // 3
    eu, ep, en = final[:b], final[b:2 * b], final[2 * b:]
    bpr = F.softplus((eu * en).sum(-1) - (eu * ep).sum(-1)).mean()
    reg_loss = reg * 0.5 * layer0.pow(2).sum() / b
    return bpr, reg_loss


class TripleSampler:
    """(user, positive, negative) triples for a whole epoch, vectorised."""

    def __init__(self, train: torch.Tensor, num_users: int, num_items: int, negative: str,
                 alpha: float, sampling: str, generator: torch.Generator):
        from plexus.sampling.negatives import make_sampler

        self.gen = generator
        self.sampling = sampling
        order = torch.argsort(train[0] * num_items + train[1])
        self.users_sorted = train[0, order]
        self.items_sorted = train[1, order]
        deg = torch.bincount(train[0], minlength=num_users)
        self.indptr = torch.zeros(num_users + 1, dtype=torch.long)
        self.indptr[1:] = torch.cumsum(deg, 0)
        self.deg = deg
        self.active = torch.nonzero(deg > 0).flatten()  # users with a training positive
        self.num_train = train.size(1)
        if self.num_train == 0:
            raise InputError("there are no training interactions to learn from.")
        self.negatives = make_sampler(negative, train, num_users, num_items, alpha=alpha, generator=generator)

    def epoch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(users, positives) of one epoch, `num_train` of each."""
        n = self.num_train
        if self.sampling == "user":  # official LightGCN: users uniformly, then one positive each
            users = self.active[torch.randint(len(self.active), (n,), generator=self.gen)]
            offset = (torch.rand(n, generator=self.gen) * self.deg[users]).long()
            offset = torch.minimum(offset, self.deg[users] - 1)
            pos = self.items_sorted[self.indptr[users] + offset]
        else:  # every training interaction once, shuffled
            perm = torch.randperm(n, generator=self.gen)
            users, pos = self.users_sorted[perm], self.items_sorted[perm]
        return users, pos

    def negatives_for(self, users: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        """One negative per triple, drawn per batch (in-batch negatives need the batch)."""
        return self.negatives.sample(users, pos, 1)[:, 0]


def train_epoch(model: nn.Module, opt: torch.optim.Optimizer, sampler: TripleSampler, batch_size: int,
                reg: float, device: torch.device) -> dict[str, float]:
    """One epoch of BPR; returns the mean losses."""
    model.train()
    users, pos = sampler.epoch()
    n = users.numel()
    tot_bpr = tot_reg = 0.0
    batches = 0
    for start in range(0, n, batch_size):
        u, p = users[start:start + batch_size], pos[start:start + batch_size]
        if u.numel() < 2 and sampler.negatives.kind == "in_batch":
            continue  # a last batch of one has no other row to draw a negative from
        neg = sampler.negatives_for(u, p)
        final, layer0 = model.batch_rows(u.to(device), p.to(device), neg.to(device))
        bpr, reg_loss = bpr_loss(final, layer0, reg)
        loss = bpr + reg_loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        tot_bpr += bpr.item()
        tot_reg += reg_loss.item()
        batches += 1
    batches = max(batches, 1)
    return {"loss": (tot_bpr + tot_reg) / batches, "bpr_loss": tot_bpr / batches, "reg_loss": tot_reg / batches}


# ------------------------------------------------------------------------------ the loop


@dataclass
class ModelSpec:
    """How `run_bpr` builds and describes a model."""

    name: str  # method name: "mf", "lightgcn"
    build: Callable[[BPRConfig, InteractionSplit, torch.device], nn.Module]
    describe: Callable[[BPRConfig], str]  # the model part of the protocol sentence


def seed_parts(spec: ModelSpec, cfg: BPRConfig, split: InteractionSplit, gen: torch.Generator) -> SeedParts:
    """One seed's model, optimiser, sampler and evaluations, for `plexus.train.loop`."""
    device = torch.device(cfg.device)
    model = spec.build(cfg, split, device)
    opt = make_optimizer(model.parameters(), cfg.lr)
    sampler = TripleSampler(split.train, split.num_users, split.num_items, cfg.negative, cfg.neg_alpha,
                            cfg.sampling, gen)

    def evaluate(which: str) -> dict[str, float]:
        return metric_view(ranking_metrics(*model.final(), split, which, cfg.ks, cfg.eval_batch_size), "")

    return SeedParts(model, opt, train_epoch=lambda epoch: train_epoch(model, opt, sampler, cfg.batch_size,
                                                                       cfg.reg, device),
                     validate=lambda: evaluate("val"), test=lambda: evaluate("test"), generators=[gen])


def seed_record(model: nn.Module, fitted: Fitted, test: dict) -> dict:
    """A finished seed of a BPR recommender: its metrics and final embeddings (the record
    `train_seed` checkpoints; `model.final()` gives the user and item embeddings)."""
    user_emb, item_emb = model.final()
    metrics = {**metric_view(fitted.best_val, "val_"), **metric_view(test, "test_"),
               "best_epoch": float(fitted.best_epoch), "epochs_run": float(fitted.epochs_run),
               "train_minutes": fitted.elapsed_s / 60}
    return {"metrics": metrics, "stop_reason": fitted.stop_reason,
            "user_emb": user_emb.detach().cpu(), "item_emb": item_emb.detach().cpu()}


def run_bpr(spec: ModelSpec, cfg: BPRConfig, run_dir: RunDir, quiet: bool = False) -> Result:
    check_config(cfg)
    settings = LoopSettings(cfg.epochs, cfg.eval_every, cfg.select, cfg.patience, cfg.max_minutes)
    with torch_threads(cfg.threads):
        split = load_split(cfg)
        t0 = time.perf_counter()
        records = []
        for i in range(cfg.seeds):
            models = []  # the trained model, for the seed's embeddings

            def setup(gen, models=models):
                parts = seed_parts(spec, cfg, split, gen)
                models.append(parts.model)
                return parts

            def finish(fitted: Fitted, test: dict, models=models) -> dict:
                return seed_record(models[0], fitted, test)

            records.append(train_seed(run_dir, i, cfg.seed + i, setup, settings, finish, quiet))
        wall = time.perf_counter() - t0
    metrics, best_seed = summarize_seeds(records, f"val_{cfg.select}", wall)
    artifacts = export_recommender(run_dir, split, records[best_seed]["user_emb"], records[best_seed]["item_emb"])
    stops = sorted({r["stop_reason"] for r in records})
    budget = f", at most {cfg.max_minutes:g} min per seed" if cfg.max_minutes else ""
    protocol = (
        f"{split.protocol}; {spec.describe(cfg)}; BPR loss with {_negatives(cfg)} "
        f"({'official per-user' if cfg.sampling == 'user' else 'per-interaction'} sampling), reg {cfg.reg:g} on the "
        f"batch's layer-0 embeddings, Adam lr {cfg.lr:g}, batch {cfg.batch_size}, up to {cfg.epochs} epochs{budget}; "
        f"validation every {cfg.eval_every} epochs, early stop after {cfg.patience} epochs without a better val "
        f"{cfg.select} ({'; '.join(stops)}), the best-validation epoch tested once; full ranking over all "
        f"{split.num_items} items with training items masked (and validation items for test); "
        f"mean ± std (se) over {cfg.seeds} seed{'s' if cfg.seeds > 1 else ''}; "
        f"artifacts hold seed {best_seed}'s (best val) embeddings"
    )
    result = Result(spec.name, dataset_name(cfg), protocol, metrics, run_dir.path, artifacts)
    run_dir.write_metrics(result.to_json())
    write_report(run_dir, result, curves=["loss", f"val_{cfg.select}"])
    return result


def _negatives(cfg: BPRConfig) -> str:
    return {"uniform": "one uniform negative per triple (training positives rejected)",
            "popularity": f"one popularity^{cfg.neg_alpha:g} negative per triple (training positives rejected)",
            "in_batch": "one in-batch negative per triple (another row's positive)"}[cfg.negative]
