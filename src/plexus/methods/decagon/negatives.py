"""Negatives for training and for evaluation.

Training (Decagon's sampler): for a positive (i, r, j) the tail is corrupted, j' drawn with
p(j') ∝ degree_r(j')^0.75 among nodes of j's type — the unigram distortion of the released
code — here through `plexus.sampling.negatives.PopularitySampler`, one per edge type, which
also rejects i's known training positives of that type.

Evaluation: for relation r and a split with n positives, n drug pairs drawn uniformly among
ordered pairs (i != j) that are *not* a known positive of r in any split, in either
direction; fixed per seed (drawn once from the seed's stream) and shared by every model
evaluated with that seed, so all rows of a table see the same negatives.
"""

from __future__ import annotations

import torch

from plexus.graph.splits import sample_non_edges, undirected_pairs
from plexus.sampling.negatives import PopularitySampler
from plexus.train.seed import stream_generator


class TypedNegatives:
    """One degree^0.75 sampler per training edge type, sharing one generator."""

    def __init__(self, types: dict[object, tuple[torch.Tensor, int, int]], generator: torch.Generator,
                 alpha: float = 0.75):
        # types: key -> (train edge_index [2, E] head -> tail, #head nodes, #tail nodes)
        self.samplers = {k: PopularitySampler(ei, nh, nt, alpha=alpha, generator=generator)
                         for k, (ei, nh, nt) in types.items()}

    def sample(self, key, heads: torch.Tensor, tails: torch.Tensor) -> torch.Tensor:
        return self.samplers[key].sample(heads, tails, 1)[:, 0]


def eval_negatives(known: dict[str, tuple[torch.Tensor, torch.Tensor]], split: str, num_drugs: int,
                   num_relations: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(edge_index, edge_type) of the negatives of `split`: per relation as many as its
    positives, none of them a positive of that relation in any split of `known`."""
    all_ei = torch.cat([ei for ei, _ in known.values()], 1)
    all_et = torch.cat([et for _, et in known.values()])
    pos_ei, pos_et = known[split]
    counts = torch.bincount(pos_et, minlength=num_relations)
    out_ei, out_et = [], []
    split_id = ("train", "val", "test").index(split)
    for r in torch.nonzero(counts).flatten().tolist():
        gen = stream_generator(seed, 7_919, split_id, r)
        pairs = undirected_pairs(all_ei[:, all_et == r])
        neg = sample_non_edges(pairs, num_drugs, int(counts[r]), gen)
        flip = torch.rand(neg.size(1), generator=gen) < 0.5  # both orientations, for directed relations
        neg = torch.where(flip, neg.flip(0), neg)
        out_ei.append(neg)
        out_et.append(torch.full((neg.size(1),), r, dtype=torch.long))
    if not out_ei:
        return torch.empty(2, 0, dtype=torch.long), torch.empty(0, dtype=torch.long)
    return torch.cat(out_ei, 1), torch.cat(out_et)
