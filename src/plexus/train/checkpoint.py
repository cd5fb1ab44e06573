"""Checkpoints, written atomically (see `plexus.atomic`), so `--resume` can always trust
what it finds: a run killed mid-write leaves the previous checkpoint or the new one.

Run directories are shared, so loading one must never run code: checkpoints hold tensors
and plain data only (dicts, lists, tuples, numbers, strings) and are read with
`torch.load(weights_only=True)`, which refuses anything else. `save_checkpoint` turns NumPy
values into tensors and Python numbers first, so every checkpoint it writes loads that way.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch

from plexus.atomic import atomic_write
from plexus.errors import InputError


def plain(obj: Any) -> Any:
    """`obj` with NumPy arrays as tensors and NumPy scalars as Python numbers, recursively."""
    if isinstance(obj, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(obj))
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(plain(v) for v in obj)
    return obj


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> None:
    """`torch.save` `state` (made `plain`) to `path` atomically."""
    state = plain(state)
    atomic_write(path, lambda f: torch.save(state, f))


def load_checkpoint(path: str | Path) -> dict[str, Any] | None:
    """The checkpoint at `path`, or None when there is none. Tensors and plain data only."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        raise InputError(f"{path}: refused to load: it holds objects other than tensors and plain data, and "
                         f"loading those could run code ({str(e).splitlines()[0][:200]}).") from None
    except (EOFError, RuntimeError) as e:
        raise InputError(f"{path}: not a readable checkpoint ({str(e).splitlines()[0][:200]}).") from None
