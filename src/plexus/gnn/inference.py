"""Predictions for every node: full-batch, or layer-wise in chunks for large graphs.

`predict(model, x, edge_index, mode="auto", chunk_size=4096) -> logits [N, out]` runs the
model in eval mode without gradients:

* `full`: one `model(x, edge_index)` call. Fastest on small graphs; its peak memory grows
  with the edges times the widest layer (GAT: times the heads);
* `layerwise`: layer 1 for all nodes, then layer 2 for all nodes, ... (the inference of
  GraphSAGE and PyG's `BasicGNN.inference`). Every node's layer-l output is computed once,
  from *all* its in-neighbours, so the result equals `full` exactly (no sampling);
  the nodes go through in chunks of `chunk_size` targets, each with its in-edges and the
  rows of the neighbours it reads, so the peak is one layer's output for all nodes plus
  one chunk's working set;
* `auto`: `full` up to `FULL_BATCH_MAX_NODES` nodes, `layerwise` above.

GCN's normalisation is computed once over the whole graph (`model.prepare`) and the
chunks take their edges' weights from it, so layer-wise GCN is the full-graph GCN too.
"""

from __future__ import annotations

import torch

from plexus.gnn.models import GNN
from plexus.sampling.neighbors import in_csr

__all__ = ["FULL_BATCH_MAX_NODES", "layerwise", "predict"]

# Citation graphs (thousands of nodes) run in one call; ogbn-arxiv (169k) goes layer-wise.
FULL_BATCH_MAX_NODES = 50_000


def _chunk_graph(indptr: torch.Tensor, indices: torch.Tensor, start: int, stop: int):
    """Targets start..stop-1 and their in-edges in local ids, targets first.

    Returns (src_ids, edge_index, edge_slice): the global ids of the rows a chunk reads
    (its targets, then every other neighbour once) and its edges as rows of those.
    """
    lo, hi = int(indptr[start]), int(indptr[stop])
    nbr = indices[lo:hi]
    targets = torch.repeat_interleave(torch.arange(stop - start), indptr[start + 1: stop + 1]
                                      - indptr[start:stop])
    inside = (nbr >= start) & (nbr < stop)
    # A neighbour inside the chunk is read from its target row, so a self-loop stays a
    # self-loop (GAT replaces those with its own).
    outside, local_out = torch.unique(nbr[~inside], return_inverse=True)
    src_local = nbr - start
    src_local[~inside] = (stop - start) + local_out
    src_ids = torch.cat([torch.arange(start, stop), outside])
    return src_ids, torch.stack([src_local, targets]), slice(lo, hi)


@torch.no_grad()
def layerwise(model: GNN, x: torch.Tensor, edge_index: torch.Tensor,
              chunk_size: int = 4096) -> torch.Tensor:
    num_nodes = x.size(0)
    edges, weight = model.prepare(edge_index, num_nodes)
    csr = in_csr(edges.cpu(), num_nodes)
    if weight is not None:
        weight = weight[csr.edge_perm.to(weight.device)]
    h = x
    for i in range(len(model.layers)):
        out = None
        for start in range(0, num_nodes, chunk_size):
            stop = min(start + chunk_size, num_nodes)
            src_ids, chunk_edges, part = _chunk_graph(csr.indptr, csr.indices, start, stop)
            dev = h.device
            res = model.layer(i, h[src_ids.to(dev)], chunk_edges.to(dev),
                              None if weight is None else weight[part], stop - start)
            if out is None:
                out = h.new_empty(num_nodes, res.size(1))
            out[start:stop] = res
        h = out
    return h


def predict(model: GNN, x: torch.Tensor, edge_index: torch.Tensor, mode: str = "auto",
            chunk_size: int = 4096) -> torch.Tensor:
    if mode == "auto":
        mode = "full" if x.size(0) <= FULL_BATCH_MAX_NODES else "layerwise"
    if mode not in ("full", "layerwise"):
        raise ValueError(f"mode must be auto, full or layerwise, not {mode!r}")
    was_training = model.training
    model.eval()
    try:
        if mode == "full":
            with torch.no_grad():
                return model(x, edge_index)
        return layerwise(model, x, edge_index, chunk_size)
    finally:
        model.train(was_training)
