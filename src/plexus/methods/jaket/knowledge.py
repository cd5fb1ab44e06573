"""JAKET's knowledge module: a relational graph attention network over sampled neighbourhoods.

Per neighbour (r, u) of v (a training triple in either direction), the message is
M = f(E_u, R_r) with f(x, y) = x + y. Head k scores it with a_k^T [W_k E_v ⊕ W_k M] through
LeakyReLU, normalised by a softmax over v's sampled neighbourhood; the new embedding is

    E_v^(l) = LayerNorm( ⊕_k sum_{(r,u)} alpha^k_{v,u} W_k M  +  E_v^(l-1) )

The relation embeddings R (LM1 over the relation texts) are shared across layers. A
mini-batch never touches the whole KG: from each root entity `fanout` random walks of `hops`
steps are drawn (the paper samples neighbourhoods by random walks); the traversed edges,
pointing towards the root, form the subgraph the layers run on. E^(0) rows come from the
entity context memory (`EntityMemory`), so the KM needs no LM forward pass per node.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from plexus.errors import InputError
from plexus.nn.memory import EmbeddingMemory, RefreshSchedule


class EntityMemory(EmbeddingMemory):
    """The entity context embedding memory: E^(0) of every entity (LM1 over its description),
    refreshed on T(i) with momentum (`plexus.nn.memory`)."""


@dataclass
class KGBatch:
    """A sampled neighbourhood around root entities."""

    roots: Tensor  # [R] global entity ids
    nodes: Tensor  # [N] global entity ids in the subgraph (roots first)
    edge_index: Tensor  # [2, E] local ids, source -> target (towards the roots)
    edge_type: Tensor  # [E] relation ids
    node_init: Tensor  # [N, H] E^(0) rows (from the entity memory); empty when no memory is attached
    relation_init: Tensor | None = None  # [num_relations, H] R^(0); None when no relation memory


class KnowledgeGraph:
    """Training triples as a CSR over both directions: for node v, its neighbours (u, r)."""

    def __init__(self, num_entities: int, num_relations: int, edge_index: Tensor, edge_type: Tensor,
                 entity_memory: EntityMemory | None = None, relation_memory: EntityMemory | None = None):
        edge_index = torch.as_tensor(edge_index, dtype=torch.long)
        edge_type = torch.as_tensor(edge_type, dtype=torch.long)
        if edge_index.numel():
            bad = (edge_index < 0) | (edge_index >= num_entities)
            if bool(bad.any()):
                col = int(bad.any(0).nonzero()[0])
                raise InputError(f"triple {col} has entity id {int(edge_index[:, col].max())}, outside 0..{num_entities - 1} "
                                 "(dangling id).")
            if bool(((edge_type < 0) | (edge_type >= num_relations)).any()):
                raise InputError(f"a triple has a relation id outside 0..{num_relations - 1} (dangling id).")
        self.num_entities, self.num_relations = num_entities, num_relations
        # message u -> v for every triple (h, r, t): both (t -> h) and (h -> t) with relation r
        src = torch.cat([edge_index[1], edge_index[0]])
        dst = torch.cat([edge_index[0], edge_index[1]])
        rel = torch.cat([edge_type, edge_type])
        order = torch.argsort(dst, stable=True)
        self.nbr, self.rel = src[order].contiguous(), rel[order].contiguous()
        m = edge_index.shape[1]
        self.dst_is_head = torch.cat([torch.ones(m, dtype=torch.bool), torch.zeros(m, dtype=torch.bool)])[order]
        counts = torch.bincount(dst, minlength=num_entities)
        self.indptr = torch.zeros(num_entities + 1, dtype=torch.long)
        self.indptr[1:] = torch.cumsum(counts, 0)
        self.entity_memory, self.relation_memory = entity_memory, relation_memory

    def degree(self, nodes: Tensor) -> Tensor:
        return self.indptr[nodes + 1] - self.indptr[nodes]

    def neighbours(self, v: int) -> Tensor:
        return self.nbr[self.indptr[v]:self.indptr[v + 1]]


def random_walk_edges(kg: KnowledgeGraph, roots: Tensor, hops: int, fanout: int,
                      generator: torch.Generator) -> Tensor:
    """[3, E] (source, target, relation) of `fanout` walks of `hops` steps from each root;
    each traversed edge points back towards the walk's start (messages flow to the root)."""
    cur = roots.repeat_interleave(fanout)
    edges = []
    for _ in range(hops):
        deg = kg.degree(cur)
        ok = deg > 0
        pick = kg.indptr[cur] + (torch.rand(cur.shape, generator=generator) * deg.clamp(min=1)).long()
        pick = torch.where(ok, pick, torch.zeros_like(pick))
        nxt, rel = kg.nbr[pick], kg.rel[pick]
        edges.append(torch.stack([nxt[ok], cur[ok], rel[ok]]))
        cur = torch.where(ok, nxt, cur)
    if not edges:
        return torch.zeros((3, 0), dtype=torch.long)
    return torch.unique(torch.cat(edges, 1), dim=1)


