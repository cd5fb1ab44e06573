"""read_graph_tables: graphs from the user's own CSV/TSV/Parquet tables.

Each validation case writes a small broken file and checks that the error is an InputError
whose one-paragraph message names the file, the line (header = line 1) and the column.
"""

from __future__ import annotations

import gzip
import os
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

from plexus.errors import InputError
from plexus.graph import SUPPORTED_SUFFIXES, read_graph_tables

NODES = "id,text,label\na,first paper,cs\nb,second paper,bio\nc,third paper,cs\n"
EDGES = "src,dst\na,b\nb,c\n"


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    if isinstance(content, str):
        content = content.encode()
    path.write_bytes(content)
    return path


def files(
    tmp_path: Path, nodes: str | bytes = NODES, edges: str | bytes = EDGES
) -> tuple[Path, Path]:
    return write(tmp_path, "nodes.csv", nodes), write(tmp_path, "edges.csv", edges)


def error(nodes: Path, edges: Path, *needles: str, **kwargs) -> str:
    """Read, expect an InputError, check it is one paragraph naming every needle."""
    with pytest.raises(InputError) as info:
        read_graph_tables(nodes, edges, **kwargs)
    message = str(info.value)
    assert "\n" not in message, message
    for needle in needles:
        assert needle in message, f"{needle!r} not in: {message}"
    return message


def edge_set(data) -> set[tuple[str, str]]:
    ids = data.node_id
    return {(ids[s], ids[d]) for s, d in data.edge_index.t().tolist()}


# ------------------------------------------------------------------------ happy paths


def test_csv_string_ids_text_labels_undirected(tmp_path):
    nodes, edges = files(tmp_path, edges="src,dst\na,b\nb,a\nb,c\na,b\nc,c\n")
    data = read_graph_tables(nodes, edges)

    assert data.num_nodes == 3
    assert data.node_id == ["a", "b", "c"]
    assert data.text == ["first paper", "second paper", "third paper"]
    assert data.label_names == ["bio", "cs"]  # sorted class names
    assert data.y.tolist() == [1, 0, 1]
    assert data.y.dtype == torch.long and data.edge_index.dtype == torch.long
    # Both directions, duplicates dropped, self-loop kept once, sorted by (src, dst).
    assert data.edge_index.tolist() == [[0, 1, 1, 2, 2], [1, 0, 2, 1, 2]]
    data.validate(raise_on_error=True)


def test_directed_keeps_edges_as_given(tmp_path):
    nodes, edges = files(tmp_path, edges="src,dst\nb,c\na,b\nb,c\n")
    data = read_graph_tables(nodes, edges, undirected=False)
    assert data.edge_index.tolist() == [[1, 0, 1], [2, 1, 2]]


def test_int_ids_are_matched_as_text(tmp_path):
    # "001" and "1" are different nodes; ids keep their leading zeros.
    nodes, edges = files(tmp_path, "id,text\n001,x\n1,y\n 2 ,z\n", "src,dst\n001,2\n1,001\n")
    data = read_graph_tables(nodes, edges, undirected=False)
    assert data.node_id == ["001", "1", "2"]  # surrounding spaces dropped
    assert data.edge_index.tolist() == [[0, 1], [2, 0]]
    assert "y" not in data  # no label column: no labels


def test_integer_labels_and_missing_labels(tmp_path):
    nodes, edges = files(tmp_path, "id,label\n1,2\n2,\n3,0\n4,-1\n", "src,dst\n1,2\n")
    data = read_graph_tables(nodes, edges)
    assert data.y.tolist() == [2, -1, 0, -1]  # empty cell and -1 both mean unlabelled
    assert data.label_names == ["0", "1", "2"]
    assert "text" not in data


def test_string_labels_with_gaps(tmp_path):
    nodes, edges = files(tmp_path, "id,label\n1,dog\n2,\n3,cat\n", "src,dst\n1,3\n")
    data = read_graph_tables(nodes, edges)
    assert data.label_names == ["cat", "dog"]
    assert data.y.tolist() == [1, -1, 0]


