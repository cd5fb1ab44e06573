"""Decagon (Zitnik, Agrawal & Leskovec, "Modeling polypharmacy side effects with graph
convolutional networks", Bioinformatics 2018), top to bottom.

1. Graph (`data.py`). A multimodal graph of drugs and proteins: protein–protein edges,
   drug–protein edges (messages in both directions), and one drug–drug edge type per side
   effect. The encoder sees training edges only.
2. Encoder (`model.py`). Two relation-typed graph convolutions, 64 then 32 units, dropout
   0.1: h_i' = act(sum_r sum_{j in N_r(i)} c_r^{ij} W_r h_j + W_self h_i), with
   c_r^{ij} = 1/sqrt(|N_r(i)||N_r(j)|); ReLU after layer 1, linear output (as the released
   code). `encoder=rgcn` uses R-GCN's 1/|N_r(i)|; `mlp` and `none` drop the graph (baselines).
3. Decoders (`decoders.py`). Drug–drug: DEDICOM, g(i,r,j) = z_i^T D_r R D_r z_j (global R,
   diagonal D_r per side effect); protein–protein and drug–protein: bilinear z_i^T M z_j.
   DistMult, RESCAL, ComplEx, inner product and a concatenation MLP are options.
4. Loss. Cross-entropy with negative sampling, as the paper: for every positive (i, r, j) one
   negative (i, r, j') with j' drawn ∝ degree_r^0.75 (`negatives.py`):
   -log σ(g(i,r,j)) - log(1 - σ(g(i,r,j'))). `loss=hinge` is the released code's
   max(0, margin - g(i,r,j) + g(i,r,j')) with margin 0.1.
5. Optimisation. Mini-batches of 512 edges of one edge type at a time, cycling over edge
   types in a random order each epoch; the whole graph is encoded for every batch; Adam,
   learning rate 0.001; validation after every epoch; early stopping; the state with the
   best mean validation AUROC is tested once (`plexus.train.loop.train_seed`).
6. Evaluation (`evaluation.py`). Per side effect: AUROC, AUPRC, AP@50 of its held-out edges
   against as many sampled negatives (never a known positive of that side effect in any
   split), fixed per seed; mean and median over side effects; a per-relation CSV and a
   plot of the distributions in `artifacts/`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from plexus.config import BaseConfig
from plexus.errors import ConfigError, InputError
from plexus.eval.aggregate import summarize_runs
from plexus.inputs import TriplesConfig, dataset_label
from plexus.methods.decagon.data import DecagonGraph, feature_operator, load_graph, split_edges
from plexus.methods.decagon.decoders import make_decoder
from plexus.methods.decagon.evaluation import METRICS, plot_distribution, relation_metrics, write_relation_table
from plexus.methods.decagon.model import DecagonEncoder, EdgeFamily, EmbeddingTable, FeatureMLP
from plexus.methods.decagon.negatives import TypedNegatives, eval_negatives
from plexus.result import Result
from plexus.train.loop import Fitted, LoopSettings, SeedParts, train_seed
from plexus.train.report import write_report
from plexus.train.rundir import RunDir
from plexus.train.seed import stream_generator


@dataclass
class Config(BaseConfig):
    dataset: str = "drugbank-ddi86"
    # --- data (see data.py)
    triples: TriplesConfig = field(default_factory=TriplesConfig)  # the user's typed edge table
    node_table: str | None = None  # optional: id, type (drug/protein), smiles
    node_id_col: str = "id"
    node_type_col: str = "type"
    smiles_col: str = "smiles"
    relations: list[str] = field(default_factory=list)  # known side-effect names; others are errors
    target_relation: str = "targets"  # drug -> protein rows of the triples table
    ppi_relation: str = "ppi"  # protein–protein rows
    symmetric: bool = False  # user tables: side effects are undirected (SNAP decagon: always)
    proteins: Literal["auto", "decagon-targets", "none"] = "auto"  # drugbank-ddi86's protein side
    features: Literal["auto", "morgan", "mono", "onehot"] = "auto"
    morgan_radius: int = 2
    morgan_bits: int = 1024
    val_ratio: float = 0.1  # per relation, when the data has no split (paper: 80/10/10)
    test_ratio: float = 0.1
    min_relation_edges: int = 10  # smaller side effects are excluded (SNAP preset: 500, as the paper)
    min_eval_edges: int = 5  # a relation is scored on a split only with this many positives there
    # --- model
    encoder: Literal["decagon", "rgcn", "mlp", "none"] = "decagon"
    decoder: Literal["dedicom", "distmult", "rescal", "complex", "inner", "concat"] = "dedicom"
    hidden: int = 64
    out: int = 32
    dropout: float = 0.1
    # --- training
    loss: Literal["ce", "hinge"] = "ce"
    margin: float = 0.1  # hinge loss
    neg_alpha: float = 0.75  # negatives ∝ degree^alpha
    batch_size: int = 512
    lr: float = 0.001
    epochs: int = 50
    eval_every: int = 1
    patience: int | None = 5  # epochs without a better validation score
    max_minutes: float | None = None  # per seed
    select: Literal["auroc", "auprc", "ap@50"] = "auroc"


# ----------------------------------------------------------------------------- the model


class DecagonModel(nn.Module):
    """Encoder + one decoder per edge family (drug–drug, drug–protein, protein–protein)."""

    def __init__(self, cfg: Config, graph: DecagonGraph, families: list[EdgeFamily], x: dict):
        super().__init__()
        num_nodes = {"drug": graph.num_drugs, **({"protein": graph.num_proteins} if graph.num_proteins else {})}
        in_dims = {t: (x[t].shape[1] if x.get(t) is not None else n) for t, n in num_nodes.items()}
        self.x = x
        if cfg.encoder in ("decagon", "rgcn"):
            self.encoder = DecagonEncoder(in_dims, families, num_nodes, cfg.hidden, cfg.out, cfg.dropout,
                                          norm="sym" if cfg.encoder == "decagon" else "mean", features=x)
        elif cfg.encoder == "mlp":
            self.encoder = FeatureMLP(in_dims, cfg.hidden, cfg.out, cfg.dropout)
        else:
            self.encoder = EmbeddingTable(num_nodes, cfg.out)
        self.decoders = nn.ModuleDict({"dd": make_decoder(cfg.decoder, cfg.out, graph.num_relations)})
        if graph.targets.numel():
            self.decoders["targets"] = make_decoder("bilinear", cfg.out, 1)
        if graph.ppi.numel():
            self.decoders["ppi"] = make_decoder("bilinear", cfg.out, 1)

    def encode(self) -> dict[str, torch.Tensor]:
        return self.encoder(self.x)

    def score(self, z: dict[str, torch.Tensor], kind: str, heads: torch.Tensor, tails: torch.Tensor,
              rel: torch.Tensor | None = None, chunk: int = 8192) -> torch.Tensor:
        src, dst = {"dd": ("drug", "drug"), "targets": ("drug", "protein"), "ppi": ("protein", "protein")}[kind]
        rel = torch.zeros_like(heads) if rel is None else rel
        dec = self.decoders[kind]
        return torch.cat([dec(z[src][heads[i:i + chunk]], z[dst][tails[i:i + chunk]], rel[i:i + chunk])
                          for i in range(0, max(heads.numel(), 1), chunk)])


def message_families(graph: DecagonGraph, train: tuple[torch.Tensor, torch.Tensor]) -> list[EdgeFamily]:
    """The encoder's edges: training side-effect edges in both directions (one relation
    each), drug->protein and protein->drug targets, protein–protein both ways."""
    ei, et = train
    both = torch.cat([ei, ei.flip(0)], 1)
    fams = [EdgeFamily("dd", "drug", "drug", graph.num_relations, both, torch.cat([et, et]))]
    if graph.targets.numel():
        t = graph.targets
        fams.append(EdgeFamily("d2p", "drug", "protein", 1, t, torch.zeros(t.size(1), dtype=torch.long)))
        fams.append(EdgeFamily("p2d", "protein", "drug", 1, t.flip(0), torch.zeros(t.size(1), dtype=torch.long)))
    if graph.ppi.numel():
        p = torch.cat([graph.ppi, graph.ppi.flip(0)], 1)
        fams.append(EdgeFamily("ppi", "protein", "protein", 1, p, torch.zeros(p.size(1), dtype=torch.long)))
    return fams


def training_edge_types(graph: DecagonGraph, train: tuple[torch.Tensor, torch.Tensor]) -> dict:
    """Edge type -> (kind, relation, [2, E] positives head -> tail) for the decoders' loss."""
    ei, et = train
    if graph.symmetric:  # an undirected side effect: both orders are positives
        ei, et = torch.cat([ei, ei.flip(0)], 1), torch.cat([et, et])
    types = {}
    for r in range(graph.num_relations):
        pos = ei[:, et == r]
        if pos.size(1):
            types[("dd", r)] = pos
    if graph.targets.numel():
        types[("targets", 0)] = graph.targets
    if graph.ppi.numel():
        types[("ppi", 0)] = torch.cat([graph.ppi, graph.ppi.flip(0)], 1)
    return types


