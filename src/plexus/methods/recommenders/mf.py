"""MF-BPR: matrix factorisation trained with the BPR loss (Rendle et al., UAI 2009), the
baseline of the LightGCN paper (He et al. 2020).

One free embedding per user and per item, score = dot product, no propagation: LightGCN with
zero layers. It shares LightGCN's training loop, sampler, loss, evaluation and export
(`plexus.methods.recommenders`) and its defaults (64-d, lr 0.001, batch 2048, reg 1e-4 on the batch's
embeddings, normal init std 0.1 — the official LightGCN code's PureMF uses std 1; the common
setting keeps the two models comparable at equal budget).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from plexus.methods.recommenders.bpr import BPRConfig, ModelSpec, run_bpr
from plexus.methods.recommenders.data import InteractionSplit
from plexus.result import Result
from plexus.train.rundir import RunDir


@dataclass
class Config(BPRConfig):
    pass


class MF(nn.Module):
    def __init__(self, num_users: int, num_items: int, dim: int, init_std: float = 0.1):
        super().__init__()
        self.num_users, self.num_items = num_users, num_items
        self.embedding = nn.Parameter(torch.empty(num_users + num_items, dim))
        nn.init.normal_(self.embedding, std=init_std)

    def final(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.embedding[: self.num_users], self.embedding[self.num_users:]

    def batch_rows(self, users: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor):
        """(final rows, layer-0 rows): the same embeddings, as there is no propagation."""
        rows = self.embedding[torch.cat([users, pos + self.num_users, neg + self.num_users])]
        return rows, rows


def _build(cfg: Config, split: InteractionSplit, device: torch.device) -> MF:
    return MF(split.num_users, split.num_items, cfg.dim, cfg.init_std).to(device)


def _describe(cfg: Config) -> str:
    return f"MF-BPR, {cfg.dim}-d embeddings (normal init std {cfg.init_std:g}), dot-product score"


SPEC = ModelSpec("mf", _build, _describe)


def run(cfg: Config, run_dir: RunDir, quiet: bool = False) -> Result:
    return run_bpr(SPEC, cfg, run_dir, quiet)
