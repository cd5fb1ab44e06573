"""PinSage (Ying et al., "Graph Convolutional Neural Networks for Web-Scale Recommender
Systems", KDD 2018): a random-walk GNN over items, trained for item-to-item retrieval.

Every mechanism of the paper, on the building blocks of `plexus.sampling` and `plexus.nn`:

- input: LM embeddings of the item text (titles, genres) through a dense projection, plus a
  learnable id embedding when `id_embedding` is on (default: on only when items have no
  text, as DGL's example does when content is weak);
- importance neighbourhoods: the top T = 50 items by visit count of random walks with
  restart over item -> user -> item (`plexus.sampling.random_walk`), weights = normalised
  counts; recomputed every epoch with that epoch's seed, and once (fixed) for evaluation
  and export;
- 2 PinSage convolutions and the dense head (`plexus.nn.pinsage.PinSageModel`); the output
  is L2-normalised before scoring, because the margin Delta = 0.1 of the loss only
  constrains anything once the scale of the embeddings is fixed;
- positive pairs: consecutive interactions of the same user at most `time_window` seconds
  apart (the paper: saved to the same board within an hour), or same-user co-engagement
  when the data has no times (`pairs.py`);
- max-margin loss with `num_negatives` negatives shared by the batch plus hard negatives
  from a window of personalised-PageRank ranks, with the curriculum: epoch n adds n - 1
  hard negatives per pair, capped at `max_hard_negatives` (0 turns them off: the paper's
  ablation without hard negatives) (`batches.py`);
- producer-consumer training: `num_workers` DataLoader workers sample and build batches;
- layer-wise inference over all items (`layerwise_inference`), then the FAISS export read
  by `plexus similar / recommend / serve`; user vectors are the normalised mean of the
  user's seen (train + validation) items, for `plexus recommend`.

Selection is on validation only (`select`, default item-to-item hit_rate@10, evaluated every
`eval_every` epochs with early stopping after `patience` epochs); the best state is tested
once. A checkpoint after each validation lets `--resume` continue a killed run; every
random draw derives from (seed, epoch, batch), so the resumed run equals an uninterrupted one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from plexus.errors import ConfigError
from plexus.eval.aggregate import summarize_seeds
from plexus.methods.pinsage.batches import HardNegatives, PinSageBatches, max_margin_loss
from plexus.methods.pinsage.evaluation import ItemEvaluation, embedding_scorer, split_times
from plexus.methods.pinsage.pairs import CoEngagementSampler, consecutive_pairs
from plexus.methods.recommenders.data import (InteractionSplit, RecConfig, check_rec_config, dataset_name,
                                              load_split, seen_pairs)
from plexus.methods.recommenders.evaluation import metric_view
from plexus.methods.recommenders.export import export_recommender
from plexus.nn.pinsage import PinSageModel, layerwise_inference
from plexus.result import Result
from plexus.sampling.ppr import curriculum_hard_negatives
from plexus.sampling.random_walk import BipartiteCSR, WalkConfig, bipartite_csr, importance_neighbors
from plexus.train.checkpoint import save_checkpoint
from plexus.train.loop import Fitted, LoopSettings, SeedParts, log, train_seed
from plexus.train.optim import make_optimizer
from plexus.train.report import write_report
from plexus.train.rundir import RunDir
from plexus.train.seed import stream_generator
from plexus.train.threads import torch_threads

MODEL_FILE = "pinsage_model.pt"  # in artifacts/: what `plexus embed --new-items` needs
EVAL_STREAM = 10**6  # the epoch slot of the fixed evaluation neighbourhoods' generator


@dataclass
class Config(RecConfig):
    """The paper's setting, scaled to a 2-core CPU where it names sizes for 3B items.

    Checked on movielens-100k validation hit_rate@10 (one seed, standard error ~0.003;
    configs/pinsage/movielens-100k.yaml lists the trials): id embeddings next to the text,
    lr 0.0005 / 0.003, margin 0.3, hard_window [0.01, 0.03] and 30 epochs (no hard negatives)
    did not beat these defaults (lr 0.003 was clearly worse), so they stay the paper's.
    """

    dataset: str = "movielens-100k"
    # model
    hidden_dim: int = 256
    dim: int = 128  # output embedding
    layers: int = 2
    id_embedding: bool | None = None  # None: on only when the items have no text
    id_dim: int = 64
    text_model: str = "default"  # LM for item text (all-MiniLM-L6-v2, offline)
    # importance neighbourhoods (plexus.sampling.random_walk.WalkConfig)
    num_neighbors: int = 50  # T
    num_random_walks: int = 200
    num_traversals: int = 3
    termination_prob: float = 0.5
    # positive pairs
    time_window: float | None = 3600.0  # seconds between consecutive interactions (paper: an hour)
    pairs_per_epoch: int = 0  # 0: every windowed pair / one co-engagement draw per training interaction
    # loss and negatives
    margin: float = 0.1  # Delta
    num_negatives: int = 500  # shared per batch (paper: 500), capped at the catalogue
    hard_window: list[float] = field(default_factory=lambda: [0.02, 0.05])  # PPR ranks; floats < 1: share of items
    max_hard_negatives: int = 6  # curriculum cap; 0: no hard negatives
    ppr_alpha: float = 0.15
    ppr_iters: int = 20
    # optimisation
    lr: float = 0.001
    batch_size: int = 512
    epochs: int = 20
    eval_every: int = 1
    patience: int = 5
    select: str = "hit_rate@10"  # validation metric (item-to-item) that selects the epoch
    mrr_scale: float = 100.0  # the paper's scaled MRR: 1 / ceil(rank / mrr_scale)
    max_minutes: float | None = None
    num_workers: int = 1  # DataLoader workers building batches while the model trains
    threads: int = 0
    inference_chunk: int = 4096


def check_config(cfg: Config) -> None:
    check_rec_config(cfg)
    for name in ("hidden_dim", "dim", "layers", "id_dim", "num_neighbors", "num_random_walks", "num_traversals",
                 "batch_size", "epochs", "eval_every", "patience", "num_negatives", "inference_chunk", "seeds"):
        if getattr(cfg, name) < 1:
            raise ConfigError(f"{name} must be at least 1, got {getattr(cfg, name)}.")
    for name in ("max_hard_negatives", "pairs_per_epoch", "num_workers", "threads", "ppr_iters"):
        if getattr(cfg, name) < 0:
            raise ConfigError(f"{name} must be >= 0, got {getattr(cfg, name)}.")
    if not 0.0 <= cfg.termination_prob < 1.0:
        raise ConfigError(f"termination_prob must be in [0, 1), got {cfg.termination_prob}.")
    if not 0.0 < cfg.ppr_alpha <= 1.0:
        raise ConfigError(f"ppr_alpha must be in (0, 1], got {cfg.ppr_alpha}.")
    if len(cfg.hard_window) != 2:
        raise ConfigError(f"hard_window must be [lo, hi], got {cfg.hard_window}.")
    if cfg.time_window is not None and cfg.time_window < 0:
        raise ConfigError(f"time_window must be >= 0 seconds (or null), got {cfg.time_window}.")
    if cfg.mrr_scale <= 0 or cfg.margin < 0:
        raise ConfigError("mrr_scale must be positive and margin >= 0.")
    valid = [f"{m}@{k}" for m in ("hit_rate", "user_hit_rate", "user_recall") for k in cfg.ks] + ["mrr"]
    if cfg.select not in valid:
        raise ConfigError(f"select={cfg.select!r} is not a computed metric; one of {', '.join(valid)}.")


def walk_config(cfg: Config) -> WalkConfig:
    return WalkConfig(cfg.num_traversals, cfg.termination_prob, cfg.num_random_walks, cfg.num_neighbors)


# ---------------------------------------------------------------------------- the data


def item_features(split: InteractionSplit, cfg: Config) -> torch.Tensor | None:
    """LM embeddings of the item text (cached on disk), or None when items have no text."""
    if split.item_text is None:
        return None
    from plexus.text import encode_texts

    return encode_texts([t or "" for t in split.item_text], model=cfg.text_model, progress=False).float()


def uses_id_embedding(cfg: Config, features: torch.Tensor | None) -> bool:
    if features is None:
        if cfg.id_embedding is False:
            raise ConfigError("id_embedding=false, but the items have no text: PinSage needs item text or "
                              "id embeddings.")
        return True
    return bool(cfg.id_embedding)


def build_model(cfg: Config, feat_dim: int, num_items: int, with_ids: bool) -> PinSageModel:
    return PinSageModel(feat_dim, cfg.hidden_dim, cfg.dim, num_items=num_items,
                        id_dim=cfg.id_dim if with_ids else 0, num_layers=cfg.layers)


@dataclass
class TrainingData:
    split: InteractionSplit
    graph: BipartiteCSR
    features: torch.Tensor | None
    with_ids: bool
    pairs: torch.Tensor | None  # windowed consecutive pairs (data with times)
    sampler: CoEngagementSampler | None  # co-engagement draws (data without times)
    evaluation: ItemEvaluation
    pair_note: str

    def epoch_pairs(self, cfg: Config, gen: torch.Generator) -> torch.Tensor:
        """This epoch's positive pairs, shuffled."""
        if self.pairs is not None:
            pairs = self.pairs[:, torch.randperm(self.pairs.size(1), generator=gen)]
            return pairs[:, :cfg.pairs_per_epoch] if cfg.pairs_per_epoch else pairs
        return self.sampler.sample(cfg.pairs_per_epoch or self.split.train.size(1), gen)


