"""GLEM (Zhao et al., "Learning on Large-Scale Text-Attributed Graphs via Variational
Inference", ICLR 2023): a language model and a GNN that teach each other by variational EM.

Per seed, a sequence of stages, each checkpointed (so `--resume` continues a killed run at
the stage it was in):

0. ``gnn_frozen`` (`frozen_start`, on by default): the GNN on the *frozen* LM's embeddings,
   gold labels only — the GNN GLEM starts from (the benchmark's "GCN on frozen MiniLM"
   row). It is a GLEM-GNN candidate, so selection on validation can never prefer a GLEM
   stage that validates worse than the plain GNN. Its embeddings come from the on-disk
   embedding cache (`plexus.text.cache`), computed once per model and text.
1. ``lm_pretrain``: fine-tune the LM on the gold labels (skipped with `pretrain_lm=false`),
   then run it once over every node: pooled embeddings + logits.
2. ``gnn_pretrain``: train the GNN on those embeddings, gold labels only.
3. `em_iters` EM iterations, in `em_order`:
   * E-step ``lm_e<k>``: the GNN is fixed; its *soft* predictions softmax(logits / T) on the
     non-gold nodes are pseudo-labels; the LM trains on (1 - alpha) CE(gold) +
     alpha CE(pseudo), then re-encodes every node;
   * M-step ``gnn_m<k>``: the LM is fixed; a fresh GNN trains on the new LM embeddings with
     (1 - beta) CE(gold) + beta CE(pseudo) on the LM's soft predictions.
   Pseudo-label candidates are all nodes without a gold label (validation and test nodes:
   transductive, as the paper); the `pl_filter` most confident are eligible and
   pl_ratio x #gold of them are drawn per step (`plexus.train.pseudo_labels`).

GLEM-LM and GLEM-GNN are the LM and GNN stages with the best *validation* accuracy. Test
labels are read once, after training, to score the stages' stored predictions; the
training code is given the gold (train) labels and the validation labels only.

Each LM version is run over the texts exactly once (after the stage that produced it) and
its outputs are kept in the checkpoint, so no text is encoded twice with the same weights.
"""

from __future__ import annotations

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
from plexus.methods.gnn.algorithm import GNNConfig, SplitConfig, check_gnn_config, fit, labels_of, node_split, texts_of
from plexus.result import Result
from plexus.text.encoder import load_tokenizer
from plexus.text.finetune import LMTrainConfig, TokenizedTexts, infer, load_classifier, train_classifier
from plexus.train import distributed
from plexus.train.checkpoint import load_checkpoint, save_checkpoint
from plexus.train.pseudo_labels import build_targets, select_pseudo_nodes, soft_pseudo_labels
from plexus.train.report import write_report
from plexus.train.rundir import RunDir

ORDERS = ("lm-first", "gnn-first")


@dataclass
class LMConfig:
    model: str = "default"  # any Hugging Face encoder id or folder; default: bundled all-MiniLM-L6-v2
    pooling: Literal["mean", "cls"] = "mean"
    max_length: int = 128  # tokens per node text
    dropout: float = 0.1
    lora_rank: int = 0  # > 0: train LoRA adapters of this rank (peft) instead of all weights
    lr: float = 1e-4
    batch_size: int = 32
    weight_decay: float = 0.01
    warmup: float = 0.1
    pretrain_epochs: float = 2.0  # passes over the gold nodes
    em_epochs: float = 1.0  # passes over gold + pseudo nodes per E-step
    precision: Literal["auto", "fp32", "bf16"] = "auto"
    infer_batch_size: int = 128

    def train_config(self, epochs: float) -> LMTrainConfig:
        return LMTrainConfig(lr=self.lr, epochs=epochs, batch_size=self.batch_size,
                             weight_decay=self.weight_decay, warmup=self.warmup,
                             precision=self.precision, infer_batch_size=self.infer_batch_size)


