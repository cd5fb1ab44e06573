"""MovieLens 100K: the ua/ub splits with ratings, timestamps, movie text and user data."""

from __future__ import annotations

import pytest
import torch

from plexus.datasets import load_dataset
from plexus.datasets.interactions import EDGE
from plexus.datasets.movielens import load_movielens_100k
from plexus.errors import InputError


def test_ua_split_with_ratings_and_text(shared_datasets):
    data = load_dataset("movielens-100k", data_dir=shared_datasets)
    assert data["user"].num_nodes == 943 and data["item"].num_nodes == 1682
    store = data[EDGE]
    assert store.edge_index.shape == (2, 90570) and store.test_edge_index.shape == (2, 9430)
    assert "val_edge_index" not in store
    assert store.edge_rating.shape == store.edge_time.shape == (90570,)
    assert store.test_edge_rating.shape == store.test_edge_time.shape == (9430,)
    # Every user holds out exactly 10 ratings; ids are 0-based.
    assert torch.bincount(store.test_edge_index[0], minlength=943).eq(10).all()
    assert int(store.edge_index.min()) == 0
    # The rating histogram of the whole release (README).
    ratings = torch.cat([store.edge_rating, store.test_edge_rating])
    assert torch.bincount(ratings)[1:].tolist() == [6110, 11370, 27145, 34174, 21201]
    # First line of ua.base: user 1 rated item 1 with 5 at 874965758.
    assert store.edge_index[:, 0].tolist() == [0, 0]
    assert (int(store.edge_rating[0]), int(store.edge_time[0])) == (5, 874965758)
    assert data["item"].text[0] == "Toy Story (1995) | Animation, Children's, Comedy"
    assert len(data["item"].text) == 1682
    assert (int(data["user"].age[0]), data["user"].gender[0], data["user"].occupation[0]) == (24, "M", "technician")


def test_ub_split(shared_datasets):
    data = load_movielens_100k(shared_datasets / "movielens-100k", split="ub")
    assert data[EDGE].edge_index.shape == (2, 90570) and data[EDGE].test_edge_index.shape == (2, 9430)


def test_item_out_of_range_names_the_line(copy_dataset, edit_gz):
    folder = copy_dataset("movielens-100k")
    edit_gz(folder / "ua.test.gz", lambda lines: ["1\t1683\t3\t0\n", *lines[1:]])
    with pytest.raises(InputError, match=r"ua\.test\.gz, line 1: item id 1683 is outside 1\.\.1682"):
        load_dataset("movielens-100k", data_dir=folder.parent)