def prepare(cfg: Config) -> TrainingData:
    split = load_split(cfg)
    graph = bipartite_csr(split.train, split.num_users, split.num_items)
    features = item_features(split, cfg)
    times = split_times(split, "train")
    if times is not None:
        pairs, sampler = consecutive_pairs(split.train, times, cfg.time_window), None
        gap = "any gap" if cfg.time_window is None else f"at most {cfg.time_window:g} s apart"
        note = f"{pairs.size(1):,} positive pairs: consecutive training interactions of a user, {gap}"
        if pairs.size(1) == 0:
            raise ConfigError(f"no positive pairs: no user has consecutive training interactions {gap}; "
                              f"raise time_window (or set it to null).")
    else:
        pairs, sampler = None, CoEngagementSampler(graph, split.train)
        note = ("no interaction times: positive pairs are same-user co-engagement, "
                f"{cfg.pairs_per_epoch or split.train.size(1):,} fresh draws per epoch")
    evaluation = ItemEvaluation.build(split, cfg.ks, cfg.mrr_scale, cfg.eval_batch_size)
    return TrainingData(split, graph, features, uses_id_embedding(cfg, features), pairs, sampler, evaluation,
                        note)


# ---------------------------------------------------------------------------- training


def _one_thread(_worker: int) -> None:
    torch.set_num_threads(1)  # the workers share the cores with the training process


