"""The recommendation loop shared by MF-BPR and LightGCN, and their common data preparation.

One place for everything the two BPR models share:

- `RecConfig` / `BPRConfig`: dataset or the user's interaction file, the split, the ranking
  metrics, and the paper's training setting (64-d, lr 0.001, batch 2048, reg 1e-4);
- `load_split`: the interactions, split with `plexus.graph.interactions.split_interactions`
  (a validation split always exists: carved from train when the data gives none);
- `bpr_loss`: the official LightGCN loss, softplus(s_neg - s_pos) averaged over the batch plus
  `reg * (||e_u||^2 + ||e_i||^2 + ||e_j||^2) / 2 / batch` on the layer-0 rows of the batch;
- `epoch_triples`: one epoch of (user, positive, negative) triples, all sampled at once;
  `sampling="user"` is the official LightGCN sampler (as many samples as training
  interactions, users drawn uniformly, one random positive of the user each),
  `sampling="interaction"` visits every training interaction once (RecBole);
- `run_bpr`: seeds, training with validation every `eval_every` epochs, early stopping
  after `patience` epochs without a better validation score, a `max_minutes` budget,
  checkpoint (model, optimiser, RNG, best state) at every evaluation so `--resume`
  continues a killed run, the best-validation weights restored before the single test
  evaluation, report, and the export read by `plexus recommend / similar / serve`.

A model is an `nn.Module` with `batch_rows(users, pos, neg) -> (final rows [3B, d], layer-0
rows [3B, d])` (users, then positives, then negatives) and `final() -> (user_emb, item_emb)`.
"""

from __future__ import annotations

import math
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from dataclasses import dataclass, field
from typing import Any, Callable, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.data import HeteroData

from plexus.config import BaseConfig
from plexus.errors import ConfigError, InputError
from plexus.eval.aggregate import summarize_runs
from plexus.result import Result
from plexus.train.checkpoint import load_checkpoint, save_checkpoint
from plexus.train.report import write_report
from plexus.train.rundir import RunDir
from plexus.train.seed import seed_everything

EDGE = ("user", "interacts", "item")
METRIC_NAMES = ("recall", "ndcg", "precision", "hit_rate", "mrr")


# ------------------------------------------------------------------------------ configs


@dataclass
class InteractionsConfig:
    """The user's own interaction table (`--interactions`); see plexus.graph.interactions."""

    path: str | None = None
    user_col: str = "user"
    item_col: str = "item"
    rating_col: str | None = None
    time_col: str | None = None
    min_rating: float | None = None
    item_text: str | None = None  # a table of item text (item id, text)
    item_text_col: str = "text"


@dataclass
class RecConfig(BaseConfig):
    """What every recommender shares: data, split, evaluation."""

    dataset: str = "gowalla"
    interactions: InteractionsConfig = field(default_factory=InteractionsConfig)
    # auto: the data's own split when it has a test split, else a per-user random ratio split
    split: Literal["auto", "given", "ratio", "loo"] = "auto"
    val_ratio: float = 0.1  # carved from train per user when the data has no validation split
    test_ratio: float = 0.2  # ratio splits only
    ks: list[int] = field(default_factory=lambda: [10, 20])
    eval_batch_size: int = 1024  # users per full-ranking batch


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
    sampling: Literal["user", "interaction"] = "user"  # see epoch_triples
    eval_every: int = 10  # epochs between validations (official code: every 10)
    patience: int = 50  # stop after this many epochs without a better validation score (paper: 50)
    select: str = "recall@20"  # the validation metric that selects the epoch (paper: recall@20)
    max_minutes: float | None = None  # wall-clock budget per seed (training + validation)
    threads: int = 0  # torch CPU threads for this run (0: torch's default)
    seeds: int = 1


def check_rec_config(cfg: RecConfig) -> None:
    """ConfigErrors naming the key, before any data is read."""
    if not cfg.ks or min(cfg.ks) < 1:
        raise ConfigError(f"ks must be a non-empty list of positive cut-offs, got {cfg.ks}.")
    if cfg.eval_batch_size < 1:
        raise ConfigError(f"eval_batch_size must be at least 1, got {cfg.eval_batch_size}.")
    if not (0 < cfg.val_ratio < 1 and 0 < cfg.test_ratio < 1 and cfg.val_ratio + cfg.test_ratio < 1):
        raise ConfigError(f"need 0 < val_ratio, 0 < test_ratio and val_ratio + test_ratio < 1 "
                          f"(got val_ratio={cfg.val_ratio}, test_ratio={cfg.test_ratio}).")


