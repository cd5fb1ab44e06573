"""Node-classification accuracy."""

from __future__ import annotations

import torch


def accuracy(logits: torch.Tensor, y: torch.Tensor, nodes: torch.Tensor) -> float:
    """Share of `nodes` whose argmax prediction equals their label (nan for no nodes)."""
    if nodes.numel() == 0:
        return float("nan")
    return float((logits[nodes].argmax(-1) == y[nodes]).float().mean())
