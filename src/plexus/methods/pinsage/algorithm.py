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
  is L2-normalised before scoring (`normalize`), because the margin Delta = 0.1 of the loss
  only constrains anything once the scale of the embeddings is fixed; an optional learnable
  item bias (`item_bias`) adds a per-item offset to the score z_q . z_i, so popularity is
  not thrown away by the normalisation;
- positive pairs: a user's items of the same moment (a same-timestamp burst, as a set) or
  of the next moment at most `time_window` seconds later (the paper: saved to the same
  board within an hour); the same rule and window define the evaluation pairs; same-user
  co-engagement when the data has no times (`pairs.py`);
- max-margin loss with `num_negatives` negatives shared by the batch plus hard negatives
  from a window of personalised-PageRank ranks that starts beyond the `hard_quantile` of
  the validation targets' own PPR ranks (calibrated once per run, written to
  artifacts/hard_negatives.json), with the curriculum: epoch n adds n - 1 hard negatives per
  pair, capped at `max_hard_negatives` (0 turns them off: the paper's ablation without hard
  negatives), weighted by `hard_weight` as their own term (`batches.py`);
- producer-consumer training: `num_workers` DataLoader workers sample and build batches;
- layer-wise inference over all items (`layerwise_inference`), then the FAISS export read
  by `plexus similar / recommend / serve` (`index`: a FAISS factory string, or `auto` =
  HNSW32 from `hnsw_above` items, Flat below; recall@10 against Flat measured at export);
  user vectors are the normalised mean of the user's seen (train + validation) items;
- optional cold-item protocol (`cold_items`): a random share of the items is removed from
  the training graph entirely, then embedded inductively after training from its text and
  its training interactions (as `plexus embed --new-items` does) and tested on the pairs
  whose target is such an item.

Training runs with `torch.use_deterministic_algorithms`: on CPU the backward of indexing
with repeated rows (`z[query]`, neighbourhood gathers) otherwise accumulates with atomic
float adds across threads, whose order varies run to run (0.0845434 vs 0.0845459 after one
epoch); with it, two runs with the same seed give bit-identical losses.

