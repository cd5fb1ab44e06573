"""LLMRec (Wei et al., "LLMRec: Large Language Models with Graph Augmentation for
Recommendation", WSDM 2024; official code HKUDS/LLMRec), protocol-clean, with any
OpenAI-compatible LLM (default: the local SmolLM2-135M-Instruct server of `plexus.llm`).

1. Data: the interactions and their split (`recommenders.data`; MovieLens-100K's `ua` split
   with 10% of each user's training interactions held out for validation).
2. Candidates (`candidates.py`): top-`candidates` unseen items per user from a LightGCN trained
   `candidate_epochs` epochs on the training split only (the step the official repo left out).
3. LLM augmentation (`augment.py`, prompts in `templates/`), done once and kept as artefacts
   under `artifacts/augmentation/` (reused with `augmentation_from=RUN`):
   - implicit feedback: one liked and one disliked candidate per user -> BPR triples;
   - item attributes (director, country, language) and user profiles (age, gender, liked
     and disliked genres, plus the data's demographics) as structured text, embedded with the
     bundled MiniLM.
   Only the parts whose rate is non-zero are asked for (aug_sample_rate, item_cat_rate,
   user_cat_rate), so the plain LightGCN row never calls the LLM.
4. Model (`model.py`): the core LightGCN plus projected side features added at the paper's
   rates: item text (`model_cat_rate`), user profiles (`user_cat_rate`), item attributes
   (`item_cat_rate`); all three at 0 is LightGCN exactly.
5. Training (`training.py`, `denoise.py`): BPR over the observed triples and
   `aug_sample_rate` x batch augmented triples per batch; the `prune_loss_drop_rate` share of
   augmented triples with the largest loss is dropped (the paper's Sec. 3.4.1; the official code
   keeps the largest instead); MAE masks `mask_rate` of the profile/attribute rows with a
   learnable [MASK] vector and adds `att_re_rate` x the SCE reconstruction loss (gamma 2).
6. Protocol: every seed through `plexus.train.loop.train_seed` (checkpoints, resume, early
   stopping), selection on validation recall@20 (the official code selects on test), the
   selected epoch tested once; full-ranking Recall/NDCG/Precision@10/20/50.

Defaults. The backbone and optimiser are the recommendation core's LightGCN at its paper
setting (64-d, 3 layers, Adam lr 0.001, batch 2048, reg 1e-4), so every bench row shares
them. LLMRec's own rates are the official `utility/parser.py` values of its MovieLens block:
model_cat_rate 0.02, user_cat_rate 0.72, item_cat_rate 0.003, aug_sample_rate 0.0036,
prune_loss_drop_rate 0.4, mask_rate 0.1, att_re_rate 1e-5, alpha_l (SCE gamma) 2,
feat_reg_decay 1e-5, drop_rate 0.3. Not carried over: the official auxiliary BPR on
side features alone (`aug_mf_rate`) and its image features (MovieLens-100K has none).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import torch

from plexus.errors import ConfigError
from plexus.eval.aggregate import summarize_seeds
from plexus.llm.settings import LLMSettings
from plexus.methods.llmrec import augment as A
from plexus.methods.llmrec.model import LLMRecModel, Rates, SideFeatures
from plexus.methods.llmrec.prompts import PromptFiles
from plexus.methods.llmrec.training import AugmentedTriples, LossSettings, train_epoch
from plexus.methods.recommenders.bpr import TripleSampler, check_config as check_bpr_config, seed_record
from plexus.methods.recommenders.data import dataset_name, load_split
from plexus.methods.recommenders.evaluation import metric_view, ranking_metrics
from plexus.methods.recommenders.export import export_recommender
from plexus.methods.recommenders.lightgcn import Config as LightGCNConfig, normalized_bipartite
from plexus.result import Result
from plexus.train.loop import Fitted, LoopSettings, SeedParts, train_seed
from plexus.train.optim import make_optimizer
from plexus.train.report import write_report
from plexus.train.rundir import RunDir
from plexus.train.threads import torch_threads


@dataclass
class Config(LightGCNConfig):
    dataset: str = "movielens-100k"
    ks: list[int] = field(default_factory=lambda: [10, 20, 50])
    llm: LLMSettings = field(default_factory=LLMSettings)
    prompts: PromptFiles = field(default_factory=PromptFiles)
    augmentation_from: str | None = None  # a previous LLMRec run directory: reuse its augmentation
    llm_cache: str | None = None  # SQLite answer cache (None: $PLEXUS_CACHE/llm/answers.sqlite)
    candidates: int = 10  # candidate items per user shown to the LLM
    candidate_epochs: int = 100  # epochs of the candidate LightGCN (train split only, no selection)
    history_len: int = 5  # training items per user shown in a prompt (the latest; official: all of them)
    augment_users: int = 0  # 0: every user; N: the first N users only (quick runs)
    augment_items: int = 0  # 0: every item; N: the first N items only
    # LLMRec's rates: official parser, MovieLens block
    model_cat_rate: float = 0.02  # item text features
    user_cat_rate: float = 0.72  # LLM user profiles
    item_cat_rate: float = 0.003  # LLM item attributes
    aug_sample_rate: float = 0.0036  # augmented triples per batch, as a share of the batch
    prune_loss_drop_rate: float = 0.4  # share of augmented triples dropped per batch (largest loss)
    prune_scope: Literal["augmented", "all"] = "augmented"
    mask_rate: float = 0.1  # MAE: share of users/items whose profile/attribute row is masked
    att_re_rate: float = 1e-5  # weight of the SCE reconstruction loss
    feat_reg_decay: float = 1e-5  # weight of the text-feature regulariser
    drop_rate: float = 0.3  # dropout on the projected side features
    side_dim: int = 0  # 0: project the raw text embeddings; N: reduce them to N principal components first
    eval_every: int = 5
    epochs: int = 300


RATE_KEYS = ("model_cat_rate", "user_cat_rate", "item_cat_rate", "aug_sample_rate", "prune_loss_drop_rate",
             "mask_rate", "att_re_rate", "feat_reg_decay", "drop_rate")


def check_config(cfg: Config) -> None:
    check_bpr_config(cfg)
    for key in RATE_KEYS:
        if getattr(cfg, key) < 0:
            raise ConfigError(f"{key} must be >= 0, got {getattr(cfg, key)}.")
    for key in ("prune_loss_drop_rate", "mask_rate", "drop_rate", "aug_sample_rate"):
        if getattr(cfg, key) >= 1:
            raise ConfigError(f"{key} must be below 1, got {getattr(cfg, key)}.")
    for key in ("candidates", "candidate_epochs", "history_len"):
        if getattr(cfg, key) < 1:
            raise ConfigError(f"{key} must be at least 1, got {getattr(cfg, key)}.")
    if cfg.side_dim < 0:
        raise ConfigError(f"side_dim must be >= 0 (0: no reduction), got {cfg.side_dim}.")
    if cfg.augment_users < 0 or cfg.augment_items < 0:
        raise ConfigError("augment_users and augment_items must be >= 0 (0: all).")
    if cfg.layers < 0:
        raise ConfigError(f"layers must be >= 0, got {cfg.layers}.")


def needed_parts(cfg: Config) -> set[str]:
    """The augmentations this configuration uses (a part at rate 0 is never asked for)."""
    parts = set()
    if cfg.aug_sample_rate > 0:
        parts.add("implicit_feedback")
    if cfg.item_cat_rate > 0:
        parts.add("item_attributes")
    if cfg.user_cat_rate > 0:
        parts.add("user_profile")
    return parts


def _log(quiet: bool, msg: str) -> None:
    if not quiet:
        print(msg, file=sys.stderr, flush=True)


def augmentation(cfg: Config, split, catalog: A.Catalog, run_dir: RunDir, quiet: bool) -> A.Augmentation | None:
    """This run's augmentation: its own artefacts (a resumed run), a previous run's
    (`augmentation_from`), or asked of the LLM now and saved."""
    parts = needed_parts(cfg)
    if not parts:
        return None
    here = run_dir.artifacts / A.AUG_DIR
    if (here / "manifest.json").is_file():  # --resume of a run that already augmented
        return A.load_augmentation(here, parts, split.num_users, split.num_items, str(here))
    if cfg.augmentation_from:
        src = Path(cfg.augmentation_from)
        folder = src / "artifacts" / A.AUG_DIR if (src / "artifacts").is_dir() else src
        aug = A.load_augmentation(folder, parts, split.num_users, split.num_items,
                                  f"augmentation_from={cfg.augmentation_from}")
        A.copy_artifacts(folder, here)
        _log(quiet, f"  augmentation: reused from {folder}")
        return aug
    candidates = None
    if "implicit_feedback" in parts and (here / "candidates.jsonl").is_file():  # a resumed run: kept
        candidates = A.load_candidates(here / "candidates.jsonl", split.num_users, split.num_items, cfg.candidates)
    elif "implicit_feedback" in parts:
        from plexus.methods.llmrec.candidates import candidates_for

        t0 = time.perf_counter()
        # the core LightGCN's own defaults, not this run's training settings: the candidates (and
        # so the prompts and their cached answers) stay the same whatever a bench row trains with
        candidates = candidates_for(split.train, split.num_users, split.num_items, cfg.candidates,
                                    epochs=cfg.candidate_epochs, seed=cfg.seed)
        _log(quiet, f"  candidates: top-{cfg.candidates} of a LightGCN trained {cfg.candidate_epochs} epochs on "
                    f"the training split ({time.perf_counter() - t0:.0f} s)")
        # saved before the LLM is asked: a killed augmentation resumes (--resume) without retraining
        A.save_candidates(here / "candidates.jsonl", candidates, split.user_ids)
    users = list(range(cfg.augment_users and min(cfg.augment_users, split.num_users) or split.num_users))
    items = list(range(cfg.augment_items and min(cfg.augment_items, split.num_items) or split.num_items))
    cache = Path(cfg.llm_cache) if cfg.llm_cache else A.default_llm_cache()
    aug = A.run_augmentation(parts, catalog, candidates, users, items, cfg.llm, cfg.prompts, cfg.history_len,
                             cache, quiet)
    aug.stats["users_asked"], aug.stats["items_asked"] = len(users), len(items)
    A.save_augmentation(here, aug, split.user_ids, split.item_ids)
    return aug


def side_features(cfg: Config, catalog: A.Catalog, aug: A.Augmentation | None) -> SideFeatures:
    """Embedded item text, profiles and attributes for the parts this configuration uses."""
    feats = SideFeatures()
    if cfg.model_cat_rate > 0:
        feats.text = _embed(catalog.item_text, cfg)
    if cfg.user_cat_rate > 0:
        profiles = aug.profiles or {}
        feats.profiles = _embed([A.profile_text(catalog.user_text[u], profiles.get(u),
                                                [catalog.item_text[i] for i in catalog.history[u][-5:]])
                                 for u in range(catalog.num_users)], cfg)
    if cfg.item_cat_rate > 0:
        attrs = aug.attributes or {}
        feats.attributes = _embed([A.attribute_text(t, attrs.get(i)) for i, t in enumerate(catalog.item_text)], cfg)
    return feats


def principal_components(x: torch.Tensor, k: int) -> torch.Tensor:
    """x centred and projected on its top-k principal directions ([n, k]; x itself if k >= its
    width). A CPU speed option (`side_dim`): the learned projections then read k columns, not
    the encoder's 384; the paper projects the raw embeddings."""
    if k <= 0 or k >= x.size(1):
        return x
    centred = x.double() - x.double().mean(0)
    _, _, vh = torch.linalg.svd(centred, full_matrices=False)
    signs = torch.sign(vh[:k].sum(1, keepdim=True)).clamp(min=0) * 2 - 1  # a fixed sign per direction
    return (centred @ (vh[:k] * signs).t()).float()