def epoch_batches(types: dict, batch_size: int, seed: int, epoch: int) -> list[tuple[tuple, torch.Tensor]]:
    """Every edge type's positives in shuffled batches of `batch_size`, the batches of all
    types in one random order (Decagon's per-edge-type minibatch iterator)."""
    batches = []
    for k, (key, pos) in enumerate(types.items()):
        perm = torch.randperm(pos.size(1), generator=stream_generator(seed, epoch, 1, k))
        batches += [(key, pos[:, perm[i:i + batch_size]]) for i in range(0, pos.size(1), batch_size)]
    order = torch.randperm(len(batches), generator=stream_generator(seed, epoch, 0)).tolist()
    return [batches[i] for i in order]


def pair_loss(pos: torch.Tensor, neg: torch.Tensor, kind: str, margin: float) -> torch.Tensor:
    if kind == "ce":  # -log σ(pos) - log(1 - σ(neg))
        return F.softplus(-pos).mean() + F.softplus(neg).mean()
    return F.relu(margin - pos + neg).mean()


def train_step(cfg: Config, model: DecagonModel, opt: torch.optim.Optimizer, sampler: TypedNegatives,
               key: tuple[str, int], pos: torch.Tensor) -> float:
    """One mini-batch of one edge type: encode the whole graph, score the positives and one
    degree^0.75 negative each, step. Returns the loss."""
    kind, r = key
    heads, tails = pos
    neg_tails = sampler.sample(key, heads, tails)
    rel = torch.full_like(heads, r)
    z = model.encode()
    loss = pair_loss(model.score(z, kind, heads, tails, rel), model.score(z, kind, heads, neg_tails, rel),
                     cfg.loss, cfg.margin)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return float(loss.detach())


