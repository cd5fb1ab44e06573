import pytest
import torch
from torch_geometric.data import Data

from plexus.errors import ConfigError, InputError
from plexus.graph.node_splits import given_split, split_nodes


def _labels(n=3000, classes=6, unlabelled=10):
    y = torch.arange(n) % classes
    y[:unlabelled] = -1
    return y


def test_supervised_split_partitions_labelled_nodes():
    y = _labels()
    s = split_nodes(y, "supervised", seed=0)
    parts = [s.train, s.val, s.test]
    allp = torch.cat(parts)
    assert allp.unique().numel() == allp.numel() == 2990  # disjoint, every labelled node placed
    assert (y[allp] >= 0).all()
    assert [p.numel() for p in parts] == [1794, 598, 598]
    assert "60%/20%/20%" in s.description


def test_semi_supervised_split_shape():
    y = _labels()
    s = split_nodes(y, "semi", seed=1)
    assert s.train.numel() == 120
    assert torch.bincount(y[s.train], minlength=6).tolist() == [20] * 6
    assert s.val.numel() == 500 and s.test.numel() == 1000
    assert torch.cat([s.train, s.val, s.test]).unique().numel() == 1620


def test_splits_depend_on_seed_only():
    y = _labels()
    a, b, c = (split_nodes(y, "supervised", seed=k) for k in (4, 4, 5))
    assert torch.equal(a.train, b.train) and torch.equal(a.test, b.test)
    assert not torch.equal(a.train, c.train)


def test_bad_splits_are_explained():
    with pytest.raises(ConfigError, match="Unknown split"):
        split_nodes(_labels(), "random", 0)
    with pytest.raises(ConfigError, match="sum below 1"):
        split_nodes(_labels(), "supervised", 0, train_ratio=0.9, val_ratio=0.2)
    with pytest.raises(InputError, match="needs 500 validation"):
        split_nodes(_labels(n=300), "semi", 0)
    with pytest.raises(InputError, match="No node has a label"):
        split_nodes(torch.full((5,), -1), "semi", 0)


def _masked(train, val, test, n=8):
    data = Data(num_nodes=n)
    for part, nodes in (("train", train), ("val", val), ("test", test)):
        mask = torch.zeros(n, dtype=torch.bool)
        mask[nodes] = True
        data[f"{part}_mask"] = mask
    return data


def test_given_split_uses_the_datasets_masks():
    s = given_split(_masked([5, 0, 1], [2], [7, 3]))
    assert [p.tolist() for p in (s.train, s.val, s.test)] == [[0, 1, 5], [2], [3, 7]]
    assert s.description == "the dataset's given split"
    assert s.counts() == "3/1/2 train/val/test nodes"


def test_given_split_without_masks_is_explained():
    data = _masked([0], [1], [2])
    del data.val_mask, data.test_mask
    with pytest.raises(InputError, match="has no val_mask, test_mask. Use the supervised or semi"):
        given_split(data)
    with pytest.raises(InputError, match="leaves an empty part"):
        given_split(_masked([0, 1], [], [2]))
    with pytest.raises(InputError, match="masks overlap"):
        given_split(_masked([0, 1], [2], [1]))