def check_config(cfg: BPRConfig) -> None:
    check_rec_config(cfg)
    for name in ("dim", "batch_size", "epochs", "eval_every"):
        if getattr(cfg, name) < 1:
            raise ConfigError(f"{name} must be at least 1, got {getattr(cfg, name)}.")
    if cfg.seeds < 1:
        raise ConfigError("seeds must be at least 1.")
    valid = [f"{m}@{k}" for m in METRIC_NAMES for k in cfg.ks]
    if cfg.select not in valid:
        raise ConfigError(f"select={cfg.select!r} is not a computed metric; one of {', '.join(valid)} "
                          f"(ks={cfg.ks}).")
    if cfg.max_minutes is not None and cfg.max_minutes <= 0:
        raise ConfigError("max_minutes must be positive (or null for no budget).")
    if cfg.threads < 0:
        raise ConfigError(f"threads must be >= 0 (0: torch's default), got {cfg.threads}.")


# --------------------------------------------------------------------------------- data


@dataclass
class InteractionSplit:
    """Train/val/test (user, item) pairs, [2, n] each, and what the export needs."""

    train: torch.Tensor
    val: torch.Tensor
    test: torch.Tensor
    num_users: int
    num_items: int
    protocol: str
    user_ids: list[str]
    item_ids: list[str]
    item_text: list[str] | None
    data: Any = None


def _ids(store, n: int) -> list[str]:
    ids = getattr(store, "node_id", None) if "node_id" in store else None
    return [str(i) for i in ids] if ids is not None else [str(i) for i in range(n)]


def load_split(cfg: RecConfig) -> InteractionSplit:
    """The configured interactions, split (validation always present)."""
    from plexus.graph.interactions import split_interactions

    inter = cfg.interactions
    if cfg.tables.nodes or cfg.tables.edges:
        raise ConfigError("recommenders read user-item interactions, not node/edge tables: give "
                          "--interactions FILE (interactions.path) instead of --nodes/--edges.")
    if inter.path:
        from plexus.graph.interactions import read_interactions

        data = read_interactions(inter.path, user_col=inter.user_col, item_col=inter.item_col,
                                 rating_col=inter.rating_col, time_col=inter.time_col,
                                 min_rating=inter.min_rating, item_text=inter.item_text,
                                 item_text_col=inter.item_text_col)
    else:
        from plexus.datasets import load_dataset

        data = load_dataset(cfg.dataset, cfg.data_dir)
    if not isinstance(data, HeteroData) or EDGE not in data.edge_types:
        raise ConfigError(f"dataset {cfg.dataset!r} is not a user-item interaction dataset "
                          f"(no {EDGE} edges); recommenders need one (e.g. gowalla, ml-1m, movielens-100k).")
    how = cfg.split
    if how == "auto":
        how = "given" if "test_edge_index" in data[EDGE] else "ratio"
    try:
        data, protocol = split_interactions(data, how=how, val_ratio=cfg.val_ratio, test_ratio=cfg.test_ratio,
                                            seed=cfg.seed)
    except ValueError as e:  # e.g. split=given on data without a test split
        raise ConfigError(f"split={how}: {e}") from None
    store = data[EDGE]
    nu, ni = int(data["user"].num_nodes), int(data["item"].num_nodes)
    if max(cfg.ks) > ni:
        raise ConfigError(f"ks={cfg.ks}: a cut-off is larger than the number of items ({ni}).")
    text = data["item"].text if "text" in data["item"] else None
    return InteractionSplit(store.edge_index.long(), store.val_edge_index.long(), store.test_edge_index.long(),
                            nu, ni, protocol, _ids(data["user"], nu), _ids(data["item"], ni),
                            list(text) if text is not None else None, data)


def seen_pairs(split: InteractionSplit) -> torch.Tensor:
    """Train + validation pairs: what a deployed recommender must not recommend again."""
    return torch.cat([split.train, split.val], dim=1)


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


def make_optimizer(params, lr: float) -> torch.optim.Optimizer:
    """Adam; the fused CPU kernel is ~3x faster on a full embedding table than the default."""
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(params, lr=lr)


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


# ---------------------------------------------------------------------------- evaluation