def test_custom_column_names_and_features(tmp_path):
    nodes, edges = files(
        tmp_path,
        "node,title,cls,w,h,ignored\nx,alpha,1,0.5,2,9\ny,beta,0,1.5,-3,9\n",
        "from,to,weight\nx,y,3\n",
    )
    data = read_graph_tables(
        nodes, edges, id_col="node", text_col="title", label_col="cls",
        src_col="from", dst_col="to", feature_cols=["w", "h"],
    )
    assert data.text == ["alpha", "beta"]
    assert data.y.tolist() == [1, 0]
    assert data.x.dtype == torch.float32
    assert data.x.tolist() == [[0.5, 2.0], [1.5, -3.0]]
    assert data.edge_index.tolist() == [[0, 1], [1, 0]]


def test_text_col_none_ignores_text(tmp_path):
    nodes, edges = files(tmp_path)
    data = read_graph_tables(nodes, edges, text_col=None, label_col=None)
    assert "text" not in data and "y" not in data


def test_quoted_text_with_separators_and_newlines(tmp_path):
    nodes, edges = files(tmp_path, 'id,text\n1,"a, b\nand c"\n2,"NA"\n', "src,dst\n1,2\n")
    data = read_graph_tables(nodes, edges)
    assert data.text == ["a, b\nand c", "NA"]  # "NA" is text, not a missing value


def test_parquet_int_ids(tmp_path):
    nodes = tmp_path / "nodes.parquet"
    edges = tmp_path / "edges.parquet"
    pd.DataFrame(
        {
            "id": [10, 20, 30],
            "text": ["a", "b", "c"],
            "label": pd.array([1, None, 0], dtype="Int64"),
        }
    ).to_parquet(nodes)
    pd.DataFrame({"src": [10, 20], "dst": [20, 30]}).to_parquet(edges)

    data = read_graph_tables(nodes, edges)
    assert data.node_id == ["10", "20", "30"]
    assert data.y.tolist() == [1, -1, 0]
    assert edge_set(data) == {("10", "20"), ("20", "10"), ("20", "30"), ("30", "20")}


def test_parquet_nodes_with_csv_edges_and_string_ids(tmp_path):
    nodes = tmp_path / "nodes.parquet"
    pd.DataFrame({"id": ["u1", "u2"], "text": ["a", "b"]}).to_parquet(nodes)
    edges = write(tmp_path, "edges.csv", "src,dst\nu2,u1\n")
    data = read_graph_tables(nodes, edges, undirected=False)
    assert data.edge_index.tolist() == [[1], [0]]


def test_tsv_and_gzipped_csv(tmp_path):
    nodes = write(tmp_path, "nodes.tsv", "id\ttext\n1\thas, a comma\n2\tb\n")
    edges = tmp_path / "edges.csv.gz"
    edges.write_bytes(gzip.compress(b"src,dst\n1,2\n"))
    data = read_graph_tables(nodes, edges)
    assert data.text == ["has, a comma", "b"]
    assert data.edge_index.tolist() == [[0, 1], [1, 0]]


def test_reading_writes_nothing(tmp_path, monkeypatch):
    """The function is pure: no file is opened for writing, created, moved or removed."""
    nodes, edges = files(tmp_path)
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)

    writes: list[tuple] = []
    active = True

    write_flags = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC

    def hook(event, args):
        if not active:
            return
        if event == "open":
            _, mode, flags = args
            if (isinstance(mode, str) and any(m in mode for m in "wax+")) or (
                isinstance(flags, int) and flags & write_flags
            ):
                writes.append((event, args))
        elif event in {"os.mkdir", "os.rename", "os.remove", "os.rmdir", "os.truncate"}:
            writes.append((event, args))

    sys.addaudithook(hook)  # cannot be removed; `active` switches it off afterwards
    try:
        read_graph_tables(nodes, edges)
        with pytest.raises(InputError):  # the error path must not write either
            read_graph_tables(nodes, tmp_path / "no-such-edges.csv")
    finally:
        active = False

    assert writes == []
    assert list(work.iterdir()) == []
    after = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p != work}
    assert after == before


