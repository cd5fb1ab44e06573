"""MovieLens 100K: ratings as user–item interactions, with movie text and user demographics.

Returns the shared recommendation layout (see `interactions.py`) built from the release's
`ua` (default) or `ub` split — `<split>.base` is train, `<split>.test` the 10 held-out
ratings per user; there is no validation split. Explicit ratings and timestamps stay on the
edges (`edge_rating`/`edge_time` aligned with `edge_index`, `test_edge_rating`/
`test_edge_time` with `test_edge_index`) so a method can threshold or order them.
Item text ("Title (year) | Genre, Genre") feeds LM encoders (PinSage, LLMRec).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch_geometric.data import HeteroData

from plexus.datasets.common import check_range, expect_count, int_column, read_table
from plexus.datasets.interactions import EDGE, interaction_data
from plexus.errors import InputError

FILES = ("u.item.gz", "u.genre.gz", "u.user.gz", "ua.base.gz", "ua.test.gz")
USERS, ITEMS, GENRES = 943, 1682, 19
SPLIT_COUNTS = {"ua": (90570, 9430), "ub": (90570, 9430)}


def load_movielens_100k(folder: Path, split: str = "ua") -> HeteroData:
    """`HeteroData` over 943 users and 1,682 movies; see the module docstring for fields."""
    if split not in SPLIT_COUNTS:
        raise ValueError(f"split must be one of {sorted(SPLIT_COUNTS)}, not {split!r}")
    ratings = {}
    for part, name, expected in (("train", f"{split}.base.gz", SPLIT_COUNTS[split][0]),
                                 ("test", f"{split}.test.gz", SPLIT_COUNTS[split][1])):
        path = folder / name
        table = read_table(path, "\t", 4, dtype=np.int64).to_numpy()
        expect_count(path, "ratings", expected, len(table))
        check_range(path, table[:, 0], USERS, "user", base=1)
        check_range(path, table[:, 1], ITEMS, "item", base=1)
        ratings[part] = table

    data = interaction_data(
        USERS, ITEMS, {part: (t[:, :2] - 1).T for part, t in ratings.items()}
    )
    store = data[EDGE]
    for part, prefix in (("train", ""), ("test", "test_")):
        store[f"{prefix}edge_rating"] = torch.from_numpy(ratings[part][:, 2].copy())
        store[f"{prefix}edge_time"] = torch.from_numpy(ratings[part][:, 3].copy())

    data["item"].text = _item_text(folder)
    # MovieLens ids are 1-based in every file; keep them as the external ids users see.
    data["user"].node_id = [str(i + 1) for i in range(USERS)]
    data["item"].node_id = [str(i + 1) for i in range(ITEMS)]
    users = read_table(folder / "u.user.gz", "|", 5)
    expect_count(folder / "u.user.gz", "users", USERS, len(users))
    data["user"].age = torch.from_numpy(int_column(users[1], folder / "u.user.gz", "age"))
    data["user"].gender = users[2].tolist()
    data["user"].occupation = users[3].tolist()
    return data


def _item_text(folder: Path) -> list[str]:
    """ "Toy Story (1995) | Animation, Children's, Comedy" for each movie, by item index."""
    genres = read_table(folder / "u.genre.gz", "|", 2, encoding="latin-1")
    expect_count(folder / "u.genre.gz", "genres", GENRES, len(genres))
    order = np.argsort(int_column(genres[1], folder / "u.genre.gz", "genre index"))
    names = genres[0].to_numpy()[order].tolist()
    path = folder / "u.item.gz"
    items = read_table(path, "|", 5 + GENRES, encoding="latin-1")
    expect_count(path, "movies", ITEMS, len(items))
    if not np.array_equal(int_column(items[0], path, "movie id"), np.arange(1, ITEMS + 1)):
        raise InputError(f"{path}: movie ids are not 1..{ITEMS} in order.")
    flags = np.stack([int_column(items[c], path, "genre flag") for c in range(5, 5 + GENRES)], 1)
    return [
        f"{title} | {', '.join(g for g, on in zip(names, row) if on)}"
        for title, row in zip(items[1].tolist(), flags.astype(bool))
    ]
