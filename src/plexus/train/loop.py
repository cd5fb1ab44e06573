"""The one training loop of the epoch-based methods (GAE/VGAE, MF-BPR, LightGCN, PinSage, ...).

A method trains one seed with `train_seed`, handing it the parts only it knows:

    def setup(gen):                       # gen: the seed's torch.Generator (seed_everything)
        model = build(...); opt = Adam(...)
        return SeedParts(model, opt,
                         train_epoch=lambda epoch: {...losses...},
                         validate=lambda: {...metrics...},      # e.g. {"recall@20": 0.1}
                         test=lambda: {...metrics...},
                         generators=[gen])                      # saved in the checkpoint
    record = train_seed(run, seed_index, seed, setup, LoopSettings(epochs=..., select="recall@20"),
                        finish=lambda fitted, test: {...the seed's record...})

and the loop does the rest, the same way for every method:

- seeding: `seed_everything(seed)` before `setup`, so model init and samplers are seeded;
  per-(seed, epoch, batch) streams come from `plexus.train.seed.stream_generator`;
- one history line per epoch (the epoch's losses, and at evaluations `val_<metric>`);
- validation every `eval_every` epochs (and at the last epoch, and when the time budget
  runs out), keeping the best state by `select` (or the last state when `select` is None,
  e.g. GAE's "last epoch" protocol);
- early stopping after `patience` epochs without a better validation score;
- an atomic checkpoint (model, optimiser, RNG states, best state, elapsed time) at every
  evaluation (or every `ckpt_every` epochs), so `--resume` continues a killed seed exactly;
- the best state restored and tested once (`test`), and the finished record saved, so a
  resumed run skips finished seeds.
"""

from __future__ import annotations

import math
import random
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from plexus.train.checkpoint import load_checkpoint, save_checkpoint
from plexus.train.rundir import RunDir
from plexus.train.seed import seed_everything


@dataclass
class LoopSettings:
    epochs: int
    eval_every: int = 1
    select: str | None = None  # validation metric to maximise; None: keep the last state
    patience: int | None = None  # stop after this many epochs without a better `select` score
    max_minutes: float | None = None  # wall-clock budget for training + validation
    ckpt_every: int | None = None  # epochs between checkpoints; None: at every evaluation


@dataclass
class SeedParts:
    """What a method supplies for one seed."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    train_epoch: Callable[[int], dict[str, float]]  # epoch -> logged numbers (losses ...)
    validate: Callable[[], dict[str, float]]  # metrics of the current state on validation
    test: Callable[[], dict[str, Any]]  # metrics of the current (best) state on test
    generators: list[torch.Generator] = field(default_factory=list)  # restored on resume


@dataclass
class Fitted:
    """How training went; `finish` turns it (and the test metrics) into the seed's record."""

    best_epoch: int
    best_val: dict[str, float]
    epochs_run: int
    stop_reason: str
    elapsed_s: float


def log(quiet: bool, msg: str) -> None:
    """A progress line on stderr (stdout is kept for --json)."""
    if not quiet:
        print(msg, file=sys.stderr, flush=True)


def state_clone(model: nn.Module) -> dict[str, torch.Tensor]:
    """A CPU copy of the model's weights (the best state survives later steps)."""
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def _rng_state(gens: list[torch.Generator]) -> dict[str, Any]:
    return {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate(),
            "generators": [g.get_state() for g in gens]}


def _restore_rng(state: dict[str, Any], gens: list[torch.Generator]) -> None:
    torch.set_rng_state(state["torch"])
    kind, keys, *rest = state["numpy"]  # the checkpoint holds the key array as a tensor
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), *rest))
    random.setstate(state["python"])
    for g, s in zip(gens, state["generators"]):
        g.set_state(s)


def seed_checkpoint(run: RunDir, seed_index: int):
    return run.checkpoints / f"seed{seed_index}.pt"


def finished_seed(run: RunDir, seed_index: int) -> dict | None:
    """The record of a seed a previous (killed) run already finished, else None."""
    ckpt = load_checkpoint(seed_checkpoint(run, seed_index))
    return ckpt["record"] if ckpt is not None and ckpt.get("done") else None


