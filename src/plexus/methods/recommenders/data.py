"""What every recommender shares before training: its config section, the interactions and
their split.

- `RecConfig`: the dataset or the user's interaction file (`interactions.*`), the split and
  the ranking cut-offs;
- `load_split`: the interactions, split with `plexus.graph.interactions.split_interactions`
  (a validation split always exists: carved from train when the data gives none).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from torch_geometric.data import HeteroData

from plexus.config import BaseConfig
from plexus.errors import ConfigError
from plexus.inputs import InteractionsConfig, dataset_label

EDGE = ("user", "interacts", "item")
INPUTS = ("interactions", "item_text")  # the input kinds recommenders read


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


def check_rec_config(cfg: RecConfig) -> None:
    """ConfigErrors naming the key, before any data is read."""
    if not cfg.ks or min(cfg.ks) < 1:
        raise ConfigError(f"ks must be a non-empty list of positive cut-offs, got {cfg.ks}.")
    if cfg.eval_batch_size < 1:
        raise ConfigError(f"eval_batch_size must be at least 1, got {cfg.eval_batch_size}.")
    if not (0 < cfg.val_ratio < 1 and 0 < cfg.test_ratio < 1 and cfg.val_ratio + cfg.test_ratio < 1):
        raise ConfigError(f"need 0 < val_ratio, 0 < test_ratio and val_ratio + test_ratio < 1 "
                          f"(got val_ratio={cfg.val_ratio}, test_ratio={cfg.test_ratio}).")
    if cfg.seeds < 1:
        raise ConfigError("seeds must be at least 1.")


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


def dataset_name(cfg: RecConfig) -> str:
    """The dataset a result is about: the named dataset, or the stem of the user's file."""
    return dataset_label(cfg, INPUTS)
