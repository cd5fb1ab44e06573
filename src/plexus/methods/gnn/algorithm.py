"""Node classification with a GNN (or an MLP) on fixed node features.

Used directly as the `gnn` method (GLEM's baselines: GCN on TF-IDF, MLP or GCN on frozen LM
embeddings) and as GLEM's M-step, which adds soft pseudo-labels to the gold ones.

`fit(...)` trains on `Targets` (`plexus.train.pseudo_labels`) with early stopping on
validation accuracy and returns the logits of every node at the best-validation epoch. It
is given the validation labels and nothing else: test labels never reach it.
Full-batch on graphs up to `FULL_BATCH_MAX_NODES`; above that (or `batching=mini`) training
samples neighbourhoods (`plexus.sampling.neighbors`) and inference runs layer by layer.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Literal

import numpy as np
import torch
from torch import nn
from torch_geometric.nn import MLP

from plexus.config import BaseConfig
from plexus.inputs import TablesConfig
from plexus.errors import ConfigError, InputError
from plexus.eval.aggregate import summarize_runs
from plexus.eval.classification import accuracy
from plexus.gnn.inference import FULL_BATCH_MAX_NODES, predict
from plexus.gnn.models import make_gnn
from plexus.gnn.train import full_batch_step, mini_batch_epoch
from plexus.graph.node_splits import NodeSplit, given_split, split_nodes
from plexus.result import Result
from plexus.sampling.neighbors import NeighborSampler, neighbor_batches
from plexus.train.checkpoint import load_checkpoint, save_checkpoint
from plexus.train.pseudo_labels import Targets, build_targets, mixed_loss
from plexus.train.report import write_report
from plexus.train.rundir import RunDir

MODELS = ("gcn", "sage", "gat", "mlp")


@dataclass
class GNNConfig:
    """The node model and its training (GLEM's `gnn` section; the `gnn` method's `model`)."""

    kind: Literal["gcn", "sage", "gat", "mlp"] = "gcn"
    hidden: int = 256
    layers: int = 2
    dropout: float = 0.5
    heads: int = 4  # gat only
    lr: float = 0.01
    weight_decay: float = 5e-4
    epochs: int = 300
    patience: int = 50  # epochs without a better validation accuracy
    batching: Literal["auto", "full", "mini"] = "auto"  # auto: full up to FULL_BATCH_MAX_NODES
    fanouts: list[int] = field(default_factory=lambda: [15, 10])
    batch_size: int = 1024
    num_workers: int = 0  # neighbourhood-sampling processes (mini-batch only)


class _MLP(nn.Module):
    """An MLP with the GNNs' call signature (edges ignored)."""

    def __init__(self, in_dim: int, cfg: GNNConfig, out_dim: int):
        super().__init__()
        self.mlp = MLP(in_channels=in_dim, hidden_channels=cfg.hidden, out_channels=out_dim,
                       num_layers=cfg.layers, dropout=cfg.dropout, norm=None)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, *_) -> torch.Tensor:
        return self.mlp(x)


def check_gnn_config(cfg: GNNConfig) -> None:
    if cfg.kind not in MODELS:
        raise ConfigError(f"Unknown node model {cfg.kind!r}; choose one of {', '.join(MODELS)}.")
    if cfg.layers < 1 or cfg.hidden < 1 or cfg.epochs < 1:
        raise ConfigError("gnn layers, hidden and epochs must be >= 1.")
    if cfg.batching == "mini" and len(cfg.fanouts) != cfg.layers and cfg.kind != "mlp":
        raise ConfigError(f"gnn.fanouts {cfg.fanouts} needs one fanout per layer ({cfg.layers}).")


def make_model(cfg: GNNConfig, in_dim: int, num_classes: int) -> nn.Module:
    if cfg.kind == "mlp":
        return _MLP(in_dim, cfg, num_classes)
    return make_gnn(cfg.kind, in_dim, cfg.hidden, num_classes, cfg.layers, cfg.dropout, cfg.heads)


def _mini(cfg: GNNConfig, num_nodes: int) -> bool:
    return cfg.kind != "mlp" and (cfg.batching == "mini" or
                                  (cfg.batching == "auto" and num_nodes > FULL_BATCH_MAX_NODES))


@dataclass
class Fit:
    logits: torch.Tensor  # [N, C] at the best-validation epoch
    val_acc: float
    best_epoch: int
    epochs_run: int
    seconds: float