Selection is on validation only (`select`, default item-to-item hit_rate@10, evaluated every
`eval_every` epochs with early stopping after `patience` epochs); the best state is tested
once. A checkpoint after each validation lets `--resume` continue a killed run; every
random draw derives from (seed, epoch, batch), so the resumed run equals an uninterrupted one.
"""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F

from plexus.errors import ConfigError
from plexus.eval.aggregate import summarize_seeds
from plexus.methods.pinsage.batches import HardNegatives, PinSageBatches, max_margin_loss
from plexus.methods.pinsage.evaluation import ItemEvaluation, embedding_scorer, split_times
from plexus.methods.pinsage.pairs import CoEngagementSampler, moment_pairs
from plexus.methods.recommenders.data import (InteractionSplit, RecConfig, check_rec_config, dataset_name,
                                              load_split, seen_pairs)
from plexus.methods.recommenders.evaluation import metric_view
from plexus.nn.pinsage import PinSageModel, layerwise_inference
from plexus.result import Result
from plexus.sampling.ppr import curriculum_hard_negatives
from plexus.atomic import atomic_write_text
from plexus.sampling.random_walk import BipartiteCSR, WalkConfig, bipartite_csr, importance_neighbors
from plexus.train.checkpoint import save_checkpoint
from plexus.train.loop import Fitted, LoopSettings, SeedParts, log, train_seed
from plexus.train.optim import make_optimizer
from plexus.train.report import write_report
from plexus.train.rundir import RunDir
from plexus.train.seed import stream_generator
from plexus.train.threads import torch_threads

MODEL_FILE = "pinsage_model.pt"  # in artifacts/: what `plexus embed --new-items` needs
HARD_FILE = "hard_negatives.json"  # in artifacts/: the hard-negative window and how it was chosen
EVAL_STREAM = 10**6  # the epoch slot of the fixed evaluation neighbourhoods' generator
COLD_STREAM = 10**6 + 2  # the slot of the cold items' draw and their inductive neighbourhoods


@dataclass
class Config(RecConfig):
    """The paper's setting, scaled to a 2-core CPU where it names sizes for 3B items.

    The input / scorer options (`id_embedding`, `item_bias`, `normalize`) default to what
    movielens-100k validation item-to-item hit@10 chose (2026-11-30): item bias 0.0522 vs
    0.0559 without (3 seeds, `plexus bench pinsage`), normalize=false 0.0428 vs 0.0583 and
    id embeddings 0.0630 vs 0.0583 (seed 0, 9 epochs each; one seed, inside the seed-to-seed
    spread of ~0.0035, so not adopted). Item bias and no normalisation score higher on *test*
    (popular targets); selection is on validation only.
    """

    dataset: str = "movielens-100k"
    # model
    hidden_dim: int = 256
    dim: int = 128  # output embedding
    layers: int = 2
    id_embedding: bool | None = None  # None: on only when the items have no text
    id_dim: int = 64
    item_bias: bool = False  # learnable per-item score offset
    normalize: bool = True  # L2-normalise the output (the margin then has a fixed scale)
    text_model: str = "default"  # LM for item text (all-MiniLM-L6-v2, offline)
    # importance neighbourhoods (plexus.sampling.random_walk.WalkConfig)
    num_neighbors: int = 50  # T
    num_random_walks: int = 200
    num_traversals: int = 3
    termination_prob: float = 0.5
    # positive pairs (train and evaluation alike)
    time_window: float | None = 3600.0  # seconds from one moment to the next (paper: an hour)
    pairs_per_epoch: int = 0  # 0: as many draws as training interactions
    # loss and negatives
    margin: float = 0.1  # Delta
    num_negatives: int = 500  # shared per batch (paper: 500), capped at the catalogue
    hard_window: list[float] | None = None  # None: calibrated on validation; else [lo, hi] ranks / shares
    hard_quantile: float = 0.95  # the window starts beyond this quantile of validation targets' PPR ranks
    hard_width: float = 0.1  # window width: share of the catalogue (< 1) or ranks
    max_hard_negatives: int = 6  # curriculum cap; 0: no hard negatives
    hard_weight: float = 1.0  # weight of the hard-negative term of the loss
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
    # export
    index: str = "auto"  # FAISS index_factory string, or auto: HNSW32 from `hnsw_above` items, else Flat
    hnsw_above: int = 50000
    # cold-item protocol
    cold_items: float = 0.0  # share of items held out of training and embedded inductively


def check_config(cfg: Config) -> None:
    check_rec_config(cfg)
    for name in ("hidden_dim", "dim", "layers", "id_dim", "num_neighbors", "num_random_walks", "num_traversals",
                 "batch_size", "epochs", "eval_every", "patience", "num_negatives", "inference_chunk", "seeds",
                 "hnsw_above"):
        if getattr(cfg, name) < 1:
            raise ConfigError(f"{name} must be at least 1, got {getattr(cfg, name)}.")
    for name in ("max_hard_negatives", "pairs_per_epoch", "num_workers", "threads", "ppr_iters", "hard_weight"):
        if getattr(cfg, name) < 0:
            raise ConfigError(f"{name} must be >= 0, got {getattr(cfg, name)}.")
    if not 0.0 <= cfg.termination_prob < 1.0:
        raise ConfigError(f"termination_prob must be in [0, 1), got {cfg.termination_prob}.")
    if not 0.0 < cfg.ppr_alpha <= 1.0:
        raise ConfigError(f"ppr_alpha must be in (0, 1], got {cfg.ppr_alpha}.")
    if cfg.hard_window is not None and len(cfg.hard_window) != 2:
        raise ConfigError(f"hard_window must be [lo, hi] or null (calibrated), got {cfg.hard_window}.")
    if not 0.0 < cfg.hard_quantile < 1.0 or cfg.hard_width <= 0:
        raise ConfigError(f"hard_quantile must be in (0, 1) and hard_width > 0, got {cfg.hard_quantile}, "
                          f"{cfg.hard_width}.")
    if not 0.0 <= cfg.cold_items < 1.0:
        raise ConfigError(f"cold_items must be in [0, 1), got {cfg.cold_items}.")
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
                        id_dim=cfg.id_dim if with_ids else 0, num_layers=cfg.layers, item_bias=cfg.item_bias)


def cold_item_mask(num_items: int, share: float, seed: int) -> torch.Tensor:
    """[num_items] True for the `share` of items held out (a fixed draw per run seed)."""
    mask = torch.zeros(num_items, dtype=torch.bool)
    if share > 0:
        perm = torch.randperm(num_items, generator=stream_generator(seed, COLD_STREAM))
        mask[perm[:int(round(share * num_items))]] = True
    return mask


@dataclass
class TrainingData:
    split: InteractionSplit  # with cold items: `train` holds only warm items' interactions
    graph: BipartiteCSR  # the training graph (warm items only with cold items)
    features: torch.Tensor | None
    with_ids: bool
    pairs: torch.Tensor | None  # moment pairs (data with times)
    sampler: CoEngagementSampler | None  # co-engagement draws (data without times)
    evaluation: ItemEvaluation
    pair_note: str
    cold: torch.Tensor | None = None  # [num_items] bool, the held-out items
    full_train: torch.Tensor | None = None  # every training interaction (cold items' arrive after training)

    def epoch_pairs(self, cfg: Config, gen: torch.Generator) -> torch.Tensor:
        """This epoch's positive pairs: a uniform draw without replacement from the pair set."""
        num = cfg.pairs_per_epoch or self.split.train.size(1)
        if self.pairs is not None:
            return self.pairs[:, torch.randperm(self.pairs.size(1), generator=gen)[:num]]
        return self.sampler.sample(num, gen)