def build_model(cfg: Config, graph: DecagonGraph, train: tuple[torch.Tensor, torch.Tensor], gen: torch.Generator
                ) -> tuple[DecagonModel, torch.optim.Optimizer, dict, TypedNegatives, torch.Generator]:
    """Model, Adam, training edge types and their negative sampler for one seed."""
    x = {"drug": feature_operator(graph.drug_x)}
    if graph.num_proteins:
        x["protein"] = None
    model = DecagonModel(cfg, graph, message_families(graph, train), x)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, fused=True)
    types = training_edge_types(graph, train)
    sizes = {"dd": (graph.num_drugs, graph.num_drugs), "targets": (graph.num_drugs, graph.num_proteins),
             "ppi": (graph.num_proteins, graph.num_proteins)}
    neg_gen = torch.Generator().manual_seed(int(torch.randint(2**62, (1,), generator=gen)))
    sampler = TypedNegatives({key: (pos, *sizes[key[0]]) for key, pos in types.items()}, neg_gen, cfg.neg_alpha)
    return model, opt, types, sampler, neg_gen


def multiclass_view(model: DecagonModel, z: dict, pairs: torch.Tensor, types: torch.Tensor,
                    num_relations: int) -> dict[str, float]:
    """The standard multi-class reading of a typed split: given a held-out pair, which
    relation? argmax over every relation's score; accuracy, macro-F1 (over the classes
    present in truth or prediction, sklearn's default) and Cohen's kappa."""
    from sklearn.metrics import accuracy_score, cohen_kappa_score, f1_score

    h, t = pairs
    scores = torch.stack([model.score(z, "dd", h, t, torch.full_like(h, r)) for r in range(num_relations)], 1)
    pred, true = scores.argmax(1).numpy(), types.numpy()
    return {"mc_accuracy": float(accuracy_score(true, pred)), "mc_macro_f1": float(f1_score(true, pred, average="macro")),
            "mc_kappa": float(cohen_kappa_score(true, pred))}


