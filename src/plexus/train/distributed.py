"""Data-parallel training across processes started by `torchrun` (gloo on CPU, nccl on GPU).

Everything here is a no-op in a single process, so training code calls it unconditionally:

    torchrun --nproc_per_node=2 -m plexus.cli run glem --dataset citeseer-tag

`init()` joins the process group when torchrun's environment (WORLD_SIZE > 1) is present.
Rank 0 owns the run directory; the other ranks compute and discard.
"""

from __future__ import annotations

import os
from typing import Any

import torch
import torch.distributed as dist
from torch import nn


def requested() -> bool:
    """True when launched by torchrun with more than one process."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def init(device: str = "cpu") -> None:
    """Join the process group torchrun describes (once); gloo for CPU, nccl for CUDA."""
    if requested() and not dist.is_initialized():
        backend = "nccl" if device.startswith("cuda") else "gloo"
        dist.init_process_group(backend)
        if device.startswith("cuda"):
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))


def active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    return dist.get_rank() if active() else 0


def world_size() -> int:
    return dist.get_world_size() if active() else 1


def is_main() -> bool:
    return rank() == 0


def wrap(model: nn.Module) -> nn.Module:
    """`model` in DistributedDataParallel when running multi-process, else itself."""
    if not active():
        return model
    device = next(model.parameters()).device
    ids = [device.index] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=ids)


def sum_across_ranks(t: torch.Tensor) -> torch.Tensor:
    if active():
        t = t.clone()
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def broadcast(t: torch.Tensor) -> torch.Tensor:
    """Rank 0's tensor on every rank (same shape and dtype required)."""
    if active():
        t = t.clone()
        dist.broadcast(t, src=0)
    return t


def broadcast_object(obj: Any) -> Any:
    """Rank 0's picklable object on every rank."""
    if not active():
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]
