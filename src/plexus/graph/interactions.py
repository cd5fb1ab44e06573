"""User–item interactions from the user's own table, leakage-safe splits, and a CSR view.

`read_interactions` reads an interaction log (one row per interaction: a user id, an item id,
optionally a rating and a time) from CSV, TSV or Parquet, with the same reader and the same
error style as `plexus.graph.tables`: every problem raises `InputError` naming the file, the
line (header = line 1; Parquet: the data row) and the column. It returns the shared
recommendation layout (see `plexus.datasets.interactions`), with every interaction in the
training `edge_index`; `split_interactions` then makes validation and test splits.

`split_interactions` supports three protocols and returns, with the data, one sentence
saying exactly what was done:

* ``given``: keep the split in the data; when it has no validation split, carve one from
  each user's training interactions (the latest ones when times exist, else random).
* ``ratio``: pool every interaction and split each user's interactions at random into
  train/validation/test by the ratios.
* ``loo``: leave-one-out by time: each user's last interaction is the test item, the
  second last the validation item.

Per-user counts follow RecBole's rule: each held-out part gets ``floor(ratio * n)``
interactions, and a part whose share is a fraction of one interaction still gets one as
long as at least one interaction stays in train.

Split attributes ride along with their interactions: any tensor ``edge_X`` aligned with the
training ``edge_index`` (``edge_rating``, ``edge_time``) moves with it and becomes
``val_edge_X`` / ``test_edge_X`` in the other splits.
"""

from __future__ import annotations

import copy
import warnings
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import torch
from torch_geometric.data import HeteroData

from plexus.datasets.interactions import EDGE
from plexus.errors import InputError

# Reused from the node/edge table reader: file reading (CSV/TSV/Parquet, encodings, ragged
# rows), column checks with "did you mean", id cells, and the row -> line lookup.
from plexus.graph.tables import (
    _check_unique_ids,
    _first_row,
    _id_column,
    _numeric,
    _positions,
    _read_table,
    _require_column,
    _strings,
    _Table,
)

__all__ = ["EDGE", "PairIndex", "interaction_csr", "read_interactions", "searchsorted",
           "split_interactions"]

SPLITS = ("train", "val", "test")
_INDEX_KEY = {"train": "edge_index", "val": "val_edge_index", "test": "test_edge_index"}


# ---------------------------------------------------------------------------- reading