# ----------------------------------------------------------------------------- one seed


def _setup(cfg: Config, graph: DecagonGraph, seed: int, gen: torch.Generator, eval_sets: dict) -> SeedParts:
    split = eval_sets["split"]
    model, opt, types, sampler, neg_gen = build_model(cfg, graph, split["train"], gen)

    def train_epoch(epoch: int) -> dict[str, float]:
        model.train()
        losses = [train_step(cfg, model, opt, sampler, key, pos)
                  for key, pos in epoch_batches(types, cfg.batch_size, seed, epoch)]
        return {"loss": sum(losses) / max(len(losses), 1), "batches": len(losses)}

    def per_relation(z, name: str):
        (pe, pt), (ne, nt) = split[name], eval_sets[name]
        return relation_metrics(model.score(z, "dd", pe[0], pe[1], pt), pt, model.score(z, "dd", ne[0], ne[1], nt),
                                nt, graph.num_relations, cfg.min_eval_edges)

    def validate() -> dict[str, float]:
        return per_relation(model.encode(), "val").summary()

    def test() -> dict:
        z = model.encode()
        out = {}
        for name in ("val", "test"):
            rm = per_relation(z, name)
            out[name] = rm.summary()
            out[f"{name}_per_relation"] = rm.values
        out["test"].update(multiclass_view(model, z, *split["test"], graph.num_relations))
        return {**out["test"], **out}  # top level: the test summary (what the loop logs)

    return SeedParts(model, opt, train_epoch, validate, test, generators=[neg_gen])


def _seed(cfg: Config, graph: DecagonGraph, run_dir: RunDir, index: int, quiet: bool) -> dict:
    seed = cfg.seed + index
    split = split_edges(graph, cfg.val_ratio, cfg.test_ratio, stream_generator(seed, 104_729))
    for name in ("val", "test"):
        most = int(torch.bincount(split[name][1], minlength=graph.num_relations).max()) if split[name][1].numel() else 0
        if most < cfg.min_eval_edges:
            raise InputError(f"{graph.source_path or graph.name}: no relation has min_eval_edges={cfg.min_eval_edges} "
                             f"{name} edges (the most is {most}), so nothing can be evaluated; lower min_eval_edges "
                             "or give more edges per relation.")
    # fixed per seed, identical for every model evaluated with this seed and data
    eval_sets = {"split": split, **{s: eval_negatives(split, s, graph.num_drugs, graph.num_relations, seed)
                                    for s in ("val", "test")}}
    settings = LoopSettings(epochs=cfg.epochs, eval_every=cfg.eval_every, select=cfg.select,
                            patience=cfg.patience, max_minutes=cfg.max_minutes)

    def finish(fitted: Fitted, test: dict) -> dict:
        metrics = {}
        for name in ("val", "test"):
            for k, v in test[name].items():
                metrics[f"{name}_{k}" if k != "relations" else f"{name}_relations_evaluated"] = v
        metrics.update(best_epoch=fitted.best_epoch, epochs_run=fitted.epochs_run, train_minutes=fitted.elapsed_s / 60)
        return {"metrics": metrics, "stop_reason": fitted.stop_reason,
                "per_relation": {f"{s}_{m}": test[f"{s}_per_relation"][m] for s in ("val", "test") for m in METRICS},
                "counts": {s: torch.bincount(split[s][1], minlength=graph.num_relations).numpy() for s in split}}

    return train_seed(run_dir, index, seed, lambda gen: _setup(cfg, graph, seed, gen, eval_sets), settings, finish,
                      quiet)


# ----------------------------------------------------------------------------- the run


def check_config(cfg: Config) -> None:
    if cfg.seeds < 1:
        raise ConfigError(f"seeds={cfg.seeds}: at least one seed is needed.")
    if cfg.decoder == "complex" and cfg.out % 2:
        raise ConfigError(f"decoder=complex needs an even out (embedding size), not out={cfg.out}.")
    if not (0 < cfg.val_ratio < 1 and 0 < cfg.test_ratio < 1 and cfg.val_ratio + cfg.test_ratio < 1):
        raise ConfigError(f"val_ratio={cfg.val_ratio}, test_ratio={cfg.test_ratio}: each must be in (0, 1), "
                          "their sum below 1.")
    if cfg.batch_size < 1 or cfg.epochs < 1:
        raise ConfigError("batch_size and epochs must be at least 1.")