def _embed(texts: list[str], cfg: Config) -> torch.Tensor:
    return principal_components(_embed_raw(texts, cfg), cfg.side_dim)


def _embed_raw(texts: list[str], cfg: Config) -> torch.Tensor:
    if not cfg.llm.embed_model:
        return A.embed(texts, cfg.llm)
    from plexus.llm.client import LLMClient
    from plexus.llm.local import endpoint

    with endpoint(cfg.llm) as url:
        client = LLMClient(cfg.llm, url, Path(cfg.llm_cache) if cfg.llm_cache else A.default_llm_cache())
        try:
            return A.embed(texts, cfg.llm, client)
        finally:
            client.close()


def run(cfg: Config, run_dir: RunDir, quiet: bool = False) -> Result:
    check_config(cfg)
    settings = LoopSettings(cfg.epochs, cfg.eval_every, cfg.select, cfg.patience, cfg.max_minutes)
    losses = LossSettings(cfg.batch_size, cfg.reg, cfg.aug_sample_rate, cfg.prune_loss_drop_rate, cfg.prune_scope,
                          cfg.feat_reg_decay, cfg.att_re_rate)
    rates = Rates(cfg.model_cat_rate, cfg.user_cat_rate, cfg.item_cat_rate)
    with torch_threads(cfg.threads):
        split = load_split(cfg)
        catalog = A.catalog_from_split(split, cfg.interactions.path or cfg.dataset, cfg.interactions.item_text,
                                     cfg.interactions.item_col)
        aug = augmentation(cfg, split, catalog, run_dir, quiet)
        feats = side_features(cfg, catalog, aug)
        triples = aug.triples if aug is not None and aug.triples is not None and cfg.aug_sample_rate > 0 else None
        adj = normalized_bipartite(split.train, split.num_users, split.num_items)
        t0 = time.perf_counter()
        records = []
        for s in range(cfg.seeds):
            models = []

            def setup(gen, models=models):
                model = LLMRecModel(split.num_users, split.num_items, cfg.dim, cfg.layers, adj, split.train, feats,
                                    rates, cfg.init_std, cfg.drop_rate, cfg.mask_rate)
                models.append(model)
                opt = make_optimizer(model.parameters(), cfg.lr)
                sampler = TripleSampler(split.train, split.num_users, split.num_items, cfg.negative, cfg.neg_alpha,
                                        cfg.sampling, gen)
                extra = AugmentedTriples(triples, split.num_users) if triples is not None else None

                def evaluate(which: str) -> dict[str, float]:
                    return metric_view(ranking_metrics(*model.final(), split, which, cfg.ks, cfg.eval_batch_size), "")

                return SeedParts(model, opt, train_epoch=lambda epoch: train_epoch(model, opt, sampler, extra, losses,
                                                                                   gen),
                                 validate=lambda: evaluate("val"), test=lambda: evaluate("test"), generators=[gen])

            def finish(fitted: Fitted, test: dict, models=models) -> dict:
                return seed_record(models[0], fitted, test)

            records.append(train_seed(run_dir, s, cfg.seed + s, setup, settings, finish, quiet))
        wall = time.perf_counter() - t0
    metrics, best_seed = summarize_seeds(records, f"val_{cfg.select}", wall)
    metrics.update(_aug_metrics(aug))
    artifacts = export_recommender(run_dir, split, records[best_seed]["user_emb"], records[best_seed]["item_emb"])
    if aug is not None:
        artifacts["augmentation"] = run_dir.artifacts / A.AUG_DIR
    result = Result("llmrec", dataset_name(cfg), _protocol(cfg, split, aug, records, best_seed), metrics,
                    run_dir.path, artifacts)
    run_dir.write_metrics(result.to_json())
    write_report(run_dir, result, curves=["loss", f"val_{cfg.select}"])
    return result