def read_interactions(
    path: str | Path,
    *,
    user_col: str = "user",
    item_col: str = "item",
    rating_col: str | None = None,
    time_col: str | None = None,
    min_rating: float | None = None,
    item_text: str | Path | None = None,
    item_text_col: str = "text",
) -> HeteroData:
    """Read an interaction table into a `HeteroData` with every interaction in training.

    - Users and items are numbered in order of first appearance among the kept rows;
      `data["user"].node_id` / `data["item"].node_id` hold the original ids (as text,
      stripped, so "001" and "1" differ).
    - A (user, item) pair that occurs several times is kept once: the row with the latest
      time (`time_col`), or the last row in the file when there is no time column or the
      times tie. Deduplication comes first, so a re-rating replaces the earlier rating.
    - With `min_rating`, interactions rated below it are dropped (implicit feedback keeps
      only what the user liked); users and items left without interactions disappear.
    - `edge_rating` (float32) and `edge_time` (int64 when every time is a whole number,
      else float64) align with `edge_index`. Times may be numbers or ISO 8601 date/times
      (then seconds since 1970, UTC).
    - `item_text`: a second table with `item_col` and `item_text_col`; its text becomes
      `data["item"].text`. Items it lacks, or whose cell is empty, get "".
    - `data.read_protocol` is one sentence saying what was read, merged and dropped;
      `split_interactions` puts it in front of its own protocol.
    """
    if min_rating is not None and rating_col is None:
        raise InputError(
            f"{path}: min_rating={min_rating} needs rating_col, the column holding the ratings "
            f"to compare with it."
        )
    table = _read_table(path)
    for col, param in ((user_col, "user_col"), (item_col, "item_col"),
                       (rating_col, "rating_col"), (time_col, "time_col")):
        if col is not None:
            _require_column(table, col, param)
    users = _id_column(table, user_col)
    items = _id_column(table, item_col)
    rating = _number_column(table, rating_col, "rating") if rating_col is not None else None
    time = _time_column(table, time_col) if time_col is not None else None
    num_rows = len(users)

    user_codes, user_names = pd.factorize(users)
    item_codes, item_names = pd.factorize(items)
    keep = _latest_per_pair(user_codes * len(item_names) + item_codes, time)
    num_duplicates = num_rows - len(keep)
    num_low = 0
    if min_rating is not None:
        low = rating[keep] < min_rating
        num_low = int(low.sum())
        keep = keep[~low]
        if len(keep) == 0:
            raise InputError(
                f"{table.path}: no interaction is left: every rating in column '{rating_col}' "
                f"is below min_rating={min_rating} (largest: {np.nanmax(rating):g})."
            )

    # Renumber by first appearance among the kept rows (keep is in file order).
    user_idx, user_kept = pd.factorize(user_codes[keep])
    item_idx, item_kept = pd.factorize(item_codes[keep])
    data = HeteroData()
    data["user"].num_nodes = len(user_kept)
    data["item"].num_nodes = len(item_kept)
    data["user"].node_id = [str(v) for v in np.asarray(user_names)[user_kept]]
    data["item"].node_id = [str(v) for v in np.asarray(item_names)[item_kept]]
    store = data[EDGE]
    store.edge_index = torch.from_numpy(np.stack([user_idx, item_idx]).astype(np.int64))
    if rating is not None:
        store.edge_rating = torch.from_numpy(rating[keep].astype(np.float32))
    if time is not None:
        store.edge_time = _time_tensor(time[keep])

    parts = [f"Read {table.path.name}: {num_rows:,} rows"]
    if num_duplicates:
        latest = "the latest by time" if time is not None else "the last in the file"
        parts.append(f"{num_duplicates:,} repeated (user, item) rows merged, keeping {latest}")
    if min_rating is not None:
        parts.append(f"{num_low:,} interactions rated below {min_rating:g} dropped as "
                     f"negative feedback")
    parts.append(f"{len(keep):,} interactions of {len(user_kept):,} users on "
                 f"{len(item_kept):,} items")
    if item_text is not None:
        data["item"].text, text_note = _item_text(
            item_text, item_col, item_text_col, data["item"].node_id
        )
        parts.append(text_note)
    data.read_protocol = "; ".join(parts) + "."
    return data


def _latest_per_pair(keys: np.ndarray, time: np.ndarray | None) -> np.ndarray:
    """Row numbers (ascending) of the last row of each key, by time then by file order."""
    rows = np.arange(len(keys))
    sort_keys = (rows, keys) if time is None else (rows, time, keys)
    order = np.lexsort(sort_keys)
    last = np.ones(len(order), dtype=bool)
    last[:-1] = keys[order[1:]] != keys[order[:-1]]
    return np.sort(order[last])


def _number_column(table: _Table, col: str, what: str) -> np.ndarray:
    """Finite float64 values of a numeric column; errors name the first bad cell."""
    raw = table.df[col]
    if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
        values = raw.to_numpy(dtype=np.float64, na_value=np.nan)
        cells = raw.astype("string")
    else:
        cells = _strings(table, col)
        values = _numeric(cells)
    _check_finite(table, col, what, values, cells, "a number")
    return values


def _time_column(table: _Table, col: str) -> np.ndarray:
    """Times as float64: numbers as they are, date/times as seconds since 1970 (UTC)."""
    raw = table.df[col]
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):
        stamps = pd.to_datetime(raw, utc=True)
        values = _seconds(stamps)
        _check_finite(table, col, "time", values, raw.astype("string"), "a time")
        return values
    if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
        return _number_column(table, col, "time")
    cells = _strings(table, col)
    values = _numeric(cells)
    if np.isnan(values[cells.notna().to_numpy()]).all():
        # No cell is a number: read the column as date/times.
        stamps = pd.to_datetime(cells, errors="coerce", utc=True, format="ISO8601")
        values = _seconds(stamps)
    _check_finite(table, col, "time", values, cells,
                  "a number or an ISO 8601 date/time (e.g. 2024-03-01 12:30:00)")
    return values


def _seconds(stamps: pd.Series) -> np.ndarray:
    ns = stamps.astype("datetime64[ns, UTC]").to_numpy(dtype="datetime64[ns]")
    values = ns.astype(np.int64).astype(np.float64) / 1e9
    values[np.isnat(ns)] = np.nan
    return values


