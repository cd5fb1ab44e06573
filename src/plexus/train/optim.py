"""Optimisers shared by the methods."""

from __future__ import annotations

import torch


def make_optimizer(params, lr: float) -> torch.optim.Optimizer:
    """Adam; the fused CPU kernel is ~3x faster on a full embedding table than the default."""
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(params, lr=lr)
