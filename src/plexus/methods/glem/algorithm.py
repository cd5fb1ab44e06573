"""GLEM (Zhao et al., "Learning on Large-Scale Text-Attributed Graphs via Variational
Inference", ICLR 2023): a language model and a GNN that teach each other by variational EM.

Per seed, a sequence of stages, each checkpointed (so `--resume` continues a killed run at
the stage it was in):

0. ``gnn_frozen`` (`frozen_start`, on by default): a GNN on the *frozen* LM's embeddings,
   gold labels only — the "GCN on frozen MiniLM" baseline, reported under its own name and
   never as GLEM. Its embeddings come from the on-disk embedding cache (`plexus.text.cache`).
1. ``lm_pretrain``: fine-tune the LM on the gold labels (skipped with `pretrain_lm=false`),
   then run it once over every node: pooled embeddings + logits.
2. ``gnn_pretrain``: train the GNN on those embeddings, gold labels only.
3. `em_iters` EM iterations, in `em_order` (`stages.py` says what each step reads):
   * E-step ``lm_e<k>``: the GNN is fixed; its *soft* predictions softmax(logits / T) are
     pseudo-labels for ceil(lm_pl_ratio x #gold) nodes drawn from the `pl_filter` most
     confident non-gold nodes; the LM continues from its previous weights (`lm_init=prev`;
     `fresh` restarts from the original LM) on (1 - alpha) CE(gold) + alpha CE(pseudo),
     without warmup, then re-encodes every node;
   * M-step ``gnn_m<k>``: the LM is fixed; a fresh GNN trains on the latest LM embeddings
     (with `gnn_label_input`, plus the LM's soft labels, gold rows overwritten) on
     (1 - beta) CE(gold) + beta CE(pseudo), int(gnn_pl_ratio x #gold) of the LM's soft
     pseudo-labels drawn anew each epoch.
   Pseudo-label candidates are all nodes without a gold label (validation and test nodes:
   transductive, as the paper); a gold node always keeps its one-hot gold label.

GLEM-LM and GLEM-GNN are the E-step LM and the M-step GNN with the best *validation*
accuracy among the EM iterations (`selection.py`, as the official `_final_report`); the
pretraining stages are reported as their own metrics. Test labels are read once, after
training, to score the stages' stored predictions; the training code is given the gold
(train) labels and the validation labels only.

Defaults are the EM settings of the official GLEM+RevGAT ogbn-arxiv command (AndyJZhao/GLEM,
OGB/ogbn-arxiv/README.md: `--em_order=LM-first --inf_n_epochs=2 --lm_pl_weight=0.8
--gnn_pl_weight=0.05 --lm_pl_ratio=1 --gnn_pl_ratio=1 --pseudo_temp=0.2 --gnn_label_input=F`,
no `--pl_filter`), with the bundled MiniLM and Plexus's GCN in place of DeBERTa and RevGAT,
and E-steps continuing from the latest LM (the official LMConfig default, PrevEM; that command
restarts DeBERTa instead); `configs/glem/arxiv-*.yaml` are the two official ogbn-arxiv commands.

Multi-process (torchrun): the LM trains as DDP; every rank trains the same GNN, so no rank
waits in a collective while another trains it (`stages.py`, `plexus.train.distributed`).

Each LM version is run over the texts exactly once (after the stage that produced it) and
its outputs are kept in the checkpoint, so no text is encoded twice with the same weights
(`lm_texts_encoded` counts the texts the LM actually encoded).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import torch

from plexus.config import BaseConfig
from plexus.inputs import TablesConfig
from plexus.datasets.source import load_graph
from plexus.errors import ConfigError
from plexus.eval.aggregate import summarize_runs
from plexus.eval.classification import accuracy
from plexus.methods.glem.selection import finish
from plexus.methods.glem.stages import gnn_stage, lm_stage
from plexus.methods.gnn.algorithm import GNNConfig, SplitConfig, check_gnn_config, labels_of, node_split, texts_of
from plexus.result import Result
from plexus.text.encoder import load_tokenizer
from plexus.text.finetune import LMTrainConfig, TokenizedTexts, load_classifier
from plexus.train import distributed
from plexus.train.checkpoint import load_checkpoint, save_checkpoint
from plexus.train.report import write_report
from plexus.train.rundir import RunDir

ORDERS = ("lm-first", "gnn-first")
LM_INITS = ("prev", "fresh")


@dataclass
class LMConfig:
    model: str = "default"  # any Hugging Face encoder id or folder; default: bundled all-MiniLM-L6-v2
    pooling: Literal["mean", "cls"] = "mean"
    max_length: int = 128  # tokens per node text
    dropout: float = 0.1  # before the classifier head
    lora_rank: int = 0  # > 0: train LoRA adapters of this rank (peft) instead of all weights
    lr: float = 1e-4  # pretraining (and E-steps unless em_lr is set)
    em_lr: float | None = None  # E-step learning rate (official: --lm_lr); None = lr
    batch_size: int = 32
    weight_decay: float = 0.01
    warmup: float = 0.1  # pretraining only: E-steps start warm (official: warmup_steps = 0)
    pretrain_epochs: float = 2.0  # passes over the gold nodes
    em_epochs: float = 1.0  # passes over gold + pseudo nodes per E-step (official: --lm_epochs)
    precision: Literal["auto", "fp32", "bf16"] = "auto"
    infer_batch_size: int = 128

    def train_config(self, pretrain: bool) -> LMTrainConfig:
        lr = self.lr if pretrain or self.em_lr is None else self.em_lr
        return LMTrainConfig(lr=lr, epochs=self.pretrain_epochs if pretrain else self.em_epochs,
                             batch_size=self.batch_size, weight_decay=self.weight_decay,
                             warmup=self.warmup if pretrain else 0.0, precision=self.precision,
                             infer_batch_size=self.infer_batch_size)


@dataclass
class Config(BaseConfig):
    dataset: str = "citeseer-tag"
    tables: TablesConfig = field(default_factory=TablesConfig)  # --input nodes=... edges=...
    seeds: int = 5
    # EM settings of the official GLEM+RevGAT ogbn-arxiv command (see the module docstring)
    em_order: Literal["lm-first", "gnn-first"] = "lm-first"  # --em_order=LM-first
    em_iters: int = 2  # --inf_n_epochs=2: one EM iteration per pass over the training nodes
    alpha: float = 0.8  # pseudo-label weight of the LM's E-step loss (--lm_pl_weight)
    beta: float = 0.05  # pseudo-label weight of the GNN's M-step loss (--gnn_pl_weight)
    temperature: float = 0.2  # pseudo = softmax(logits / T) (--pseudo_temp)
    pl_filter: float = 1.0  # keep this most confident fraction of the candidates (--pl_filter; unset = all)
    lm_pl_ratio: float = 1.0  # E-step pseudo-labelled nodes = ceil(lm_pl_ratio x #gold) (--lm_pl_ratio)
    gnn_pl_ratio: float = 1.0  # M-step pseudo-labelled nodes per epoch = int(gnn_pl_ratio x #gold)
    gnn_label_input: bool = False  # M-step GNN input = [LM embedding, LM soft label / gold one-hot]
    # Where each E-step's LM starts: "prev" = the latest LM (official --lm_init_ckpt=PrevEM, the
    # LMConfig default and the GLEM+GCN command); "fresh" = the LM's original weights and head
    # (--lm_init_ckpt=None, the GLEM+RevGAT command)
    lm_init: Literal["prev", "fresh"] = "prev"
    pretrain_lm: bool = True  # false: no LM fine-tuning before EM (ablation)
    frozen_start: bool = True  # also train the GNN on the frozen LM (reported as gnn_frozen, never as GLEM)
    split: SplitConfig = field(default_factory=SplitConfig)
    lm: LMConfig = field(default_factory=LMConfig)
    gnn: GNNConfig = field(default_factory=GNNConfig)


def check_config(cfg: Config) -> None:
    if cfg.em_order not in ORDERS:
        raise ConfigError(f"em_order must be one of {', '.join(ORDERS)}, not {cfg.em_order!r}.")
    if cfg.lm_init not in LM_INITS:
        raise ConfigError(f"lm_init must be one of {', '.join(LM_INITS)}, not {cfg.lm_init!r}.")
    if cfg.em_iters < 1:
        raise ConfigError("em_iters must be >= 1: GLEM-LM and GLEM-GNN are chosen among the EM iterations.")
    for name in ("alpha", "beta"):
        if not 0 <= getattr(cfg, name) <= 1:
            raise ConfigError(f"{name} must be in [0, 1], not {getattr(cfg, name)}.")
    if cfg.temperature <= 0:
        raise ConfigError("temperature must be > 0.")
    if not 0 < cfg.pl_filter <= 1:
        raise ConfigError("pl_filter must be in (0, 1].")
    for name in ("lm_pl_ratio", "gnn_pl_ratio"):
        if getattr(cfg, name) < 0:
            raise ConfigError(f"{name} must be >= 0.")
    if cfg.lm.max_length < 8 or cfg.lm.batch_size < 1:
        raise ConfigError("lm.max_length must be >= 8 and lm.batch_size >= 1.")
    check_gnn_config(cfg.gnn)


def stage_names(cfg: Config) -> list[str]:
    """The stages of one seed, in order."""
    names = ["gnn_frozen"] if cfg.frozen_start else []
    names += ["lm_pretrain", "gnn_pretrain"]
    for k in range(1, cfg.em_iters + 1):
        pair = [f"lm_e{k}", f"gnn_m{k}"]
        names += pair if cfg.em_order == "lm-first" else pair[::-1]
    return names


@dataclass
class Graph:
    """What training may see: the graph, the text, gold and validation labels — no test labels."""

    edge_index: torch.Tensor
    texts: list[str]
    tokens: TokenizedTexts
    num_classes: int
    train: torch.Tensor
    train_labels: torch.Tensor
    val: torch.Tensor
    val_labels: torch.Tensor

    @property
    def num_nodes(self) -> int:
        return len(self.tokens)

    def candidates(self) -> torch.Tensor:
        """Pseudo-label candidates: every node without a gold label."""
        is_gold = torch.zeros(self.num_nodes, dtype=torch.bool)
        is_gold[self.train] = True
        return torch.nonzero(~is_gold).view(-1)

    def val_acc(self, logits: torch.Tensor) -> float:
        y = torch.full((self.num_nodes,), -1, dtype=torch.long)
        y[self.val] = self.val_labels
        return accuracy(logits, y, self.val)


def _log(quiet: bool, msg: str) -> None:
    if not quiet and distributed.is_main():
        print(msg, file=sys.stderr, flush=True)


def _stage_generator(seed: int, stage: int) -> torch.Generator:
    # Each stage draws from its own stream, so a resumed stage repeats what it would have done.
    return torch.Generator().manual_seed(seed * 1000 + stage)


def _frozen_embeddings(cfg: Config, g: Graph, device: torch.device) -> torch.Tensor:
    from plexus.text.encoder import encode_texts

    # Every rank asks (the cache answers all but the first run); cache writes are atomic.
    return encode_texts(g.texts, model=cfg.lm.model, pooling=cfg.lm.pooling, max_length=cfg.lm.max_length,
                        precision=cfg.lm.precision, device=str(device), progress=False)


def _step_logger(quiet: bool, seed_index: int, stage: str, every_s: float = 30.0):
    """An LM stage can run for many minutes on a CPU: a line every `every_s` seconds."""
    last = [time.perf_counter()]

    def on_step(step: int, loss: float) -> None:
        if time.perf_counter() - last[0] >= every_s:
            last[0] = time.perf_counter()
            _log(quiet, f"  seed {seed_index} {stage}: step {step}, loss {loss:.4f}")
    return on_step


def train_seed(cfg: Config, g: Graph, seed_index: int, run: RunDir, quiet: bool) -> dict:
    """All stages of one seed, resuming from its checkpoint; returns the finished record."""
    ckpt_path = run.checkpoints / f"seed{seed_index}.pt"
    state = load_checkpoint(ckpt_path) or {"next": 0, "stages": []}
    if state.get("done"):
        return state
    seed = cfg.seed + seed_index
    names = stage_names(cfg)
    device = distributed.local_device(cfg.device)
    torch.manual_seed(seed)
    _, model = load_classifier(cfg.lm.model, g.num_classes, cfg.lm.pooling, cfg.lm.dropout,
                               cfg.lm.lora_rank, device)
    # the LM before any training (same seed, so the same head on resume): lm_init=fresh restarts here
    init_state = ({k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
                  if cfg.lm_init == "fresh" else None)
    if "lm_state" in state:
        model.load_state_dict(state["lm_state"])
    if state["next"]:
        _log(quiet, f"  seed {seed_index}: resuming at stage {names[state['next']]}")
    if distributed.is_main():  # stages a killed run logged after its checkpoint run (and log) again
        run.keep_history(lambda r: r.get("seed") != seed_index or r.get("stage_index", -1) < state["next"])
    for i in range(state["next"], len(names)):
        name, t0 = names[i], time.perf_counter()
        gen = _stage_generator(seed, i)
        torch.manual_seed(seed * 1000 + i)  # dropout draws too, so a resumed stage repeats exactly
        if name.startswith("lm"):
            out = lm_stage(cfg, g, model, state, name, gen, init_state, _step_logger(quiet, seed_index, name))
        else:
            out = gnn_stage(cfg, g, state, name, gen, device, lambda: _frozen_embeddings(cfg, g, device))
        logits = out.pop("logits")
        record = {"stage": name, "stage_index": i, "val_acc": g.val_acc(logits),
                  "seconds": time.perf_counter() - t0, **out}
        # predictions of every node, scored on test only after training (see `finish`)
        state["stages"].append({**record, "pred": logits.argmax(-1).to(torch.int16)})
        state["next"] = i + 1
        if distributed.is_main():
            save_checkpoint(ckpt_path, state)
            run.log(seed=seed_index, **record)
        _log(quiet, f"  seed {seed_index} {name}: val acc {record['val_acc']:.4f}  ({record['seconds']:.0f} s)")
    state["done"] = True
    for key in ("lm_state", "lm_emb"):  # the finished record keeps predictions, not weights
        state.pop(key, None)
    if distributed.is_main():
        save_checkpoint(ckpt_path, state)
    return state


def run(cfg: Config, run_dir: RunDir, quiet: bool = False) -> Result:
    check_config(cfg)
    distributed.init(cfg.device)
    data = load_graph(cfg.dataset, cfg.data_dir, cfg.tables)
    y, num_classes = labels_of(data)
    texts = texts_of(data)
    tokens = TokenizedTexts(load_tokenizer(cfg.lm.model), texts, cfg.lm.max_length)
    records, t_all = [], time.perf_counter()
    for i in range(cfg.seeds):
        split = node_split(cfg.split, data, y, cfg.seed + i)
        g = Graph(data.edge_index, texts, tokens, num_classes, split.train, y[split.train], split.val, y[split.val])
        state = train_seed(cfg, g, i, run_dir, quiet)
        metrics = finish(state["stages"], y, split.test)
        metrics["lm_texts_encoded"] = float(state.get("lm_texts_encoded", 0))
        metrics.update({f"seconds_{s['stage']}": s["seconds"] for s in state["stages"]})
        metrics["train_minutes"] = sum(s["seconds"] for s in state["stages"]) / 60
        records.append(metrics)
        _log(quiet, f"  seed {i}: GLEM-GNN test {metrics['test_acc_glem_gnn']:.4f}  "
                    f"GLEM-LM test {metrics['test_acc_glem_lm']:.4f}")
    metrics: dict[str, Any] = summarize_runs(records)
    metrics["wall_time_s"] = time.perf_counter() - t_all
    protocol = describe(cfg, split, len(texts))
    result = Result("glem", cfg.dataset, protocol, metrics, run_dir.path)
    if distributed.is_main():
        run_dir.write_metrics(result.to_json())
        write_report(run_dir, result, curves=["val_acc"], x_key="stage_index")
    return result


def describe(cfg: Config, split, num_nodes: int) -> str:
    lm = f"{cfg.lm.model} LM ({cfg.lm.pooling} pooling, {cfg.lm.max_length} tokens"
    lm += f", LoRA rank {cfg.lm.lora_rank})" if cfg.lm.lora_rank else ", all weights trained)"
    pre = (f"LM fine-tuned on gold labels for {cfg.lm.pretrain_epochs:g} epochs" if cfg.pretrain_lm
           else "no LM pretraining")
    label_input = ", plus the LM's soft labels (gold one-hot on gold nodes) as input" if cfg.gnn_label_input else ""
    return (
        f"GLEM, {cfg.em_order}, {cfg.em_iters} EM iteration(s): {lm}, {pre}, {cfg.lm.em_epochs:g} epoch(s) per "
        f"E-step starting from {'the latest LM' if cfg.lm_init == 'prev' else 'the original LM weights'}; {cfg.gnn.kind.upper()} ({cfg.gnn.layers} layers, hidden {cfg.gnn.hidden}) on the latest LM's "
        f"embeddings{label_input}; soft pseudo-labels softmax(logits/{cfg.temperature:g}) on the "
        f"{cfg.pl_filter:.0%} most confident non-gold nodes (validation + test nodes, transductive as the paper), "
        f"{cfg.lm_pl_ratio:g} x #gold per E-step, {cfg.gnn_pl_ratio:g} x #gold per GNN epoch; alpha {cfg.alpha:g} "
        f"(LM), beta {cfg.beta:g} (GNN); EM defaults = the official GLEM+RevGAT ogbn-arxiv command's; "
        f"{split.description} ({split.counts()}); GLEM-LM / GLEM-GNN = the E-step LM / M-step GNN with the best "
        f"validation accuracy among the EM iterations (pretraining stages and the frozen-LM GNN reported "
        f"separately); test labels read only to score stored predictions after training; mean ± std over "
        f"{cfg.seeds} seed(s)"
    )
