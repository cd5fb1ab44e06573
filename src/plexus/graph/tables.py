"""Build a PyG graph from the user's own node and edge tables.

`read_graph_tables` reads a node table (one row per node: an id, optionally text, a label
and numeric features) and an edge table (one row per edge: source id, destination id) from
CSV, TSV or Parquet, checks them, and returns a `torch_geometric.data.Data`.

Every problem a user can cause raises `plexus.errors.InputError` with one paragraph that
names the file, the line and the column. Line numbers are what a user sees in an editor:
the header is line 1, and a quoted cell that spans several lines counts every line. Parquet
files have no lines, so their errors name the 1-based data row instead.

CSV cells are read as text (`dtype=str`, and only an empty cell counts as missing, so
"NA" or "null" stay text); numbers are parsed here, where a bad cell can be reported. A row
with fewer fields than the header gets empty trailing cells (pandas' rule); those then fail
the id/text checks or count as unlabelled. A row with more fields is an error.

The happy path is vectorised (pandas/numpy/pyarrow); a million edges take a couple of
seconds. Line numbers are worked out only when an error is being reported, by re-scanning
the file with the `csv` module.
"""

from __future__ import annotations

import csv
import difflib
import gzip
import io
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import torch
from torch_geometric.data import Data

from plexus.errors import InputError

__all__ = ["SUPPORTED_SUFFIXES", "read_graph_tables"]

# Suffix -> field separator (None: Parquet). Compound suffixes come first so that
# "x.csv.gz" is not mistaken for an unknown ".gz".
_SEPARATORS: dict[str, str | None] = {
    ".csv.gz": ",",
    ".tsv.gz": "\t",
    ".csv": ",",
    ".tsv": "\t",
    ".parquet": None,
}
SUPPORTED_SUFFIXES = tuple(_SEPARATORS)

_DEFAULT_TEXT_COL = "text"
_DEFAULT_LABEL_COL = "label"


def read_graph_tables(
    nodes: str | Path,
    edges: str | Path,
    *,
    id_col: str = "id",
    text_col: str | None = "text",
    label_col: str | None = "label",
    src_col: str = "src",
    dst_col: str = "dst",
    undirected: bool = True,
    feature_cols: list[str] | None = None,
) -> Data:
    """Read a node table and an edge table into a `Data` graph.

    Output attributes:

    - `num_nodes`, and `node_id: list[str]`, the original ids in file order; node `i` is
      row `i` of the node table. Ids are compared as text in both tables (so "001" and "1"
      are different nodes, whatever the file's types), with surrounding spaces removed.
    - `edge_index` (LongTensor 2 x E). With `undirected=True` every edge is stored in both
      directions, duplicates are dropped and edges are sorted by (src, dst). With
      `undirected=False` edges are kept as given, in file order, duplicates included.
      Self-loops are kept in both cases: they are in the user's data, and methods that
      need them removed or added (GCN adds its own) do so themselves.
    - `text: list[str]` when the node table has `text_col`. Every cell must hold text.
    - `y` (LongTensor) and `label_names: list[str]` when it has `label_col`. String labels
      become class ids in sorted order of their names; integer labels are kept as they are
      (`label_names` is then "0".."max"). An empty cell, or the integer -1, means
      "unlabelled" and becomes -1.
    - `x` (float32, N x F) from `feature_cols`, when given. Other columns are ignored.

    `text_col` and `label_col` are optional under their default names; a name you pass
    yourself must exist. Pass `None` to ignore a column that is there.
    """
    node_table = _read_table(nodes)
    edge_table = _read_table(edges)

    # Node table first, whole: its errors are the ones to fix before edges make sense.
    text_col = _optional_column(node_table, text_col, "text_col", _DEFAULT_TEXT_COL)
    label_col = _optional_column(node_table, label_col, "label_col", _DEFAULT_LABEL_COL)
    _require_column(node_table, id_col, "id_col")
    for col in feature_cols or []:
        _require_column(node_table, col, "feature_cols")
    node_ids = _id_column(node_table, id_col)
    _check_unique_ids(node_table, id_col, node_ids)

    data = Data(num_nodes=len(node_ids))
    data.node_id = node_ids.tolist()
    if text_col is not None:
        data.text = _text_column(node_table, text_col)
    if label_col is not None:
        data.y, data.label_names = _label_column(node_table, label_col)
    if feature_cols:
        data.x = _feature_matrix(node_table, feature_cols)

    _require_column(edge_table, src_col, "src_col")
    _require_column(edge_table, dst_col, "dst_col")
    src, dst = _edge_endpoints(edge_table, src_col, dst_col, node_ids)
    data.edge_index = _edge_index(src, dst, num_nodes=len(node_ids), undirected=undirected)
    return data


