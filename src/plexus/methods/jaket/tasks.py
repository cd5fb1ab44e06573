"""JAKET's four pretraining tasks and the batch they share.

A batch is B entity descriptions. Every mention in them (the entity's own name and the other
entities' names found in it) either feeds the KM embedding of its entity into the text
(fusion) or, with probability `mention_drop` (15 %), is dropped and becomes a masked-entity
target. Losses (summed with weight 1 each):

* entity category prediction: KM output of every root entity -> its category (cross-entropy);
* relation prediction: for entity pairs that co-occur (a description and an entity it
  mentions) and are linked in the KG — plus one random training triple of each description's
  entity, so every batch has pairs — [E_h^KM ⊕ E_t^KM] -> the relation. The predicted triples'
  edges are removed from the sampled subgraph;
* masked token prediction: BERT-style 15 % tokens (80 % [MASK], 10 % random, 10 % kept) on
  the LM2 output, logits only at the masked positions;
* masked entity prediction: q = g((Z^LM_s + Z^LM_o) / 2), g(x) = GELU(x W1) W2, scored by
  negative Euclidean distance to the memory embeddings of the true entity, `entity_neighbours`
  of its KG neighbours and `entity_random` random entities (cross-entropy, target column 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from plexus.methods.jaket.corpus import TokenizedCorpus, pad_batch
from plexus.methods.jaket.knowledge import KnowledgeGraph

TASKS = ("category", "relation", "mlm", "entity")


@dataclass
class Batch:
    entities: Tensor  # [B] the description's entity per row
    input_ids: Tensor  # [B, T] after MLM masking
    attention_mask: Tensor
    mlm_labels: Tensor  # [B, T], -100 where not masked
    roots: Tensor  # [R] entities the KM embeds
    fuse_spans: Tensor  # [M, 4] row, start, end, slot in roots
    drop_spans: Tensor  # [D, 3] row, start, end of dropped mentions
    drop_targets: Tensor  # [D] entity of each dropped mention
    candidates: Tensor  # [D, 1 + K] candidate entities, column 0 = the target
    pairs: Tensor  # [P, 2] root slots (head, tail)
    pair_labels: Tensor  # [P] relation
    pair_entities: Tensor  # [P, 2] global ids (excluded from the sampled subgraph)

    @property
    def tokens(self) -> int:
        return int(self.attention_mask.sum())


def mask_tokens(ids: Tensor, attention_mask: Tensor, special: Tensor, prob: float, mask_id: int,
                vocab_size: int, gen: torch.Generator) -> tuple[Tensor, Tensor]:
    """BERT's masking: choose `prob` of the real tokens; 80 % -> [MASK], 10 % random, 10 % kept."""
    candidates = attention_mask.bool() & ~special
    chosen = (torch.rand(ids.shape, generator=gen) < prob) & candidates
    labels = torch.where(chosen, ids, torch.full_like(ids, -100))
    r = torch.rand(ids.shape, generator=gen)
    out = ids.clone()
    out[chosen & (r < 0.8)] = mask_id
    rand = chosen & (r >= 0.8) & (r < 0.9)
    out[rand] = torch.randint(vocab_size, ids.shape, generator=gen)[rand]
    return out, labels


class PairRelations:
    """Relations between ordered entity pairs of the training triples."""

    def __init__(self, num_entities: int, edge_index: np.ndarray, edge_type: np.ndarray):
        self.n = num_entities
        keys = edge_index[0].astype(np.int64) * num_entities + edge_index[1]
        order = np.argsort(keys, kind="stable")
        self.keys, self.rels = keys[order], np.asarray(edge_type, dtype=np.int64)[order]

    def lookup(self, h: int, t: int) -> np.ndarray:
        k = h * self.n + t
        lo, hi = np.searchsorted(self.keys, k, "left"), np.searchsorted(self.keys, k, "right")
        return self.rels[lo:hi]


