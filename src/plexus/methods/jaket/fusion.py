"""Fusion of KM output into the text: Z_merge = LayerNorm(Z + E^KM) at every token inside an
entity mention; tokens outside every mention pass through unchanged, so with no mentions
LM2(LM1(x)) is exactly the original language model."""

from __future__ import annotations

import torch
from torch import Tensor, nn


def span_tokens(spans: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """(batch row, token position, span index) of every token inside every span.
    spans: [M, >=3] (row, start, end inclusive, ...)."""
    lengths = (spans[:, 2] - spans[:, 1] + 1).clamp(min=0)
    which = torch.repeat_interleave(torch.arange(len(spans), device=spans.device), lengths)
    first = torch.cumsum(lengths, 0) - lengths
    pos = spans[which, 1] + (torch.arange(len(which), device=spans.device) - first[which])
    return spans[which, 0], pos, which


class Fusion(nn.Module):
    def __init__(self, hidden: int, eps: float = 1e-12):
        super().__init__()
        self.norm = nn.LayerNorm(hidden, eps=eps)

    def forward(self, z: Tensor, spans: Tensor, entity_vecs: Tensor) -> Tensor:
        """spans [M, 4] = (row, start, end inclusive, slot): entity_vecs[slot] is added inside the span.
        Overlapping spans add both vectors; each token is normalised once."""
        if spans.numel() == 0:
            return z
        rows, pos, which = span_tokens(spans)
        add = torch.zeros_like(z)
        add.index_put_((rows, pos), entity_vecs[spans[which, 3]].to(z.dtype), accumulate=True)
        inside = torch.zeros(z.shape[:2], dtype=torch.bool, device=z.device)
        inside[rows, pos] = True
        merged = self.norm(z + add)
        return torch.where(inside.unsqueeze(-1), merged.to(z.dtype), z)