@dataclass
class Config(BaseConfig):
    dataset: str = "citeseer-tag"
    tables: TablesConfig = field(default_factory=TablesConfig)  # --input nodes=... edges=...
    seeds: int = 5
    em_order: Literal["lm-first", "gnn-first"] = "lm-first"
    em_iters: int = 1
    # The official LM-first recipe (ogbn-arxiv): the LM leans on the GNN's pseudo-labels, the
    # GNN mostly on gold labels; configs/glem/ has both official recipes.
    alpha: float = 0.8  # pseudo-label weight of the LM's E-step loss
    beta: float = 0.05  # pseudo-label weight of the GNN's M-step loss
    temperature: float = 0.2  # pseudo = softmax(logits / T)
    pl_filter: float = 0.8  # keep this most confident fraction of the candidates
    pl_ratio: float = 1.0  # pseudo-labelled nodes per step = pl_ratio x #gold nodes
    pretrain_lm: bool = True  # false: no LM fine-tuning before EM (ablation)
    frozen_start: bool = True  # first stage: the GNN on the frozen LM's embeddings (a GLEM-GNN candidate)
    split: SplitConfig = field(default_factory=SplitConfig)
    lm: LMConfig = field(default_factory=LMConfig)
    gnn: GNNConfig = field(default_factory=GNNConfig)


def check_config(cfg: Config) -> None:
    if cfg.em_order not in ORDERS:
        raise ConfigError(f"em_order must be one of {', '.join(ORDERS)}, not {cfg.em_order!r}.")
    if cfg.em_iters < 0:
        raise ConfigError("em_iters must be >= 0.")
    for name in ("alpha", "beta"):
        if not 0 <= getattr(cfg, name) <= 1:
            raise ConfigError(f"{name} must be in [0, 1], not {getattr(cfg, name)}.")
    if cfg.temperature <= 0:
        raise ConfigError("temperature must be > 0.")
    if not 0 < cfg.pl_filter <= 1:
        raise ConfigError("pl_filter must be in (0, 1].")
    if cfg.pl_ratio < 0:
        raise ConfigError("pl_ratio must be >= 0.")
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
        print(msg, flush=True)


def _stage_generator(seed: int, stage: int) -> torch.Generator:
    # Each stage draws from its own stream, so a resumed stage repeats what it would have done.
    return torch.Generator().manual_seed(seed * 1000 + stage)


def _targets(cfg: Config, g: Graph, logits: torch.Tensor, gen: torch.Generator):
    probs = soft_pseudo_labels(logits, cfg.temperature)
    count = int(round(cfg.pl_ratio * g.train.numel()))
    pseudo = select_pseudo_nodes(probs, g.candidates(), cfg.pl_filter, count, gen)
    return build_targets(g.train, g.train_labels, g.num_classes, pseudo, probs)


def _lm_stage(cfg: Config, g: Graph, model, state: dict, name: str, gen: torch.Generator, quiet: bool) -> dict:
    """Train the LM (gold only in pretraining, gold + GNN pseudo-labels in an E-step), re-encode."""
    stats: dict[str, float] = {}
    if name == "lm_pretrain":
        if cfg.pretrain_lm:
            targets = build_targets(g.train, g.train_labels, g.num_classes)
            stats = train_classifier(model, g.tokens, targets, 0.0, cfg.lm.train_config(cfg.lm.pretrain_epochs), gen)
    else:
        targets = _targets(cfg, g, state["gnn_logits"], gen)
        stats = train_classifier(model, g.tokens, targets, cfg.alpha, cfg.lm.train_config(cfg.lm.em_epochs), gen)
        stats["pseudo_nodes"] = float((~targets.is_gold).sum())
    emb, logits = infer(model, g.tokens, cfg.lm.train_config(1.0))
    state["lm_encodings"] = state.get("lm_encodings", 0) + 1
    state["lm_emb"], state["lm_logits"] = emb, logits
    state["lm_state"] = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    return {"logits": logits, **stats}


def _frozen_embeddings(cfg: Config, g: Graph) -> torch.Tensor:
    from plexus.text.encoder import encode_texts

    return encode_texts(g.texts, model=cfg.lm.model, pooling=cfg.lm.pooling, max_length=cfg.lm.max_length,
                        precision=cfg.lm.precision, device=cfg.device, progress=False)