def _check_finite(table: _Table, col: str, what: str, values: np.ndarray,
                  cells: pd.Series, expected: str) -> None:
    bad = ~np.isfinite(values)
    if not bad.any():
        return
    row = _first_row(bad)
    cell = cells.iloc[row]
    problem = "is empty" if pd.isna(cell) else f"'{cell}' is not {expected}"
    raise table.fail(
        f"{table.where(row)}, column '{col}': the {what} {problem} ({int(bad.sum())} row(s) "
        f"in all). Every interaction needs a {what}; pass {what}_col=None to read without it."
    )


def _time_tensor(values: np.ndarray) -> torch.Tensor:
    if np.all(values == np.round(values)) and np.abs(values).max(initial=0) < 2**62:
        return torch.from_numpy(values.astype(np.int64))
    return torch.from_numpy(values.astype(np.float64))


def _item_text(path: str | Path, item_col: str, text_col: str,
               item_ids: list[str]) -> tuple[list[str], str]:
    """Text for each item (by index) from a second table, and a note of what was missing."""
    table = _read_table(path)
    _require_column(table, item_col, "item_col")
    _require_column(table, text_col, "item_text_col")
    ids = _id_column(table, item_col)
    _check_unique_ids(table, item_col, ids)
    raw = table.df[text_col]
    if pd.api.types.is_numeric_dtype(raw.dtype) or pd.api.types.is_bool_dtype(raw.dtype):
        raise table.fail(
            f"column '{text_col}' holds {raw.dtype} values, not text; point item_text_col at "
            f"a text column."
        )
    empty = _strings(table, text_col).isna().to_numpy()
    cells = raw.astype("string").fillna("").astype(str).to_numpy()
    where = _positions(pd.Series(item_ids, dtype="string"), ids)  # item -> text row, -1
    text = np.full(len(item_ids), "", dtype=object)
    found = where >= 0
    text[found] = cells[where[found]]
    with_text = found.copy()
    with_text[found] = ~empty[where[found]]
    unused = len(ids) - int(found.sum())
    note = f"item text from {table.path.name}: {int((~with_text).sum()):,} items without text"
    if unused:
        note += f", {unused:,} text rows for items with no interaction ignored"
    return [str(t) for t in text], note


# ------------------------------------------------------------------------------ splits

# (2, n) int64 pairs and aligned attributes (name -> array) of one split
_Part = tuple[np.ndarray, dict[str, np.ndarray]]


def split_interactions(
    data: HeteroData,
    how: Literal["given", "ratio", "loo"] = "given",
    val_ratio: float = 0.1,
    test_ratio: float = 0.2,
    seed: int = 0,
) -> tuple[HeteroData, str]:
    """Return a shallow copy of `data` with train/val/test splits, and the protocol.

    Afterwards `edge_index` (train), `val_edge_index` and `test_edge_index` are all present,
    each (user, item) pair is in at most one split (given splits that overlap are kept as
    they are, and the protocol warns), and aligned attributes follow their interactions.
    `val_ratio` is used by ``given`` (when carving) and ``ratio``; `test_ratio` by
    ``ratio``; `seed` wherever a random order is needed. The input is not modified.
    """
    if how not in ("given", "ratio", "loo"):
        raise ValueError(f"how must be 'given', 'ratio' or 'loo', not {how!r}")
    if not 0 < val_ratio < 1 or not 0 < test_ratio < 1 or val_ratio + test_ratio >= 1:
        raise ValueError(
            f"need 0 < val_ratio < 1, 0 < test_ratio < 1 and val_ratio + test_ratio < 1 "
            f"(got val_ratio={val_ratio}, test_ratio={test_ratio})"
        )
    if EDGE not in data.edge_types:
        raise InputError(f"the data has no {EDGE} edges; is it interaction data?")
    out = copy.copy(data)
    store = out[EDGE]
    if _INDEX_KEY["train"] not in store:
        raise InputError("the data has no training interactions (edge_index).")
    num_users, num_items = out["user"].num_nodes, out["item"].num_nodes
    parts = {s: _take_split(store, s) for s in SPLITS if _INDEX_KEY[s] in store}

    if how == "given":
        protocol = _given(store, parts, num_users, num_items, val_ratio, seed)
    else:
        (pairs, attrs), notes = _pool(parts, num_items, need_time=how == "loo")
        users = pairs[0]
        if how == "ratio":
            rng = np.random.default_rng(seed)
            order = np.lexsort((rng.random(len(users)), users))
            assign, held = _assign(users, order, num_users, {"test": test_ratio, "val": val_ratio})
            train = 1 - val_ratio - test_ratio
            protocol = (
                f"Per-user random split (seed {seed}): each user's interactions shuffled and "
                f"divided {train:.0%}/{val_ratio:.0%}/{test_ratio:.0%} train/validation/test "
                f"(floor of each share; a part whose share is under one interaction still "
                f"gets one while at least one stays in train)"
            )
            active = np.bincount(users, minlength=num_users) > 0
            for part in ("val", "test"):
                missing = int((active & (held[part] == 0)).sum())
                if missing:
                    protocol += (f"; {missing:,} users with too few interactions have no "
                                 f"{part} item")
        else:
            order = np.lexsort((np.arange(len(users)), attrs["time"], users))
            n = np.bincount(users, minlength=num_users)
            one = (n >= 3).astype(np.int64)
            assign, _ = _assign(users, order, num_users, {"test": one, "val": one}, counts=True)
            few = int(((n > 0) & (n < 3)).sum())
            protocol = (
                "Leave-one-out by time: each user's last interaction is the test item, the "
                "second last the validation item, the rest train (equal times "
                f"{notes['order']}); {few:,} users with fewer than 3 interactions keep all "
                "of them in train"
            )
        for code, s in enumerate(SPLITS):
            mask = assign == code
            _put(store, s, pairs[:, mask], {k: v[mask] for k, v in attrs.items()})
        if notes["merged"]:
            protocol += (f"; {notes['merged']:,} repeated (user, item) pairs merged first, "
                         f"keeping the latest")
        if notes["dropped_attrs"]:
            protocol += (f"; {', '.join(notes['dropped_attrs'])} dropped (not given for every "
                         f"split)")
        protocol += ". " + _counts(store)
    prefix = getattr(data, "read_protocol", None)
    return out, (f"{prefix} {protocol}" if prefix else protocol)


