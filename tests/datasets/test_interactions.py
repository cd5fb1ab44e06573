"""LightGCN-format implicit feedback: Gowalla, ML-1M, LastFM as one HeteroData layout."""

from __future__ import annotations

import numpy as np
import pytest

from plexus.datasets import load_dataset
from plexus.datasets.interactions import EDGE, read_lightgcn
from plexus.errors import InputError

COUNTS = {  # users, items, train, val (None: no split), test — from lightgcn/README.md
    "gowalla": (29858, 40981, 810128, None, 217242),
    "ml-1m": (6039, 3628, 590733, 80897, 164848),
    "lastfm": (1885, 17388, 64315, 9143, 18321),
}


def _keys(edge_index, num_items):
    return edge_index[0].numpy() * num_items + edge_index[1].numpy()


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_counts_and_disjoint_splits(shared_datasets, name):
    data = load_dataset(name, data_dir=shared_datasets)
    users, items, train, val, test = COUNTS[name]
    assert data["user"].num_nodes == users and data["item"].num_nodes == items
    store = data[EDGE]
    assert store.edge_index.shape == (2, train)
    assert store.test_edge_index.shape == (2, test)
    if val is None:
        assert "val_edge_index" not in store
    else:
        assert store.val_edge_index.shape == (2, val)
    splits = [store[k] for k in ("edge_index", "val_edge_index", "test_edge_index") if k in store]
    keys = [_keys(e, items) for e in splits]
    assert sum(len(np.unique(k)) for k in keys) == sum(len(k) for k in keys)  # no duplicates
    assert len(np.unique(np.concatenate(keys))) == sum(len(k) for k in keys)  # disjoint


def test_read_lightgcn_format(tmp_path):
    import gzip

    path = tmp_path / "train.txt.gz"
    with gzip.open(path, "wt") as f:
        f.write("0 3 1\n1\n\n2 5\n")
    assert read_lightgcn(path).tolist() == [[0, 0, 2], [3, 1, 5]]


def test_bad_item_id_is_an_input_error(tmp_path):
    path = tmp_path / "test.txt"
    path.write_text("0 1 two\n")
    with pytest.raises(InputError, match=r"test\.txt: an item id is not an integer"):
        read_lightgcn(path)


def test_missing_interactions_are_reported(copy_dataset, edit_gz):
    folder = copy_dataset("lightgcn/lastfm")
    edit_gz(folder / "valid.txt.gz", lambda lines: lines[:-1])
    with pytest.raises(InputError, match=r"valid\.txt\.gz: expected 9,143 val interactions"):
        load_dataset("lastfm", data_dir=folder.parent.parent)
