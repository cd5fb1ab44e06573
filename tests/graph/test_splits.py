"""Edge splits for link prediction: the leakage test on cora, and the split's guarantees.

No val/test positive may reach the encoder (neither direction of the pair is a training
edge, nor a nonzero of the GCN adjacency GAE builds), and no negative may be a true edge
of the full graph. Sizes follow Kipf & Welling's 85/5/10 split with floors.
"""

from __future__ import annotations

import pytest
import torch

from plexus.datasets import load_dataset
from plexus.errors import InputError
from plexus.graph.splits import LinkSplit, sample_non_edges, split_edges, undirected_pairs
from plexus.methods.gae.algorithm import normalized_adjacency


def pair_set(edge_index: torch.Tensor) -> set[tuple[int, int]]:
    """Directed pairs of an edge index."""
    return set(map(tuple, edge_index.t().tolist()))


def unordered(edge_index: torch.Tensor) -> list[tuple[int, int]]:
    return [(min(i, j), max(i, j)) for i, j in edge_index.t().tolist()]


@pytest.fixture(scope="module")
def cora():
    return load_dataset("cora")


@pytest.fixture(scope="module")
def split(cora) -> LinkSplit:
    return split_edges(cora.edge_index, cora.num_nodes, generator=torch.Generator().manual_seed(0))


# ------------------------------------------------------------------- sizes and shape


def test_sizes_are_85_5_10_with_floors(cora, split):
    # cora: 5278 undirected citations -> floor(5%) = 263 val, floor(10%) = 527 test.
    assert undirected_pairs(cora.edge_index).size(1) == 5278
    assert split.val_pos.size(1) == 263
    assert split.test_pos.size(1) == 527
    assert split.train_pos.size(1) == 5278 - 263 - 527
    assert split.num_nodes == cora.num_nodes == 2708


def test_equal_negatives_for_val_and_test(split):
    assert split.val_neg.shape == split.val_pos.shape
    assert split.test_neg.shape == split.test_pos.shape


def test_every_tensor_holds_one_direction_with_row0_below_row1(split):
    for name in ("train_pos", "val_pos", "val_neg", "test_pos", "test_neg"):
        t = getattr(split, name)
        assert t.dtype == torch.long and t.dim() == 2 and t.size(0) == 2, name
        assert bool((t[0] < t[1]).all()), f"{name} has a pair with row0 >= row1 (or a self-loop)"
        assert int(t.max()) < split.num_nodes and int(t.min()) >= 0, name


def test_train_edge_index_is_train_pos_in_both_directions(split):
    tei = split.train_edge_index()
    assert tei.size(1) == 2 * split.train_pos.size(1)
    expected = pair_set(split.train_pos) | pair_set(split.train_pos.flip(0))
    assert pair_set(tei) == expected


# ------------------------------------------------------------------- the leakage test


def test_positives_partition_the_graph(cora, split):
    all_pairs = set(unordered(undirected_pairs(cora.edge_index)))
    parts = [set(unordered(getattr(split, n))) for n in ("train_pos", "val_pos", "test_pos")]
    assert sum(map(len, parts)) == len(all_pairs)  # no duplicate within or across parts
    assert parts[0] | parts[1] | parts[2] == all_pairs
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])


def test_no_val_or_test_positive_is_a_training_edge_in_either_direction(split):
    train = pair_set(split.train_edge_index())
    for name in ("val_pos", "test_pos"):
        held_out = getattr(split, name)
        leaked = [(i, j) for i, j in held_out.t().tolist() if (i, j) in train or (j, i) in train]
        assert not leaked, f"{name}: {len(leaked)} held-out pairs leak into training, e.g. {leaked[:3]}"


def test_negatives_are_not_edges_of_the_full_graph(cora, split):
    full = pair_set(cora.edge_index)
    for name in ("val_neg", "test_neg"):
        bad = [(i, j) for i, j in getattr(split, name).t().tolist() if (i, j) in full or (j, i) in full]
        assert not bad, f"{name}: {len(bad)} negatives are true edges, e.g. {bad[:3]}"