def protocol(cfg: Config, graph: DecagonGraph, records: list[dict]) -> str:
    enc = {"decagon": "Decagon encoder (2 relation-typed GCN layers, symmetric normalisation)",
           "rgcn": "R-GCN encoder (2 relation-typed layers, mean normalisation, no basis decomposition)",
           "mlp": "per-node MLP on the features (no graph)", "none": "free node embeddings (no encoder)"}[cfg.encoder]
    split = ("the dataset's given train/val/test split" if graph.edges is not None else
             f"per relation {100 * (1 - cfg.val_ratio - cfg.test_ratio):.0f}/{100 * cfg.val_ratio:.0f}/"
             f"{100 * cfg.test_ratio:.0f} (new split per seed)")
    stops = sorted({r["stop_reason"] for r in records})
    ev = records[0]["metrics"]
    text = (f"{graph.num_drugs:,} drugs, {graph.num_proteins:,} proteins, {graph.num_relations} drug–drug relations; "
            f"{split}; {enc}, {cfg.hidden}->{cfg.out}, dropout {cfg.dropout}; {cfg.decoder} drug–drug decoder, "
            f"bilinear protein decoders; {'cross-entropy' if cfg.loss == 'ce' else f'hinge (margin {cfg.margin})'} "
            f"with one negative per positive ∝ degree^{cfg.neg_alpha:g}; per-edge-type batches of {cfg.batch_size}, "
            f"Adam {cfg.lr:g}; up to {cfg.epochs} epochs, patience {cfg.patience}, max {cfg.max_minutes} min per seed "
            f"({'; '.join(stops)}); state of best mean val {cfg.select.upper()} tested once. Metrics per relation "
            f"against equally many uniform negative drug pairs (no known positive of that relation in any split, fixed "
            f"per seed), mean and median over relations with >= {cfg.min_eval_edges} positives in the split "
            f"({int(ev['test_relations_evaluated'])} of {graph.num_relations} on test, "
            f"{int(ev['val_relations_evaluated'])} on val); mean ± std over {cfg.seeds} seed(s). {graph.feature_desc}.")
    for note in graph.notes:
        text += f" {note[0].upper()}{note[1:]}."
    if graph.excluded:
        text += (f" {len(graph.excluded)} relation(s) excluded before training (fewer than "
                 f"{max(cfg.min_relation_edges, 10)} edges), listed in artifacts/per_relation.csv.")
    text += (" test_mc_*: the multi-class view of the test split (for each held-out pair, the argmax of the "
             "relation scores; accuracy, macro-F1, Cohen's kappa) of the same model, trained as a link predictor.")
    return text + " Per-relation test metrics: artifacts/per_relation.csv and per_relation.png."


def run(cfg: Config, run_dir: RunDir, quiet: bool = False) -> Result:
    check_config(cfg)
    graph = load_graph(cfg)
    t0 = time.perf_counter()
    records = [_seed(cfg, graph, run_dir, i, quiet) for i in range(cfg.seeds)]
    metrics = summarize_runs([r["metrics"] for r in records])
    metrics["wall_time_s"] = time.perf_counter() - t0

    csv_path, png_path = run_dir.artifacts / "per_relation.csv", run_dir.artifacts / "per_relation.png"
    per_seed = [r["per_relation"] for r in records]
    write_relation_table(csv_path, graph.relations, graph.relation_text, records[0]["counts"], per_seed, graph.excluded)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            mean_rel = {m: np.nanmean([s[f"test_{m}"] for s in per_seed], axis=0) for m in METRICS}
    plot_distribution(png_path, mean_rel, f"{cfg.encoder} + {cfg.decoder} on {graph.name}: per-relation test "
                                          f"metrics (mean over {cfg.seeds} seed(s))")
    dataset = dataset_label(cfg, ("triples",))
    result = Result("decagon", dataset, protocol(cfg, graph, records), metrics, run_dir.path,
                    {"per_relation_csv": csv_path, "per_relation_plot": png_path})
    run_dir.write_metrics(result.to_json())
    write_report(run_dir, result, curves=["loss", f"val_{cfg.select}"])
    return result
