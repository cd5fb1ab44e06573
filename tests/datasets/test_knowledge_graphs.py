"""WN18RR, FB15k-237, UMLS: one KG layout with entity text and the published splits."""

from __future__ import annotations

import gzip

import pytest
import torch

from plexus.datasets import load_dataset
from plexus.errors import InputError

COUNTS = {  # entities, relations, train, val, test (from the data READMEs)
    "wn18rr": (40943, 11, 86835, 3034, 3134),
    "fb15k237": (14541, 237, 272115, 17535, 20466),
    "umls": (135, 46, 5216, 652, 661),
}


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_counts_and_layout(shared_datasets, name):
    data = load_dataset(name, data_dir=shared_datasets)
    entities, relations, *sizes = COUNTS[name]
    assert data.num_nodes == len(data.text) == len(data.entity_id) == entities
    assert len(data.relation_text) == len(data.relation_id) == relations
    assert all(t.strip() for t in data.text) and all(t.strip() for t in data.relation_text)
    for split, n in zip(("train", "val", "test"), sizes):
        edge_index, edge_type = data[f"{split}_edge_index"], data[f"{split}_edge_type"]
        assert edge_index.shape == (2, n) and edge_type.shape == (n,)
        assert edge_index.dtype == edge_type.dtype == torch.long
        assert 0 <= int(edge_index.min()) and int(edge_index.max()) < entities
        assert 0 <= int(edge_type.min()) and int(edge_type.max()) < relations
    assert torch.equal(data.edge_index, data.train_edge_index)
    assert torch.equal(data.edge_type, data.train_edge_type)


def test_wn18rr_keeps_synset_ids_and_heads_first(shared_datasets):
    data = load_dataset("wn18rr", data_dir=shared_datasets)
    h, t = data.train_edge_index[:, 0].tolist()
    r = int(data.train_edge_type[0])
    # First line of train.tsv: 00260881  _hypernym  00260622 (leading zeros kept).
    assert (data.entity_id[h], data.relation_id[r], data.entity_id[t]) == ("00260881", "_hypernym", "00260622")
    assert data.relation_text[r] == "hypernym"
    assert data.num_text_fallback == 0


def test_fb15k237_openke_ids_reproduce_the_kgbert_dev_split(shared_datasets):
    data = load_dataset("fb15k237", data_dir=shared_datasets)
    (h, t), r = data.val_edge_index.tolist(), data.val_edge_type.tolist()
    ours = {(data.entity_id[a], data.relation_id[c], data.entity_id[b]) for a, b, c in zip(h, t, r)}
    with gzip.open(shared_datasets / "fb15k237_text" / "dev.tsv.gz", "rt") as f:
        theirs = {tuple(line.rstrip("\n").split("\t")) for line in f if line.strip()}
    assert ours == theirs
    # 875 entities have no Wikidata description and keep their bare name.
    assert data.num_text_fallback == 875
    assert data.text[data.entity_id.index("/m/010016")] == "Denton, city in Texas, United States"


def test_umls_text_joins_short_and_long(shared_datasets):
    data = load_dataset("umls", data_dir=shared_datasets)
    assert data.text[data.entity_id.index("idea_or_concept")].startswith("idea or concept, In philosophy")


def test_missing_description_falls_back_to_the_id(copy_dataset, edit_gz):
    folder = copy_dataset("umls_text")
    drop = lambda lines: [ln for ln in lines if not ln.startswith("virus\t")]  # noqa: E731
    edit_gz(folder / "entity2text.txt.gz", drop)
    edit_gz(folder / "entity2textlong.txt.gz", drop)
    data = load_dataset("umls", data_dir=folder.parent)
    assert data.text[data.entity_id.index("virus")] == "virus"
    assert data.num_text_fallback == 1


def test_truncated_split_names_file_and_counts(copy_dataset, edit_gz):
    folder = copy_dataset("umls_text")
    edit_gz(folder / "train.tsv.gz", lambda lines: lines[:-1])
    with pytest.raises(InputError, match=r"train\.tsv\.gz: expected 5,216 triples, found 5,215"):
        load_dataset("umls", data_dir=folder.parent)


def test_unknown_entity_names_file_and_row(copy_dataset, edit_gz):
    folder = copy_dataset("umls_text")
    edit_gz(folder / "dev.tsv.gz", lambda lines: ["ghost\tisa\tentity\n", *lines[1:]])
    with pytest.raises(InputError, match=r"dev\.tsv\.gz, row 1: unknown entity 'ghost'"):
        load_dataset("umls", data_dir=folder.parent)


def test_openke_id_out_of_range_names_the_line(copy_dataset, edit_gz):
    folder = copy_dataset("fb15k237_text")
    edit_gz(folder / "openke_test2id.txt.gz", lambda lines: [lines[0], "0 99999 0\n", *lines[2:]])
    with pytest.raises(InputError, match=r"openke_test2id\.txt\.gz, line 2: tail entity id 99999"):
        load_dataset("fb15k237", data_dir=folder.parent)