# --------------------------------------------------------------------------- reading


@dataclass
class _Table:
    """A table read from one file, with every column as pandas strings (NA = empty cell)."""

    path: Path
    sep: str | None  # None for Parquet
    df: pd.DataFrame
    _lines: dict[int, int] | None = field(default=None, repr=False)

    def where(self, row: int) -> str:
        """Where data row `row` (0-based) is, in the words a user can look up."""
        if self.sep is None:
            return f"row {row + 1}"
        return f"line {self._line_of(row)}"

    def _line_of(self, row: int) -> int:
        # Only reached on the error path: scan the file once to map rows to lines.
        if self._lines is None:
            self._lines = _row_start_lines(self.path, self.sep)
        # Fallback if the scan could not parse the file the way pandas did.
        return self._lines.get(row, row + 2)

    def fail(self, message: str) -> InputError:
        return InputError(f"{self.path}: {message}")


def _read_table(path: str | Path) -> _Table:
    path = Path(path)
    sep = _separator(path)
    if not path.is_file():
        raise InputError(
            f"{path}: no such file"
            + (" (it is a directory)" if path.is_dir() else "")
            + f". Looked for it at {path.resolve()}."
        )
    if path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty (0 bytes); it needs a header line and rows.")
    df = _read_parquet(path) if sep is None else _read_csv(path, sep)
    # Headers like "id, text" leave a leading space in the name; nobody means that.
    df.columns = [str(c).strip() for c in df.columns]
    if len(df) == 0:
        what = "line 1 is the header" if sep is not None else "the schema is there"
        raise InputError(
            f"{path}: the table has no rows ({what}, but no data follows; "
            f"columns: {_names(df.columns)})."
        )
    return _Table(path, sep, df)


def _separator(path: Path) -> str | None:
    name = path.name.lower()
    for suffix, sep in _SEPARATORS.items():
        if name.endswith(suffix):
            return sep
    raise InputError(
        f"{path}: unsupported file type '{''.join(path.suffixes) or path.name}'. "
        f"Supported: {', '.join(SUPPORTED_SUFFIXES)}."
    )


def _read_csv(path: Path, sep: str) -> pd.DataFrame:
    try:
        with warnings.catch_warnings():
            # With index_col=False pandas only *warns* when every row has more fields than
            # the header, and drops the extras; treat that as the ragged file it is.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            return pd.read_csv(
                path,
                sep=sep,
                dtype=str,  # ids "001" and 1 stay distinct text; we parse numbers ourselves
                keep_default_na=False,  # "NA", "null", "None" are valid ids and text
                na_values=[""],
                index_col=False,  # never silently turn the first column into an index
                encoding="utf-8",
            )
    except UnicodeDecodeError:
        raise _encoding_error(path, sep) from None
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: the file is empty; it needs a header line and rows.") from None
    except (pd.errors.ParserError, pd.errors.ParserWarning) as exc:
        raise _parse_error(path, sep, exc) from None
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise InputError(f"{path}: could not be read ({exc}).") from None


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        # Nullable dtypes keep integer ids with gaps as integers ("7", not "7.0").
        df = pd.read_parquet(path, dtype_backend="numpy_nullable")
    except Exception as exc:  # pyarrow raises a zoo of types for corrupt files
        raise InputError(f"{path}: could not be read as Parquet ({exc}).") from None
    return df


# ----------------------------------------------------------------- locating error lines


def _open_text(path: Path) -> io.TextIOBase:
    # Lenient decoding: this only runs to locate an error, and must not raise a new one.
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8-sig", errors="replace", newline="")
    return open(path, encoding="utf-8-sig", errors="replace", newline="")


