"""Scoring a finished seed: every stage on test, and GLEM-LM / GLEM-GNN chosen among EM
iterations only.

The official code (AndyJZhao/GLEM, `GLEMTrainer._final_report`) reports the LM and the GNN
with the best validation accuracy among its EM-iteration results (`lm_res_list` /
`gnn_res_list`, filled only when `em_iter >= 0`); the pretraining results are written to
their own files. So here: `lm_e<k>` stages are the GLEM-LM candidates, `gnn_m<k>` the
GLEM-GNN ones; `gnn_frozen`, `lm_pretrain` and `gnn_pretrain` keep their own metric names
(`test_acc_lm_pretrain`, ...) and can never be reported as GLEM.
"""

from __future__ import annotations

import re

import torch

EM_STAGE = {"lm": re.compile(r"lm_e(\d+)$"), "gnn": re.compile(r"gnn_m(\d+)$")}


def em_iteration(stage: str, kind: str) -> int | None:
    """k for stage `lm_e<k>` (kind "lm") or `gnn_m<k>` (kind "gnn"); None for other stages."""
    m = EM_STAGE[kind].match(stage)
    return int(m.group(1)) if m else None


def finish(stages: list[dict], y: torch.Tensor, test: torch.Tensor) -> dict[str, float]:
    """Per-stage accuracies and GLEM-LM / GLEM-GNN; the only reader of test labels."""
    metrics: dict[str, float] = {}
    for s in stages:
        metrics[f"val_acc_{s['stage']}"] = s["val_acc"]
        metrics[f"test_acc_{s['stage']}"] = float((s["pred"][test].long() == y[test]).float().mean())
    for kind in ("lm", "gnn"):
        own = [s for s in stages if em_iteration(s["stage"], kind) is not None]
        if not own:
            raise ValueError(f"no EM-iteration {kind} stage to select from: {[s['stage'] for s in stages]}")
        best = max(own, key=lambda s: s["val_acc"])  # the first (earliest) stage wins ties, as max()
        metrics[f"val_acc_glem_{kind}"] = best["val_acc"]
        metrics[f"test_acc_glem_{kind}"] = metrics[f"test_acc_{best['stage']}"]
        metrics[f"glem_{kind}_em_iter"] = float(em_iteration(best["stage"], kind))
    return metrics
