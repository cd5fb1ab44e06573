"""Edge decoders: a score (logit) for (head i, relation r, tail j) from the embeddings z.

Drug–drug (one relation per side effect), `decoder=`:

    dedicom   z_i^T D_r R D_r z_j     global R (d x d), diagonal D_r per side effect (Decagon)
    distmult  z_i^T diag(w_r) z_j     (Yang et al. 2015)
    rescal    z_i^T M_r z_j           full M_r per side effect (Nickel et al. 2011)
    complex   Re(<z_i, w_r, conj z_j>) with z split into real and imaginary halves (Trouillon 2016)
    inner     z_i^T z_j               the same score for every relation
    concat    w_r^T relu(W [z_i ; z_j] + b) + b_r: an MLP on the concatenated pair (baseline)

Protein–protein and drug–protein edges use a bilinear form z_i^T M z_j, one M per edge type.
Every decoder is `forward(z_head, z_tail, rel) -> logits` over a batch of pairs.
"""

from __future__ import annotations

import math

import torch
from torch import nn

DRUG_DECODERS = ("dedicom", "distmult", "rescal", "complex", "inner", "concat")


def _uniform(*shape: int, fan: int) -> nn.Parameter:
    bound = math.sqrt(6.0 / (2 * fan))
    return nn.Parameter(torch.empty(*shape).uniform_(-bound, bound))


class Dedicom(nn.Module):
    def __init__(self, dim: int, num_relations: int):
        super().__init__()
        self.global_r = _uniform(dim, dim, fan=dim)
        self.diag = _uniform(num_relations, dim, fan=dim)

    def forward(self, zi: torch.Tensor, zj: torch.Tensor, rel: torch.Tensor) -> torch.Tensor:
        d = self.diag[rel]
        return ((zi * d) @ self.global_r * (zj * d)).sum(-1)


class DistMult(nn.Module):
    def __init__(self, dim: int, num_relations: int):
        super().__init__()
        self.rel = _uniform(num_relations, dim, fan=dim)

    def forward(self, zi, zj, rel):
        return (zi * self.rel[rel] * zj).sum(-1)


class Rescal(nn.Module):
    """Also the bilinear decoder of a single edge type (num_relations = 1)."""

    def __init__(self, dim: int, num_relations: int):
        super().__init__()
        self.mat = _uniform(num_relations, dim, dim, fan=dim)

    def forward(self, zi, zj, rel):
        return torch.einsum("bd,bde,be->b", zi, self.mat[rel], zj)


class ComplEx(nn.Module):
    def __init__(self, dim: int, num_relations: int):
        super().__init__()
        if dim % 2:
            raise ValueError(f"ComplEx needs an even embedding size, not {dim}")
        self.rel = _uniform(num_relations, dim, fan=dim)

    def forward(self, zi, zj, rel):
        hr, hi = zi.chunk(2, -1)
        tr, ti = zj.chunk(2, -1)
        rr, ri = self.rel[rel].chunk(2, -1)
        return (hr * rr * tr + hi * rr * ti + hr * ri * ti - hi * ri * tr).sum(-1)


class Inner(nn.Module):
    def __init__(self, dim: int, num_relations: int):
        super().__init__()

    def forward(self, zi, zj, rel):
        return (zi * zj).sum(-1)


class ConcatMLP(nn.Module):
    def __init__(self, dim: int, num_relations: int, hidden: int = 64):
        super().__init__()
        self.hidden = nn.Sequential(nn.Linear(2 * dim, hidden), nn.ReLU())
        self.out = nn.Linear(hidden, num_relations)

    def forward(self, zi, zj, rel):
        logits = self.out(self.hidden(torch.cat([zi, zj], -1)))
        return logits.gather(1, rel.view(-1, 1)).squeeze(1)


def make_decoder(kind: str, dim: int, num_relations: int) -> nn.Module:
    classes = {"dedicom": Dedicom, "distmult": DistMult, "rescal": Rescal, "complex": ComplEx, "inner": Inner,
               "concat": ConcatMLP, "bilinear": Rescal}
    if kind not in classes:
        raise ValueError(f"unknown decoder {kind!r}; choose one of {', '.join(classes)}")
    return classes[kind](dim, num_relations)