def _gnn_stage(cfg: Config, g: Graph, state: dict, name: str, gen: torch.Generator) -> dict:
    """A fresh GNN on the current LM embeddings (gold only, or gold + LM pseudo-labels)."""
    if distributed.is_main():  # one rank trains the GNN; the others receive its predictions
        x = _frozen_embeddings(cfg, g) if name == "gnn_frozen" else state["lm_emb"]
        if name in ("gnn_frozen", "gnn_pretrain"):
            targets, weight = build_targets(g.train, g.train_labels, g.num_classes), 0.0
        else:
            targets, weight = _targets(cfg, g, state["lm_logits"], gen), cfg.beta
        out = fit(cfg.gnn, x, g.edge_index, targets, weight, g.val, g.val_labels, g.num_classes, gen)
        logits = out.logits
        stats = {"best_epoch": float(out.best_epoch), "pseudo_nodes": float((~targets.is_gold).sum())}
    else:
        logits, stats = torch.zeros(g.num_nodes, g.num_classes), {}
    state["gnn_logits"] = distributed.broadcast(logits)
    return {"logits": state["gnn_logits"], **stats}


def train_seed(cfg: Config, g: Graph, seed_index: int, run: RunDir, quiet: bool) -> dict:
    """All stages of one seed, resuming from its checkpoint; returns the finished record."""
    ckpt_path = run.checkpoints / f"seed{seed_index}.pt"
    state = load_checkpoint(ckpt_path) or {"next": 0, "stages": []}
    if state.get("done"):
        return state
    seed = cfg.seed + seed_index
    names = stage_names(cfg)
    torch.manual_seed(seed)
    _, model = load_classifier(cfg.lm.model, g.num_classes, cfg.lm.pooling, cfg.lm.dropout,
                                              cfg.lm.lora_rank, cfg.device)
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
            out = _lm_stage(cfg, g, model, state, name, gen, quiet)
        else:
            out = _gnn_stage(cfg, g, state, name, gen)
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


def finish(stages: list[dict], y: torch.Tensor, test: torch.Tensor) -> dict[str, float]:
    """Per-stage and selected (best validation) accuracies; the only reader of test labels."""
    metrics: dict[str, float] = {}
    for s in stages:
        metrics[f"val_acc_{s['stage']}"] = s["val_acc"]
        metrics[f"test_acc_{s['stage']}"] = float((s["pred"][test].long() == y[test]).float().mean())
    for kind in ("lm", "gnn"):
        own = [s for s in stages if s["stage"].startswith(kind)]
        best = max(own, key=lambda s: s["val_acc"])  # first stage wins ties
        metrics[f"val_acc_glem_{kind}"] = best["val_acc"]
        metrics[f"test_acc_glem_{kind}"] = metrics[f"test_acc_{best['stage']}"]
        metrics[f"glem_{kind}_stage"] = float(stages.index(best))
    return metrics


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
        metrics["lm_encodings"] = float(state["lm_encodings"])
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
        write_report(run_dir, result, curves=["val_acc"])
    return result


def describe(cfg: Config, split, num_nodes: int) -> str:
    lm = f"{cfg.lm.model} LM ({cfg.lm.pooling} pooling, {cfg.lm.max_length} tokens"
    lm += f", LoRA rank {cfg.lm.lora_rank})" if cfg.lm.lora_rank else ", all weights trained)"
    pre = (f"LM fine-tuned on gold labels for {cfg.lm.pretrain_epochs:g} epochs" if cfg.pretrain_lm
           else "no LM pretraining")
    return (
        f"GLEM, {cfg.em_order}, {cfg.em_iters} EM iteration(s): {lm}, {pre}; {cfg.gnn.kind.upper()} "
        f"({cfg.gnn.layers} layers, hidden {cfg.gnn.hidden}) on the LM's embeddings; soft pseudo-labels "
        f"softmax(logits/{cfg.temperature:g}) on the {cfg.pl_filter:.0%} most confident non-gold nodes "
        f"(validation + test nodes, transductive as the paper), {cfg.pl_ratio:g} x #gold per step, "
        f"alpha {cfg.alpha:g} (LM), beta {cfg.beta:g} (GNN); {split.description} ({split.counts()}); "
        f"GLEM-LM / GLEM-GNN = the LM / GNN stage with the best validation accuracy; test labels read "
        f"only to score stored predictions after training; mean ± std over {cfg.seeds} seed(s)"
    )
