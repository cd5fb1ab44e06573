"""Implicit-feedback user–item data: the shared `HeteroData` layout and the LightGCN format.

Every recommendation dataset comes out as one `HeteroData`:

* `data["user"].num_nodes`, `data["item"].num_nodes`;
* `data["user", "interacts", "item"].edge_index`: the TRAINING interactions (row 0 user,
  row 1 item) — the only edges a model may propagate over;
* `.val_edge_index` / `.test_edge_index` on the same edge store: held-out interactions.
  `val_edge_index` is absent (not None) when the files define no validation split.

The LightGCN/NGCF text format is one line per user, `uid item item ...` (0-based ids).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch_geometric.data import HeteroData

from plexus.datasets.common import expect_count, open_text
from plexus.errors import InputError

EDGE = ("user", "interacts", "item")


def interaction_data(num_users: int, num_items: int, splits: dict[str, np.ndarray]) -> HeteroData:
    """`HeteroData` from `splits[name]` = (2, n) arrays of (user, item); names train/val/test."""
    data = HeteroData()
    data["user"].num_nodes = num_users
    data["item"].num_nodes = num_items
    store = data[EDGE]
    for split, pairs in splits.items():
        key = "edge_index" if split == "train" else f"{split}_edge_index"
        store[key] = torch.from_numpy(np.ascontiguousarray(pairs, dtype=np.int64))
    return data


def read_lightgcn(path: Path) -> np.ndarray:
    """A `uid item item ...` file as a (2, n) int64 array of (user, item) pairs."""
    users: list[int] = []
    lengths: list[int] = []
    tokens: list[str] = []
    try:
        with open_text(path) as f:
            for lineno, line in enumerate(f, 1):
                parts = line.split()
                if not parts:
                    continue
                try:
                    users.append(int(parts[0]))
                except ValueError:
                    raise InputError(
                        f"{path}, line {lineno}: user id {parts[0]!r} is not an integer."
                    ) from None
                lengths.append(len(parts) - 1)
                tokens.extend(parts[1:])
    except (OSError, EOFError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: could not be read ({e}).") from None
    try:
        items = np.array(tokens, dtype=np.int64)
    except ValueError as e:
        raise InputError(f"{path}: an item id is not an integer ({e}).") from None
    pairs = np.stack([np.repeat(np.array(users, dtype=np.int64), lengths), items])
    if pairs.size and pairs.min() < 0:
        raise InputError(f"{path}: negative user or item id.")
    return pairs


@dataclass(frozen=True)
class LightGCNSet:
    """The files of one LightGCN-format dataset and the counts its README states."""

    users: int
    items: int  # distinct item ids over all splits (= max id + 1 in every set here)
    files: dict[str, str]  # split -> file name
    interactions: dict[str, int]  # split -> count


LIGHTGCN_SETS = {
    # Gowalla: train.txt rebuilt from LightGCN-PyTorch's training adjacency (see README);
    # LightGCN++'s valid file is a subset of that train file, so it is not a split here.
    "gowalla": LightGCNSet(29858, 40981, {"train": "train.txt.gz", "test": "test.txt.gz"},
                           {"train": 810128, "test": 217242}),
    "ml-1m": LightGCNSet(6039, 3628,
                         {"train": "train.txt.gz", "val": "valid.txt.gz", "test": "test.txt.gz"},
                         {"train": 590733, "val": 80897, "test": 164848}),
    "lastfm": LightGCNSet(1885, 17388,
                          {"train": "train.txt.gz", "val": "valid.txt.gz", "test": "test.txt.gz"},
                          {"train": 64315, "val": 9143, "test": 18321}),
}


def load_lightgcn(folder: Path, spec: LightGCNSet) -> HeteroData:
    """Read the split files of `spec` and check users, items and interactions per split."""
    splits = {}
    for split, name in spec.files.items():
        splits[split] = read_lightgcn(folder / name)
        expect_count(folder / name, f"{split} interactions", spec.interactions[split],
                     splits[split].shape[1])
    every = np.concatenate(list(splits.values()), axis=1)
    where = folder / ("{" + ",".join(spec.files.values()) + "}")
    expect_count(where, "users (max user id + 1)", spec.users, int(every[0].max()) + 1)
    expect_count(where, "items (max item id + 1)", spec.items, int(every[1].max()) + 1)
    expect_count(where, "distinct item ids", spec.items, len(np.unique(every[1])))
    return interaction_data(spec.users, spec.items, splits)


def load_gowalla(folder: Path) -> HeteroData:
    return load_lightgcn(folder, LIGHTGCN_SETS["gowalla"])


def load_ml_1m(folder: Path) -> HeteroData:
    return load_lightgcn(folder, LIGHTGCN_SETS["ml-1m"])


def load_lastfm(folder: Path) -> HeteroData:
    return load_lightgcn(folder, LIGHTGCN_SETS["lastfm"])