def _records(path: Path, sep: str):
    """Yield (first line number, fields) for each record pandas would read, header included.

    Mirrors pandas' rules: quoted cells may span lines; blank and whitespace-only lines
    are skipped.
    """
    with _open_text(path) as fh:
        reader = csv.reader(fh, delimiter=sep)
        start = 1
        for fields in reader:
            blank = not "".join(fields).strip() and (len(fields) <= 1 or sep.isspace())
            if not blank:
                yield start, fields
            start = reader.line_num + 1


def _row_start_lines(path: Path, sep: str) -> dict[int, int]:
    """Map 0-based data row -> the line it starts on."""
    lines: dict[int, int] = {}
    try:
        records = _records(path, sep)
        next(records, None)  # header
        for row, (line, _) in enumerate(records):
            lines[row] = line
    except (csv.Error, OSError, EOFError):
        pass  # e.g. a cell over csv's field size limit; callers fall back to row + 2
    return lines


def _encoding_error(path: Path, sep: str) -> InputError:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as fh:
        raw = fh.read()
    try:
        raw.decode("utf-8")
        where = "somewhere"
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        line_start = raw.rfind(b"\n", 0, exc.start) + 1
        bad = raw[exc.start : exc.end].hex(" ")
        where = f"at line {line}{_column_at(raw, line_start, exc.start, sep)} (byte 0x{bad})"
    return InputError(
        f"{path}: the file is not valid UTF-8 {where}. Re-encode it as UTF-8, e.g. "
        f"`iconv -f latin1 -t utf-8 in.csv > out.csv`, or choose 'CSV UTF-8' when saving "
        f"from a spreadsheet."
    )


def _column_at(raw: bytes, line_start: int, pos: int, sep: str) -> str:
    """', column NAME' for the cell holding byte `pos`, as best a partial parse can tell."""
    def fields(chunk: bytes) -> list[str]:
        text = chunk.decode("utf-8", "replace").lstrip("\ufeff")
        try:
            return next(csv.reader([text], delimiter=sep), [""])
        except csv.Error:  # e.g. a bare carriage return: this is only a hint, split plainly
            return text.split(sep)

    header = fields(raw.split(b"\n", 1)[0])
    field_no = len(fields(raw[line_start:pos])) - 1
    if line_start == 0:
        return f", in the header (column {field_no + 1})"
    if 0 <= field_no < len(header):
        return f", column '{header[field_no].strip()}'"
    return ""


def _parse_error(path: Path, sep: str, exc: Exception) -> InputError:
    """Name the line pandas choked on: too many fields, or a quote that never closes."""
    kind = "TSV" if sep == "\t" else "CSV"
    unclosed_quote = "EOF inside string" in str(exc)
    try:
        records = _records(path, sep)
        _, header = next(records)
        last = None
        for line, fields in records:
            if len(fields) > len(header) and not unclosed_quote:
                return InputError(
                    f"{path}: line {line} has {len(fields)} fields but the header (line 1) has "
                    f"{len(header)} columns ({_names(header)}); the extra value is past column "
                    f"'{header[-1].strip()}'. Usually a text cell contains the separator "
                    f"{sep!r}: put that cell in double quotes."
                )
            last = line, fields
        if unclosed_quote and last is not None:
            # csv (lenient) lets the open quote swallow the rest of the file into one
            # cell, so the last record is the one that opened it.
            line, fields = last
            col = header[min(len(fields), len(header)) - 1].strip()
            return InputError(
                f"{path}: line {line}, column '{col}': a double quote opens a cell that is "
                f"never closed, so the rest of the file was read into it. Close the quote, "
                f'or write a literal quote inside a quoted cell as "".'
            )
    except (csv.Error, StopIteration):
        pass
    # Something else: pass on pandas' diagnosis, minus its internals.
    detail = re.sub(r"^Error tokenizing data\. C error: ", "", str(exc)).strip()
    return InputError(f"{path}: could not be parsed as {kind}: {detail}.")


# ---------------------------------------------------------------------------- columns


