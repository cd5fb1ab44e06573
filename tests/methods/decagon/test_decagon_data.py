"""Building Decagon's graph from typed edge tables and from drugbank-ddi86, and every bad
input as one message naming file, line and value."""

from __future__ import annotations

import pytest
import torch
from decagon_support import write_nodes, write_triples

from plexus.errors import InputError
from plexus.methods.decagon.algorithm import Config
from plexus.methods.decagon.data import load_graph, split_edges


def _cfg(path, **kw):
    cfg = Config(dataset="edges")
    cfg.triples.path = str(path)
    for k, v in kw.items():
        setattr(cfg, k, v)
    return cfg


def test_typed_table_becomes_drugs_proteins_and_relations(tmp_path):
    g = load_graph(_cfg(write_triples(tmp_path), features="onehot"))
    assert (g.num_drugs, g.num_proteins, g.num_relations) == (12, 8, 3)
    assert g.targets.shape == (2, 12) and g.ppi.shape == (2, 8)
    assert g.relations == ["se0", "se1", "se2"] and g.drug_x is None
    split = split_edges(g, 0.1, 0.1, torch.Generator().manual_seed(0))
    assert [split[s][1].numel() for s in ("train", "val", "test")] == [72, 9, 9]  # 30 per relation: 24/3/3
    seen = {tuple(p) for s in split.values() for p in torch.cat([s[0], s[1][None]]).t().tolist()}
    assert len(seen) == 90  # a partition: every edge once


def test_node_table_gives_morgan_features(tmp_path):
    g = load_graph(_cfg(write_triples(tmp_path), node_table=str(write_nodes(tmp_path)), features="morgan"))
    assert g.drug_x.shape == (12, 1024) and g.drug_x.is_sparse
    assert g.drug_ids[0] == "D0" and g.protein_ids[0] == "P0"


def test_unknown_relation(tmp_path):
    path = write_triples(tmp_path)
    with pytest.raises(InputError) as e:
        load_graph(_cfg(path, relations=["se0", "se1"]))
    assert str(path) in str(e.value) and "'se2'" in str(e.value) and "line " in str(e.value)


def test_dangling_id(tmp_path):
    path = write_triples(tmp_path, extra_rows=["D1,se0,D99"])
    with pytest.raises(InputError) as e:
        load_graph(_cfg(path, node_table=str(write_nodes(tmp_path))))
    msg = str(e.value)
    assert str(path) in msg and "'D99'" in msg and f"line {len(path.read_text().splitlines())}" in msg


def test_type_conflict_without_a_node_table(tmp_path):
    path = write_triples(tmp_path, extra_rows=["P0,se0,D1"])  # a protein as a side effect's head
    with pytest.raises(InputError) as e:
        load_graph(_cfg(path))
    assert "'P0'" in str(e.value) and f"line {len(path.read_text().splitlines())}" in str(e.value)


def test_unparseable_smiles(tmp_path):
    nodes = write_nodes(tmp_path, bad_smiles=3)
    with pytest.raises(InputError) as e:
        load_graph(_cfg(write_triples(tmp_path), node_table=str(nodes), features="morgan"))
    assert str(nodes) in str(e.value) and "'D3'" in str(e.value) and "C1CC((" in str(e.value)


def test_small_relations_are_excluded_and_all_small_is_an_error(tmp_path):
    path = write_triples(tmp_path, extra_rows=["D1,rare,D2", "D2,rare,D3"])
    g = load_graph(_cfg(path, features="onehot"))
    assert g.relations == ["se0", "se1", "se2"] and g.excluded == [("rare", 2, "fewer than 10 edges")]
    tiny = write_triples(tmp_path, relations=2, per_relation=4)
    with pytest.raises(InputError, match="no drug–drug relation has at least 10 edges"):
        load_graph(_cfg(tiny, features="onehot"))


def test_drugbank_ddi86_borrows_decagon_targets(shared_datasets):
    cfg = Config(data_dir=str(shared_datasets), features="onehot")
    g = load_graph(cfg)
    assert (g.num_drugs, g.num_relations) == (1710, 86)
    assert g.edges["train"][1].numel() == 134641
    # 229 drugs through the TWOSIDES CID -> DrugBank table, 3 more through canonical SMILES
    assert "232 of 1710 drugs get Decagon targets" in g.notes[0]
    assert g.targets.size(1) == 12998 and g.num_proteins == 1022 and g.ppi.numel() == 0