def sample_neighbourhood(kg: KnowledgeGraph, roots: Tensor, hops: int, fanout: int, generator: torch.Generator,
                         exclude_pairs: Tensor | None = None) -> KGBatch:
    """The subgraph of random walks from `roots` (unique global ids). `exclude_pairs` [P, 2]:
    entity pairs whose edges (either direction) are dropped, so relation prediction never
    sees the triple it predicts."""
    roots = torch.as_tensor(roots, dtype=torch.long)
    e = random_walk_edges(kg, roots, hops, fanout, generator)
    if exclude_pairs is not None and exclude_pairs.numel() and e.numel():
        n = kg.num_entities
        lo, hi = torch.minimum(e[0], e[1]), torch.maximum(e[0], e[1])
        plo, phi = exclude_pairs.min(1).values, exclude_pairs.max(1).values
        e = e[:, ~torch.isin(lo * n + hi, plo * n + phi)]
    others = torch.unique(e[:2].reshape(-1))
    others = others[~torch.isin(others, roots)]
    nodes = torch.cat([roots, others])
    local = torch.full((kg.num_entities,), -1, dtype=torch.long) if kg.num_entities < 5_000_000 else None
    if local is not None:
        local[nodes] = torch.arange(len(nodes))
        edge_index = local[e[:2]]
    else:  # huge KGs: map by sorting instead of a dense table
        order = torch.argsort(nodes)
        edge_index = order[torch.searchsorted(nodes[order], e[:2])]
    mem = kg.entity_memory
    node_init = mem.vectors[nodes] if mem is not None else torch.zeros((len(nodes), 0))
    rel = kg.relation_memory.vectors if kg.relation_memory is not None else None
    return KGBatch(roots, nodes, edge_index, e[2].clone(), node_init, rel)


