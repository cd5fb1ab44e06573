"""Evaluation negatives never hit a known positive of any split; training negatives follow
degree^0.75 over the relation's nodes and avoid the head's training positives."""

from __future__ import annotations

import torch

from plexus.methods.decagon.negatives import TypedNegatives, eval_negatives


def _split(num_drugs=15, relations=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    out = {}
    for s, n in (("train", 60), ("val", 15), ("test", 15)):
        h = torch.randint(num_drugs, (n,), generator=g)
        t = (h + 1 + torch.randint(num_drugs - 1, (n,), generator=g)) % num_drugs
        out[s] = (torch.stack([h, t]), torch.randint(relations, (n,), generator=g))
    return out


def test_eval_negatives_exclude_every_known_positive_in_both_directions():
    split = _split()
    known = set()
    for ei, et in split.values():
        for (h, t), r in zip(ei.t().tolist(), et.tolist()):
            known |= {(h, t, r), (t, h, r)}
    for s in ("val", "test"):
        ei, et = eval_negatives(split, s, 15, 3, seed=0)
        assert torch.equal(torch.bincount(et, minlength=3), torch.bincount(split[s][1], minlength=3))
        triples = [(h, t, r) for (h, t), r in zip(ei.t().tolist(), et.tolist())]
        assert not set(triples) & known
        assert all(h != t for h, t, _ in triples)
        assert len(set(triples)) == len(triples)
        again = eval_negatives(split, s, 15, 3, seed=0)
        assert torch.equal(again[0], ei)  # fixed per seed
    assert not torch.equal(eval_negatives(split, "test", 15, 3, seed=1)[0], eval_negatives(split, "test", 15, 3, seed=0)[0])


def test_training_negatives_follow_degree_and_skip_positives():
    # tails 0..3 with in-degrees 1, 2, 4, 8 (from heads 10..); node 4.. never a tail
    tails = torch.tensor([0] + [1] * 2 + [2] * 4 + [3] * 8)
    heads = 10 + torch.arange(tails.numel())
    ei = torch.stack([heads, tails])
    neg = TypedNegatives({"r": (ei, 30, 30)}, torch.Generator().manual_seed(0))
    h = torch.full((20000,), 10)  # head 10's only positive is tail 0
    draws = neg.sample("r", h, torch.zeros_like(h))
    assert not (draws == 0).any()
    assert set(draws.unique().tolist()) <= {1, 2, 3}
    freq = torch.bincount(draws, minlength=4)[1:].double() / draws.numel()
    expect = torch.tensor([2.0, 4.0, 8.0], dtype=torch.float64).pow(0.75)
    assert torch.allclose(freq, expect / expect.sum(), atol=0.015)