def make_batch(tok: TokenizedCorpus, kg: KnowledgeGraph, pairs: PairRelations, entities: np.ndarray,
               tokenizer, gen: torch.Generator, mlm_prob: float = 0.15, mention_drop: float = 0.15,
               entity_neighbours: int = 4, entity_random: int = 16, with_pairs: bool = True) -> Batch:
    rng = np.random.default_rng(int(torch.randint(2**62, (1,), generator=gen)))
    seqs = [tok.ids[e] for e in entities]
    ids, attn = pad_batch(seqs, tokenizer.pad_token_id or 0)
    special = torch.zeros_like(ids, dtype=torch.bool)
    for sid in tokenizer.all_special_ids:
        special |= ids == sid
    masked, labels = mask_tokens(ids, attn, special, mlm_prob, tokenizer.mask_token_id, len(tokenizer), gen)

    kept, dropped = [], []  # (row, start, end, entity)
    rel_pairs: list[tuple[int, int, int]] = []
    for row, e in enumerate(entities):
        e = int(e)
        spans = [(int(tok.own[e, 0]), int(tok.own[e, 1]), e)] + [tuple(int(v) for v in m) for m in tok.mentions[e]]
        drop = rng.random(len(spans)) < mention_drop
        for (s, t, ent), d in zip(spans, drop):
            (dropped if d else kept).append((row, s, t, ent))
        if not with_pairs:
            continue
        for _, _, u in spans[1:]:  # co-occurring pairs linked in the KG
            for h, t in ((e, u), (u, e)):
                rels = pairs.lookup(h, t)
                if len(rels):
                    rel_pairs.append((h, t, int(rels[rng.integers(len(rels))])))
        lo, hi = int(kg.indptr[e]), int(kg.indptr[e + 1])
        if hi > lo:  # one random training triple of the description's entity
            j = int(rng.integers(lo, hi))
            u, r = int(kg.nbr[j]), int(kg.rel[j])
            h, t = (e, u) if kg.dst_is_head[j] else (u, e)
            rel_pairs.append((h, t, r))
    rel_pairs = list(dict.fromkeys(rel_pairs))
    kept_t = torch.tensor(kept, dtype=torch.long).reshape(-1, 4)
    pair_t = torch.tensor(rel_pairs, dtype=torch.long).reshape(-1, 3)
    roots = torch.unique(torch.cat([kept_t[:, 3], pair_t[:, :2].reshape(-1)]))
    slot = {int(v): i for i, v in enumerate(roots)}
    fuse = kept_t.clone()
    if len(fuse):
        fuse[:, 3] = torch.tensor([slot[int(v)] for v in kept_t[:, 3]])
    pair_slots = torch.tensor([[slot[int(h)], slot[int(t)]] for h, t, _ in rel_pairs], dtype=torch.long).reshape(-1, 2)

    drop_t = torch.tensor(dropped, dtype=torch.long).reshape(-1, 4)
    targets = drop_t[:, 3]
    cands = entity_candidates(kg, targets, entity_neighbours, entity_random, rng)
    return Batch(torch.as_tensor(np.asarray(entities), dtype=torch.long), masked, attn, labels, roots, fuse,
                 drop_t[:, :3], targets, cands, pair_slots, pair_t[:, 2], pair_t[:, :2])


def entity_candidates(kg: KnowledgeGraph, targets: Tensor, k_neighbours: int, k_random: int,
                      rng: np.random.Generator) -> Tensor:
    """[D, 1 + k_neighbours + k_random]: the target, KG neighbours of it (random entities where
    it has fewer), and uniform random entities."""
    out = np.empty((len(targets), 1 + k_neighbours + k_random), dtype=np.int64)
    for i, t in enumerate(targets.tolist()):
        nb = kg.neighbours(t).numpy()
        nb = nb[nb != t]
        picks = rng.choice(nb, size=min(k_neighbours, len(nb)), replace=False) if len(nb) else np.empty(0, np.int64)
        fill = rng.integers(kg.num_entities, size=1 + k_neighbours + k_random - 1 - len(picks))
        out[i] = np.concatenate([[t], picks, fill])
    return torch.from_numpy(out)


# --- the losses ---------------------------------------------------------------------------

def category_loss(model, e_km: Tensor, categories: Tensor) -> Tensor:
    known = categories >= 0
    if not bool(known.any()):
        return e_km.sum() * 0
    return F.cross_entropy(model.category_head(e_km[known]).float(), categories[known])


def relation_loss(model, e_km: Tensor, pairs: Tensor, labels: Tensor) -> Tensor:
    if len(pairs) == 0:
        return e_km.sum() * 0
    x = torch.cat([e_km[pairs[:, 0]], e_km[pairs[:, 1]]], -1)
    return F.cross_entropy(model.relation_head(x).float(), labels)


def mlm_loss(model, z_lm: Tensor, labels: Tensor) -> Tensor:
    where = labels != -100
    if not bool(where.any()):
        return z_lm.sum() * 0
    return F.cross_entropy(model.mlm_logits(z_lm[where]).float(), labels[where])


def entity_scores(model, z_lm: Tensor, spans: Tensor, candidate_vecs: Tensor) -> Tensor:
    """[D, K]: -|| g((Z^LM_s + Z^LM_o)/2) - E_c || for each dropped mention and candidate."""
    from plexus.methods.jaket.model import span_mean

    q = model.entity_head(span_mean(z_lm, spans)).float()
    return -torch.linalg.vector_norm(q.unsqueeze(1) - candidate_vecs.float(), dim=-1)


def entity_loss(model, z_lm: Tensor, spans: Tensor, candidates: Tensor, candidate_vecs: Tensor) -> Tensor:
    if len(spans) == 0:
        return z_lm.sum() * 0
    scores = entity_scores(model, z_lm, spans, candidate_vecs)
    # a random negative that happens to be the target is not a negative
    scores = scores.masked_fill((candidates == candidates[:, :1]) & (torch.arange(candidates.shape[1], device=candidates.device) > 0),
                                float("-inf"))
    return F.cross_entropy(scores, torch.zeros(len(spans), dtype=torch.long, device=scores.device))