def train_seed(run: RunDir, seed_index: int, seed: int, setup: Callable[[torch.Generator], SeedParts],
               settings: LoopSettings, finish: Callable[[Fitted, dict[str, Any]], dict],
               quiet: bool = False) -> dict:
    """Train, select on validation and test one seed, resuming from its checkpoint; its record."""
    done = finished_seed(run, seed_index)
    if done is not None:
        return done
    path = seed_checkpoint(run, seed_index)
    ckpt = load_checkpoint(path)
    parts = setup(seed_everything(seed))
    model, opt, s = parts.model, parts.optimizer, settings
    start, elapsed = 1, 0.0
    best = {"score": -math.inf, "epoch": 0, "state": state_clone(model), "val": {}}
    if ckpt is not None:  # a killed run: continue after its last checkpoint
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optim"])
        _restore_rng(ckpt["rng"], parts.generators)
        start, elapsed, best = ckpt["epoch"] + 1, ckpt["elapsed"], ckpt["best"]
        log(quiet, f"  seed {seed_index}: resuming after epoch {ckpt['epoch']}")
    # epochs a killed run logged after its last checkpoint are trained (and logged) again
    run.keep_history(lambda r: r.get("seed") != seed_index or r.get("epoch", 0) < start)

    stop_reason, epoch = "", start - 1
    t_mark = time.perf_counter()
    for epoch in range(start, s.epochs + 1):
        t0 = time.perf_counter()
        record = {"seed": seed_index, "epoch": epoch, **parts.train_epoch(epoch), "epoch_s": time.perf_counter() - t0}
        over_budget = s.max_minutes is not None and elapsed + time.perf_counter() - t_mark >= 60 * s.max_minutes
        evaluate = epoch % s.eval_every == 0 or epoch == s.epochs or over_budget
        if evaluate:
            model.eval()
            with torch.no_grad():
                val = parts.validate()
            score = val[s.select] if s.select else 0.0
            if s.select is None or score > best["score"]:
                keep = state_clone(model) if s.select else None  # "last": the final weights need no copy
                best = {"score": score, "epoch": epoch, "state": keep, "val": val}
            elapsed += time.perf_counter() - t_mark
            t_mark = time.perf_counter()
            record.update({f"val_{k}": v for k, v in val.items()}, elapsed_s=elapsed)
            if s.select:
                log(quiet, f"  seed {seed_index} epoch {epoch}: loss {record.get('loss', math.nan):.4f}  val "
                           f"{s.select} {score:.4f} (best {best['score']:.4f} @ {best['epoch']})  {elapsed:.0f} s")
            if s.patience is not None and epoch - best["epoch"] >= s.patience:
                stop_reason = f"early stop: no better val {s.select} for {s.patience} epochs"
            elif over_budget:
                stop_reason = f"time budget of {s.max_minutes:g} min"
        run.log(**record)
        due = epoch % s.ckpt_every == 0 if s.ckpt_every else evaluate
        if due and epoch < s.epochs and not stop_reason:
            save_checkpoint(path, {"done": False, "epoch": epoch, "model": model.state_dict(),
                                   "optim": opt.state_dict(), "rng": _rng_state(parts.generators), "best": best,
                                   "elapsed": elapsed})
        if stop_reason:
            break
    elapsed += time.perf_counter() - t_mark

    if best["state"] is not None:
        model.load_state_dict(best["state"])  # selected on validation, never on test
    model.eval()
    with torch.no_grad():
        test = parts.test()
    fitted = Fitted(best["epoch"], best["val"], epoch, stop_reason or f"all {s.epochs} epochs run", elapsed)
    record = finish(fitted, test)
    save_checkpoint(path, {"done": True, "record": record})
    if s.select:
        log(quiet, f"  seed {seed_index}: test {s.select} {test.get(s.select, math.nan):.4f} (val "
                   f"{best['score']:.4f}, epoch {best['epoch']} of {epoch}; {fitted.stop_reason}; "
                   f"{elapsed / 60:.1f} min)")
    return record
