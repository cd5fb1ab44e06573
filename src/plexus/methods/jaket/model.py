"""JaketModel: a Hugging Face encoder split in two (LM1 = first half of the layers, LM2 = the
rest), fusion of knowledge-module embeddings into mention tokens between them, the relational
GAT knowledge module, and the pretraining heads.

    Z      = LM1(text)                           lm1()
    E^(0)  = (Z_s + Z_o) / 2 at an entity's own mention in its own description   describe()
    E^KM   = KM(sampled neighbourhood, E^(0) from the memory, R^(0))            knowledge()
    Z_merge= LayerNorm(Z + E^KM) inside mention spans                          fuse()
    Z^LM   = LM2(Z_merge)                                                      lm2()

The MLM head is the model's own when it has one (RoBERTa's `lm_head`, BERT's `cls`); for
encoders saved without one (all-MiniLM-L6-v2) `AutoModelForMaskedLM` adds a fresh transform
whose decoder is tied to the word embeddings.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from plexus.errors import ConfigError, InputError
from plexus.methods.jaket.fusion import Fusion
from plexus.methods.jaket.knowledge import KGBatch, KnowledgeModule

MODEL_FILE = "jaket_model.pt"  # in a pretraining run's artifacts/


def _load_mlm(name: str):
    """(tokenizer, AutoModelForMaskedLM) for a model name, offline for the bundled MiniLM."""
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    from plexus.text.encoder import _quiet_transformers, resolve_model
    from plexus.errors import PlexusError

    resolved = resolve_model(name)
    local = Path(resolved).is_dir()
    try:
        with _quiet_transformers():
            tok = AutoTokenizer.from_pretrained(resolved, local_files_only=local)
            mlm = AutoModelForMaskedLM.from_pretrained(resolved, local_files_only=local)
    except Exception as err:  # hub / file errors come in many classes
        raise PlexusError(f"Could not load {name!r} ({resolved}) as a masked language model: {err}") from err
    if not getattr(tok, "is_fast", False):
        raise ConfigError(f"{name!r} has no fast tokenizer; JAKET needs character offsets for mention spans.")
    return tok, mlm


class JaketModel(nn.Module):
    def __init__(self, model_name: str = "default", km_layers: int = 2, km_heads: int = 4,
                 num_categories: int = 0, num_relations: int = 0, split: int | None = None,
                 max_length: int = 64, precision: str = "fp32"):
        super().__init__()
        self.tokenizer, self.mlm = _load_mlm(model_name)
        self.arch = {"model_name": model_name, "km_layers": km_layers, "km_heads": km_heads,
                     "num_categories": num_categories, "num_relations": num_relations, "split": split,
                     "max_length": max_length}
        base = self.mlm.base_model
        self.embeddings, self.layers = base.embeddings, base.encoder.layer
        n = len(self.layers)
        self.split = n // 2 if split is None else split
        if not 0 < self.split < n:
            raise ConfigError(f"LM split {self.split} must leave layers on both sides of a {n}-layer model.")
        self.hidden = int(self.mlm.config.hidden_size)
        self.pad_id = int(self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0)
        self.max_length = max_length
        self.precision = precision
        self.fusion = Fusion(self.hidden, eps=float(getattr(self.mlm.config, "layer_norm_eps", 1e-12)))
        self.km = KnowledgeModule(self.hidden, km_layers, km_heads)
        h = self.hidden
        # pretraining heads: category (KM), relation between an entity pair (KM), g for masked entities
        self.category_head = nn.Linear(h, max(num_categories, 1))
        self.relation_head = nn.Sequential(nn.Linear(2 * h, h), nn.GELU(), nn.Linear(h, max(num_relations, 1)))
        self.entity_head = nn.Sequential(nn.Linear(h, h), nn.GELU(), nn.Linear(h, h))  # g(x) = GELU(xW1)W2
        self.mlm_head = getattr(self.mlm, "cls", None) or getattr(self.mlm, "lm_head", None)
        if self.mlm_head is None:
            raise ConfigError(f"{model_name!r}: no MLM head found (expected `cls` or `lm_head`).")

    # --- the language module -------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def autocast(self):
        if self.precision == "bf16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _mask(self, h: Tensor, attention_mask: Tensor):
        from transformers.masking_utils import create_bidirectional_mask

        return create_bidirectional_mask(config=self.mlm.config, inputs_embeds=h, attention_mask=attention_mask)

    def _run(self, layers, h: Tensor, attention_mask: Tensor) -> Tensor:
        mask = self._mask(h, attention_mask)
        for layer in layers:
            out = layer(h, mask)
            h = out[0] if isinstance(out, tuple) else out
        return h

    def lm1(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        """Z [B, T, H]: embeddings and the first `split` layers."""
        return self._run(self.layers[:self.split], self.embeddings(input_ids=input_ids), attention_mask)

    def lm2(self, z: Tensor, attention_mask: Tensor) -> Tensor:
        """Z^LM [B, T, H]: the remaining layers."""
        return self._run(self.layers[self.split:], z, attention_mask)

    def fuse(self, z: Tensor, spans: Tensor, entity_vecs: Tensor) -> Tensor:
        return self.fusion(z, spans, entity_vecs)

    def mlm_logits(self, h: Tensor) -> Tensor:
        return self.mlm_head(h)

    # --- entities ------------------------------------------------------------------------
    def describe(self, input_ids: Tensor, attention_mask: Tensor, spans: Tensor) -> Tensor:
        """E^(0) [M, H] in the order of `spans` ([M, >=3]: row, start, end inclusive)."""
        z = self.lm1(input_ids, attention_mask)
        return span_mean(z, spans)

    def knowledge(self, graph: KGBatch) -> Tensor:
        """E^KM [R, H] for graph.roots."""
        if graph.node_init.shape[-1] != self.hidden:
            raise ValueError("KGBatch.node_init is empty: attach an entity memory (build_memory) or fill it "
                             "from describe() before calling knowledge().")
        if graph.relation_init is None:
            raise ValueError("KGBatch.relation_init is None: attach a relation memory (build_relation_memory).")
        dtype = self.km.layers[0].W.weight.dtype if len(self.km.layers) else graph.node_init.dtype
        x = graph.node_init.to(self.device, dtype)
        rel = graph.relation_init.to(self.device, dtype)
        out = self.km(x, graph.edge_index.to(self.device), graph.edge_type.to(self.device), rel)
        return out[:len(graph.roots)]


def span_mean(z: Tensor, spans: Tensor) -> Tensor:
    """(Z[row, start] + Z[row, end]) / 2 per span row."""
    return (z[spans[:, 0], spans[:, 1]] + z[spans[:, 0], spans[:, 2]]) / 2


def from_base_lm(model_name: str | None = None, **km_kwargs: Any) -> JaketModel:
    """The same architecture with the LM as released and a randomly initialised KM (no joint
    pretraining): the "LM + GNN" baseline, and the base LM itself when the KM is unused."""
    return JaketModel(model_name or "default", **km_kwargs)


def load_pretrained(run_dir: Path, device: str = "cpu") -> tuple[JaketModel, dict]:
    """A pretraining run's model: `artifacts/jaket_model.pt` when the run finished, else its
    latest training checkpoint. Loaded with weights_only (no code runs). The dict holds the
    architecture, the pretraining config and step, and the entity/relation memory states."""
    from plexus.train.checkpoint import load_checkpoint

    run_dir = Path(run_dir)
    state = load_checkpoint(run_dir / "artifacts" / MODEL_FILE)
    if state is None:
        state = load_checkpoint(run_dir / "checkpoints" / "pretrain.pt")
    if state is None:
        raise InputError(f"{run_dir}: no JAKET model (artifacts/{MODEL_FILE} or checkpoints/pretrain.pt); "
                         "is this a `plexus run jaket` run directory?")
    arch = dict(state["arch"])
    model = JaketModel(**arch)
    model.load_state_dict(state["model"])
    model.to(device)
    model.eval()
    info = {k: v for k, v in state.items() if k not in ("model", "optimizer", "scheduler", "rng")}
    return model, info
