"""GCN, GraphSAGE and GAT built from PyG convolutions, usable full-batch, on sampled
subgraphs and layer by layer.

`make_gnn(kind, in_dim, hidden, out_dim, num_layers, dropout, heads)` returns a `GNN`:
`forward(x, edge_index) -> logits` over any graph PyG accepts (a plain `edge_index`).
Between layers: ReLU then dropout. Per kind:

* `gcn`: `GCNConv` with self-loops and symmetric normalisation D^-1/2 (A + I) D^-1/2. The
  normalisation is computed by `prepare` (PyG's `gcn_norm`) over the edge_index the model
  is given, so a sampled subgraph is normalised over its own edges, as PyG does with
  NeighborLoader; the convs run with `normalize=False` on the prepared weights, which lets
  layer-wise inference use the full graph's weights chunk by chunk;
* `sage`: `SAGEConv` with the mean aggregator and a root weight;
* `gat`: `GATConv`, `heads` heads of `hidden // heads` channels concatenated in hidden
  layers and averaged in the output layer (PyG's `GAT` convention), attention dropout =
  `dropout`.

Sampled subgraphs: `forward(x, edge_index, num_sampled_nodes_per_hop=...)` (the
`SampledSubgraph.num_sampled_nodes` of `plexus.sampling.neighbors`, nodes ordered by hop)
lets layer i compute only the nodes within `num_layers - 1 - i` hops of the seeds: the
first layer of a 2-layer model then runs on the seeds and their neighbours (~10x fewer
rows than the whole subgraph) instead of on every sampled node. The seeds' outputs are
identical to the untrimmed forward: a node's output only depends on its in-edges, and
the GCN weights are computed once over the whole subgraph before trimming.

`layers[i]` is the i-th conv and `layer(i, x_src, edge_index, edge_weight, num_dst)` runs
it (with the activation and dropout that follow it) for the first `num_dst` rows of
`x_src`; `plexus.gnn.inference` uses that to compute each layer for all nodes in chunks.
"""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.nn import GATConv, GCNConv, SAGEConv
from torch_geometric.nn.conv.gcn_conv import gcn_norm

__all__ = ["GNN", "KINDS", "make_gnn"]

KINDS = ("gcn", "sage", "gat")


class GNN(nn.Module):
    def __init__(self, kind: str, layers: list[nn.Module], dropout: float):
        super().__init__()
        self.kind = kind
        self.layers = nn.ModuleList(layers)
        self.dropout = dropout

    def prepare(self, edge_index: torch.Tensor, num_nodes: int
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The edges and weights the convs consume: GCN's normalised A + I; others as is."""
        if self.kind == "gcn":
            return gcn_norm(edge_index, None, num_nodes, add_self_loops=True)
        return edge_index, None

    def layer(self, i: int, x: torch.Tensor, edge_index: torch.Tensor,
              edge_weight: torch.Tensor | None, num_dst: int) -> torch.Tensor:
        """Layer i for target nodes 0..num_dst-1 of `x` (edges: prepared, local ids)."""
        conv = self.layers[i]
        if self.kind == "gcn":
            # GCNConv has no bipartite form; its transform is cheap next to propagation.
            h = conv(x, edge_index, edge_weight)[:num_dst]
        else:
            # Targets are the first rows of the sources, which is what SAGE's root weight
            # and GAT's added self-loops (for i < num_dst) assume.
            h = conv((x, x[:num_dst]), edge_index, size=(x.size(0), num_dst))
        if i < len(self.layers) - 1:
            h = nn.functional.dropout(torch.relu(h), self.dropout, self.training)
        return h

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor,
                num_sampled_nodes_per_hop: list[int] | None = None) -> torch.Tensor:
        edge_index, edge_weight = self.prepare(edge_index, x.size(0))
        hops = num_sampled_nodes_per_hop
        num_layers = len(self.layers)
        h = x
        for i in range(num_layers):
            num_dst = h.size(0)
            if hops is not None:
                # Nodes within num_layers - 1 - i hops of the seeds; their in-edges come
                # from at most one hop further out, which is all h still holds.
                num_dst = min(num_dst, sum(hops[: num_layers - i]))
                keep = edge_index[1] < num_dst
                edge_index = edge_index[:, keep]
                edge_weight = None if edge_weight is None else edge_weight[keep]
            h = self.layer(i, h, edge_index, edge_weight, num_dst)
        return h


def make_gnn(kind: str, in_dim: int, hidden: int, out_dim: int, num_layers: int = 2,
             dropout: float = 0.5, heads: int = 4) -> GNN:
    """A `num_layers`-layer GCN / GraphSAGE / GAT from `in_dim` features to `out_dim` logits."""
    if kind not in KINDS:
        raise ValueError(f"unknown GNN kind {kind!r}; choose from {', '.join(KINDS)}")
    if num_layers < 1:
        raise ValueError("num_layers must be >= 1")
    if kind == "gat" and hidden % heads:
        raise ValueError(f"gat: hidden ({hidden}) must be divisible by heads ({heads})")
    dims = [in_dim] + [hidden] * (num_layers - 1) + [out_dim]
    layers: list[nn.Module] = []
    for i, (d_in, d_out) in enumerate(zip(dims[:-1], dims[1:])):
        last = i == num_layers - 1
        if kind == "gcn":
            layers.append(GCNConv(d_in, d_out, normalize=False))
        elif kind == "sage":
            layers.append(SAGEConv(d_in, d_out))
        else:
            layers.append(GATConv(d_in, d_out if last else d_out // heads, heads=heads,
                                  concat=not last, dropout=dropout))
    return GNN(kind, layers, dropout)
