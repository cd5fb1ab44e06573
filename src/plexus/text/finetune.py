"""Fine-tuning a Hugging Face LM as a node classifier (GLEM's E-step and its pretraining).

`LMClassifier` is the backbone (any `AutoModel`), a pooling of its last hidden states
(mean or CLS, as `plexus.text.pooling`) and a linear head. The pooled vector is the node
embedding the GNN consumes; the head's logits are the LM's predictions.

Texts are tokenized once (`TokenizedTexts`, truncated, unpadded) and each batch is padded
only to its own longest sequence. Training is a plain forward / backward / AdamW step loop
under bf16 autocast where the CPU has native bf16 (see `plexus.text.encoder.resolve_precision`)
— `benchmarks/lm_train_speed.py` measures it against a bare Hugging Face loop.

Multi-process: under `torchrun` (see `plexus.train.distributed`) the model is wrapped in
DDP; every rank draws the same permutation and takes its slice of each global batch; the
slice's loss is normalised by the global batch's gold / pseudo counts (`mixed_loss(counts=)`),
so DDP's averaged gradient is the one-process gradient of the whole batch. What still
differs from one process: dropout masks (each rank draws its own) and float summation order.
Inference is split across ranks by batches and gathered; the collectives run on whatever
device the backend needs (CPU for gloo, the rank's GPU for NCCL — `distributed.comm_device`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import torch
from torch import nn

from plexus.text.encoder import _as_device, load_lm, resolve_precision
from plexus.text.pooling import check_pooling, pool
from plexus.train import distributed
from plexus.train.pseudo_labels import Targets, mixed_loss

__all__ = ["LMClassifier", "LMTrainConfig", "TokenizedTexts", "infer", "load_classifier", "train_classifier"]


class LMClassifier(nn.Module):
    """Backbone + pooling + linear head. forward -> (logits [B, C], pooled [B, d])."""

    def __init__(self, backbone: nn.Module, num_classes: int, pooling: str = "mean", dropout: float = 0.1):
        super().__init__()
        self.backbone = backbone
        self.pooling = check_pooling(pooling)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(backbone.config.hidden_size, num_classes)

    @property
    def hidden_size(self) -> int:
        return self.backbone.config.hidden_size

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.backbone(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        pooled = pool(hidden, attention_mask, self.pooling)
        return self.head(self.dropout(pooled)), pooled


def load_classifier(name: str, num_classes: int, pooling: str = "mean", dropout: float = 0.1,
                    lora_rank: int = 0, device: str | torch.device = "cpu") -> tuple[Any, LMClassifier]:
    """(tokenizer, classifier) for a model name or folder; `lora_rank` > 0 trains LoRA adapters
    (rank r on the attention query/value projections, via `peft`) instead of every weight."""
    tokenizer, backbone = load_lm(name, "cpu")
    if getattr(backbone, "pooler", None) is not None:
        # BERT-style pooler head: unused (we pool the hidden states), and DDP needs every
        # trained parameter to receive a gradient.
        backbone.pooler = None
    if lora_rank > 0:
        from peft import LoraConfig, get_peft_model

        targets = [n for n in ("query", "value", "q_proj", "v_proj", "query_proj", "value_proj")
                   if any(m.endswith(n) for m, _ in backbone.named_modules())]
        backbone = get_peft_model(backbone, LoraConfig(r=lora_rank, lora_alpha=2 * lora_rank,
                                                       lora_dropout=0.1, target_modules=targets))
    model = LMClassifier(backbone, num_classes, pooling, dropout)
    model.train()
    return tokenizer, model.to(_as_device(device))


class TokenizedTexts:
    """Every text tokenized once (truncated to `max_length`, no padding)."""

    def __init__(self, tokenizer: Any, texts: Sequence[str], max_length: int):
        enc = tokenizer(list(texts), truncation=True, max_length=max_length, padding=False)
        self.ids = [torch.tensor(x, dtype=torch.long) for x in enc["input_ids"]]
        self.lengths = torch.tensor([len(x) for x in self.ids])
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self.max_length = max_length

    def __len__(self) -> int:
        return len(self.ids)

    def batch(self, nodes: torch.Tensor, device: torch.device) -> dict[str, torch.Tensor]:
        """input_ids / attention_mask of `nodes`, padded to the batch's longest text."""
        seqs = [self.ids[i] for i in nodes.tolist()]
        width = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(seqs), width), dtype=torch.long)
        for row, s in enumerate(seqs):
            ids[row, :len(s)] = s
            mask[row, :len(s)] = 1
        return {"input_ids": ids.to(device), "attention_mask": mask.to(device)}


