"""Pooling of token states into one vector per text.

`mean` averages the token states the attention mask marks as real (padding never counts),
which is how sentence-transformers trained all-MiniLM-L6-v2. `cls` takes the first token,
the usual choice for BERT-style classifiers (and GLEM's LM head).
"""

from __future__ import annotations

import torch

from plexus.errors import ConfigError

POOLINGS = ("mean", "cls")


def check_pooling(pooling: str) -> str:
    """Return `pooling` if it is known, else raise a `ConfigError` listing the choices."""
    if pooling not in POOLINGS:
        raise ConfigError(f"Unknown pooling {pooling!r}; choose one of {', '.join(POOLINGS)}.")
    return pooling


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Masked mean over tokens: `hidden` [B, T, d], `attention_mask` [B, T] -> [B, d]."""
    mask = attention_mask.to(hidden.dtype).unsqueeze(-1)
    summed = (hidden * mask).sum(dim=1)
    counts = mask.sum(dim=1).clamp(min=1.0)
    return summed / counts


def cls_pool(hidden: torch.Tensor) -> torch.Tensor:
    """The first token's state: `hidden` [B, T, d] -> [B, d]."""
    return hidden[:, 0]


def pool(hidden: torch.Tensor, attention_mask: torch.Tensor, pooling: str) -> torch.Tensor:
    """Pool token states with the named strategy (`mean` or `cls`)."""
    if pooling == "mean":
        return mean_pool(hidden, attention_mask)
    if pooling == "cls":
        return cls_pool(hidden)
    check_pooling(pooling)
    raise AssertionError("unreachable")
