"""Checkpoints, written atomically (see `plexus.atomic`), so `--resume` can always trust
what it finds: a run killed mid-write leaves the previous checkpoint or the new one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from plexus.atomic import atomic_write


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> None:
    """`torch.save` `state` to `path` atomically."""
    atomic_write(path, lambda f: torch.save(state, f))


def load_checkpoint(path: str | Path) -> dict[str, Any] | None:
    """The checkpoint at `path`, or None when there is none."""
    path = Path(path)
    if not path.is_file():
        return None
    return torch.load(path, map_location="cpu", weights_only=False)
