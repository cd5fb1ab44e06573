"""PinSage batches on MovieLens-100K's training graph: hard negatives from the PPR window,
the max-margin loss by hand, and batches that do not depend on the number of workers."""

from __future__ import annotations

import pytest
import torch

from plexus.methods.recommenders.data import RecConfig, load_split
from plexus.methods.pinsage.batches import HardNegatives, PinSageBatches, max_margin_loss
from plexus.train.seed import stream_generator
from plexus.sampling.ppr import ppr_topk
from plexus.sampling.random_walk import WalkConfig, bipartite_csr, importance_neighbors


@pytest.fixture(scope="module")
def graph(shared_datasets):
    split = load_split(RecConfig(dataset="movielens-100k", data_dir=str(shared_datasets)))
    return bipartite_csr(split.train, split.num_users, split.num_items), split


@pytest.fixture(scope="module")
def hard(graph):
    (lo, hi), _ = HardNegatives.window(graph[0], [0.02, 0.05], None, 0.95, 0.1, 0.15, 10)
    return HardNegatives(graph[0], lo, hi, alpha=0.15, num_iters=10)


def test_hard_negatives_come_from_the_ppr_rank_window(graph, hard):
    g, _ = graph
    assert (hard.lo, hard.hi) == (round(0.02 * 1681), round(0.05 * 1681))
    queries = torch.tensor([0, 49, 99, 180])
    ranked, _ = ppr_topk(g, queries, hard.hi, alpha=0.15, num_iters=10)
    window = ranked[:, hard.lo:]
    positives = window[:, 3]  # a positive inside the window is never drawn
    drawn = hard.draw(queries, positives, 200, torch.Generator().manual_seed(0))
    assert drawn.shape == (4, 200)
    for row in range(4):
        allowed = set(window[row].tolist()) - {int(positives[row])}
        assert set(drawn[row].tolist()) <= allowed
        assert len(set(drawn[row].tolist())) > 0.5 * len(allowed)  # spread over the window
        assert int(queries[row]) not in drawn[row].tolist()


def test_max_margin_loss_matches_hand_computation(graph, hard):
    g, _ = graph
    nbr, w = importance_neighbors(g, WalkConfig(num_random_walks=20, num_neighbors=5),
                                  generator=torch.Generator().manual_seed(0))
    pairs = torch.tensor([[0, 10, 20], [1, 11, 21]])
    batch = PinSageBatches(pairs, nbr, w, 2, num_negatives=7, num_hard=2, hard=hard, batch_size=3,
                           seed=(0, 2))[0]
    items = batch.blocks[-1].dst
    z = torch.nn.functional.normalize(torch.randn(items.numel(), 4, generator=torch.Generator().manual_seed(1)), dim=1)
    margin = 0.1
    bias = torch.randn(items.numel(), generator=torch.Generator().manual_seed(2))
    for hard_weight, b_ in ((1.0, None), (3.0, None), (0.5, bias)):
        shared, n_shared, hard_sum, n_hard = 0.0, 0, 0.0, 0
        for b in range(3):
            q, p = batch.query[b], batch.positive[b]
            assert items[q] == pairs[0, b] and items[p] == pairs[1, b]

            def s(x):
                return float(z[q] @ z[x]) + (0.0 if b_ is None else float(b_[x]))

            for n in [n for n in batch.negative.tolist() if n not in (int(q), int(p))]:
                shared += max(0.0, s(n) - s(p) + margin)
                n_shared += 1
            for n in [n for n in batch.hard[b].tolist() if n >= 0 and n != int(p)]:
                hard_sum += max(0.0, s(n) - s(p) + margin)
                n_hard += 1
        assert n_hard > 0
        want = shared / n_shared + hard_weight * hard_sum / n_hard
        assert float(max_margin_loss(z, batch, margin, hard_weight, b_)) == pytest.approx(want, rel=1e-5)
    assert batch.hard.shape == (3, 2) and batch.negative.numel() == 7


def test_batches_are_the_same_with_workers_and_by_seed(graph, hard):
    g, _ = graph
    nbr, w = importance_neighbors(g, WalkConfig(num_random_walks=20, num_neighbors=5),
                                  generator=stream_generator(0, 1))
    pairs = torch.randint(0, g.num_items, (2, 300), generator=torch.Generator().manual_seed(0))
    pairs = pairs[:, pairs[0] != pairs[1]]
    ds = PinSageBatches(pairs, nbr, w, 2, num_negatives=50, num_hard=3, hard=hard, batch_size=64, seed=(0, 4))

    def collect(workers):
        loader = torch.utils.data.DataLoader(ds, batch_size=None, num_workers=workers)
        return [(b.blocks[-1].dst[b.query], b.blocks[-1].dst[b.negative], b.hard) for b in loader]

    inline, produced = collect(0), collect(2)
    assert len(inline) == len(ds) == 5
    for a, b in zip(inline, produced):
        assert all(torch.equal(x, y) for x, y in zip(a, b))
    other = PinSageBatches(pairs, nbr, w, 2, 50, 3, hard, 64, seed=(0, 5))[0]
    assert not torch.equal(other.blocks[-1].dst[other.negative], inline[0][1])  # another epoch, other draws