def _names(columns) -> str:
    # repr() so that a stray tab or space in a header name is visible.
    return ", ".join(repr(str(c)) for c in columns) or "none"


def _missing_column(table: _Table, col: str, param: str) -> InputError:
    present = list(table.df.columns)
    close = difflib.get_close_matches(col, present, n=1, cutoff=0.5)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    if len(present) == 1 and table.sep is not None:
        # A one-column table whose header contains another separator was split wrongly.
        other = next((s for s in "\t;,|" if s != table.sep and s in present[0]), None)
        if other is not None:
            hint = (
                f" The header looks {other!r}-separated; this file type is read with "
                f"{table.sep!r}."
            )
    where = "line 1 (the header)" if table.sep is not None else "the schema"
    return table.fail(
        f"no column '{col}' (the {param} argument) in {where}. "
        f"Columns present: {_names(present)}.{hint}"
    )


def _require_column(table: _Table, col: str, param: str) -> None:
    if col not in table.df.columns:
        raise _missing_column(table, col, param)


def _optional_column(table: _Table, col: str | None, param: str, default: str) -> str | None:
    """The column to use, or None: a default name may be absent, a name you chose may not."""
    if col is None or col in table.df.columns:
        return col
    if col == default:
        return None
    raise _missing_column(table, col, param)


def _strings(table: _Table, col: str) -> pd.Series:
    """Column `col` as stripped pandas strings; empty cells are NA."""
    s = table.df[col]
    if not pd.api.types.is_string_dtype(s.dtype):
        s = s.astype("string")
    s = s.str.strip()
    return s.mask(s == "")


def _first_row(mask: np.ndarray | pd.Series) -> int:
    return int(np.flatnonzero(np.asarray(mask, dtype=bool))[0])


def _id_column(table: _Table, col: str) -> pd.Series:
    ids = _strings(table, col)
    missing = ids.isna().to_numpy()
    if missing.any():
        row = _first_row(missing)
        raise table.fail(
            f"{table.where(row)}, column '{col}': the id is empty "
            f"({int(missing.sum())} row(s) in all have no id). Every row needs an id."
        )
    return ids


def _check_unique_ids(table: _Table, col: str, ids: pd.Series) -> None:
    dup = ids.duplicated(keep=False).to_numpy()
    if not dup.any():
        return
    first = _first_row(dup)
    value = ids.iloc[first]
    second = _first_row(dup & (ids == value).to_numpy() & (np.arange(len(ids)) > first))
    n_ids = ids[dup].nunique()
    raise table.fail(
        f"column '{col}': node id '{value}' appears more than once, at {table.where(first)} "
        f"and {table.where(second)} ({n_ids} id(s) in all are repeated). Node ids must be "
        f"unique."
    )


def _positions(values: pd.Series, node_ids: pd.Series) -> np.ndarray:
    """Position of each value among `node_ids` (unique), -1 where absent.

    pyarrow's hash lookup is about 10x faster than pandas' Index.get_indexer on strings.
    """
    found = pc.index_in(
        pa.array(values, type=pa.large_string()),
        value_set=pa.array(node_ids, type=pa.large_string()),
    )
    return pc.fill_null(found, -1).to_numpy().astype(np.int64)


def _edge_endpoints(
    table: _Table, src_col: str, dst_col: str, node_ids: pd.Series
) -> tuple[np.ndarray, np.ndarray]:
    """Map both id columns to node positions; every id must be a known node."""
    src, dst = _id_column(table, src_col), _id_column(table, dst_col)
    src_pos, dst_pos = _positions(src, node_ids), _positions(dst, node_ids)
    unknown = (src_pos < 0) | (dst_pos < 0)
    if unknown.any():
        row = _first_row(unknown)
        col, value = (src_col, src.iloc[row]) if src_pos[row] < 0 else (dst_col, dst.iloc[row])
        raise table.fail(
            f"{table.where(row)}, column '{col}': '{value}' is not an id in the node table "
            f"({int(unknown.sum())} of {len(unknown)} edges in all name unknown nodes). "
            f"Ids are matched as text, so '001' and '1' differ."
        )
    return src_pos, dst_pos


