"""GLEM's stages: what each one trains on, and what it leaves in the seed's state.

The state carries the latest LM (its weights, its embeddings `lm_emb` and logits
`lm_logits` of every node) and the latest GNN's logits `gnn_logits`; which stage reads which
follows the official `EmIterInfo.em_iter_info_src` (AndyJZhao/GLEM, `GLEM_utils.py`): an
E-step's pseudo-labels come from the latest GNN, an M-step's features and pseudo-labels from
the latest LM — in LM-first order the first E-step learns from the pretrained GNN; in
GNN-first order the first M-step reads the pretrained LM.

* E-step (LM): targets = gold one-hot on the training nodes + softmax(gnn_logits / T) on
  ceil(lm_pl_ratio x #gold) nodes drawn once from the `pl_filter` most confident non-gold
  nodes; loss (1 - alpha) CE(gold) + alpha CE(pseudo); then every text is encoded once.
* M-step (GNN): a fresh GNN on the LM's embeddings (plus, with `gnn_label_input`, the LM's
  soft labels with gold rows overwritten, as extra input features — the official
  `--gnn_label_input=T`); each epoch draws int(gnn_pl_ratio x #gold) pseudo-labelled nodes
  anew (official `get_sampled_aug_ids`); loss (1 - beta) CE(gold) + beta CE(pseudo).

Multi-process: the LM trains as DDP; every rank trains the same GNN (it is cheap next to
the LM, so no rank sits in a collective waiting for another's GNN), then rank 0's logits are
broadcast so every rank holds bit-identical predictions even where GPU kernels are not
deterministic.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import torch

from plexus.methods.gnn.algorithm import fit
from plexus.text.finetune import infer, train_classifier
from plexus.train import distributed
from plexus.train.pseudo_labels import (PseudoPool, Targets, build_targets, gold_input_features,
                                        soft_pseudo_labels)


def e_step_targets(cfg: Any, g: Any, gnn_logits: torch.Tensor, gen: torch.Generator) -> Targets:
    """The LM's targets in an E-step: gold + the GNN's soft pseudo-labels."""
    probs = soft_pseudo_labels(gnn_logits, cfg.temperature)
    pool = PseudoPool(probs, g.candidates(), cfg.pl_filter)
    pseudo = pool.draw(math.ceil(cfg.lm_pl_ratio * g.train.numel()), gen)
    return build_targets(g.train, g.train_labels, g.num_classes, pseudo, probs)


def m_step_inputs(cfg: Any, g: Any, lm_emb: torch.Tensor, lm_logits: torch.Tensor,
                  gen: torch.Generator) -> tuple[torch.Tensor, Callable[[], Targets], int]:
    """(node features, per-epoch targets, pseudo nodes per epoch) of an M-step."""
    probs = soft_pseudo_labels(lm_logits, cfg.temperature)
    x = lm_emb
    if cfg.gnn_label_input:
        x = torch.cat([lm_emb, gold_input_features(probs, g.train, g.train_labels)], dim=1)
    pool = PseudoPool(probs, g.candidates(), cfg.pl_filter)
    count = int(g.train.numel() * cfg.gnn_pl_ratio)

    def targets() -> Targets:
        return build_targets(g.train, g.train_labels, g.num_classes, pool.draw(count, gen), probs)

    return x, targets, min(count, pool.eligible.numel())


def lm_stage(cfg: Any, g: Any, model, state: dict, name: str, gen: torch.Generator,
             init_state: dict | None = None, on_step: Callable[[int, float], None] | None = None) -> dict:
    """Train the LM (gold only in pretraining, gold + GNN pseudo-labels in an E-step), re-encode.
    `on_step(step, loss)` is called after every optimiser step (progress output)."""
    stats: dict[str, float] = {}
    if name == "lm_pretrain":
        if cfg.pretrain_lm:
            targets = build_targets(g.train, g.train_labels, g.num_classes)
            stats = train_classifier(model, g.tokens, targets, 0.0, cfg.lm.train_config(pretrain=True), gen,
                                     on_step)
    else:
        if init_state is not None:  # lm_init=fresh: each E-step starts from the original LM
            model.load_state_dict(init_state)
        targets = e_step_targets(cfg, g, state["gnn_logits"], gen)
        stats = train_classifier(model, g.tokens, targets, cfg.alpha, cfg.lm.train_config(pretrain=False), gen,
                                 on_step)
        stats["pseudo_nodes"] = float((~targets.is_gold).sum())
    counter = {"texts": 0}
    emb, logits = infer(model, g.tokens, cfg.lm.train_config(pretrain=False), counter)
    state["lm_texts_encoded"] = state.get("lm_texts_encoded", 0) + counter["texts"]
    state["lm_emb"], state["lm_logits"] = emb, logits
    state["lm_state"] = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    return {"logits": logits, **stats}


def gnn_stage(cfg: Any, g: Any, state: dict, name: str, gen: torch.Generator, device: torch.device,
              frozen_embeddings: Callable[[], torch.Tensor]) -> dict:
    """A fresh GNN: on frozen or pretrained-LM embeddings (gold only), or an M-step."""
    if name in ("gnn_frozen", "gnn_pretrain"):
        x = frozen_embeddings() if name == "gnn_frozen" else state["lm_emb"]
        targets, weight, pseudo = build_targets(g.train, g.train_labels, g.num_classes), 0.0, 0
    else:
        x, targets, pseudo = m_step_inputs(cfg, g, state["lm_emb"], state["lm_logits"], gen)
        weight = cfg.beta
    out = fit(cfg.gnn, x, g.edge_index, targets, weight, g.val, g.val_labels, g.num_classes, gen, device)
    logits = distributed.broadcast(out.logits)
    if name != "gnn_frozen":  # the frozen-embedding GNN is a baseline: it teaches no LM
        state["gnn_logits"] = logits
    return {"logits": logits, "best_epoch": float(out.best_epoch), "pseudo_nodes": float(pseudo)}