def prepare(cfg: Config) -> TrainingData:
    split = load_split(cfg)
    full_train, cold = split.train, None
    times = split_times(split, "train")
    if cfg.cold_items > 0:
        cold = cold_item_mask(split.num_items, cfg.cold_items, cfg.seed)
        keep = ~cold[split.train[1]]
        split = replace(split, train=split.train[:, keep])
        times = times[keep] if times is not None else None
    graph = bipartite_csr(split.train, split.num_users, split.num_items)
    features = item_features(split, cfg)
    if times is not None:
        pairs, sampler = moment_pairs(split.train, times, cfg.time_window), None
        gap = "any gap" if cfg.time_window is None else f"at most {cfg.time_window:g} s later"
        note = (f"{pairs.size(1):,} positive pairs (a user's items of one moment, or of the next moment {gap}); "
                f"{cfg.pairs_per_epoch or split.train.size(1):,} drawn per epoch")
        if pairs.size(1) == 0:
            raise ConfigError(f"no positive pairs: no user has two items in one moment or moments {gap}; "
                              f"raise time_window (or set it to null).")
    else:
        pairs, sampler = None, CoEngagementSampler(graph, split.train)
        note = ("no interaction times: positive pairs are same-user co-engagement, "
                f"{cfg.pairs_per_epoch or split.train.size(1):,} fresh draws per epoch")
    evaluation = ItemEvaluation.build(split, cfg.ks, cfg.mrr_scale, cfg.eval_batch_size, cfg.time_window, cold,
                                      times)
    return TrainingData(split, graph, features, uses_id_embedding(cfg, features), pairs, sampler, evaluation,
                        note, cold, full_train)


def hard_negatives(cfg: Config, data: TrainingData) -> tuple[HardNegatives, dict]:
    """The PPR hard-negative tables, over a window fixed or calibrated on validation pairs."""
    try:
        (lo, hi), info = HardNegatives.window(data.graph, cfg.hard_window, data.evaluation.pairs["val"],
                                              cfg.hard_quantile, cfg.hard_width, cfg.ppr_alpha, cfg.ppr_iters)
    except ValueError as e:
        raise ConfigError(f"hard_window={cfg.hard_window}: {e}") from None
    return HardNegatives(data.graph, lo, hi, cfg.ppr_alpha, cfg.ppr_iters), info