def ranking_metrics(user_emb: torch.Tensor, item_emb: torch.Tensor, split: InteractionSplit, which: str,
                    ks, batch_size: int) -> dict[str, float]:
    """Full-ranking metrics on `which` (val: train masked; test: train and val masked)."""
    item_t = item_emb.t().contiguous()

    def score_fn(users: torch.Tensor) -> torch.Tensor:
        return user_emb[users.to(user_emb.device)] @ item_t

    return scores_metrics(score_fn, split, which, ks, batch_size)


def scores_metrics(score_fn: Callable[[torch.Tensor], torch.Tensor], split: InteractionSplit, which: str,
                   ks, batch_size: int) -> dict[str, float]:
    from plexus.eval.ranking import full_ranking_metrics

    if which == "val":
        target, exclude = split.val, [split.train]
    else:
        target, exclude = split.test, [split.train, split.val]
    return full_ranking_metrics(score_fn, target, exclude, split.num_users, split.num_items,
                                ks=tuple(ks), batch_size=batch_size)


def metric_view(metrics: dict[str, float], prefix: str) -> dict[str, float]:
    """The rate metrics (recall@K ...) with a `val_`/`test_` prefix; counts stay out."""
    return {f"{prefix}{k}": float(v) for k, v in metrics.items() if "@" in k}


# ------------------------------------------------------------------------------ the loop


@dataclass
class ModelSpec:
    """How `run_bpr` builds and describes a model."""

    name: str  # method name: "mf", "lightgcn"
    build: Callable[[BPRConfig, InteractionSplit, torch.device], nn.Module]
    describe: Callable[[BPRConfig], str]  # the model part of the protocol sentence


def _log(quiet: bool, msg: str) -> None:
    if not quiet:
        print(msg, file=sys.stderr, flush=True)