def _aug_metrics(aug: A.Augmentation | None) -> dict[str, float]:
    """LLM calls, cache hits, rejects and wall time of the augmentation (0 without one)."""
    out = {"aug_calls": 0.0, "aug_cache_hits": 0.0, "aug_rejects": 0.0, "aug_wall_s": 0.0, "aug_triples": 0.0,
           "aug_attributes": 0.0, "aug_profiles": 0.0}
    if aug is None:
        return out
    for part in ("implicit_feedback", "item_attributes", "user_profile"):
        st = aug.stats.get(part, {})
        out["aug_calls"] += float(st.get("calls", 0))
        out["aug_cache_hits"] += float(st.get("cache_hits", 0))
        out["aug_rejects"] += float(st.get("rejects", 0))
    out["aug_wall_s"] = float(aug.stats.get("wall_s", 0.0))
    out["aug_triples"] = float(aug.triples.size(1)) if aug.triples is not None else 0.0
    out["aug_attributes"] = float(len(aug.attributes)) if aug.attributes is not None else 0.0
    out["aug_profiles"] = float(len(aug.profiles)) if aug.profiles is not None else 0.0
    return out


def _protocol(cfg: Config, split, aug, records, best_seed: int) -> str:
    parts = []
    if cfg.model_cat_rate > 0:
        parts.append(f"item text (MiniLM) at model_cat_rate {cfg.model_cat_rate:g}")
    if aug is not None:
        llm = f"{aug.stats.get('model', cfg.llm.model)} at {aug.stats.get('endpoint', cfg.llm.base_url)}"
        if aug.triples is not None:
            parts.append(f"{aug.triples.size(1)} LLM implicit-feedback triples (top-{cfg.candidates} candidates), "
                         f"aug_sample_rate {cfg.aug_sample_rate:g}, pruning {cfg.prune_loss_drop_rate:g} of the "
                         f"{cfg.prune_scope} triples with the largest loss per batch")
        if aug.profiles is not None:
            parts.append(f"{len(aug.profiles)} LLM user profiles at user_cat_rate {cfg.user_cat_rate:g}")
        if aug.attributes is not None:
            parts.append(f"{len(aug.attributes)} LLM item attributes at item_cat_rate {cfg.item_cat_rate:g}")
        if cfg.mask_rate > 0 and (aug.profiles is not None or aug.attributes is not None):
            parts.append(f"MAE mask_rate {cfg.mask_rate:g} with SCE x {cfg.att_re_rate:g}")
        parts.append(f"LLM: {llm}")
    stops = "; ".join(sorted({r["stop_reason"] for r in records}))
    side = "; ".join(parts) if parts else "no side features, no augmentation (LightGCN)"
    return (f"{split.protocol}; LightGCN {cfg.dim}-d, {cfg.layers} layers, with {side}; BPR, reg {cfg.reg:g}, "
            f"Adam lr {cfg.lr:g}, batch {cfg.batch_size}, up to {cfg.epochs} epochs; validation every "
            f"{cfg.eval_every} epochs, early stop after {cfg.patience} epochs without a better val {cfg.select} "
            f"({stops}), the best-validation epoch tested once; full ranking over all {split.num_items} items with "
            f"training items masked (and validation items for test); mean ± std (se) over {cfg.seeds} "
            f"seed{'s' if cfg.seeds > 1 else ''}; artifacts hold seed {best_seed}'s (best val) embeddings")
