"""Typed edge tables: indexing, and one clear error naming file, line and value."""

from __future__ import annotations

import pytest

from plexus.errors import InputError
from plexus.graph.triples import read_id_table, read_triples


def _write(tmp_path, text, name="t.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_reads_and_indexes_in_order_of_appearance(tmp_path):
    path = _write(tmp_path, "head,relation,tail\nA,r1,B\nB,r2,C\nA,r1,C\n")
    t = read_triples(path)
    assert t.entities == ["A", "B", "C"] and t.relations == ["r1", "r2"]
    assert t.head.tolist() == [0, 1, 0] and t.relation.tolist() == [0, 1, 0] and t.tail.tolist() == [1, 2, 2]


def test_tsv_and_custom_columns(tmp_path):
    path = _write(tmp_path, "s\tp\to\nx\tis\ty\n", "k.tsv")
    t = read_triples(path, head_col="s", relation_col="p", tail_col="o", relations=["is", "has"])
    assert t.relations == ["is", "has"] and t.relation.tolist() == [0]


def test_unknown_relation_names_file_line_and_value(tmp_path):
    path = _write(tmp_path, "head,relation,tail\nA,r1,B\nB,rr2,C\n")
    with pytest.raises(InputError) as e:
        read_triples(path, relations=["r1", "r2"])
    msg = str(e.value)
    assert str(path) in msg and "line 3" in msg and "'rr2'" in msg and "Did you mean 'r2'" in msg


def test_dangling_id_names_file_line_and_value(tmp_path):
    path = _write(tmp_path, "head,relation,tail\nA,r1,B\nB,r1,Z\n")
    with pytest.raises(InputError) as e:
        read_triples(path, entities=["A", "B", "C"])
    msg = str(e.value)
    assert str(path) in msg and "line 3" in msg and "'Z'" in msg and "column 'tail'" in msg


def test_missing_column_and_empty_cell(tmp_path):
    with pytest.raises(InputError, match="no column 'relation'"):
        read_triples(_write(tmp_path, "head,rel,tail\nA,r,B\n"))
    with pytest.raises(InputError, match=r"line 3, column 'tail'"):
        read_triples(_write(tmp_path, "head,relation,tail\nA,r,B\nA,r,\n", "e.csv"))


def test_id_table_rejects_duplicates(tmp_path):
    ids, cols, _ = read_id_table(_write(tmp_path, "id,type\nA,drug\nB,protein\n"), "id", ["type", "smiles"])
    assert ids == ["A", "B"] and cols == {"type": ["drug", "protein"]}
    with pytest.raises(InputError, match=r"line 3.*'A' appears twice"):
        read_id_table(_write(tmp_path, "id,type\nA,drug\nA,protein\n", "d.csv"), "id")