# ------------------------------------------------------------------ validation errors


def test_missing_file(tmp_path):
    nodes, _ = files(tmp_path)
    error(nodes, tmp_path / "edgez.csv", "edgez.csv", "no such file")


def test_zero_byte_file(tmp_path):
    nodes, edges = files(tmp_path, nodes="")
    error(nodes, edges, "nodes.csv", "empty")


def test_header_only_file(tmp_path):
    nodes, edges = files(tmp_path, edges="src,dst\n")
    error(nodes, edges, "edges.csv", "no rows", "line 1", "'src'")


def test_non_utf8_bytes(tmp_path):
    nodes, edges = files(tmp_path, nodes=b"id,text\n1,ok\n2,caf\xe9 au lait\n")
    error(nodes, edges, "nodes.csv", "line 3", "column 'text'", "UTF-8", "0xe9")


def test_non_utf8_bytes_in_gzip(tmp_path):
    nodes = tmp_path / "nodes.csv.gz"
    nodes.write_bytes(gzip.compress(b"id,text\n1,ok\n2,na\xefve\n"))
    edges = write(tmp_path, "edges.csv", "src,dst\n1,2\n")
    error(nodes, edges, "nodes.csv.gz", "line 3", "column 'text'", "UTF-8")


def test_ragged_row(tmp_path):
    nodes, edges = files(tmp_path, nodes="id,text,label\na,x,1\nb,y, with comma,0\nc,z,1\n")
    error(nodes, edges, "nodes.csv", "line 3", "4 fields", "'label'", "double quotes")


def test_ragged_rows_everywhere(tmp_path):
    # pandas would silently drop the extra field (or make the first column an index).
    nodes, edges = files(tmp_path, nodes="id,text\na,x,1\nb,y,0\n")
    error(nodes, edges, "nodes.csv", "line 2", "'text'")


def test_ragged_row_after_multiline_cell(tmp_path):
    # The line number counts the lines inside the quoted cell, as an editor does.
    nodes, edges = files(tmp_path, nodes='id,text\na,"two\nlines"\n\nb,y,oops\n')
    error(nodes, edges, "nodes.csv", "line 5", "'text'")


def test_unclosed_quote(tmp_path):
    nodes, edges = files(tmp_path, nodes='id,text\na,x\nb,"y\nc,z\n')
    error(nodes, edges, "nodes.csv", "line 3", "column 'text'", "never closed")


def test_missing_required_column_suggests_closest(tmp_path):
    nodes, edges = files(tmp_path, edges="source,dst\na,b\n")
    message = error(nodes, edges, "edges.csv", "'src'", "line 1", "'source'", "Did you mean")
    assert "'dst'" in message  # lists what is there


def test_tsv_named_csv_is_explained(tmp_path):
    nodes, edges = files(tmp_path, edges="src\tdst\na\tb\n")
    error(nodes, edges, "edges.csv", "'src'", "line 1", "'\\t'-separated")


def test_named_optional_column_must_exist(tmp_path):
    nodes, edges = files(tmp_path)
    error(
        nodes, edges, "nodes.csv", "'txt'", "line 1", "text_col", "Did you mean 'text'",
        text_col="txt",
    )
    # Under its default name the column is optional.
    read_graph_tables(*files(tmp_path, nodes="id\na\nb\nc\n"))


def test_duplicate_node_id_names_both_lines(tmp_path):
    nodes, edges = files(tmp_path, nodes="id,text\na,x\nb,y\nc,z\nb,w\n")
    error(nodes, edges, "nodes.csv", "'b'", "line 3", "line 5", "column 'id'")


