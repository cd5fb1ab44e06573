"""Typed edge tables: one row per (head, relation, tail), read from CSV, TSV or Parquet.

This is the reader behind the `triples` input kind (`--input triples=FILE`, config section
`triples.*`, see `plexus.inputs`): knowledge-graph triples, or a multi-relational graph
such as Decagon's drug–drug side-effect edges plus drug–protein and protein–protein edges.

`read_triples` returns a `TripleTable`: the entity ids and relation names in order of first
appearance, and integer (head, relation, tail) arrays. Every problem a user can cause is an
`InputError` of one paragraph naming the file, the line (header = line 1, as an editor
shows it) and the value:

* a missing column, an empty head/relation/tail cell;
* with `relations=` (the relation names a method knows): a relation not among them,
  with the closest known name;
* with `entities=` (ids declared elsewhere, e.g. a node table): a dangling head or tail.

File parsing, line numbering and the vectorised id lookup are `plexus.graph.tables`'
(the reader of `--nodes/--edges`), so both kinds of table report errors the same way.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from plexus.errors import InputError
from plexus.graph.tables import _first_row, _positions, _read_table, _require_column, _strings, _Table

__all__ = ["TripleTable", "read_triples", "read_id_table"]


@dataclass
class TripleTable:
    """A typed edge table, indexed. `head[k]`, `relation[k]`, `tail[k]` describe row k."""

    path: Path
    entities: list[str]  # entity id by index (first appearance, or the order of `entities=`)
    relations: list[str]  # relation name by index (first appearance, or the order of `relations=`)
    head: np.ndarray  # int64 entity indices
    relation: np.ndarray  # int64 relation indices
    tail: np.ndarray  # int64 entity indices
    table: _Table  # the parsed file, for line numbers in later errors

    def __len__(self) -> int:
        return int(self.head.size)

    def where(self, row: int) -> str:
        """`line N` (or `row N` for Parquet) of data row `row` (0-based)."""
        return self.table.where(row)

    def fail(self, row: int, message: str) -> InputError:
        """An `InputError` naming this file and the line of data row `row`."""
        return InputError(f"{self.path}, {self.where(row)}: {message}")


def _column(table: _Table, col: str, param: str) -> pd.Series:
    _require_column(table, col, param)
    values = _strings(table, col)
    missing = values.isna().to_numpy()
    if missing.any():
        row = _first_row(missing)
        raise table.fail(f"{table.where(row)}, column '{col}': the {param.split('_')[0]} is empty "
                         f"({int(missing.sum())} row(s) in all). Every row needs a head, relation and tail.")
    return values


def read_triples(path: str | Path, head_col: str = "head", relation_col: str = "relation",
                 tail_col: str = "tail", relations: Iterable[str] | None = None,
                 entities: Iterable[str] | None = None) -> TripleTable:
    """Read and check a (head, relation, tail) table; see the module docstring."""
    table = _read_table(path)
    heads = _column(table, head_col, "head_col")
    rels = _column(table, relation_col, "relation_col")
    tails = _column(table, tail_col, "tail_col")

    if relations is not None:
        names = list(dict.fromkeys(relations))
        rel_idx = _positions(rels, pd.Series(names, dtype="string"))
        bad = rel_idx < 0
        if bad.any():
            row = _first_row(bad)
            value = rels.iloc[row]
            close = difflib.get_close_matches(value, names, n=1, cutoff=0.5)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            shown = ", ".join(names[:12]) + (f", ... ({len(names)} in all)" if len(names) > 12 else "")
            raise InputError(
                f"{table.path}, {table.where(row)}, column '{relation_col}': unknown relation '{value}' "
                f"({int(bad.sum())} row(s) in all use relations not in the list).{hint} Known relations: {shown}.")
    else:
        names = list(dict.fromkeys(rels.tolist()))
        rel_idx = _positions(rels, pd.Series(names, dtype="string"))

    if entities is not None:
        ids = list(dict.fromkeys(entities))
        known = pd.Series(ids, dtype="string")
        h_idx, t_idx = _positions(heads, known), _positions(tails, known)
        for idx, values, col in ((h_idx, heads, head_col), (t_idx, tails, tail_col)):
            bad = idx < 0
            if bad.any():
                row = _first_row(bad)
                raise InputError(
                    f"{table.path}, {table.where(row)}, column '{col}': id '{values.iloc[row]}' is not a known "
                    f"node ({int(bad.sum())} row(s) in this column refer to unknown ids). Declare it in the node "
                    f"table or fix the id.")
    else:
        ids = list(dict.fromkeys(np.concatenate([heads.to_numpy(str), tails.to_numpy(str)]).tolist()))
        known = pd.Series(ids, dtype="string")
        h_idx, t_idx = _positions(heads, known), _positions(tails, known)
    return TripleTable(table.path, ids, names, h_idx, rel_idx, t_idx, table)


def read_id_table(path: str | Path, id_col: str, columns: Iterable[str] = ()) -> tuple[list[str], dict[str, list[str | None]], _Table]:
    """A node table: unique ids (column `id_col`) and the given optional columns as strings
    (None for an empty cell). A duplicated or empty id is an `InputError` naming its line."""
    table = _read_table(path)
    _require_column(table, id_col, "id_col")
    ids = _strings(table, id_col)
    empty = ids.isna().to_numpy()
    if empty.any():
        raise table.fail(f"{table.where(_first_row(empty))}, column '{id_col}': the id is empty.")
    dup = ids.duplicated().to_numpy()
    if dup.any():
        row = _first_row(dup)
        raise table.fail(f"{table.where(row)}, column '{id_col}': id '{ids.iloc[row]}' appears twice. Ids must be unique.")
    out: dict[str, list[str | None]] = {}
    for col in columns:
        if col in table.df.columns:
            s = _strings(table, col)
            out[col] = [None if pd.isna(v) else str(v) for v in s]
    return ids.tolist(), out, table
