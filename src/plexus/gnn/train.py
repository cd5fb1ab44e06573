"""Training steps for `plexus.gnn` models, with the loss left to the caller.

The caller passes `loss_fn(logits, node_ids) -> scalar`: `logits` are the model's outputs
for the nodes `node_ids` (global ids, one row each), so a method can mix losses per node
(GLEM: cross-entropy on gold labels plus soft pseudo-labels on others) without this module
knowing about labels.

* `full_batch_step(model, optimizer, x, edge_index, nodes, loss_fn) -> float`: one
  forward over the whole graph, the loss on `nodes`, one optimizer step;
* `mini_batch_step(model, optimizer, x, batch, loss_fn) -> float`: one step on a
  `SampledSubgraph` (features gathered as `x[batch.n_id]`), the loss on its seeds;
* `mini_batch_epoch(model, optimizer, x, batches, loss_fn) -> float`: a step per batch
  of an iterable such as `plexus.sampling.neighbors.neighbor_batches(...)`; returns the
  mean loss over the seeds;
* `predict` (from `plexus.gnn.inference`): logits for every node, full-batch or layer-wise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch

from plexus.gnn.inference import predict
from plexus.gnn.models import GNN
from plexus.sampling.neighbors import SampledSubgraph

__all__ = ["LossFn", "full_batch_step", "mini_batch_epoch", "mini_batch_step", "predict"]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _step(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> float:
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return float(loss.detach())


def full_batch_step(model: GNN, optimizer: torch.optim.Optimizer, x: torch.Tensor,
                    edge_index: torch.Tensor, nodes: torch.Tensor, loss_fn: LossFn) -> float:
    model.train()
    logits = model(x, edge_index)
    return _step(optimizer, loss_fn(logits[nodes], nodes))


def mini_batch_step(model: GNN, optimizer: torch.optim.Optimizer, x: torch.Tensor,
                    batch: SampledSubgraph, loss_fn: LossFn) -> float:
    model.train()
    dev = x.device
    logits = model(x[batch.n_id.to(dev)], batch.edge_index.to(dev), batch.num_sampled_nodes)
    return _step(optimizer, loss_fn(logits[: batch.batch_size], batch.seeds.to(dev)))


def mini_batch_epoch(model: GNN, optimizer: torch.optim.Optimizer, x: torch.Tensor,
                     batches: Iterable[SampledSubgraph], loss_fn: LossFn) -> float:
    total = count = 0.0
    for batch in batches:
        total += mini_batch_step(model, optimizer, x, batch, loss_fn) * batch.batch_size
        count += batch.batch_size
    return total / max(count, 1)
