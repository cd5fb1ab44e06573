"""Decagon's encoder: relation-typed graph convolution over drugs and proteins.

One layer computes, for every node i of type t (Zitnik et al. 2018, eq. 1):

    h_i' = act( sum_r sum_{j in N_r(i)} c_r^{ij} W_r h_j  +  W_t^self h_i )

with one weight matrix per edge type r (each side effect; protein->drug; drug->protein;
protein-protein) and c_r^{ij} = 1/sqrt(|N_r(i)| |N_r(j)|) (`norm="sym"`, Decagon) or
1/|N_r(i)| (`norm="mean"`, R-GCN, Schlichtkrull et al. 2018).

All edge types of one (source type, destination type) family share one product: the
messages W_r h_j of the (j, r) pairs that have edges form one table, and a fixed sparse
matrix A[i, (j, r)] = c_r^{ij} sums them — one CSR matmul per family
(`plexus.nn.sparse.SparseOperator`, the project's propagation operator), no Python loop
over relations and no hand-written scatter. The message table comes from
`H @ [W_1 ... W_R]` viewed as [N_src * R, d] (row j * R + r is W_r h_j) for dense input;
from the rows of W itself for one-hot input (X @ W = W); and from `embedding_bag` over the
on-bits for sparse features (fingerprints), which costs O(#pairs x bits x d) instead of
O(N x F x R x d).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.utils import degree

from plexus.nn.sparse import SparseOperator

NODE_TYPES = ("drug", "protein")


@dataclass
class EdgeFamily:
    """Message edges from `src` to `dst` nodes, with relation ids 0..num_relations-1."""

    name: str
    src: str
    dst: str
    num_relations: int
    edge_index: torch.Tensor  # [2, E]: row 0 source, row 1 destination
    edge_type: torch.Tensor  # [E]


class SparseFeatures:
    """Fixed sparse node features (Morgan bits, mono side effects) in two forms: a CSR
    operator for x @ W, and per-row (column, value) lists for `embedding_bag`, which builds
    the messages x_j W_r of just the (j, r) pairs that have edges."""

    def __init__(self, x: torch.Tensor):
        x = x.coalesce()
        self.shape = tuple(x.shape)
        self.op = SparseOperator(x)
        csr = self.op.a
        self.crow, self.col, self.val = csr.crow_indices(), csr.col_indices(), csr.values()

    def __matmul__(self, w: torch.Tensor) -> torch.Tensor:
        return self.op @ w

    def bags(self, keys: torch.Tensor, r: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """For messages keyed j * r + rel: the rows b * r + rel of W.view(F * r, d) to sum
        (weighted by x_jb), as embedding_bag's (input, offsets, per_sample_weights)."""
        j, rel = keys // r, keys % r
        start, count = self.crow[j], self.crow[j + 1] - self.crow[j]
        bag = torch.repeat_interleave(torch.arange(keys.numel()), count)
        offsets = torch.cumsum(count, 0) - count
        pos = start[bag] + torch.arange(bag.numel()) - offsets[bag]
        val = self.val[pos]
        return self.col[pos] * r + rel[bag], offsets, None if bool((val == 1).all()) else val


def family_operator(fam: EdgeFamily, num_src: int, num_dst: int, norm: str) -> tuple[torch.Tensor, SparseOperator]:
    """The (source node, relation) pairs that send messages, keyed j * R + r, and the fixed
    [num_dst, #pairs] matrix of normalised messages of one family."""
    src, dst, rel = fam.edge_index[0], fam.edge_index[1], fam.edge_type
    r = fam.num_relations
    # per-relation degrees: key node * R + relation
    deg_dst = degree(dst * r + rel, num_dst * r)
    if norm == "sym":
        deg_src = degree(src * r + rel, num_src * r)
        w = (deg_dst[dst * r + rel] * deg_src[src * r + rel]).rsqrt()
    elif norm == "mean":
        w = 1.0 / deg_dst[dst * r + rel]
    else:
        raise ValueError(f"unknown normalisation {norm!r}")
    active, col = torch.unique(src * r + rel, return_inverse=True)
    a = torch.sparse_coo_tensor(torch.stack([dst, col]), w.float(), (num_dst, active.numel()),
                                check_invariants=False)
    return active, SparseOperator(a)


