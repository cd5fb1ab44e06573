"""Helpers every loader shares: reading the dataset text files and checking their counts.

Each dataset README states the counts its files were checked against. Loaders compare what
they parse with those numbers so that a truncated download, a different release or a
mis-named file fails here, with the file named, rather than as a shape error deep in a
model.
"""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path
from typing import IO, Iterator

import numpy as np
import pandas as pd

from plexus.errors import InputError


def open_text(path: Path, encoding: str = "utf-8") -> IO[str]:
    """Open a text file for reading, gunzipping it on the fly when it ends in `.gz`."""
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding=encoding)
    return open(path, encoding=encoding)


def read_json(path: Path):
    """A (gzipped) JSON file, or an InputError naming it."""
    try:
        with open_text(path) as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError, OSError, EOFError) as e:
        raise InputError(f"{path}: not a readable JSON file ({e}).") from None


def read_lines(path: Path, encoding: str = "utf-8") -> list[str]:
    """The non-empty lines of a text file, without their line endings."""
    return [line for _, line in numbered_lines(path, encoding) if line.strip()]


def numbered_lines(path: Path, encoding: str = "utf-8") -> Iterator[tuple[int, str]]:
    """`(line number, line without its ending)` for every line, streamed (for large files)."""
    try:
        with open_text(path, encoding) as f:
            for lineno, line in enumerate(f, 1):
                yield lineno, line.rstrip("\r\n")
    except (OSError, UnicodeDecodeError, EOFError) as e:
        raise InputError(f"{path}: could not be read as {encoding} text ({e}).") from None


def read_pairs(path: Path, encoding: str = "utf-8") -> dict[str, str]:
    """A `key <TAB> value` file as a dict; the value is everything after the first tab."""
    out: dict[str, str] = {}
    for lineno, line in enumerate(read_lines(path, encoding), 1):
        key, tab, value = line.partition("\t")
        if not tab:
            raise InputError(f"{path}, line {lineno}: expected `key<TAB>text`, found {line[:80]!r}.")
        out[key] = value.strip()
    return out


def read_table(
    path: Path,
    sep: str,
    ncols: int,
    *,
    skiprows: int = 0,
    dtype: type | str = str,
    encoding: str = "utf-8",
) -> pd.DataFrame:
    """A headerless delimited file with exactly `ncols` columns, parsed by pandas.

    Values are kept literally (no quoting, no "NA" -> NaN), because entity names such as
    `NA` or ids with leading zeros are data, not missing values.
    """
    try:
        frame = pd.read_csv(
            path,
            sep=sep,
            header=None,
            skiprows=skiprows,
            dtype=dtype,
            quoting=csv.QUOTE_NONE,
            keep_default_na=False,
            na_filter=False,
            encoding=encoding,
            compression="gzip" if path.suffix == ".gz" else None,
            engine="c",
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, OSError, EOFError) as e:
        raise InputError(f"{path}: could not be parsed as {ncols}-column table ({e}).") from None
    if frame.shape[1] != ncols:
        raise InputError(f"{path}: expected {ncols} columns per row, found {frame.shape[1]}.")
    return frame


def expect_count(path: Path, what: str, expected: int, found: int) -> None:
    """Raise `InputError` naming the file when a parsed count differs from the README's."""
    if expected != found:
        raise InputError(
            f"{path}: expected {expected:,} {what}, found {found:,}. The file is truncated, "
            "edited or from a different release than the one Plexus knows; fetch it again."
        )


def index_of(values: np.ndarray | pd.Series, index: pd.Index, path: Path, what: str) -> np.ndarray:
    """Positions of `values` in `index`; an unknown value raises `InputError` naming it."""
    pos = index.get_indexer(values)
    missing = np.flatnonzero(pos < 0)
    if missing.size:
        first = np.asarray(values)[missing[0]]
        raise InputError(
            f"{path}, row {missing[0] + 1}: unknown {what} {first!r} "
            f"({missing.size:,} rows refer to {what}s missing from the id list)."
        )
    return pos.astype(np.int64)


def check_range(
    path: Path, values: np.ndarray, n: int, what: str, first_line: int = 1, base: int = 0
) -> None:
    """Raise `InputError` naming the line of the first id outside base..base+n-1."""
    bad = np.flatnonzero((values < base) | (values >= base + n))
    if bad.size:
        raise InputError(
            f"{path}, line {bad[0] + first_line}: {what} id {values[bad[0]]} is outside "
            f"{base}..{base + n - 1}."
        )


def int_column(column: pd.Series, path: Path, what: str) -> np.ndarray:
    """A column of integer strings as int64; a non-integer raises `InputError` naming its row."""
    values = pd.to_numeric(column, errors="coerce")
    bad = np.flatnonzero(values.isna().to_numpy())
    if bad.size:
        raise InputError(f"{path}, row {bad[0] + 1}: {what} {column.iloc[bad[0]]!r} is not an integer.")
    return values.to_numpy().astype(np.int64)


def read_csv(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    """A CSV file with a header row that must include `columns`; values kept as strings."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False,
                            compression="gzip" if path.suffix == ".gz" else None)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, OSError, EOFError) as e:
        raise InputError(f"{path}: could not be parsed as CSV ({e}).") from None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(
            f"{path}: missing column(s) {', '.join(map(repr, missing))}; "
            f"found {', '.join(map(repr, frame.columns))}."
        )
    return frame
