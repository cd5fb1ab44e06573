"""`jaket-link`: KG link prediction with LM1 + KM on a KG the model never saw (an extra task of
the issue; the paper has no link-prediction table).

1. Load the unseen KG (UMLS by default: 135 entities, 46 relations, its given
   train / dev / test triples).
2. Recompute E^(0) and R^(0) from its descriptions and relation texts with the (pretrained)
   LM1 (frozen).
3. Encode every entity with LM1 + KM over the training triples only (no LM2), project it
   (a linear map shared by all rows) and score a triple with DistMult,
   s(h, r, t) = <P e_h, w_r, P e_t>; head prediction uses an inverse relation per relation.
4. Train KM, projection and w with 1-N cross-entropy (each (h, r) query against every
   entity; Lacroix et al. 2018) over mini-batches of training queries, AdamW; validate the
   filtered MRR on dev every `eval_every` epochs and keep the best state
   (`train.loop.train_seed`); test it once.

Metrics: filtered MRR and Hits@1/3/10 (`plexus.eval.link_prediction.filtered_ranks`: the other
known true answers of a query in train + dev + test are left out of its ranking; ties count
half), over both tail and head queries. Baselines as in `jaket-entity` (`common.py`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
from torch import nn

from plexus.config import BaseConfig
from plexus.eval.aggregate import summarize_runs
from plexus.eval.link_prediction import filtered_ranks, rank_metrics
from plexus.methods.jaket.downstream.common import kg_entities, load_model, prepare_unseen_kg, seeds_phrase
from plexus.result import Result
from plexus.train.loop import LoopSettings, SeedParts, train_seed
from plexus.train.report import write_report
from plexus.train.rundir import RunDir
from plexus.train.seed import stream_generator


@dataclass
class Config(BaseConfig):
    dataset: str = "umls"
    seeds: int = 3
    pretrained: str = ""  # a `plexus run jaket` run directory; "" = the released LM (baselines)
    knowledge: bool = True  # LM1 + KM; false: the LM alone
    lm: str = "default"
    epochs: int = 40
    batch_size: int = 1024  # training queries per step
    lr: float = 1e-3
    weight_decay: float = 0.0
    eval_every: int = 2
    patience: int = 10
    encode_batch_size: int = 64
    threads: int = 0


def queries(edge_index: torch.Tensor, edge_type: torch.Tensor, num_relations: int) -> torch.Tensor:
    """[Q, 3] (entity, relation, answer): tail queries (h, r, ?) and head queries (t, r^-1, ?)."""
    h, t = edge_index
    return torch.cat([torch.stack([h, edge_type, t], 1), torch.stack([t, edge_type + num_relations, h], 1)])


def known_answers(q: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """[2, F] (query row, entity) of every known true answer of each query in `q` ([Q, 3]),
    `known` being all true (entity, relation, answer) rows (train + dev + test)."""
    key = known[:, 0] * 1_000_003 + known[:, 1]
    order = torch.argsort(key)
    key_sorted, answers = key[order], known[order, 2]
    qkey = q[:, 0] * 1_000_003 + q[:, 1]
    lo = torch.searchsorted(key_sorted, qkey, right=False)
    hi = torch.searchsorted(key_sorted, qkey, right=True)
    counts = hi - lo
    rows = torch.repeat_interleave(torch.arange(len(q)), counts)
    first = torch.cumsum(counts, 0) - counts
    pos = lo[rows] + torch.arange(len(rows)) - first[rows]
    return torch.stack([rows, answers[pos]])


class DistMult(nn.Module):
    def __init__(self, hidden: int, num_relations: int):
        super().__init__()
        self.proj = nn.Linear(hidden, hidden)
        self.rel = nn.Parameter(torch.ones(2 * num_relations, hidden))

    def forward(self, ent: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
        e = self.proj(ent)
        return (e[q[:, 0]] * self.rel[q[:, 1]]) @ e.t()  # [Q, num_entities]


def run(cfg: Config, run_dir: RunDir, quiet: bool = False) -> Result:
    from plexus.datasets import load_dataset
    from plexus.methods.jaket.knowledge import KnowledgeModule
    from plexus.train.threads import torch_threads

    with torch_threads(cfg.threads):
        t_all = time.perf_counter()
        data = load_dataset(cfg.dataset, cfg.data_dir)
        model, _, what = load_model(cfg.pretrained, cfg.knowledge, cfg.lm, cfg.device)
        for p in model.parameters():
            p.requires_grad_(False)
        kg = prepare_unseen_kg(model, data, cfg.knowledge, cfg.encode_batch_size)
        nr = kg.num_relations
        split_q = {s: queries(data[f"{s}_edge_index"], data[f"{s}_edge_type"], nr) for s in ("train", "val", "test")}
        every = torch.cat(list(split_q.values()))
        known = {s: known_answers(q, every) for s, q in split_q.items()}
        km_start = {k: v.clone() for k, v in model.km.state_dict().items()}
        records = []
        for i in range(cfg.seeds):
            seed = cfg.seed + i

            def setup(gen: torch.Generator, seed=seed) -> SeedParts:
                if cfg.pretrained:
                    model.km.load_state_dict(km_start)
                else:
                    model.km = KnowledgeModule(model.hidden, model.arch["km_layers"], model.arch["km_heads"]).to(cfg.device)
                decoder = DistMult(model.hidden, nr).to(cfg.device)
                parts = nn.ModuleDict({"km": model.km, "decoder": decoder})
                params = list(decoder.parameters()) + (list(model.km.parameters()) if cfg.knowledge else [])
                for p in params:
                    p.requires_grad_(True)
                opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
                train_q = split_q["train"]

                def train_epoch(epoch: int) -> dict:
                    parts.train()
                    g = stream_generator(seed, epoch)
                    order = torch.randperm(len(train_q), generator=g)
                    total = 0.0
                    for b in range(0, len(order), cfg.batch_size):
                        q = train_q[order[b:b + cfg.batch_size]]
                        opt.zero_grad()
                        scores = decoder(kg_entities(model, kg, cfg.knowledge).to(cfg.device), q.to(cfg.device))
                        loss = nn.functional.cross_entropy(scores, q[:, 2].to(cfg.device))
                        loss.backward()
                        opt.step()
                        total += loss.item() * len(q)
                    return {"loss": total / len(train_q)}

                def evaluate(split: str) -> dict:
                    q = split_q[split]
                    scores = decoder(kg_entities(model, kg, cfg.knowledge).to(cfg.device), q.to(cfg.device)).cpu()
                    return rank_metrics(filtered_ranks(scores, q[:, 2], known[split]))

                return SeedParts(parts, opt, train_epoch, validate=lambda: evaluate("val"),
                                 test=lambda: evaluate("test"), generators=[gen])

            settings = LoopSettings(epochs=cfg.epochs, eval_every=cfg.eval_every, select="mrr", patience=cfg.patience)
            record = train_seed(run_dir, i, seed, setup, settings, quiet=quiet,
                                finish=lambda fit, test: {"val_mrr": fit.best_val["mrr"],
                                                          **{f"test_{k}": v for k, v in test.items()},
                                                          "best_epoch": float(fit.best_epoch)})
            records.append(record)
        metrics = summarize_runs(records)
        metrics["wall_time_s"] = time.perf_counter() - t_all
    encoder = "LM1 + KM over the training triples (no LM2)" if cfg.knowledge else "frozen LM vectors"
    protocol = (f"link prediction on the unseen KG {cfg.dataset} (given split: {len(split_q['train']) // 2} / "
                f"{len(split_q['val']) // 2} / {len(split_q['test']) // 2} triples, tail and head queries); {what}; "
                f"memory recomputed from the KG's descriptions with LM1 (frozen); {encoder}, a shared linear projection "
                f"and DistMult, 1-N cross-entropy, AdamW lr {cfg.lr:g}, up to {cfg.epochs} epochs, the best dev filtered "
                f"MRR (every {cfg.eval_every} epochs) tested once; filtered ranking over all {kg.num_entities} entities "
                f"(ties count half); {seeds_phrase(cfg.seeds)}")
    result = Result("jaket-link", cfg.dataset, protocol, metrics, run_dir.path)
    run_dir.write_metrics(result.to_json())
    write_report(run_dir, result, curves=["loss", "val_mrr"])
    return result