def train_epoch(model: PinSageModel, opt: torch.optim.Optimizer, data: TrainingData, hard: HardNegatives | None,
                cfg: Config, seed: int, epoch: int) -> dict[str, float]:
    gen = stream_generator(seed, epoch)
    neighbors, weights = importance_neighbors(data.graph, walk_config(cfg), generator=gen)
    n_hard = curriculum_hard_negatives(epoch, cfg.max_hard_negatives) if hard is not None else 0
    batches = PinSageBatches(data.epoch_pairs(cfg, gen), neighbors, weights, cfg.layers, cfg.num_negatives,
                             n_hard, hard, cfg.batch_size, (seed, epoch))
    loader = torch.utils.data.DataLoader(batches, batch_size=None, shuffle=False, num_workers=cfg.num_workers,
                                         worker_init_fn=_one_thread if cfg.num_workers else None)
    model.train()
    total, steps = 0.0, 0
    for batch in loader:
        z = F.normalize(model(batch.blocks, data.features), dim=1)
        loss = max_margin_loss(z, batch, cfg.margin)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        total += loss.item()
        steps += 1
    return {"loss": total / max(steps, 1), "hard_negatives": n_hard, "pairs": batches.pairs.size(1)}


def eval_neighbors(data: TrainingData, cfg: Config, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The fixed neighbourhoods every evaluation and the export use."""
    return importance_neighbors(data.graph, walk_config(cfg), generator=stream_generator(seed, EVAL_STREAM))


def item_embeddings(model: PinSageModel, features: torch.Tensor | None, tables, chunk: int) -> torch.Tensor:
    """Every item's normalised embedding, layer by layer over the neighbourhood tables."""
    return F.normalize(layerwise_inference(model, features, *tables, chunk_size=chunk), dim=1)


def fit_seed(cfg: Config, data: TrainingData, hard: HardNegatives | None, seed_index: int, run: RunDir,
             quiet: bool) -> dict:
    """Train, select and test one seed through `plexus.train.loop` (resuming from its
    checkpoint); its finished record. Every random draw of an epoch comes from the
    (seed, epoch) stream, so a resumed seed repeats the uninterrupted one."""
    seed = cfg.seed + seed_index
    held: dict = {}

    def evaluate(which: str) -> dict[str, float]:
        held["item_emb"] = item_embeddings(held["model"], data.features, held["tables"], cfg.inference_chunk)
        metrics = data.evaluation.evaluate(embedding_scorer(held["item_emb"]), which)
        return {**metric_view(metrics, ""), **{k: float(metrics[k]) for k in ("mrr", "mrr_unscaled", "num_pairs")}}

    def setup(_gen: torch.Generator) -> SeedParts:
        feat_dim = 0 if data.features is None else data.features.size(1)
        model = held["model"] = build_model(cfg, feat_dim, data.split.num_items, data.with_ids)
        opt = make_optimizer(model.parameters(), cfg.lr)
        held["tables"] = eval_neighbors(data, cfg, seed)
        return SeedParts(model, opt, lambda epoch: train_epoch(model, opt, data, hard, cfg, seed, epoch),
                         validate=lambda: evaluate("val"), test=lambda: evaluate("test"))

    def finish(fitted: Fitted, test: dict) -> dict:
        metrics = {**eval_view(fitted.best_val, "val_"), **eval_view(test, "test_"),
                   "best_epoch": float(fitted.best_epoch), "epochs_run": float(fitted.epochs_run),
                   "train_minutes": fitted.elapsed_s / 60}
        model, (neighbors, weights) = held["model"], held["tables"]
        return {"metrics": metrics, "stop_reason": fitted.stop_reason, "item_emb": held["item_emb"],
                "model": {k: v.detach().clone() for k, v in model.state_dict().items()},
                "neighbors": neighbors, "weights": weights, "num_pairs": int(test["num_pairs"])}

    settings = LoopSettings(cfg.epochs, cfg.eval_every, cfg.select, cfg.patience, cfg.max_minutes)
    return train_seed(run, seed_index, seed, setup, settings, finish, quiet)


def eval_view(metrics: dict[str, float], prefix: str) -> dict[str, float]:
    """`metric_view` (rates at K) plus the item-to-item MRRs, prefixed."""
    out = metric_view(metrics, prefix)
    for key in ("mrr", "mrr_unscaled"):
        if key in metrics:
            out[f"{prefix}{key}"] = float(metrics[key])
    return out


# ---------------------------------------------------------------------------- export


def user_vectors(split: InteractionSplit, item_emb: torch.Tensor) -> torch.Tensor:
    """Each user's normalised mean of seen (train + validation) item embeddings; 0 for none."""
    seen = torch.unique(seen_pairs(split), dim=1)
    acc = torch.zeros(split.num_users, item_emb.size(1)).index_add_(0, seen[0], item_emb[seen[1]])
    return F.normalize(acc, dim=1)


def export(run: RunDir, cfg: Config, data: TrainingData, record: dict) -> dict:
    """The recommender files, plus the trained model and its neighbourhoods for inductive embedding."""
    split = data.split
    artifacts = export_recommender(run, split, user_vectors(split, record["item_emb"]), record["item_emb"])
    save_checkpoint(run.artifacts / MODEL_FILE, {
        "model": record["model"], "features": data.features, "with_ids": data.with_ids,
        "neighbors": record["neighbors"], "weights": record["weights"], "train": split.train,
        "num_users": split.num_users, "num_items": split.num_items})
    return {**artifacts, "model": run.artifacts / MODEL_FILE}


def run(cfg: Config, run_dir: RunDir, quiet: bool = False) -> Result:
    check_config(cfg)
    with torch_threads(cfg.threads):
        data = prepare(cfg)
        hard = None
        t0 = time.perf_counter()
        if cfg.max_hard_negatives > 0 and cfg.epochs > 1:
            try:
                hard = HardNegatives(data.graph, cfg.hard_window, cfg.ppr_alpha, cfg.ppr_iters)
            except ValueError as e:  # a window outside the catalogue
                raise ConfigError(f"hard_window={cfg.hard_window}: {e}") from None
            log(quiet, f"  PPR hard-negative windows: ranks [{hard.lo}, {hard.hi}) of {data.split.num_items} "
                        f"items ({time.perf_counter() - t0:.1f} s)")
        records = [fit_seed(cfg, data, hard, i, run_dir, quiet) for i in range(cfg.seeds)]
        wall = time.perf_counter() - t0
    metrics, best_seed = summarize_seeds(records, f"val_{cfg.select}", wall)
    artifacts = export(run_dir, cfg, data, records[best_seed])
    result = Result("pinsage", dataset_name(cfg), describe(cfg, data, hard, records, best_seed), metrics,
                    run_dir.path, artifacts)
    run_dir.write_metrics(result.to_json())
    write_report(run_dir, result, curves=["loss", f"val_{cfg.select}"])
    return result


def describe(cfg: Config, data: TrainingData, hard: HardNegatives | None, records: list[dict], best_seed: int) -> str:
    split = data.split
    inputs = " + ".join(x for x in ("LM text embeddings" if data.features is not None else "",
                                    f"{cfg.id_dim}-d id embeddings" if data.with_ids else "") if x)
    hard_text = (f"plus PPR hard negatives from ranks [{hard.lo}, {hard.hi}) by the curriculum (epoch n: n - 1 "
                 f"per pair, at most {cfg.max_hard_negatives})" if hard is not None else "no hard negatives")
    stops = "; ".join(sorted({r["stop_reason"] for r in records}))
    return (f"{split.protocol}; PinSage over {inputs}, {cfg.layers} convolutions ({cfg.hidden_dim}-d) and a dense "
            f"head ({cfg.dim}-d, L2-normalised), importance neighbourhoods of T={cfg.num_neighbors} by visit counts "
            f"of {cfg.num_random_walks} walks per item; {data.pair_note}; max-margin loss (margin {cfg.margin:g}) "
            f"with {min(cfg.num_negatives, split.num_items)} shared negatives per batch {hard_text}; Adam lr "
            f"{cfg.lr:g}, batch {cfg.batch_size}, up to {cfg.epochs} epochs, validation every {cfg.eval_every} "
            f"({stops}), best val {cfg.select} tested once. Item-to-item: {records[best_seed]['num_pairs']:,} test "
            f"pairs (a user's held-out item and the next one), ranked among all {split.num_items} items but the "
            f"query; mrr = mean 1/ceil(rank/{cfg.mrr_scale:g}) (the paper's scaled MRR), ties broken at random in "
            f"expectation. User-level (DGL's protocol): the user's latest earlier item as query, seen items masked; "
            f"mean ± std (se) over {cfg.seeds} seed{'s' if cfg.seeds > 1 else ''}")