def _attr_key(split: str, name: str) -> str:
    return f"edge_{name}" if split == "train" else f"{split}_edge_{name}"


def _take_split(store, split: str) -> _Part:
    """Remove a split (its edge index and aligned `*edge_X` tensors) from `store`."""
    pairs = store[_INDEX_KEY[split]].cpu().numpy().astype(np.int64)
    prefix = _attr_key(split, "")
    attrs = {}
    for key in list(store.keys()):
        if not key.startswith(prefix) or key == _INDEX_KEY[split]:
            continue
        value = store[key]
        if isinstance(value, torch.Tensor) and value.dim() >= 1 and value.size(0) == pairs.shape[1]:
            attrs[key[len(prefix):]] = value.cpu().numpy()
            del store[key]
    del store[_INDEX_KEY[split]]
    return pairs, attrs


def _put(store, split: str, pairs: np.ndarray, attrs: dict[str, np.ndarray]) -> None:
    store[_INDEX_KEY[split]] = torch.from_numpy(np.ascontiguousarray(pairs))
    for name, values in attrs.items():
        store[_attr_key(split, name)] = torch.from_numpy(np.ascontiguousarray(values))


def _given(store, parts: dict[str, _Part], num_users: int, num_items: int, val_ratio: float,
           seed: int) -> str:
    if "test" not in parts:
        raise InputError(
            "the data has no test split (test_edge_index) to keep; split it with "
            "how='ratio' or how='loo'."
        )
    if "val" in parts:
        for s in SPLITS:
            _put(store, s, *parts[s])
        return ("Split given by the data: train, validation and test as in its files"
                + _overlap_note(store, num_items) + ". " + _counts(store))

    pairs, attrs = parts["train"]
    time = attrs.get("time")
    keep = _latest_per_pair(pairs[0] * num_items + pairs[1],
                            None if time is None else time.astype(np.float64))
    merged = pairs.shape[1] - len(keep)
    pairs, attrs = pairs[:, keep], {k: v[keep] for k, v in attrs.items()}
    users = pairs[0]
    if time is not None:
        order = np.lexsort((np.arange(len(users)), attrs["time"], users))
        which = "the latest (by time)"
    else:
        order = np.lexsort((np.random.default_rng(seed).random(len(users)), users))
        which = f"a random (seed {seed})"
    assign, held = _assign(users, order, num_users, {"val": val_ratio})
    protocol = (
        f"Train/test split given by the data; validation carved from training: {which} "
        f"{val_ratio:.0%} of each user's training interactions (floor, but at least one for "
        f"every user with 2 or more)"
    )
    active = np.bincount(users, minlength=num_users) > 0
    few = int((active & (held["val"] == 0)).sum())
    if few:
        protocol += (f"; {few:,} users with fewer than 2 training interactions have no "
                     f"validation item")
    if merged:
        protocol += f"; {merged:,} repeated (user, item) training pairs merged first"
    for code, s in enumerate(("train", "val")):
        mask = assign == code
        _put(store, s, pairs[:, mask], {k: v[mask] for k, v in attrs.items()})
    _put(store, "test", *parts["test"])
    return protocol + _overlap_note(store, num_items) + ". " + _counts(store)