def test_missing_node_id(tmp_path):
    nodes, edges = files(tmp_path, nodes="id,text\na,x\n  ,y\nc,z\n")
    error(nodes, edges, "nodes.csv", "line 3", "column 'id'", "empty")


def test_missing_edge_endpoint(tmp_path):
    nodes, edges = files(tmp_path, edges="src,dst\na,b\nb,\n")
    error(nodes, edges, "edges.csv", "line 3", "column 'dst'", "empty")


def test_unknown_edge_endpoint_counts_all(tmp_path):
    nodes, edges = files(tmp_path, edges="src,dst\na,b\nb,zz\nq,a\nc,a\n")
    error(nodes, edges, "edges.csv", "line 3", "column 'dst'", "'zz'", "2 of 4 edges")


def test_unknown_edge_endpoint_leading_zero(tmp_path):
    nodes, edges = files(tmp_path, "id\n1\n2\n", "src,dst\n1,02\n")
    error(nodes, edges, "edges.csv", "line 2", "column 'dst'", "'02'")


def test_empty_text_cell(tmp_path):
    nodes, edges = files(tmp_path, nodes='id,text\na,x\nb,"   "\nc,\n')
    error(nodes, edges, "nodes.csv", "line 3", "column 'text'", "2 row(s)")


def test_numeric_text_column(tmp_path):
    nodes, edges = files(tmp_path, nodes="id,year\na,1999\nb,2004\nc,2010\n")
    error(nodes, edges, "nodes.csv", "line 2", "column 'year'", "only numbers", text_col="year")


def test_numeric_text_column_in_parquet(tmp_path):
    nodes = tmp_path / "nodes.parquet"
    pd.DataFrame({"id": ["a", "b"], "text": [1.5, 2.5]}).to_parquet(nodes)
    edges = write(tmp_path, "edges.csv", "src,dst\na,b\n")
    error(nodes, edges, "nodes.parquet", "column 'text'", "not text")


def test_mixed_label_types_names_a_line_of_each(tmp_path):
    nodes, edges = files(tmp_path, nodes="id,label\na,\nb,3\nc,4\nd,unknown\n")
    error(nodes, edges, "nodes.csv", "column 'label'", "line 3", "'3'", "line 5", "'unknown'")


def test_fractional_label(tmp_path):
    nodes, edges = files(tmp_path, nodes="id,label\na,1\nb,2.5\nc,0\n")
    error(nodes, edges, "nodes.csv", "line 3", "column 'label'", "'2.5'")


def test_non_numeric_feature(tmp_path):
    nodes, edges = files(tmp_path, nodes="id,f\na,1\nb,\nc,x\n")
    error(nodes, edges, "nodes.csv", "line 3", "column 'f'", "empty", feature_cols=["f"])


def test_parquet_errors_name_the_row(tmp_path):
    nodes = tmp_path / "nodes.parquet"
    pd.DataFrame({"id": ["a", "b", "a"]}).to_parquet(nodes)
    edges = write(tmp_path, "edges.csv", "src,dst\na,b\n")
    error(nodes, edges, "nodes.parquet", "row 1", "row 3", "column 'id'")


def test_corrupt_parquet(tmp_path):
    nodes = write(tmp_path, "nodes.parquet", NODES)
    edges = write(tmp_path, "edges.csv", EDGES)
    error(nodes, edges, "nodes.parquet", "Parquet")


def test_unknown_extension_lists_supported(tmp_path):
    nodes = write(tmp_path, "nodes.xlsx", b"PK")
    edges = write(tmp_path, "edges.csv", EDGES)
    message = error(nodes, edges, "nodes.xlsx", ".xlsx")
    assert all(suffix in message for suffix in SUPPORTED_SUFFIXES)


def test_crlf_line_endings(tmp_path):
    nodes, edges = files(tmp_path, nodes="id,text\r\na,x\r\nb,\r\nc,z\r\n")
    error(nodes, edges, "nodes.csv", "line 3", "column 'text'")
