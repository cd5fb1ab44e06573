"""Property-based fuzzing of the user-file importers: whatever bytes or rows a table holds,
reading it either succeeds or raises a `PlexusError` (a message for the user), never a
traceback from pandas, numpy or torch.

Two strategies per importer: raw bytes (truncated files, binary junk, stray quotes and
separators, broken UTF-8) and structured rows of arbitrary text in the expected columns
(dangling ids, blanks, duplicates, numbers where ids go, non-numeric ratings and times).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plexus.errors import PlexusError
from plexus.graph.interactions import read_interactions
from plexus.graph.tables import read_graph_tables
from plexus.graph.triples import read_triples

# Each example writes and reads small files: keep the budget small enough for `make test`.
FUZZ = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# Bytes biased towards what breaks CSV readers: separators, quotes, newlines, NUL, BOMs.
_JUNK = st.one_of(
    st.binary(max_size=300),
    st.lists(st.sampled_from([b",", b"\t", b'"', b"\n", b"\r\n", b"\x00", b"\xef\xbb\xbf", b"\xff",
                              b"id", b"text", b"label", b"src", b"dst", b"user", b"item",
                              b"head", b"relation", b"tail", b"1", b"2", b" ", b"nan", b"-1e309"]),
             max_size=80).map(b"".join),
)
_CELL = st.one_of(st.text(max_size=12), st.integers(-3, 30).map(str), st.just(""),
                  st.sampled_from(["nan", "NaN", "inf", "-inf", "1e400", " 1 ", "None", "0x1f"]))


def _csv(header: list[str], rows: list[list[str]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def _write(folder: Path, name: str, data: bytes | str) -> Path:
    path = folder / name
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8", errors="surrogatepass")
    else:
        path.write_bytes(data)
    return path


def _only_plexus_errors(read) -> None:
    try:
        read()
    except PlexusError as e:
        assert str(e).strip(), "a PlexusError must carry a message"
    except UnicodeEncodeError:
        # the test itself could not write a lone surrogate: not the importer's concern
        pass


@FUZZ
@given(nodes=_JUNK, edges=_JUNK)
def test_graph_tables_from_arbitrary_bytes(tmp_path_factory, nodes, edges):
    d = tmp_path_factory.mktemp("tables")
    n, e = _write(d, "nodes.csv", nodes), _write(d, "edges.csv", edges)
    _only_plexus_errors(lambda: read_graph_tables(n, e))


@FUZZ
@given(nodes=st.lists(st.lists(_CELL, min_size=3, max_size=3), max_size=12),
       edges=st.lists(st.lists(_CELL, min_size=2, max_size=2), max_size=20))
def test_graph_tables_from_arbitrary_rows(tmp_path_factory, nodes, edges):
    d = tmp_path_factory.mktemp("tables")
    n = _write(d, "nodes.csv", _csv(["id", "text", "label"], nodes))
    e = _write(d, "edges.csv", _csv(["src", "dst"], edges))
    _only_plexus_errors(lambda: read_graph_tables(n, e))


@FUZZ
@given(table=_JUNK, text=_JUNK)
def test_interactions_from_arbitrary_bytes(tmp_path_factory, table, text):
    d = tmp_path_factory.mktemp("inter")
    t, x = _write(d, "ratings.csv", table), _write(d, "items.csv", text)
    _only_plexus_errors(lambda: read_interactions(t, item_text=x))


@FUZZ
@given(rows=st.lists(st.lists(_CELL, min_size=4, max_size=4), max_size=20),
       items=st.lists(st.lists(_CELL, min_size=2, max_size=2), max_size=10))
def test_interactions_from_arbitrary_rows(tmp_path_factory, rows, items):
    d = tmp_path_factory.mktemp("inter")
    t = _write(d, "ratings.csv", _csv(["user", "item", "rating", "time"], rows))
    x = _write(d, "items.csv", _csv(["item", "text"], items))
    _only_plexus_errors(lambda: read_interactions(t, rating_col="rating", time_col="time",
                                                  min_rating=3, item_text=x))


@FUZZ
@given(table=_JUNK)
def test_triples_from_arbitrary_bytes(tmp_path_factory, table):
    d = tmp_path_factory.mktemp("triples")
    t = _write(d, "triples.csv", table)
    _only_plexus_errors(lambda: read_triples(t))


@FUZZ
@given(rows=st.lists(st.lists(_CELL, min_size=3, max_size=3), max_size=20))
def test_triples_from_arbitrary_rows(tmp_path_factory, rows):
    d = tmp_path_factory.mktemp("triples")
    t = _write(d, "triples.csv", _csv(["head", "relation", "tail"], rows))
    _only_plexus_errors(lambda: read_triples(t))