def fit(cfg: GNNConfig, x: torch.Tensor, edge_index: torch.Tensor, targets: Targets | Callable[[], Targets],
        pseudo_weight: float, val_nodes: torch.Tensor, val_labels: torch.Tensor, num_classes: int,
        generator: torch.Generator, device: str | torch.device = "cpu") -> Fit:
    """Train a fresh model on `targets`; keep the epoch with the best validation accuracy.

    `targets` may be a function called once per epoch (GLEM's M-step draws its pseudo-labelled
    nodes anew every epoch, as the official GNN trainer). The model, features and graph live
    on `device`; the returned logits are on the CPU.
    """
    check_gnn_config(cfg)
    device = torch.device(device)
    torch.manual_seed(int(torch.randint(2**31, (1,), generator=generator)))  # parameter init
    model = make_model(cfg, x.size(1), num_classes).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    x, graph = x.to(device), edge_index.to(device)
    mini = _mini(cfg, x.size(0))
    sampler = NeighborSampler(edge_index, x.size(0), cfg.fanouts) if mini else None
    val_y = torch.full((x.size(0),), -1, dtype=torch.long)
    val_y[val_nodes] = val_labels
    best = Fit(torch.zeros(x.size(0), num_classes), -1.0, 0, 0, 0.0)
    t0 = time.perf_counter()
    epoch = 0
    for epoch in range(1, cfg.epochs + 1):
        step = targets() if callable(targets) else targets
        index = torch.full((x.size(0),), -1, dtype=torch.long, device=device)
        index[step.nodes.to(device)] = torch.arange(step.nodes.numel(), device=device)
        dist, is_gold = step.dist.to(device), step.is_gold.to(device)

        def loss_fn(logits: torch.Tensor, nodes: torch.Tensor) -> torch.Tensor:
            rows = index[nodes]
            return mixed_loss(logits, dist[rows], is_gold[rows], pseudo_weight)

        if mini:
            batches = neighbor_batches(sampler, step.nodes, cfg.batch_size, shuffle=True,
                                       generator=generator, num_workers=cfg.num_workers)
            mini_batch_epoch(model, opt, x, batches, loss_fn)
        else:
            full_batch_step(model, opt, x, graph, step.nodes.to(device), loss_fn)
        logits = predict(model, x, graph, "layerwise" if mini else "full").cpu()
        acc = accuracy(logits, val_y, val_nodes)
        if acc > best.val_acc:
            best = Fit(logits, acc, epoch, epoch, 0.0)
        if epoch - best.best_epoch >= cfg.patience:
            break
    best.epochs_run, best.seconds = epoch, time.perf_counter() - t0
    return best


# -- the `gnn` method: one model on fixed features -----------------------------------


@dataclass
class SplitConfig:
    kind: Literal["supervised", "semi", "given"] = "supervised"  # given: the dataset's own masks
    train_ratio: float = 0.6
    val_ratio: float = 0.2
    per_class: int = 20
    num_val: int = 500
    num_test: int = 1000


def node_split(cfg: SplitConfig, data, y: torch.Tensor, seed: int) -> NodeSplit:
    """Seed `seed`'s split; the `given` split is the dataset's own, the same for every seed."""
    if cfg.kind == "given":
        return given_split(data)
    return split_nodes(y, cfg.kind, seed, train_ratio=cfg.train_ratio, val_ratio=cfg.val_ratio,
                       per_class=cfg.per_class, num_val=cfg.num_val, num_test=cfg.num_test)


@dataclass
class Config(BaseConfig):
    dataset: str = "citeseer-tag"
    tables: TablesConfig = field(default_factory=TablesConfig)  # --input nodes=... edges=...
    seeds: int = 5
    features: Literal["lm", "tfidf", "raw"] = "lm"  # lm: frozen LM embeddings of the node text
    text_model: str = "default"
    max_length: int | None = None  # tokens per text for features=lm (None: the model's limit)
    tfidf_features: int = 5000  # vocabulary size for features=tfidf
    split: SplitConfig = field(default_factory=SplitConfig)
    model: GNNConfig = field(default_factory=GNNConfig)


def labels_of(data) -> tuple[torch.Tensor, int]:
    y = getattr(data, "y", None)
    if y is None:
        raise InputError("Node classification needs labels: this graph has none (give --label-col).")
    y = torch.as_tensor(y).long().view(-1)
    return y, int(y.max()) + 1


def texts_of(data) -> list[str]:
    text = getattr(data, "text", None)
    if text is None:
        raise InputError("This graph has no node text (give --text-col); features=lm/tfidf and GLEM need it.")
    return list(text)


