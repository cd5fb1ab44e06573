"""What the JAKET downstream methods share: where the model comes from, and the KG encoders.

Model source (`pretrained`, `knowledge`, `lm` config keys), giving the bench's rows:

    pretrained=RUN_DIR knowledge=true    JAKET (a `plexus run jaket` run directory)
    pretrained=""      knowledge=true    LM + GNN without joint pretraining (`from_base_lm`:
                                         the released LM, a randomly initialised KM trained
                                         on the downstream task only)
    pretrained=""      knowledge=false   the base LM alone
    (a run pretrained with memory off is the memory ablation: same keys, another RUN_DIR)

Unseen KG (entity classification, link prediction): its entity memory E^(0) and relation
memory R^(0) are recomputed from its own descriptions and relation texts with the (pretrained)
LM1, and KG-only tasks run LM1 + KM, no LM2 (the paper's fine-tuning on unseen KGs). The
LM alone has no KM, so its entity vector is the whole LM's output (LM1 then LM2) at the
entity's own mention in its description, (Z_s + Z_o) / 2, frozen.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from plexus.errors import ConfigError


def load_model(pretrained: str, knowledge: bool, lm: str, device: str = "cpu"):
    """(JaketModel, info, one phrase naming the row) for the model-source keys."""
    from plexus.methods.jaket.model import from_base_lm, load_pretrained

    if pretrained:
        path = Path(pretrained).expanduser()
        if not path.is_dir():
            raise ConfigError(f"pretrained={pretrained!r} is not a directory (a `plexus run jaket` run directory).")
        model, info = load_pretrained(path, device)
        if not info.get("config") and (path / "config.yaml").is_file():
            # an unfinished run (latest checkpoint) carries no config: its config.yaml says which
            # KG subset its memory rows belong to
            from plexus.config import load_yaml

            info["config"] = load_yaml(path / "config.yaml")
        mem = _memory_phrase(info)
        what = f"JAKET pretrained in {path.name}{mem}" + ("" if knowledge else ", its LM without the KM")
        return model, info, what
    model = from_base_lm(None if lm == "default" else lm)
    model.to(device)
    what = "LM + randomly initialised KM (no joint pretraining)" if knowledge else "the base LM alone"
    return model, {}, what


def _memory_phrase(info: dict) -> str:
    cfg = info.get("config") or {}
    if isinstance(cfg, dict) and "memory" in cfg:
        return " (entity memory on)" if cfg["memory"] else " (entity memory off)"
    return ""


@dataclass
class UnseenKG:
    """An unseen KG prepared for LM1 + KM: memories from its own texts, the full training graph."""

    num_entities: int
    num_relations: int
    edge_index: Tensor  # [2, 2E] both directions of the training triples, source -> target
    edge_type: Tensor  # [2E]
    entity_init: Tensor  # [N, H] E^(0) (LM1) or the LM-alone vectors
    relation_init: Tensor  # [R, H] R^(0)
    corpus_counts: dict


def prepare_unseen_kg(model, data, knowledge: bool, batch_size: int = 64) -> UnseenKG:
    """Corpus of the new KG's descriptions, then E^(0)/R^(0) with LM1 (or the whole LM when
    the KM is not used)."""
    from plexus.methods.jaket.corpus import corpus_from_data, tokenize_corpus
    from plexus.methods.jaket.knowledge import encode_spans

    corpus = corpus_from_data(data)
    tok = tokenize_corpus(corpus, model.tokenizer, model.max_length)
    if knowledge:
        entity = encode_spans(model, tok.ids, tok.own, batch_size)
    else:
        entity = encode_full_lm(model, tok.ids, tok.own, batch_size)
    relation = encode_spans(model, tok.relation_ids, tok.relation_span, batch_size)
    src = torch.cat([data.edge_index[1], data.edge_index[0]])
    dst = torch.cat([data.edge_index[0], data.edge_index[1]])
    return UnseenKG(int(data.num_nodes), len(data.relation_id), torch.stack([src, dst]),
                    torch.cat([data.edge_type, data.edge_type]), entity, relation, dict(corpus.counts))


def encode_full_lm(model, seqs: list[np.ndarray], spans: np.ndarray, batch_size: int) -> Tensor:
    """(Z^LM_s + Z^LM_o) / 2 of LM2(LM1(text)) without fusion: the released LM's own output."""
    from plexus.methods.jaket.knowledge import encode_spans
    from plexus.methods.jaket.model import span_mean

    def full_lm(ids, mask, span_t):
        return span_mean(model.lm2(model.lm1(ids, mask), mask), span_t[:, :3])

    return encode_spans(model, seqs, spans, batch_size, vectors=full_lm)


def kg_entities(model, kg: UnseenKG, knowledge: bool) -> Tensor:
    """Every entity's vector: E^KM over the whole training graph (LM1 + KM), or the frozen LM
    vectors when the KM is not used."""
    from plexus.methods.jaket.knowledge import KGBatch

    if not knowledge:
        return kg.entity_init
    every = torch.arange(kg.num_entities)
    batch = KGBatch(every, every, kg.edge_index, kg.edge_type, kg.entity_init, kg.relation_init)
    with model.autocast():
        return model.knowledge(batch).float()


def seeds_phrase(n: int) -> str:
    return f"mean ± std over {n} seed{'s' if n != 1 else ''}"