def _overlap_note(store, num_items: int) -> str:
    keys = {s: np.sort(_keys(store[_INDEX_KEY[s]], num_items)) for s in SPLITS}
    notes = []
    for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
        # sorted lookups: np.isin hashes, ~20x slower on a million keys
        pos = np.searchsorted(keys[a], keys[b]).clip(max=max(len(keys[a]) - 1, 0))
        n = int((keys[a][pos] == keys[b]).sum()) if len(keys[a]) else 0
        if n:
            notes.append(f"{n:,} {b} pairs are also in {a}")
    return f" (warning: the given splits overlap: {', '.join(notes)})" if notes else ""


def _keys(edge_index: torch.Tensor, num_items: int) -> np.ndarray:
    e = edge_index.cpu().numpy().astype(np.int64)
    return e[0] * num_items + e[1]


def _counts(store) -> str:
    n = {s: store[_INDEX_KEY[s]].size(1) for s in SPLITS}
    return f"Train {n['train']:,} / validation {n['val']:,} / test {n['test']:,} interactions."


def _pool(parts: dict[str, _Part], num_items: int, need_time: bool) -> tuple[_Part, dict]:
    """Every interaction of every split, once per (user, item) pair (the latest kept)."""
    names = [s for s in SPLITS if s in parts]
    shared = set.intersection(*(set(parts[s][1]) for s in names))
    if need_time and "time" not in shared:
        lacking = [s for s in names if "time" not in parts[s][1]]
        raise InputError(
            "leave-one-out needs interaction times, and the data has none for the "
            f"{', '.join(lacking)} split(s) (edge_time); read the table with time_col=..., "
            "or use how='ratio'."
        )
    dropped = sorted({_attr_key(s, a) for s in names for a in parts[s][1] if a not in shared})
    pairs = np.concatenate([parts[s][0] for s in names], axis=1)
    attrs = {a: np.concatenate([parts[s][1][a] for s in names]) for a in sorted(shared)}
    time = attrs.get("time")
    keep = _latest_per_pair(pairs[0] * num_items + pairs[1],
                            None if time is None else time.astype(np.float64))
    order = ("ordered as in the data, " + " before ".join(names) if len(names) > 1
             else "ordered as in the data")
    notes = {"merged": pairs.shape[1] - len(keep), "dropped_attrs": dropped, "order": order}
    return (pairs[:, keep], {k: v[keep] for k, v in attrs.items()}), notes


