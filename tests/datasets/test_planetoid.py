"""Planetoid Cora / CiteSeer: the standard split, as GCN and GAE use it."""

from __future__ import annotations

import torch
import pytest

from plexus.datasets import load_dataset
from plexus.errors import InputError


def test_cora_has_the_standard_split(shared_datasets):
    data = load_dataset("cora", data_dir=shared_datasets)
    assert data.x.shape == (2708, 1433)
    assert data.edge_index.shape == (2, 2 * 5278)
    assert data.is_undirected() and not data.has_self_loops()
    assert int(data.y.max()) + 1 == 7
    assert [int(m.sum()) for m in (data.train_mask, data.val_mask, data.test_mask)] == [140, 500, 1000]
    assert torch.bincount(data.y[data.train_mask]).tolist() == [20] * 7
    assert not (data.train_mask & data.val_mask).any() and not (data.val_mask & data.test_mask).any()
    assert data.test_mask[1708:].all() and not data.test_mask[:1708].any()


def test_citeseer_pads_isolated_test_nodes(shared_datasets):
    data = load_dataset("citeseer", data_dir=shared_datasets)
    assert data.x.shape == (3327, 3703)
    assert data.edge_index.shape == (2, 2 * 4552)
    assert [int(m.sum()) for m in (data.train_mask, data.val_mask, data.test_mask)] == [120, 500, 1000]
    # The 15 test-range indices with no feature row are zero-padded, as in GCN.
    assert int((data.x[2312:].sum(1) == 0).sum()) == 15


def test_bundled_copy_equals_shared(shared_datasets, monkeypatch):
    monkeypatch.delenv("PLEXUS_DATA", raising=False)
    bundled = load_dataset("cora")
    shared = load_dataset("cora", data_dir=shared_datasets)
    assert torch.equal(bundled.x, shared.x) and torch.equal(bundled.edge_index, shared.edge_index)


def test_missing_test_nodes_are_reported(copy_dataset):
    folder = copy_dataset("planetoid")
    index = folder / "ind.cora.test.index"
    index.write_text("".join(index.read_text().splitlines(keepends=True)[:-1]))
    with pytest.raises(InputError, match=r"ind\.cora\.test\.index: expected 1,000 test nodes, found 999"):
        load_dataset("cora", data_dir=folder.parent)


def test_corrupt_pickle_is_an_input_error(copy_dataset):
    folder = copy_dataset("planetoid")
    (folder / "ind.citeseer.graph").write_bytes(b"not a pickle")
    with pytest.raises(InputError, match="ind.citeseer"):
        load_dataset("citeseer", data_dir=folder.parent)


class _RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))  # unpickling this creates the marker file


def test_a_pickle_that_is_not_the_published_file_is_refused_before_unpickling(copy_dataset, tmp_path):
    import pickle

    folder = copy_dataset("planetoid")
    marker = tmp_path / "code-ran"
    (folder / "ind.cora.graph").write_bytes(pickle.dumps(_RunsCode(str(marker))))
    with pytest.raises(InputError, match=r"ind\.cora\.graph: sha256 [0-9a-f]{64} is not the published"):
        load_dataset("cora", data_dir=folder.parent)
    assert not marker.exists()


def test_the_known_hashes_are_the_bundled_copies():
    import hashlib
    from pathlib import Path

    from plexus.datasets import planetoid

    bundled = Path(planetoid.__file__).parent / "bundled" / "planetoid"
    for name, want in planetoid.SHA256.items():
        assert hashlib.sha256((bundled / name).read_bytes()).hexdigest() == want, name
    assert len(planetoid.SHA256) == 16  # 14 pickles + 2 test.index
