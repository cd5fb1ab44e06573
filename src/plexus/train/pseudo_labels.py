"""Soft pseudo-labels and the gold/pseudo loss mixing of GLEM (Zhao et al., ICLR 2023).

One predictor teaches the other through its *soft* predictions on the nodes without a gold
label:

    pseudo = softmax(logits / T)                                  (T = 0.2 in GLEM)
    loss   = (1 - w) * CE(gold) + w * CE(pseudo)                  (w = alpha or beta)

Candidates are the nodes without a gold label. Of those, only the most confident fraction
`pl_filter` (by the pseudo-label's top probability) is eligible (`PseudoPool`), and `count`
of them are drawn: once per E-step for the LM, once per epoch for the GNN (as the official
code, AndyJZhao/GLEM `SeqGraph.get_inf_aug_train_ids` / `get_sampled_aug_ids`). Targets are
built so that a gold node always carries its one-hot gold label, never a pseudo-label.

`gold_input_features` is GLEM's optional label input to the GNN: the same soft labels, gold
rows overwritten, appended to the node features (official `SeqGraph.node_feature`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


def soft_pseudo_labels(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """softmax(logits / T), in float32."""
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, not {temperature}")
    return torch.softmax(logits.float() / temperature, dim=-1)


class PseudoPool:
    """The `pl_filter` most confident candidates, from which pseudo-labelled nodes are drawn.

    Confidence is the top class probability; ties keep the smaller node id.
    """

    def __init__(self, probs: torch.Tensor, candidates: torch.Tensor, pl_filter: float):
        if not 0 < pl_filter <= 1:
            raise ValueError(f"pl_filter must be in (0, 1], not {pl_filter}")
        self.probs = probs
        candidates = torch.as_tensor(candidates).long()
        if candidates.numel() == 0:
            self.eligible = candidates
            return
        confidence = probs[candidates].max(dim=1).values
        keep = max(1, int(round(pl_filter * candidates.numel())))
        # stable sort on descending confidence: ties keep the order of ascending node id
        self.eligible = candidates[torch.sort(-confidence, stable=True).indices[:keep]]

    def draw(self, count: int, generator: torch.Generator) -> torch.Tensor:
        """`count` eligible nodes without replacement (all of them when fewer), sorted."""
        if self.eligible.numel() == 0 or count <= 0:
            return self.eligible[:0]
        pick = torch.randperm(self.eligible.numel(), generator=generator)[:count]
        return torch.sort(self.eligible[pick]).values


def select_pseudo_nodes(
    probs: torch.Tensor,
    candidates: torch.Tensor,
    pl_filter: float,
    count: int,
    generator: torch.Generator,
) -> torch.Tensor:
    """`count` nodes drawn without replacement from the `pl_filter` most confident candidates.

    Confidence is the top class probability; ties keep the smaller node id. Returns fewer
    than `count` nodes when fewer are eligible. The result is sorted.
    """
    return PseudoPool(probs, candidates, pl_filter).draw(count, generator)


@dataclass(frozen=True)
class Targets:
    """Training targets of one step: node ids, a distribution per node and the gold flag."""

    nodes: torch.Tensor  # [M]
    dist: torch.Tensor  # [M, C]: one-hot for gold nodes, the soft pseudo-label otherwise
    is_gold: torch.Tensor  # [M] bool


def build_targets(
    gold_nodes: torch.Tensor,
    gold_labels: torch.Tensor,
    num_classes: int,
    pseudo_nodes: torch.Tensor | None = None,
    pseudo_probs: torch.Tensor | None = None,
) -> Targets:
    """Gold nodes with one-hot targets, then pseudo nodes with their soft labels.

    `pseudo_probs` is indexed by node id ([N, C]). A node that is both gold and pseudo is
    kept once, as gold: gold labels overwrite pseudo-labels.
    """
    gold_nodes = torch.as_tensor(gold_nodes).long()
    gold_dist = F.one_hot(torch.as_tensor(gold_labels).long(), num_classes).float()
    if pseudo_nodes is None or pseudo_nodes.numel() == 0:
        return Targets(gold_nodes, gold_dist, torch.ones(gold_nodes.numel(), dtype=torch.bool))
    if pseudo_probs is None:
        raise ValueError("pseudo_nodes need pseudo_probs")
    pseudo_nodes = pseudo_nodes[~torch.isin(pseudo_nodes, gold_nodes)]
    nodes = torch.cat([gold_nodes, pseudo_nodes])
    dist = torch.cat([gold_dist, pseudo_probs[pseudo_nodes].float()])
    is_gold = torch.cat([torch.ones(gold_nodes.numel(), dtype=torch.bool),
                         torch.zeros(pseudo_nodes.numel(), dtype=torch.bool)])
    return Targets(nodes, dist, is_gold)


def gold_input_features(probs: torch.Tensor, gold_nodes: torch.Tensor, gold_labels: torch.Tensor) -> torch.Tensor:
    """[N, C]: the soft labels `probs`, a gold node's row replaced by its one-hot gold label."""
    out = probs.float().clone()
    out[torch.as_tensor(gold_nodes).long()] = F.one_hot(torch.as_tensor(gold_labels).long(), probs.size(1)).float()
    return out


def mixed_loss(logits: torch.Tensor, dist: torch.Tensor, is_gold: torch.Tensor, pseudo_weight: float,
               counts: tuple[int, int] | None = None, world: int = 1) -> torch.Tensor:
    """(1 - w) * mean CE over gold rows + w * mean soft CE over pseudo rows.

    A part absent from the batch contributes nothing, as in GLEM's official loss. Gold-only
    training (pretraining) is w = 0: plain cross-entropy.

    Under DDP each of `world` ranks sees a slice of the global batch and DDP averages their
    gradients. Given `counts` = (gold rows, pseudo rows) of the *global* batch, the means
    divide by those and the slice's loss is multiplied by `world`, so the average over ranks
    is exactly the one-process loss of the whole batch (per-slice means would weight a row
    by how many gold / pseudo rows happened to share its slice).
    """
    logp = F.log_softmax(logits.float(), dim=-1)
    ce = -(dist * logp).sum(dim=-1)
    gold, pseudo = ce[is_gold], ce[~is_gold]
    n_gold, n_pseudo = counts if counts is not None else (gold.numel(), pseudo.numel())
    loss = logits.new_zeros((), dtype=torch.float32)
    if gold.numel():
        loss = loss + (1 - pseudo_weight) * gold.sum() / n_gold
    if pseudo.numel():
        loss = loss + pseudo_weight * pseudo.sum() / n_pseudo
    return loss * world