class RelationalGATLayer(nn.Module):
    """One relational GAT layer (module docstring). W_k are the row blocks of `W`."""

    def __init__(self, hidden: int, heads: int, negative_slope: float = 0.2):
        super().__init__()
        if hidden % heads:
            raise ValueError(f"hidden size {hidden} is not divisible by {heads} heads")
        self.heads, self.dim = heads, hidden // heads
        self.W = nn.Linear(hidden, hidden, bias=False)
        self.a = nn.Parameter(torch.empty(heads, 2 * self.dim))
        nn.init.xavier_uniform_(self.a)
        self.norm = nn.LayerNorm(hidden)
        self.negative_slope = negative_slope

    def forward(self, x: Tensor, edge_index: Tensor, edge_type: Tensor, rel: Tensor) -> Tensor:
        from torch_geometric.utils import softmax

        n, h, d = x.shape[0], self.heads, self.dim
        src, dst = edge_index
        # M = f(E_u, R_r) = E_u + R_r and W is linear, so W M = (W E)_u + (W R)_r: one matmul per
        # node and per relation instead of one per edge (exact up to rounding)
        wx = self.W(x).view(n, h, d)
        wm = wx[src] + self.W(rel).view(-1, h, d)[edge_type]
        wv = wx[dst]
        score = (wv * self.a[:, :d]).sum(-1) + (wm * self.a[:, d:]).sum(-1)  # a_k^T [W_k E_v ⊕ W_k M]
        alpha = softmax(F.leaky_relu(score, self.negative_slope), dst, num_nodes=n)  # [E, heads]
        weighted = alpha.unsqueeze(-1) * wm  # (under autocast the softmax comes back in fp32)
        out = torch.zeros((n, h, d), dtype=weighted.dtype, device=x.device)
        out.index_add_(0, dst, weighted)
        return self.norm(out.reshape(n, h * d).to(x.dtype) + x)


class KnowledgeModule(nn.Module):
    def __init__(self, hidden: int, layers: int = 2, heads: int = 4):
        super().__init__()
        self.layers = nn.ModuleList([RelationalGATLayer(hidden, heads) for _ in range(layers)])

    def forward(self, x: Tensor, edge_index: Tensor, edge_type: Tensor, rel: Tensor) -> Tensor:
        for layer in self.layers:
            x = layer(x, edge_index, edge_type, rel)
        return x


@torch.no_grad()
def encode_spans(model, seqs: list[np.ndarray], spans: np.ndarray, batch_size: int,
                 vectors=None) -> Tensor:
    """E^(0) = (Z_s + Z_o) / 2 from LM1 for every sequence (length-sorted batches);
    `vectors(ids, mask, spans [B, 4])` replaces `model.describe` (e.g. the full LM's output)."""
    vectors = vectors or model.describe
    from plexus.methods.jaket.corpus import pad_batch

    out = torch.zeros((len(seqs), model.hidden))
    order = np.argsort([len(s) for s in seqs], kind="stable")
    was = model.training
    model.eval()
    try:
        for i in range(0, len(order), batch_size):
            idx = order[i:i + batch_size]
            ids, mask = pad_batch([seqs[j] for j in idx], model.pad_id)
            sp = torch.as_tensor(spans[idx], dtype=torch.long)
            rows = torch.arange(len(idx))
            span_t = torch.stack([rows, sp[:, 0], sp[:, 1], rows], 1)
            with model.autocast():
                vec = vectors(ids.to(model.device), mask.to(model.device), span_t.to(model.device))
            out[torch.as_tensor(idx)] = vec.float().cpu()
    finally:
        model.train(was)
    return out


def build_memory(model, kg_texts, batch_size: int = 256, momentum: float = 0.8,
                 schedule: RefreshSchedule | None = None) -> EntityMemory:
    """The entity memory for a KG: LM1 over every entity description (a `KGCorpus` or
    `TokenizedCorpus`). Used for pretraining and to adapt to an unseen KG."""
    tok = as_tokenized(model, kg_texts)
    return EntityMemory(encode_spans(model, tok.ids, tok.own, batch_size), momentum, schedule)


def build_relation_memory(model, kg_texts, batch_size: int = 256, momentum: float = 0.8,
                          schedule: RefreshSchedule | None = None) -> EntityMemory:
    """R^(0) for every relation: LM1 over its text, mean of the first and last token."""
    tok = as_tokenized(model, kg_texts)
    return EntityMemory(encode_spans(model, tok.relation_ids, tok.relation_span, batch_size), momentum, schedule)


def as_tokenized(model, kg_texts):
    from plexus.methods.jaket.corpus import KGCorpus, tokenize_corpus

    if isinstance(kg_texts, KGCorpus):
        return tokenize_corpus(kg_texts, model.tokenizer, model.max_length)
    return kg_texts