def test_negatives_no_self_loops_no_duplicates_disjoint(split):
    val, test = unordered(split.val_neg), unordered(split.test_neg)
    assert all(i != j for i, j in val + test)
    assert len(set(val)) == len(val), "duplicate unordered pair among val negatives"
    assert len(set(test)) == len(test), "duplicate unordered pair among test negatives"
    assert not set(val) & set(test), "val and test negatives overlap"


def test_gae_encoder_adjacency_holds_only_training_edges(cora, split):
    # Built exactly as gae._train_seed does.
    n = cora.num_nodes
    adj = normalized_adjacency(split.train_edge_index(), n).dense()
    nz = adj.nonzero()
    off = nz[nz[:, 0] != nz[:, 1]]
    seen = set(map(tuple, off.tolist()))
    assert seen == pair_set(split.train_edge_index())  # exactly the training edges...
    held_out = unordered(split.val_pos) + unordered(split.test_pos)
    leaked = [(i, j) for i, j in held_out if (i, j) in seen or (j, i) in seen]
    assert not leaked, f"{len(leaked)} val/test positives are nonzeros of the encoder adjacency"
    assert bool((adj.diagonal() > 0).all())  # ...plus the GCN self-loops


# -------------------------------------------------------------------- determinism


def test_same_seed_same_split_other_seed_other_split(cora, split):
    again = split_edges(cora.edge_index, cora.num_nodes, generator=torch.Generator().manual_seed(0))
    other = split_edges(cora.edge_index, cora.num_nodes, generator=torch.Generator().manual_seed(1))
    for name in ("train_pos", "val_pos", "val_neg", "test_pos", "test_neg"):
        assert torch.equal(getattr(split, name), getattr(again, name)), name
    assert not torch.equal(split.test_pos, other.test_pos)
    assert not torch.equal(split.test_neg, other.test_neg)


# ------------------------------------------------------------- small exact cases


def test_undirected_pairs_drops_self_loops_and_duplicates():
    ei = torch.tensor([[0, 1, 1, 2, 2, 3], [1, 0, 1, 3, 3, 2]])
    assert undirected_pairs(ei).tolist() == [[0, 2], [1, 3]]


def test_split_of_a_graph_with_self_loops_and_both_directions():
    # A ring of 40 nodes given in both directions, plus self-loops on every node.
    n = 40
    ring = torch.stack([torch.arange(n), (torch.arange(n) + 1) % n])
    loops = torch.arange(n).repeat(2, 1)
    ei = torch.cat([ring, ring.flip(0), loops], dim=1)
    s = split_edges(ei, n, generator=torch.Generator().manual_seed(3))
    assert (s.val_pos.size(1), s.test_pos.size(1), s.train_pos.size(1)) == (2, 4, 34)
    ring_pairs = set(unordered(ring))
    negs = unordered(s.val_neg) + unordered(s.test_neg)
    assert len(set(negs)) == 6 and not set(negs) & ring_pairs and all(i != j for i, j in negs)


def test_sample_non_edges_finds_the_only_non_edges_then_refuses():
    # K5 minus (0,1) and (2,4): exactly two non-edges exist.
    pairs = torch.tensor([(i, j) for i in range(5) for j in range(i + 1, 5) if (i, j) not in {(0, 1), (2, 4)}]).t()
    got = sample_non_edges(pairs, 5, 2, torch.Generator().manual_seed(0))
    assert sorted(unordered(got)) == [(0, 1), (2, 4)]
    with pytest.raises(ValueError, match="dense"):
        sample_non_edges(pairs, 5, 3)


def test_too_few_edges_is_an_error():
    ei = torch.tensor([[0, 1, 2], [1, 2, 3]])
    with pytest.raises(InputError, match="too few edges"):
        split_edges(ei, 4)