def node_features(cfg: Config, data) -> tuple[torch.Tensor, str]:
    """(features [N, d], a phrase for the protocol)."""
    if cfg.features == "raw":
        if getattr(data, "x", None) is None:
            raise InputError("features=raw: this graph has no feature matrix; use features=lm or tfidf.")
        return data.x.float(), f"the dataset's {data.x.size(1)}-d features"
    texts = texts_of(data)
    if cfg.features == "tfidf":
        from sklearn.feature_extraction.text import TfidfVectorizer

        vec = TfidfVectorizer(max_features=cfg.tfidf_features, sublinear_tf=True, stop_words="english")
        x = torch.from_numpy(vec.fit_transform(texts).toarray().astype(np.float32))
        return x, f"TF-IDF of the node text ({x.size(1)} terms)"
    from plexus.text.encoder import encode_texts

    x = encode_texts(texts, model=cfg.text_model, max_length=cfg.max_length, progress=False)
    return x, f"frozen {cfg.text_model} LM embeddings of the node text (mean-pooled, {x.size(1)}-d)"


def _seed_path(run_dir: RunDir, index: int):
    return run_dir.checkpoints / f"seed{index}.pt"


def finished_seeds(run_dir: RunDir, seeds: int) -> dict[int, dict]:
    """{seed index: record} of the seeds a killed run finished (`checkpoints/seed<i>.pt`).

    A seed's training is one unit: a seed the kill interrupted is trained again from its
    start (exactly, since it draws only from its own generator), so its history line is
    dropped here and written again; a finished seed whose line the kill lost gets it back."""
    done = {}
    for i in range(seeds):
        state = load_checkpoint(_seed_path(run_dir, i))
        if state is not None and state.get("done"):
            done[i] = {k: float(v) for k, v in state["record"].items()}
    if run_dir.history_path.exists():
        run_dir.keep_history(lambda r: r.get("seed") in done)
        logged = {r.get("seed") for r in run_dir.history()}
        for i, record in done.items():
            if i not in logged:
                run_dir.log(seed=i, **record)
    return done


def run(cfg: Config, run_dir: RunDir, quiet: bool = False) -> Result:
    from plexus.datasets.source import load_graph

    check_gnn_config(cfg.model)
    data = load_graph(cfg.dataset, cfg.data_dir, cfg.tables)
    y, num_classes = labels_of(data)
    x, feature_desc = node_features(cfg, data)
    done = finished_seeds(run_dir, cfg.seeds)
    records = []
    t_all = time.perf_counter()
    for i in range(cfg.seeds):
        seed = cfg.seed + i
        split = node_split(cfg.split, data, y, seed)
        if i in done:  # a resumed run: this seed finished before the kill
            records.append(done[i])
            if not quiet:
                print(f"  seed {i}: finished earlier (val {done[i]['val_acc']:.4f}  test {done[i]['test_acc']:.4f})",
                      file=sys.stderr)
            continue
        gen = torch.Generator().manual_seed(seed)
        targets = build_targets(split.train, y[split.train], num_classes)
        out = fit(cfg.model, x, data.edge_index, targets, 0.0, split.val, y[split.val], num_classes, gen)
        test = accuracy(out.logits, y, split.test)  # the only place test labels are read
        records.append({"val_acc": out.val_acc, "test_acc": test, "best_epoch": float(out.best_epoch),
                        "train_s": out.seconds})
        save_checkpoint(_seed_path(run_dir, i), {"done": True, "seed": seed, "record": records[-1]})
        run_dir.log(seed=i, **records[-1])
        if not quiet:
            print(f"  seed {i}: val {out.val_acc:.4f}  test {test:.4f}  (epoch {out.best_epoch}, {out.seconds:.1f} s)",
                  file=sys.stderr)
    metrics = summarize_runs(records)
    metrics["wall_time_s"] = time.perf_counter() - t_all
    protocol = (f"{cfg.model.kind.upper()} ({cfg.model.layers} layers, hidden {cfg.model.hidden}) on {feature_desc}; "
                f"{split.description} ({split.counts()}); Adam lr {cfg.model.lr:g}, weight decay "
                f"{cfg.model.weight_decay:g}, up to {cfg.model.epochs} epochs, the best-validation-accuracy epoch "
                f"tested once; mean ± std over {cfg.seeds} seeds")
    result = Result("gnn", cfg.dataset, protocol, metrics, run_dir.path)
    run_dir.write_metrics(result.to_json())
    write_report(run_dir, result, curves=[])  # one line per seed in history.jsonl: no curve
    return result