def _state_clone(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def train_seed(spec: ModelSpec, cfg: BPRConfig, split: InteractionSplit, seed_index: int, run: RunDir,
               quiet: bool) -> dict:
    """Train one seed (resuming from its checkpoint); return its finished record."""
    ckpt_path = run.checkpoints / f"seed{seed_index}.pt"
    ckpt = load_checkpoint(ckpt_path)
    if ckpt is not None and ckpt.get("done"):
        return ckpt

    device = torch.device(cfg.device)
    gen = seed_everything(cfg.seed + seed_index)
    model = spec.build(cfg, split, device)
    opt = make_optimizer(model.parameters(), cfg.lr)
    sampler = TripleSampler(split.train, split.num_users, split.num_items, cfg.negative, cfg.neg_alpha,
                            cfg.sampling, gen)
    start, elapsed = 1, 0.0
    best = {"score": -math.inf, "epoch": 0, "state": _state_clone(model), "val": {}}
    if ckpt is not None:  # a killed run: continue after the last evaluation
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optim"])
        gen.set_state(ckpt["gen"])
        torch.set_rng_state(ckpt["torch_rng"])
        np.random.set_state(ckpt["np_rng"])
        start, elapsed, best = ckpt["epoch"] + 1, ckpt["elapsed"], ckpt["best"]
        _log(quiet, f"  seed {seed_index}: resuming after epoch {ckpt['epoch']}")
    # epochs a killed run logged after its last checkpoint are trained (and logged) again
    run.keep_history(lambda r: r.get("seed") != seed_index or r.get("epoch", 0) < start)

    stop_reason = "epochs"  # until early stopping or the budget says otherwise
    epoch = start - 1
    t_mark = time.perf_counter()
    for epoch in range(start, cfg.epochs + 1):
        t0 = time.perf_counter()
        losses = train_epoch(model, opt, sampler, cfg.batch_size, cfg.reg, device)
        record = {"seed": seed_index, "epoch": epoch, **losses, "epoch_s": time.perf_counter() - t0}
        elapsed_now = elapsed + time.perf_counter() - t_mark
        over_budget = cfg.max_minutes is not None and elapsed_now >= 60 * cfg.max_minutes
        if epoch % cfg.eval_every == 0 or epoch == cfg.epochs or over_budget:
            model.eval()
            with torch.no_grad():
                val = ranking_metrics(*model.final(), split, "val", cfg.ks, cfg.eval_batch_size)
            score = val[cfg.select]
            if score > best["score"]:
                best = {"score": score, "epoch": epoch, "state": _state_clone(model), "val": val}
            record.update(metric_view(val, "val_"))
            elapsed += time.perf_counter() - t_mark
            t_mark = time.perf_counter()
            record["elapsed_s"] = elapsed
            _log(quiet, f"  seed {seed_index} epoch {epoch}: loss {losses['loss']:.4f}  "
                        f"val {cfg.select} {score:.4f} (best {best['score']:.4f} @ {best['epoch']})  "
                        f"{elapsed:.0f} s")
            run.log(**record)
            if epoch - best["epoch"] >= cfg.patience:
                stop_reason = f"early stop: no better val {cfg.select} for {cfg.patience} epochs"
            elif over_budget:
                stop_reason = f"time budget of {cfg.max_minutes:g} min"
            if epoch < cfg.epochs and stop_reason == "epochs":
                save_checkpoint(ckpt_path, {
                    "done": False, "epoch": epoch, "model": model.state_dict(), "optim": opt.state_dict(),
                    "gen": gen.get_state(), "torch_rng": torch.get_rng_state(), "np_rng": np.random.get_state(),
                    "best": best, "elapsed": elapsed})
            if stop_reason != "epochs":
                break
        else:
            run.log(**record)
    elapsed += time.perf_counter() - t_mark

    if stop_reason == "epochs":
        stop_reason = f"all {cfg.epochs} epochs run"
    model.load_state_dict(best["state"])  # selected on validation, never on test
    model.eval()
    with torch.no_grad():
        user_emb, item_emb = model.final()
        test = ranking_metrics(user_emb, item_emb, split, "test", cfg.ks, cfg.eval_batch_size)
    metrics = {**metric_view(best["val"], "val_"), **metric_view(test, "test_"),
               "best_epoch": float(best["epoch"]), "epochs_run": float(epoch), "train_minutes": elapsed / 60}
    record = {"done": True, "metrics": metrics, "stop_reason": stop_reason,
              "num_eval_users": int(test.get("num_eval_users", 0)),
              "user_emb": user_emb.cpu(), "item_emb": item_emb.cpu()}
    save_checkpoint(ckpt_path, record)
    _log(quiet, f"  seed {seed_index}: test {cfg.select} {test[cfg.select]:.4f}  (val {best['score']:.4f}, "
                f"epoch {best['epoch']} of {epoch}; {stop_reason}; {elapsed / 60:.1f} min)")
    return record


def export_recommender(run: RunDir, split: InteractionSplit, user_emb: torch.Tensor,
                       item_emb: torch.Tensor) -> dict:
    """The files `plexus recommend / similar / serve` read (see plexus.retrieval.artifacts)."""
    from plexus.retrieval.artifacts import save_recommender

    save_recommender(run.artifacts, user_emb=user_emb, item_emb=item_emb, user_ids=split.user_ids,
                     item_ids=split.item_ids, seen_edge_index=seen_pairs(split), item_text=split.item_text)
    return {"user_embeddings": run.artifacts / "user_embeddings.npy",
            "item_embeddings": run.artifacts / "item_embeddings.npy"}


@contextmanager
def torch_threads(threads: int):
    """Run the block with `threads` torch CPU threads (0: leave torch's default)."""
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def seed_summary(records: list[dict], select: str, wall: float) -> tuple[dict[str, Any], int]:
    """Metrics over the seeds' records (mean ± std/se) plus the wall time, and the seed whose
    validation `select` is best (the one a run exports)."""
    metrics: dict[str, Any] = summarize_runs([r["metrics"] for r in records])
    metrics["wall_time_s"] = wall
    return metrics, int(np.argmax([r["metrics"][f"val_{select}"] for r in records]))


def run_bpr(spec: ModelSpec, cfg: BPRConfig, run_dir: RunDir, quiet: bool = False) -> Result:
    check_config(cfg)
    with torch_threads(cfg.threads):
        split = load_split(cfg)
        t0 = time.perf_counter()
        records = [train_seed(spec, cfg, split, i, run_dir, quiet) for i in range(cfg.seeds)]
        wall = time.perf_counter() - t0
    metrics, best_seed = seed_summary(records, cfg.select, wall)
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


def dataset_name(cfg: RecConfig) -> str:
    """The dataset a result is about: the named dataset, or the stem of the user's file."""
    return Path(cfg.interactions.path).stem if cfg.interactions.path else cfg.dataset
