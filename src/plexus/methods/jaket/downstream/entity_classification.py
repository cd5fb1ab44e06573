"""`jaket-entity`: entity classification on a KG the model never saw (JAKET, "fine-tuning with
unseen KGs").

1. Load the unseen KG (UMLS by default) and its classes: the UMLS semantic group of each of
   its 135 semantic-type entities (`categories.py`, 15 groups).
2. Recompute the entity memory E^(0) from the KG's own descriptions with the (pretrained)
   LM1, and R^(0) from its relation texts; LM1 stays frozen (the memory is a cache of it).
3. Per seed, split the entities 20 % / 20 % / 60 % train / dev / test (the paper's
   semi-supervised transductive setting, drawn per seed with `graph.node_splits`).
4. Run LM1 + KM (no LM2) over the whole training graph of the KG, a linear classifier on
   E^KM; train KM and classifier with cross-entropy on the train entities (full batch,
   AdamW), validate every `eval_every` steps and keep the best dev accuracy
   (`train.loop.train_seed`), then test that state once.

Baselines through the same code (`common.py`): the base LM alone (frozen LM vectors and a
linear classifier), LM + a randomly initialised KM, JAKET with or without memory in
pretraining. A randomly initialised KM is drawn afresh per seed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
from torch import nn

from plexus.config import BaseConfig
from plexus.errors import ConfigError
from plexus.eval.aggregate import summarize_runs
from plexus.eval.classification import accuracy
from plexus.graph.node_splits import split_nodes
from plexus.methods.jaket.downstream.common import kg_entities, load_model, prepare_unseen_kg, seeds_phrase
from plexus.result import Result
from plexus.train.loop import LoopSettings, SeedParts, train_seed
from plexus.train.report import write_report
from plexus.train.rundir import RunDir


@dataclass
class Config(BaseConfig):
    dataset: str = "umls"
    seeds: int = 3
    pretrained: str = ""  # a `plexus run jaket` run directory; "" = the released LM (baselines)
    knowledge: bool = True  # LM1 + KM; false: the LM alone
    lm: str = "default"  # the LM when pretrained is "" (any Hugging Face encoder)
    train_ratio: float = 0.2  # the paper's 20 % / 20 % / 60 %
    val_ratio: float = 0.2
    epochs: int = 300  # full-batch steps
    lr: float = 1e-3
    weight_decay: float = 0.01
    eval_every: int = 5
    patience: int = 60
    batch_size: int = 64  # description encoding
    threads: int = 0  # torch threads; 0 = leave as is


def entity_classes(dataset: str, data) -> tuple[torch.Tensor, list[str], str]:
    from plexus.methods.jaket.downstream.categories import umls_classes

    if dataset == "umls":
        y, names = umls_classes(list(data.entity_id))
        return torch.tensor(y), names, "UMLS semantic groups (McCray et al. 2001)"
    raise ConfigError(f"jaket-entity knows entity classes for dataset=umls only (got {dataset!r}): WN18RR's files "
                      "carry no lexical-file names.")


def run(cfg: Config, run_dir: RunDir, quiet: bool = False) -> Result:
    from plexus.datasets import load_dataset
    from plexus.methods.jaket.knowledge import KnowledgeModule
    from plexus.train.threads import torch_threads

    with torch_threads(cfg.threads):
        t_all = time.perf_counter()
        data = load_dataset(cfg.dataset, cfg.data_dir)
        y, class_names, class_desc = entity_classes(cfg.dataset, data)
        model, _, what = load_model(cfg.pretrained, cfg.knowledge, cfg.lm, cfg.device)
        for p in model.parameters():
            p.requires_grad_(False)  # LM1 is frozen: the memory is its cache
        kg = prepare_unseen_kg(model, data, cfg.knowledge, cfg.batch_size)
        km_start = {k: v.clone() for k, v in model.km.state_dict().items()}
        records = []
        for i in range(cfg.seeds):
            seed = cfg.seed + i
            split = split_nodes(y, "supervised", seed, train_ratio=cfg.train_ratio, val_ratio=cfg.val_ratio)

            def setup(gen: torch.Generator, split=split) -> SeedParts:
                if cfg.pretrained:
                    model.km.load_state_dict(km_start)
                else:  # no joint pretraining: a fresh KM per seed
                    model.km = KnowledgeModule(model.hidden, model.arch["km_layers"], model.arch["km_heads"]).to(cfg.device)
                head = nn.Linear(model.hidden, len(class_names)).to(cfg.device)
                parts = nn.ModuleDict({"km": model.km, "head": head})
                params = list(head.parameters()) + (list(model.km.parameters()) if cfg.knowledge else [])
                for p in params:
                    p.requires_grad_(True)
                opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)

                def logits() -> torch.Tensor:
                    return head(kg_entities(model, kg, cfg.knowledge).to(cfg.device)).cpu()

                def train_epoch(epoch: int) -> dict:
                    parts.train()
                    opt.zero_grad()
                    loss = nn.functional.cross_entropy(logits()[split.train], y[split.train])
                    loss.backward()
                    opt.step()
                    return {"loss": loss.item()}

                return SeedParts(parts, opt, train_epoch,
                                 validate=lambda: {"acc": accuracy(logits(), y, split.val)},
                                 test=lambda: {"acc": accuracy(logits(), y, split.test)},  # the one read of test labels
                                 generators=[gen])

            settings = LoopSettings(epochs=cfg.epochs, eval_every=cfg.eval_every, select="acc", patience=cfg.patience)
            record = train_seed(run_dir, i, seed, setup, settings, quiet=quiet,
                                finish=lambda fit, test: {"val_acc": fit.best_val["acc"], "test_acc": test["acc"],
                                                          "best_step": float(fit.best_epoch)})
            records.append(record)
        metrics = summarize_runs(records)
        metrics["wall_time_s"] = time.perf_counter() - t_all
    encoder = "LM1 + KM over the whole training graph (no LM2)" if cfg.knowledge else "frozen LM vectors"
    protocol = (f"entity classification on the unseen KG {cfg.dataset} ({len(class_names)} classes: {class_desc}); "
                f"{what}; entity memory recomputed from the KG's descriptions with LM1 (frozen); {encoder} + a linear "
                f"classifier, full-batch AdamW lr {cfg.lr:g}, up to {cfg.epochs} steps, the best dev accuracy "
                f"(every {cfg.eval_every} steps) tested once; {split.description} ({split.counts()}); "
                f"{seeds_phrase(cfg.seeds)}")
    result = Result("jaket-entity", cfg.dataset, protocol, metrics, run_dir.path)
    run_dir.write_metrics(result.to_json())
    write_report(run_dir, result, curves=["loss", "val_acc"])
    return result