@dataclass
class LMTrainConfig:
    lr: float = 5e-5
    epochs: float = 1.0  # passes over the step's targets; fractions allowed (quick presets)
    batch_size: int = 32  # the global batch (split across ranks under torchrun)
    weight_decay: float = 0.01
    warmup: float = 0.1  # fraction of steps with linearly rising lr, then linear decay
    grad_clip: float = 1.0
    precision: str = "auto"  # auto | fp32 | bf16 (autocast)
    infer_batch_size: int = 128


def _autocast(device: torch.device, precision: str):
    dtype = torch.bfloat16 if precision == "bf16" else None
    return torch.autocast(device.type, dtype=dtype, enabled=dtype is not None)


def train_classifier(
    model: LMClassifier,
    tokens: TokenizedTexts,
    targets: Targets,
    pseudo_weight: float,
    cfg: LMTrainConfig,
    generator: torch.Generator,
    on_step: Callable[[int, float], None] | None = None,
) -> dict[str, float]:
    """Train on `targets` with `mixed_loss`; returns {"loss", "steps", "seqs_per_s"} (this rank)."""
    device = next(model.parameters()).device
    precision = resolve_precision(cfg.precision, device)
    rank, world = distributed.rank(), distributed.world_size()
    net = distributed.wrap(model)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    n = targets.nodes.numel()
    total = max(1, math.ceil(cfg.epochs * n))  # examples to draw, in whole batches
    steps = max(1, math.ceil(total / cfg.batch_size))
    warm = int(cfg.warmup * steps)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / (warm + 1) if s < warm else max(0.0, (steps - s) / max(1, steps - warm)))
    # Enough shuffled passes to cover `total` draws; every rank draws the same order.
    order = torch.cat([torch.randperm(n, generator=generator) for _ in range(math.ceil(total / n))])[:total]
    model.train()
    seen, loss_sum, t0 = 0, 0.0, time.perf_counter()
    for step in range(steps):
        batch_rows = order[step * cfg.batch_size:(step + 1) * cfg.batch_size]
        if batch_rows.numel() < world:
            # a last batch smaller than the number of ranks: every rank skips it (they all
            # know `order`), since one rank stepping alone would hang DDP's all-reduce
            break
        rows = batch_rows[rank::world] if world > 1 else batch_rows
        batch = tokens.batch(targets.nodes[rows], device)
        with _autocast(device, precision):
            logits, _ = net(**batch)
        counts = None
        if world > 1:  # normalise by the global batch, so the ranks' average is its loss
            gold = targets.is_gold[batch_rows]
            counts = (int(gold.sum()), int((~gold).sum()))
        loss = mixed_loss(logits, targets.dist[rows].to(device), targets.is_gold[rows].to(device), pseudo_weight,
                          counts, world)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
        opt.step()
        sched.step()
        seen += rows.numel()
        loss_sum += float(loss.detach())
        if on_step is not None:
            on_step(step, float(loss.detach()))
    wall = time.perf_counter() - t0
    return {"loss": loss_sum / max(1, step + 1), "steps": float(step + 1), "seqs_per_s": seen / max(wall, 1e-9)}


@torch.no_grad()
def infer(model: LMClassifier, tokens: TokenizedTexts, cfg: LMTrainConfig,
          counter: dict[str, int] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(pooled embeddings [N, d], logits [N, C]) of every text, float32 on the CPU.

    Texts run in order of length so batches carry little padding; under torchrun each rank
    runs every world_size-th batch and the results are gathered on all ranks.
    `counter["texts"]` (if given) grows by the texts the LM actually encoded, all ranks.
    """
    device = next(model.parameters()).device
    precision = resolve_precision(cfg.precision, device)
    was_training = model.training
    model.eval()
    order = torch.argsort(tokens.lengths, stable=True)
    batches = list(torch.split(order, cfg.infer_batch_size))
    rank, world = distributed.rank(), distributed.world_size()
    emb = torch.zeros(len(tokens), model.hidden_size)
    logits = torch.zeros(len(tokens), model.head.out_features)
    encoded = torch.zeros(1, dtype=torch.long)
    try:
        for b in batches[rank::world]:
            with _autocast(device, precision):
                out, pooled = model(**tokens.batch(b, device))
            emb[b], logits[b] = pooled.float().cpu(), out.float().cpu()
            encoded += b.numel()
    finally:
        model.train(was_training)
    if world > 1:  # every row was filled by exactly one rank; the others hold zeros
        emb, logits = distributed.sum_across_ranks(emb), distributed.sum_across_ranks(logits)
        encoded = distributed.sum_across_ranks(encoded)
    if counter is not None:
        counter["texts"] = counter.get("texts", 0) + int(encoded)
    return emb, logits
