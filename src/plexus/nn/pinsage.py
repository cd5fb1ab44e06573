"""PinSage convolution, model and layer-wise inference (Ying et al., KDD 2018, Algorithm 1).

One convolution, for a node u with importance neighbourhood N(u) and weights alpha:

    n_u = gamma({ReLU(Q h_v + q) : v in N(u)}, alpha)     gamma = alpha-weighted mean
    z_u = ReLU(W [h_u || n_u] + w)
    z_u = z_u / ||z_u||_2

The model projects item features (optionally concatenated with a learnable id embedding),
applies the convolutions, and ends with the paper's dense head G2 ReLU(G1 z + g).

Neighbourhoods are fixed-width tables (`plexus.sampling.random_walk.importance_neighbors`):
``neighbors [N, T]`` (-1 padded) and ``weights [N, T]``. The message ReLU(Q h_v + q) is
computed once per source node and pooled with `F.embedding_bag` (weighted sum without
materialising a [N, T, d] tensor), both in mini-batches and in `layerwise_inference`,
which computes each layer for every item exactly once, in chunks.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["Block", "PinSageConv", "PinSageModel", "build_blocks", "layerwise_inference"]


class PinSageConv(nn.Module):
    """One PinSage convolution: importance pooling of neighbour messages, concat, dense, L2."""

    def __init__(self, in_dim: int, hidden_dim: int, out_dim: int):
        super().__init__()
        self.Q = nn.Linear(in_dim, hidden_dim)
        self.W = nn.Linear(in_dim + hidden_dim, out_dim)
        self.out_dim = out_dim

    def message(self, h: torch.Tensor) -> torch.Tensor:
        """ReLU(Q h + q) for every source node."""
        return F.relu(self.Q(h))

    def combine(self, h_dst: torch.Tensor, msg: torch.Tensor, neighbors: torch.Tensor,
                weights: torch.Tensor) -> torch.Tensor:
        """z for the destination nodes from their own h and their neighbours' messages.

        `neighbors` [B, T] index rows of `msg` (-1 = none); `weights` [B, T]. Rows with
        no neighbour (weight sum 0) pool to the zero vector.
        """
        w = torch.where(neighbors >= 0, weights, torch.zeros_like(weights)).to(msg.dtype)
        total = w.sum(1, keepdim=True)
        pooled = F.embedding_bag(neighbors.clamp(min=0), msg, per_sample_weights=w,
                                 mode="sum")
        pooled = pooled / total.clamp(min=torch.finfo(msg.dtype).tiny)
        z = F.relu(self.W(torch.cat([h_dst, pooled], dim=1)))
        return F.normalize(z, p=2.0, dim=1)

    def forward(self, h_src: torch.Tensor, h_dst: torch.Tensor, neighbors: torch.Tensor,
                weights: torch.Tensor) -> torch.Tensor:
        return self.combine(h_dst, self.message(h_src), neighbors, weights)


@dataclass
class Block:
    """One layer of a mini-batch: destination nodes and their neighbourhoods.

    `src` are the global ids of this layer's input nodes; the destination nodes are
    `src[dst_local]`, and `neighbors` [num_dst, T] index into `src` (-1 = none).
    The destinations of block l are the `src` nodes of block l + 1.
    """

    src: torch.Tensor
    dst_local: torch.Tensor
    neighbors: torch.Tensor
    weights: torch.Tensor

    @property
    def dst(self) -> torch.Tensor:
        return self.src[self.dst_local]


def build_blocks(items: torch.Tensor, neighbors: torch.Tensor, weights: torch.Tensor,
                 num_layers: int) -> list[Block]:
    """Blocks (input-most first) to compute `num_layers` convolutions for `items`.

    `neighbors` / `weights` are the [num_items, T] neighbourhood tables. Layer l's
    destinations are layer l+1's sources; each node's message is computed once per layer.
    """
    blocks = []
    dst = torch.as_tensor(items).long()
    for _ in range(num_layers):
        nbr, w = neighbors[dst], weights[dst]
        src, inverse = torch.unique(torch.cat([dst, nbr[nbr >= 0]]), return_inverse=True)
        dst_local = inverse[:dst.numel()]
        local = torch.full_like(nbr, -1)
        local[nbr >= 0] = inverse[dst.numel():]
        blocks.append(Block(src, dst_local, local, w))
        dst = src
    return blocks[::-1]


class PinSageModel(nn.Module):
    """Input projection (+ optional id embedding), PinSage convolutions, dense head.

    `feat_dim` = 0 means no content features (id embedding only; then `id_dim` > 0).
    Embeddings are `out_dim`-dimensional: G2 ReLU(G1 z + g) + g2 over the last conv.
    With `item_bias`, `item_bias[i]` is a learnable offset of item i's score (not an input).
    """

    def __init__(self, feat_dim: int, hidden_dim: int, out_dim: int, num_items: int = 0,
                 id_dim: int = 0, num_layers: int = 2, item_bias: bool = False):
        super().__init__()
        if feat_dim <= 0 and id_dim <= 0:
            raise ValueError("need content features (feat_dim > 0) or an id embedding (id_dim > 0)")
        if (id_dim > 0 or item_bias) and num_items <= 0:
            raise ValueError("an id embedding or item bias needs num_items")
        self.proj = nn.Linear(feat_dim, hidden_dim) if feat_dim > 0 else None
        self.id_emb = nn.Embedding(num_items, id_dim) if id_dim > 0 else None
        if self.id_emb is not None:
            nn.init.normal_(self.id_emb.weight, std=0.1)
        in_dim = (hidden_dim if feat_dim > 0 else 0) + max(id_dim, 0)
        self.convs = nn.ModuleList()
        for _ in range(num_layers):
            self.convs.append(PinSageConv(in_dim, hidden_dim, hidden_dim))
            in_dim = hidden_dim
        self.G1 = nn.Linear(hidden_dim, hidden_dim)
        self.G2 = nn.Linear(hidden_dim, out_dim)
        # a learnable per-item score offset (popularity), added to z_q . z_i; zero at start
        self.item_bias = nn.Parameter(torch.zeros(num_items)) if item_bias else None

    @property
    def num_layers(self) -> int:
        return len(self.convs)

    def input(self, items: torch.Tensor, features: torch.Tensor | None) -> torch.Tensor:
        """Layer-0 representation of `items` (global ids) from their features / ids."""
        parts = []
        if self.proj is not None:
            if features is None:
                raise ValueError("this model was built with content features; pass features")
            parts.append(self.proj(features[items.to(features.device)]))
        if self.id_emb is not None:
            parts.append(self.id_emb(items.to(self.id_emb.weight.device)))
        return torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]

    def head(self, z: torch.Tensor) -> torch.Tensor:
        return self.G2(F.relu(self.G1(z)))

    def forward(self, blocks: list[Block], features: torch.Tensor | None) -> torch.Tensor:
        """Embeddings of the last block's destinations (see `build_blocks`)."""
        if len(blocks) != self.num_layers:
            raise ValueError(f"need {self.num_layers} blocks, got {len(blocks)}")
        h = self.input(blocks[0].src, features)
        for conv, block in zip(self.convs, blocks):
            dev = h.device
            h = conv(h, h[block.dst_local.to(dev)], block.neighbors.to(dev),
                     block.weights.to(dev))
        return self.head(h)