def _assign(
    users: np.ndarray,
    order: np.ndarray,
    num_users: int,
    held_out: dict[str, float | np.ndarray],
    counts: bool = False,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Split code per interaction (0 train, 1 val, 2 test) and held-out counts per user.

    `order` sorts the interactions by user, then by the within-user criterion (time, or a
    random key); each user's last ones go to test, the ones before to validation.
    `held_out` maps "test"/"val" to a share (RecBole's rule: floor of share * n, and one
    interaction for a share under one while train keeps at least one) or, with `counts`,
    to a per-user number of interactions.
    """
    n = np.bincount(users, minlength=num_users)
    zero = np.zeros_like(n)
    held = {}
    if counts:
        held = {p: np.asarray(held_out.get(p, zero), dtype=np.int64) for p in ("test", "val")}
    else:
        train = n.copy()
        for p in ("test", "val"):
            c = zero.copy()
            if p in held_out:
                c = np.floor(held_out[p] * n + 1e-9).astype(np.int64)
            held[p] = c
            train = train - c
        for p in ("test", "val"):  # a share under one interaction still earns one
            if p in held_out:
                share = held_out[p] * n
                bump = (held[p] == 0) & (share > 0) & (train > 1)
                held[p] = held[p] + bump
                train = train - bump
    sorted_users = users[order]
    start = np.cumsum(n) - n
    from_end = (start + n - 1)[sorted_users] - np.arange(len(order))  # 0 = user's last
    c_test, c_val = held["test"][sorted_users], held["val"][sorted_users]
    code = np.zeros(len(order), dtype=np.int8)
    code[from_end < c_test + c_val] = 1
    code[from_end < c_test] = 2
    assign = np.empty(len(order), dtype=np.int8)
    assign[order] = code
    return assign, held


# -------------------------------------------------------------------------------- CSR


def interaction_csr(edge_index: torch.Tensor, num_users: int, num_items: int) -> torch.Tensor:
    """User x item sparse CSR tensor (float32 ones) of the pairs in `edge_index`.

    Repeated pairs count once; column indices are sorted within each row, so
    `crow_indices()` / `col_indices()` give every user's items in ascending order.
    """
    edge_index = torch.as_tensor(edge_index).cpu().long()
    if edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise ValueError(f"edge_index must have shape [2, n], not {list(edge_index.shape)}")
    if edge_index.numel():
        if int(edge_index[0].min()) < 0 or int(edge_index[0].max()) >= num_users:
            raise ValueError(f"user index out of range [0, {num_users})")
        if int(edge_index[1].min()) < 0 or int(edge_index[1].max()) >= num_items:
            raise ValueError(f"item index out of range [0, {num_items})")
    keys = torch.unique(edge_index[0] * num_items + edge_index[1])  # sorted
    rows, cols = keys // num_items, keys % num_items
    crow = torch.zeros(num_users + 1, dtype=torch.long)
    crow[1:] = torch.cumsum(torch.bincount(rows, minlength=num_users), 0)
    with warnings.catch_warnings():  # torch warns that sparse CSR is "beta" on each build
        warnings.simplefilter("ignore", UserWarning)
        return torch.sparse_csr_tensor(
            crow, cols, torch.ones(len(keys), dtype=torch.float32), size=(num_users, num_items)
        )


class PairIndex:
    """Distinct (user, item) pairs, as a CSR and as sorted keys user * num_items + item.

    Gives every pair of a batch of users (`segments`) and membership tests (`contains`),
    both vectorised; the negative samplers and the ranking metrics share it.
    """

    def __init__(self, edge_index: torch.Tensor, num_users: int, num_items: int):
        csr = interaction_csr(edge_index, num_users, num_items)
        self.num_users, self.num_items = num_users, num_items
        self.ptr, self.cols = csr.crow_indices(), csr.col_indices()
        self.degree = self.ptr[1:] - self.ptr[:-1]
        self.rows = torch.repeat_interleave(torch.arange(num_users), self.degree)
        self.keys = self.rows * num_items + self.cols  # sorted: CSR order

    def segments(self, users: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(position in `users`, item) for every pair of the given users."""
        begin, count = self.ptr[users], self.degree[users]
        rows = torch.repeat_interleave(torch.arange(users.numel()), count)
        offset = torch.cumsum(count, 0) - count
        idx = begin[rows] + torch.arange(rows.numel()) - offset[rows]
        return rows, self.cols[idx]

    def contains(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Whether each (user, item) is a pair; `users` broadcasts against `items`."""
        query = users * self.num_items + items
        if self.keys.numel() == 0:
            return torch.zeros(query.shape, dtype=torch.bool)
        pos = searchsorted(self.keys, query).clamp_(max=self.keys.numel() - 1)
        return self.keys[pos] == query


# Below this many queries numpy's single-threaded searchsorted is used: torch's is
# parallelised from a few thousand queries up, and on a busy 2-core machine the thread
# hand-off alone cost 6-12 ms per call (measured), against ~0.3 ms for numpy.
_NUMPY_BELOW = 65536


def searchsorted(sorted_values: torch.Tensor, query: torch.Tensor,
                 right: bool = False) -> torch.Tensor:
    """`torch.searchsorted` for a 1-D CPU sequence, fast for small queries too."""
    if query.numel() < _NUMPY_BELOW:
        found = np.searchsorted(sorted_values.numpy(), query.contiguous().numpy(),
                                side="right" if right else "left")
        return torch.from_numpy(found.astype(np.int64, copy=False))
    return torch.searchsorted(sorted_values, query, right=right)