def _edge_index(
    src: np.ndarray, dst: np.ndarray, *, num_nodes: int, undirected: bool
) -> torch.Tensor:
    if undirected:
        # Encode each directed pair as one int64 key, sort, drop repeats: sorted by
        # (src, dst) as PyG's coalesce does. A plain sort is ~10x faster than np.unique here.
        keys = np.sort(np.concatenate([src * num_nodes + dst, dst * num_nodes + src]))
        first = np.ones(len(keys), dtype=bool)
        first[1:] = keys[1:] != keys[:-1]
        src, dst = np.divmod(keys[first], num_nodes)
    return torch.from_numpy(np.stack([src, dst]).astype(np.int64))


def _numeric(s: pd.Series) -> np.ndarray:
    """Float values of a string column; NaN where a cell is not a number (or empty)."""
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _text_column(table: _Table, col: str) -> list[str]:
    raw = table.df[col]
    if pd.api.types.is_numeric_dtype(raw.dtype) or pd.api.types.is_bool_dtype(raw.dtype):
        raise table.fail(
            f"column '{col}' holds {raw.dtype} values, not text; point text_col at a text "
            f"column or pass text_col=None."
        )
    text = _strings(table, col)
    empty = text.isna().to_numpy()
    if empty.any():
        row = _first_row(empty)
        raise table.fail(
            f"{table.where(row)}, column '{col}': the text is empty or only whitespace "
            f"({int(empty.sum())} row(s) in all). Every node needs text; pass text_col=None "
            f"to read the graph without it."
        )
    # A CSV column whose every cell is a number is a wrong column, not text. A single
    # numeric cell in a text column ("1984") is a legitimate title and is kept.
    numeric = ~np.isnan(_numeric(text))
    if numeric.all():
        raise table.fail(
            f"{table.where(0)}, column '{col}': the text column holds only numbers "
            f"(first: '{text.iloc[0]}'); point text_col at a text column or pass text_col=None."
        )
    # Keep the cells as written: stripping was only for the emptiness check.
    return table.df[col].astype(str).tolist()


def _label_column(table: _Table, col: str) -> tuple[torch.Tensor, list[str]]:
    labels = _strings(table, col)
    present = labels.notna().to_numpy()
    values = _numeric(labels)
    is_num = ~np.isnan(values)
    is_str = present & ~is_num
    if is_num.any() and is_str.any():
        num_row, str_row = _first_row(is_num), _first_row(is_str)
        raise table.fail(
            f"column '{col}' mixes numeric and text labels: {table.where(num_row)} has "
            f"'{labels.iloc[num_row]}', {table.where(str_row)} has '{labels.iloc[str_row]}'. "
            f"Use one kind; leave a cell empty to mark a node unlabelled."
        )
    if is_str.any():
        names = sorted(labels[present].unique())
        codes = pd.Categorical(labels, categories=names).codes  # NA -> -1
        return torch.from_numpy(codes.astype(np.int64)), [str(n) for n in names]
    bad = is_num & (~np.isfinite(values) | (values != np.round(values)) | (values < -1))
    if bad.any():
        row = _first_row(bad)
        raise table.fail(
            f"{table.where(row)}, column '{col}': label '{labels.iloc[row]}' is not a class id; "
            f"numeric labels must be whole numbers >= 0 (or -1 for unlabelled)."
        )
    y = np.where(is_num, values, -1).astype(np.int64)
    return torch.from_numpy(y), [str(i) for i in range(int(y.max()) + 1)]


def _feature_matrix(table: _Table, cols: list[str]) -> torch.Tensor:
    columns = []
    for col in cols:
        s = _strings(table, col)
        values = _numeric(s)
        bad = ~np.isfinite(values)  # NaN/inf would poison every layer downstream
        if bad.any():
            row = _first_row(bad)
            cell = s.iloc[row]
            what = "is empty" if pd.isna(cell) else f"'{cell}' is not a finite number"
            raise table.fail(
                f"{table.where(row)}, column '{col}': feature value {what} "
                f"({int(bad.sum())} row(s) in all). Features must be numbers in every row."
            )
        columns.append(values)
    return torch.from_numpy(np.stack(columns, axis=1).astype(np.float32))