@torch.no_grad()
def layerwise_inference(model: PinSageModel, features: torch.Tensor | None,
                        neighbors: torch.Tensor, weights: torch.Tensor,
                        chunk_size: int = 4096, num_items: int | None = None,
                        device: torch.device | str | None = None) -> torch.Tensor:
    """Embeddings of every item, one layer at a time (the paper's MapReduce inference).

    Layer l's output is computed once for all items (in chunks of `chunk_size`, so extra
    memory is O(chunk_size x (T + d))) before layer l + 1 starts, so no node is ever
    recomputed for overlapping neighbourhoods. Returns [num_items, out_dim] on the CPU.
    """
    n = num_items if num_items is not None else neighbors.size(0)
    device = torch.device(device) if device is not None else next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        def chunks():
            for lo in range(0, n, chunk_size):
                yield torch.arange(lo, min(lo + chunk_size, n))

        feats = features.to(device) if features is not None else None
        h = torch.cat([model.input(c.to(device), feats) for c in chunks()])
        for conv in model.convs:
            msg = torch.cat([conv.message(h[c.to(device)]) for c in chunks()])
            h = torch.cat([
                conv.combine(h[c.to(device)], msg, neighbors[c].to(device), weights[c].to(device))
                for c in chunks()
            ])
        out = torch.cat([model.head(h[c.to(device)]).cpu() for c in chunks()])
    finally:
        model.train(was_training)
    return out