# ---------------------------------------------------------------------------- training


def _one_thread(_worker: int) -> None:
    torch.set_num_threads(1)  # the workers share the cores with the training process


@contextmanager
def deterministic():
    """Deterministic kernels for the block (see the module docstring), restored after."""
    before = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before)


def output(z: torch.Tensor, cfg: Config) -> torch.Tensor:
    return F.normalize(z, dim=1) if cfg.normalize else z


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
    with deterministic():
        for batch in loader:
            z = output(model(batch.blocks, data.features), cfg)
            bias = model.item_bias[batch.blocks[-1].dst] if model.item_bias is not None else None
            loss = max_margin_loss(z, batch, cfg.margin, cfg.hard_weight, bias)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item()
            steps += 1
    return {"loss": total / max(steps, 1), "hard_negatives": n_hard, "pairs": batches.pairs.size(1)}


def eval_neighbors(data: TrainingData, cfg: Config, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The fixed neighbourhoods every evaluation and the export use."""
    return importance_neighbors(data.graph, walk_config(cfg), generator=stream_generator(seed, EVAL_STREAM))


def item_embeddings(model: PinSageModel, features: torch.Tensor | None, tables, chunk: int,
                    normalize: bool = True) -> torch.Tensor:
    """Every item's embedding, layer by layer over the neighbourhood tables; with an item bias
    it is the last column (queries use 1 there, see `query_vectors`)."""
    z = layerwise_inference(model, features, *tables, chunk_size=chunk)
    z = F.normalize(z, dim=1) if normalize else z
    if model.item_bias is not None:
        z = torch.cat([z, model.item_bias.detach().cpu()[:z.size(0), None]], 1)
    return z


def query_vectors(item_emb: torch.Tensor, with_bias: bool) -> torch.Tensor:
    """Item vectors as queries: the bias column replaced by 1, so q . i = z_q . z_i + b_i."""
    if not with_bias:
        return item_emb
    return torch.cat([item_emb[:, :-1], torch.ones(item_emb.size(0), 1)], 1)


def cold_embeddings(model: PinSageModel, cfg: Config, data: TrainingData, tables, seed: int) -> torch.Tensor:
    """All items' embeddings once the cold items' training interactions arrive: warm items keep
    their neighbourhoods, cold items get walks over the full training graph (`inductive.py`)."""
    from plexus.methods.pinsage.inductive import inductive_tables

    graph = bipartite_csr(data.full_train, data.split.num_users, data.split.num_items)
    cold_ids = torch.nonzero(data.cold).flatten()
    neighbors, weights = inductive_tables(graph, cfg, tables, cold_ids, stream_generator(seed, COLD_STREAM))
    with _mean_for(model, cold_ids):
        return item_embeddings(model, data.features, (neighbors, weights), cfg.inference_chunk, cfg.normalize)


@contextmanager
def _mean_for(model: PinSageModel, items: torch.Tensor):
    """Unseen items' id vectors and biases = the mean over the trained items, for the block."""
    params = [p for p in (model.id_emb.weight if model.id_emb is not None else None, model.item_bias)
              if p is not None]
    saved = [p.detach().clone() for p in params]
    with torch.no_grad():
        for p in params:
            trained = torch.ones(p.size(0), dtype=torch.bool)
            trained[items] = False
            p[items] = p[trained].mean(0)
    try:
        yield
    finally:
        with torch.no_grad():
            for p, value in zip(params, saved):
                p.copy_(value)


def fit_seed(cfg: Config, data: TrainingData, hard: HardNegatives | None, seed_index: int, run: RunDir,
             quiet: bool) -> dict:
    """Train, select and test one seed through `plexus.train.loop` (resuming from its
    checkpoint); its finished record. Every random draw of an epoch comes from the
    (seed, epoch) stream, so a resumed seed repeats the uninterrupted one."""
    seed = cfg.seed + seed_index
    held: dict = {}
    bias = cfg.item_bias

    def evaluate(which: str) -> dict[str, float]:
        held["item_emb"] = item_embeddings(held["model"], data.features, held["tables"], cfg.inference_chunk,
                                           cfg.normalize)
        scorer = embedding_scorer(held["item_emb"], query_vectors(held["item_emb"], bias))
        metrics = data.evaluation.evaluate(scorer, which)
        out = {**metric_view(metrics, ""), **{k: float(metrics[k]) for k in ("mrr", "mrr_unscaled", "num_pairs")}}
        if which == "test" and data.cold is not None:
            held["item_emb"] = cold_embeddings(held["model"], cfg, data, held["tables"], seed)
            scorer = embedding_scorer(held["item_emb"], query_vectors(held["item_emb"], bias))
            cold = data.evaluation.item_to_item(scorer, "test_cold")
            out.update({f"cold_{k}": float(v) for k, v in cold.items()})
        return out

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
    """`metric_view` (rates at K) plus the item-to-item MRRs and cold-item metrics, prefixed."""
    out = metric_view(metrics, prefix)
    for key, value in metrics.items():
        if key in ("mrr", "mrr_unscaled") or key.startswith("cold_"):
            out[f"{prefix}{key}"] = float(value)
    return out


# ---------------------------------------------------------------------------- export


def user_vectors(split: InteractionSplit, item_emb: torch.Tensor, with_bias: bool) -> torch.Tensor:
    """Each user's normalised mean of seen (train + validation) item embeddings (0 for none);
    with an item bias, a last column of 1 (it adds the recommended item's bias)."""
    z = item_emb[:, :-1] if with_bias else item_emb
    seen = torch.unique(seen_pairs(split), dim=1)
    acc = torch.zeros(split.num_users, z.size(1)).index_add_(0, seen[0], z[seen[1]])
    users = F.normalize(acc, dim=1)
    return torch.cat([users, torch.ones(users.size(0), 1)], 1) if with_bias else users


def index_factory(cfg: Config, num_items: int) -> str:
    """The FAISS index of the export: `index`, or for `auto` HNSW32 from `hnsw_above` items.

    Why 50,000: an exact (Flat) search over 50k 128-d vectors reads 25 MB per query, a few
    milliseconds on one core — still interactive; beyond that the exact cost grows linearly
    while HNSW stays logarithmic at recall@10 near 1 (measured at export, see below).
    """
    if cfg.index != "auto":
        return cfg.index
    return "HNSW32" if num_items >= cfg.hnsw_above else "Flat"


def export(run: RunDir, cfg: Config, data: TrainingData, record: dict) -> dict:
    """The recommender files (with the configured ANN index and its recall against Flat), plus
    the trained model and its neighbourhoods for inductive embedding."""
    from plexus.retrieval.artifacts import save_recommender
    from plexus.retrieval.index import index_recall

    split = data.split
    item_emb = record["item_emb"]
    factory = index_factory(cfg, split.num_items)
    queries = query_vectors(item_emb, cfg.item_bias)
    save_recommender(run.artifacts, user_emb=user_vectors(split, item_emb, cfg.item_bias), item_emb=item_emb,
                     user_ids=split.user_ids, item_ids=split.item_ids, seen_edge_index=seen_pairs(split),
                     item_text=split.item_text, factory=factory,
                     item_query_emb=queries if cfg.item_bias else None)
    recall = index_recall(run.artifacts / "item_index", item_emb, queries, k=10)
    save_checkpoint(run.artifacts / MODEL_FILE, {
        "model": record["model"], "features": data.features, "with_ids": data.with_ids,
        "neighbors": record["neighbors"], "weights": record["weights"], "train": split.train,
        "num_users": split.num_users, "num_items": split.num_items})
    return {"user_embeddings": run.artifacts / "user_embeddings.npy",
            "item_embeddings": run.artifacts / "item_embeddings.npy", "model": run.artifacts / MODEL_FILE,
            "index": factory, "index_recall@10": recall}


def run(cfg: Config, run_dir: RunDir, quiet: bool = False) -> Result:
    check_config(cfg)
    with torch_threads(cfg.threads):
        data = prepare(cfg)
        hard, hard_info = None, None
        t0 = time.perf_counter()
        if cfg.max_hard_negatives > 0 and cfg.epochs > 1:
            hard, hard_info = hard_negatives(cfg, data)
            atomic_write_text(run_dir.artifacts / HARD_FILE, json.dumps(hard_info, indent=2) + "\n")
            log(quiet, f"  PPR hard-negative windows: ranks [{hard.lo}, {hard.hi}) of {data.split.num_items} "
                        f"items ({hard_info['how']}; {time.perf_counter() - t0:.1f} s)")
        records = [fit_seed(cfg, data, hard, i, run_dir, quiet) for i in range(cfg.seeds)]
        wall = time.perf_counter() - t0
    metrics, best_seed = summarize_seeds(records, f"val_{cfg.select}", wall)
    artifacts = export(run_dir, cfg, data, records[best_seed])
    metrics["index_recall@10"] = float(artifacts.pop("index_recall@10"))
    if hard is not None:
        metrics["hard_lo"], metrics["hard_hi"] = float(hard.lo), float(hard.hi)
    result = Result("pinsage", dataset_name(cfg), describe(cfg, data, hard, hard_info, records, best_seed,
                                                           artifacts.pop("index")),
                    metrics, run_dir.path, artifacts)
    run_dir.write_metrics(result.to_json())
    write_report(run_dir, result, curves=["loss", f"val_{cfg.select}"])
    return result


def describe(cfg: Config, data: TrainingData, hard: HardNegatives | None, hard_info: dict | None,
             records: list[dict], best_seed: int, factory: str) -> str:
    split = data.split
    inputs = " + ".join(x for x in ("LM text embeddings" if data.features is not None else "",
                                    f"{cfg.id_dim}-d id embeddings" if data.with_ids else "") if x)
    hard_text = "no hard negatives"
    if hard is not None:
        hard_text = (f"plus PPR hard negatives from ranks [{hard.lo}, {hard.hi}) ({hard_info['how']}) by the "
                     f"curriculum (epoch n: n - 1 per pair, at most {cfg.max_hard_negatives}), weight "
                     f"{cfg.hard_weight:g}")
    head = f"{cfg.dim}-d{', L2-normalised' if cfg.normalize else ''}{', plus an item bias' if cfg.item_bias else ''}"
    cold = ""
    if data.cold is not None:
        cold = (f" Cold items: {int(data.cold.sum())} items ({cfg.cold_items:.0%}) held out of the training graph, "
                f"embedded after training from their text and training interactions; cold_* metrics over the "
                f"test pairs whose target is one of them.")
    stops = "; ".join(sorted({r["stop_reason"] for r in records}))
    return (f"{split.protocol}; PinSage over {inputs}, {cfg.layers} convolutions ({cfg.hidden_dim}-d) and a dense "
            f"head ({head}), importance neighbourhoods of T={cfg.num_neighbors} by visit counts "
            f"of {cfg.num_random_walks} walks per item; {data.pair_note}; max-margin loss (margin {cfg.margin:g}) "
            f"with {min(cfg.num_negatives, split.num_items)} shared negatives per batch {hard_text}; Adam lr "
            f"{cfg.lr:g}, batch {cfg.batch_size}, up to {cfg.epochs} epochs, validation every {cfg.eval_every} "
            f"({stops}), best val {cfg.select} tested once. Item-to-item: {records[best_seed]['num_pairs']:,} test "
            f"pairs (the same moment rule and window as training, on the held-out interactions), ranked among all "
            f"{split.num_items} items but the query; mrr = mean 1/ceil(rank/{cfg.mrr_scale:g}) (the paper's scaled "
            f"MRR), ties broken at random in expectation. User-level (DGL's protocol): the user's latest earlier "
            f"item as query, seen items masked; mean ± std (se) over {cfg.seeds} seed{'s' if cfg.seeds > 1 else ''}."
            f"{cold} Export: FAISS {factory} index.")
