"""Data-parallel training across processes started by `torchrun` (gloo on CPU, nccl on GPU).

Everything here is a no-op in a single process, so training code calls it unconditionally:

    torchrun --nproc_per_node=2 -m plexus.cli run glem --dataset citeseer-tag

`init()` joins the process group when torchrun's environment (WORLD_SIZE > 1) is present.
Rank 0 owns the run directory; the other ranks compute and discard.

Collectives take and return tensors on any device: NCCL only moves CUDA tensors of the
rank's own GPU, gloo only CPU tensors, so `sum_across_ranks` / `broadcast` copy the tensor
to the device the backend accepts (`comm_device()`) and the result back to the caller's.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

# How long a collective may wait for the slowest rank. Plexus's methods keep every rank
# busy with the same work (GLEM's GNN stage runs on every rank), so waits are short; the
# margin is for a rank that writes a large checkpoint or fills a cold embedding cache.
TIMEOUT = timedelta(hours=2)


def requested() -> bool:
    """True when launched by torchrun with more than one process."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def _is_cuda(device: str | torch.device) -> bool:
    if str(device) == "auto":
        return torch.cuda.is_available()
    return torch.device(device).type == "cuda"


def init(device: str | torch.device = "cpu") -> None:
    """Join the process group torchrun describes (once); gloo for CPU, nccl for CUDA."""
    if requested() and not dist.is_initialized():
        cuda = _is_cuda(device)
        if cuda:  # before the group exists, so NCCL binds this rank to its own GPU
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group("nccl" if cuda else "gloo", timeout=TIMEOUT)


def active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    return dist.get_rank() if active() else 0


def world_size() -> int:
    return dist.get_world_size() if active() else 1


def is_main() -> bool:
    return rank() == 0


def local_device(device: str | torch.device) -> torch.device:
    """The device this process computes on: under torchrun a CUDA device is the rank's own
    GPU (LOCAL_RANK), whatever index the config named; "auto" picks CUDA when present."""
    if str(device) == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(device)
    if device.type == "cuda" and requested():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return device


def comm_device() -> torch.device:
    """Where the backend's collectives need their tensors: this rank's GPU under NCCL."""
    if active() and dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def wrap(model: nn.Module) -> nn.Module:
    """`model` in DistributedDataParallel when running multi-process, else itself."""
    if not active():
        return model
    device = next(model.parameters()).device
    ids = [device.index] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=ids)


def sum_across_ranks(t: torch.Tensor) -> torch.Tensor:
    """The element-wise sum of every rank's `t`, on `t`'s device (a new tensor)."""
    if not active():
        return t
    buf = t.detach().to(comm_device(), copy=True)
    dist.all_reduce(buf, op=dist.ReduceOp.SUM)
    return buf.to(t.device)


def broadcast(t: torch.Tensor) -> torch.Tensor:
    """Rank 0's tensor on every rank, on `t`'s device (same shape and dtype required)."""
    if not active():
        return t
    buf = t.detach().to(comm_device(), copy=True)
    dist.broadcast(buf, src=0)
    return buf.to(t.device)


def broadcast_object(obj: Any) -> Any:
    """Rank 0's picklable object on every rank."""
    if not active():
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0, device=comm_device())
    return box[0]