class TypedGraphConv(nn.Module):
    """One relation-typed graph convolution layer (see the module docstring)."""

    def __init__(self, in_dims: dict[str, int], out_dim: int, families: list[EdgeFamily]):
        super().__init__()
        self.out_dim = out_dim
        self.families = [(f.name, f.src, f.dst, f.num_relations) for f in families]
        self.weight = nn.ParameterDict()
        for name, src, _, r in self.families:
            self.weight[name] = nn.Parameter(_glorot(in_dims[src], out_dim, r))
        self.root = nn.ParameterDict({t: nn.Parameter(_glorot(d, out_dim, 1)) for t, d in in_dims.items()})

    def forward(self, x: dict, graph: dict[str, tuple[torch.Tensor, SparseOperator, tuple | None]]
                ) -> dict[str, torch.Tensor]:
        out = {t: _transform(x[t], self.root[t]) for t in self.root}
        for name, src, dst, r in self.families:
            active, op, bags = graph[name]
            w = self.weight[name]
            if x[src] is None:  # one-hot: x_j W_r is row j * R + r of W
                msgs = w.reshape(-1, self.out_dim)[active]
            elif bags is not None:
                index, offsets, weights = bags
                msgs = F.embedding_bag(index, w.reshape(-1, self.out_dim), offsets, mode="sum",
                                       per_sample_weights=weights)
            else:
                msgs = (x[src] @ w).reshape(-1, self.out_dim)[active]
            out[dst] = out[dst] + op @ msgs
        return out


def _glorot(fan_in: int, fan_out: int, relations: int) -> torch.Tensor:
    """[fan_in, relations * fan_out], each relation's block Glorot-uniform (as Decagon)."""
    bound = math.sqrt(6.0 / (fan_in + fan_out))
    return torch.empty(fan_in, relations * fan_out).uniform_(-bound, bound)


def _transform(x, w: torch.Tensor) -> torch.Tensor:
    if x is None:  # one-hot features: I @ W = W
        return w
    return x @ w


class DecagonEncoder(nn.Module):
    """Two typed convolutions (64 -> 32 in the paper): ReLU after the first, linear output
    (as the released code), dropout on each layer's dense input."""

    def __init__(self, in_dims: dict[str, int], families: list[EdgeFamily], num_nodes: dict[str, int],
                 hidden: int = 64, out: int = 32, dropout: float = 0.1, norm: str = "sym",
                 features: dict | None = None):
        features = features or {}
        super().__init__()
        self.num_nodes = dict(num_nodes)
        self.graph1, self.graph2 = {}, {}
        for f in families:
            active, op = family_operator(f, num_nodes[f.src], num_nodes[f.dst], norm)
            feats = features.get(f.src)
            bags = feats.bags(active, f.num_relations) if isinstance(feats, SparseFeatures) else None
            self.graph1[f.name] = (active, op, bags)
            self.graph2[f.name] = (active, op, None)
        self.layer1 = TypedGraphConv(in_dims, hidden, families)
        self.layer2 = TypedGraphConv({t: hidden for t in in_dims}, out, families)
        self.dropout = dropout

    def forward(self, x: dict[str, torch.Tensor | SparseOperator | None]) -> dict[str, torch.Tensor]:
        x = {t: F.dropout(v, self.dropout, self.training) if isinstance(v, torch.Tensor) else v
             for t, v in x.items()}
        h = {t: F.relu(v) for t, v in self.layer1(x, self.graph1).items()}
        h = {t: F.dropout(v, self.dropout, self.training) for t, v in h.items()}
        return self.layer2(h, self.graph2)


class FeatureMLP(nn.Module):
    """No graph: z_i = MLP(x_i) per node type (the fingerprint-MLP baseline's encoder)."""

    def __init__(self, in_dims: dict[str, int], hidden: int, out: int, dropout: float):
        super().__init__()
        self.mlp = nn.ModuleDict({t: nn.Sequential(nn.Linear(d, hidden), nn.ReLU(), nn.Dropout(dropout),
                                                   nn.Linear(hidden, out)) for t, d in in_dims.items()})

    def forward(self, x: dict[str, torch.Tensor | SparseOperator | None]) -> dict[str, torch.Tensor]:
        out = {}
        for t, mlp in self.mlp.items():
            first: nn.Linear = mlp[0]
            v = x[t]
            h = first.weight.t() + first.bias if v is None else (v @ first.weight.t()) + first.bias
            out[t] = mlp[3](mlp[2](mlp[1](h)))
        return out


class EmbeddingTable(nn.Module):
    """No encoder: a free vector per node (tensor-factorisation baselines)."""

    def __init__(self, num_nodes: dict[str, int], dim: int):
        super().__init__()
        self.emb = nn.ParameterDict({t: nn.Parameter(nn.init.xavier_uniform_(torch.empty(n, dim)))
                                     for t, n in num_nodes.items()})

    def forward(self, x=None) -> dict[str, torch.Tensor]:
        return dict(self.emb.items())
