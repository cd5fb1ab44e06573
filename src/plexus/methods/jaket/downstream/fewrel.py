"""`jaket-fewrel`: few-shot relation classification on FewRel 1.0 with JAKET's text encoder.

The paper fine-tunes its encoder inside PAIR (Gao et al. 2019, a BERT sentence-pair
classifier) on FewRel's 64 training relations and reports N-way K-shot accuracy. Here only
`val_wiki`'s 16 relations exist, so (details in `fewrel_data.py`):

1. Relations: 10 evaluation relations (the ones whose facts the pretraining KG holds least),
   6 training relations. Evaluation sentences that share an 8-word run with the pretraining
   text, or whose (head, tail) pair is a pretraining-KG fact, are dropped (counted).
2. Encoder (prototypical-network style, Snell et al. 2017, instead of PAIR): a sentence goes
   through LM1 -> Z; each head/tail mention whose Wikidata id is an entity of the
   pretraining KG gets E^KM from the KM over a random-walk neighbourhood of that entity
   (E^(0) from the pretraining run's entity memory) fused into its tokens; LM2 -> Z^LM; the
   sentence vector is [(Z^LM_s + Z^LM_o)/2 of the head ; of the tail] (first and last
   sub-word token, as E^(0) is built).
3. Fine-tuning (`steps` > 0): episodes of `train_way`-way `train_shot`-shot with
   `train_query` queries per class from the training relations' train sentences; loss =
   cross-entropy of the query over -||q - prototype||^2; AdamW on LM, fusion and KM.
   Every `steps_per_eval` episodes the dev accuracy (fixed dev episodes over held-out
   sentences of the training relations) is measured and the best state kept
   (`train.loop.train_seed`, one "epoch" = `steps_per_eval` episodes).
4. Test: every evaluation sentence encoded once with the selected state; `episodes`
   (>= 1,000) episodes per setting (5-way 1-shot, 5-way 5-shot, 10-way 1-shot, 10-way 5-shot)
   with `query` queries per class, drawn with the fixed `episode_seed` (the same episodes
   for every row and seed); accuracy = share of correct queries.
Without fine-tuning (`steps=0`) the encoder is used as it comes (one run, nothing random).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor, nn

from plexus.config import BaseConfig
from plexus.errors import ConfigError, InputError
from plexus.eval.aggregate import summarize_runs
from plexus.methods.jaket.downstream.common import load_model, seeds_phrase
from plexus.methods.jaket.downstream.episodes import episode_accuracy, prototype_logits, sample_episode, sample_episodes
from plexus.methods.jaket.downstream.fewrel_data import EVAL_RELATIONS, TRAIN_RELATIONS, Encoded
from plexus.result import Result
from plexus.train.loop import LoopSettings, SeedParts, train_seed
from plexus.train.report import write_report
from plexus.train.rundir import RunDir
from plexus.train.seed import stream_generator

SETTINGS = ((5, 1), (5, 5), (10, 1), (10, 5))


@dataclass
class Config(BaseConfig):
    dataset: str = "fewrel"
    seeds: int = 3
    pretrained: str = ""  # a `plexus run jaket` run directory; "" = the released LM (baselines)
    knowledge: bool = True  # fuse KM entity embeddings into linked mentions; false: the LM alone
    lm: str = "default"
    eval_relations: list[str] = field(default_factory=lambda: list(EVAL_RELATIONS))
    train_relations: list[str] = field(default_factory=lambda: list(TRAIN_RELATIONS))
    train_per_relation: int = 500  # fine-tuning sentences per training relation
    dev_per_relation: int = 200  # held-out sentences per training relation (selection)
    eval_per_relation: int = 0  # evaluation sentences per relation after the leakage filter; 0 = all
    steps: int = 300  # fine-tuning episodes; 0 = evaluate the encoder as it is
    steps_per_eval: int = 50
    train_way: int = 5
    train_shot: int = 1
    train_query: int = 5
    lr: float = 2e-5
    weight_decay: float = 0.01
    episodes: int = 1000  # test episodes per setting
    dev_episodes: int = 200
    query: int = 5  # queries per class in test/dev episodes (the FewRel toolkit's Q)
    episode_seed: int = 0  # fixes the test episodes for every row and seed
    max_length: int = 96
    kg_hops: int = 2  # random-walk neighbourhood of a linked entity (as pretraining's KM)
    kg_fanout: int = 4
    kg_max_entities: int = 0  # pretraining KG subset for the LM + GNN baseline; 0 = whole KG
    pretraining_dataset: str = "fb15k237"  # for the leakage filter and entity linking (a run's own if pretrained)
    leak_ngram: int = 8
    batch_size: int = 32  # encoding
    threads: int = 0


# --- the pretraining KG: linking and the KM's inputs ------------------------------------------

@dataclass
class PretrainKG:
    kg: object | None  # knowledge.KnowledgeGraph with memories, None when the KM is not used
    entity_index: dict[str, int]  # Wikidata id -> entity index in `kg`
    texts: list[str]  # the pretraining corpus (leakage filter)
    fact_pairs: set[tuple[str, str]]  # Wikidata-id pairs linked by a triple, both directions
    description: str


def pretraining_kg(cfg: Config, model, info: dict) -> PretrainKG:
    """The pretraining KG and corpus. With a pretraining run, its own dataset, entity subset and
    memories; for the baselines, `pretraining_dataset` (the KG JAKET would have seen)."""
    from plexus.datasets import load_dataset
    from plexus.methods.jaket.algorithm import Config as PretrainConfig, load_data
    from plexus.methods.jaket.knowledge import (
        EntityMemory, KnowledgeGraph, build_memory, build_relation_memory)

    pcfg = PretrainConfig()
    run_cfg = info.get("config") or {}
    for key in ("dataset", "max_entities", "max_length", "data_dir"):
        if key in run_cfg:
            setattr(pcfg, key, run_cfg[key])
    if not run_cfg:
        pcfg.dataset, pcfg.max_entities, pcfg.data_dir = cfg.pretraining_dataset, cfg.kg_max_entities, cfg.data_dir
    pcfg.data_dir = pcfg.data_dir or cfg.data_dir
    # the corpus of the whole dataset is what pretraining text could contain: filter on all of it
    full = load_dataset(pcfg.dataset, pcfg.data_dir)
    data = load_data(pcfg, model.tokenizer) if cfg.knowledge else None
    entity_ids = data.entity_ids if data is not None else list(full.entity_id)
    if data is not None and info.get("entity_ids") is not None and list(info["entity_ids"]) != entity_ids:
        raise InputError(f"The pretraining run's {len(info['entity_ids'])} entities are not the {len(entity_ids)} "
                         f"that {pcfg.dataset} (max_entities={pcfg.max_entities}) gives now; its memory rows "
                         "would be read for the wrong entities.")
    qid = wikidata_ids(pcfg.dataset, pcfg.data_dir, list(full.entity_id))
    pairs: set[tuple[str, str]] = set()
    for s in ("train", "val", "test"):
        for h, t in full[f"{s}_edge_index"].t().tolist():
            if qid[h] and qid[t]:
                pairs.add((qid[h], qid[t]))
                pairs.add((qid[t], qid[h]))
    sub_qid = dict(zip(full.entity_id, qid))
    index = {sub_qid[e]: i for i, e in enumerate(entity_ids) if sub_qid.get(e)}
    kg = None
    if data is not None:
        if info.get("entity_memory") is not None:
            ent, rel = EntityMemory.from_state_dict(info["entity_memory"]), EntityMemory.from_state_dict(info["relation_memory"])
        else:  # base LM, or a run pretrained without memory: LM1 over the descriptions now
            ent, rel = build_memory(model, data.tok), build_relation_memory(model, data.tok)
        kg = KnowledgeGraph(len(data.entity_ids), data.num_relations, torch.as_tensor(data.edge_index),
                            torch.as_tensor(data.edge_type), ent, rel)
    desc = f"{pcfg.dataset} ({len(entity_ids)} entities, {len(index)} with a Wikidata id)"
    return PretrainKG(kg, index, list(full.text), pairs, desc)


def wikidata_ids(dataset: str, data_dir: str | None, entity_ids: list[str]) -> list[str]:
    """Wikidata id of each entity ("" if unknown): FB15k-237 through entity2wikidata.json."""
    if dataset != "fb15k237":
        return [""] * len(entity_ids)
    from plexus.datasets.common import read_json
    from plexus.datasets.registry import get_info, locate

    found = locate(get_info("fb15k237"), data_dir)
    table = read_json(found[1] / "entity2wikidata.json.gz") if found else {}
    return [str((table.get(mid) or {}).get("wikidata_id") or "") for mid in entity_ids]


# --- the sentence encoder -------------------------------------------------------------------

def represent(model, enc: Encoded, idx: Tensor, pkg: PretrainKG, knowledge: bool, cfg: Config,
              gen: torch.Generator) -> Tensor:
    """[len(idx), 2H] sentence vectors: head and tail mention of LM2(fuse(LM1(x), E^KM))."""
    from plexus.methods.jaket.corpus import pad_batch
    from plexus.methods.jaket.knowledge import sample_neighbourhood
    from plexus.methods.jaket.model import span_mean

    idx_np = idx.numpy()
    ids, mask = pad_batch([enc.input_ids[i] for i in idx_np], model.pad_id)
    ids, mask = ids.to(model.device), mask.to(model.device)
    rows = torch.arange(len(idx_np))
    head = torch.as_tensor(enc.head[idx_np])
    tail = torch.as_tensor(enc.tail[idx_np])
    with model.autocast():
        z = model.lm1(ids, mask)
        if knowledge and pkg.kg is not None:
            ent = torch.as_tensor(np.concatenate([enc.head_entity[idx_np], enc.tail_entity[idx_np]]))
            span = torch.cat([torch.cat([rows[:, None], head], 1), torch.cat([rows[:, None], tail], 1)])
            linked = ent >= 0
            if bool(linked.any()):
                roots, slot = torch.unique(ent[linked], return_inverse=True)
                batch = sample_neighbourhood(pkg.kg, roots, cfg.kg_hops, cfg.kg_fanout, gen)
                vecs = model.knowledge(batch)
                spans = torch.cat([span[linked], slot[:, None]], 1).to(model.device)
                z = model.fuse(z, spans, vecs)
        out = model.lm2(z, mask)
        h = span_mean(out, torch.cat([rows[:, None], head], 1).to(model.device))
        t = span_mean(out, torch.cat([rows[:, None], tail], 1).to(model.device))
    return torch.cat([h, t], 1).float()


@torch.no_grad()
def encode_all(model, enc: Encoded, pkg: PretrainKG, knowledge: bool, cfg: Config, seed: int) -> Tensor:
    was = model.training
    model.eval()
    gen = stream_generator(seed, 1_000_003)  # the neighbourhoods of test-time encoding
    order = np.argsort([len(s) for s in enc.input_ids], kind="stable")
    out = torch.zeros((len(enc), 2 * model.hidden))
    for b in range(0, len(order), cfg.batch_size):
        idx = torch.as_tensor(order[b:b + cfg.batch_size])
        out[idx] = represent(model, enc, idx, pkg, knowledge, cfg, gen).cpu()
    model.train(was)
    return out


# --- run -------------------------------------------------------------------------------------

def check_config(cfg: Config) -> None:
    overlap = set(cfg.eval_relations) & set(cfg.train_relations)
    if overlap:
        raise ConfigError(f"eval_relations and train_relations share {sorted(overlap)}; they must be disjoint.")
    if max(n for n, _ in SETTINGS) > len(cfg.eval_relations):
        raise ConfigError(f"10-way episodes need 10 evaluation relations; eval_relations has {len(cfg.eval_relations)}.")
    if cfg.steps and cfg.train_way > len(cfg.train_relations):
        raise ConfigError(f"train_way={cfg.train_way} exceeds the {len(cfg.train_relations)} training relations.")
    if cfg.episodes < 1 or cfg.query < 1:
        raise ConfigError("episodes and query must be >= 1.")
    if cfg.steps % cfg.steps_per_eval:
        raise ConfigError(f"steps={cfg.steps} must be a multiple of steps_per_eval={cfg.steps_per_eval} (0 = no fine-tuning).")


def run(cfg: Config, run_dir: RunDir, quiet: bool = False) -> Result:
    from plexus.datasets import load_dataset
    from plexus.methods.jaket.downstream.fewrel_data import encode, leakage_filter, pools_of, text_ngrams
    from plexus.methods.jaket.knowledge import KnowledgeModule
    from plexus.train.loop import log
    from plexus.train.threads import torch_threads

    check_config(cfg)
    with torch_threads(cfg.threads):
        t_all = time.perf_counter()
        fewrel = load_dataset(cfg.dataset, cfg.data_dir)
        unknown = sorted(set(cfg.eval_relations + cfg.train_relations) - set(fewrel.relations))
        if unknown:
            raise ConfigError(f"relations {unknown} are not in {cfg.dataset} ({', '.join(fewrel.relations)}).")
        model, info, what = load_model(cfg.pretrained, cfg.knowledge, cfg.lm, cfg.device)
        pkg = pretraining_kg(cfg, model, info)
        # the evaluation pool: leakage filter first, then the per-relation cap (fixed draw)
        corpus_grams = text_ngrams(pkg.texts, cfg.leak_ngram)
        kept, leaks = leakage_filter(pools_of(fewrel, cfg.eval_relations, 0, cfg.episode_seed), corpus_grams,
                                     cfg.leak_ngram, pkg.fact_pairs)
        by_rel: dict[str, list] = {r: [] for r in cfg.eval_relations}
        for inst in kept:
            by_rel[inst.relation].append(inst)
        cap = cfg.eval_per_relation or max(len(v) for v in by_rel.values())
        test_insts = [inst for r in cfg.eval_relations for inst in by_rel[r][:cap]]
        train_insts = pools_of(fewrel, cfg.train_relations, cfg.train_per_relation, cfg.episode_seed + 1)
        dev_insts = pools_of(fewrel, cfg.train_relations, cfg.dev_per_relation, cfg.episode_seed + 1,
                             start=cfg.train_per_relation)
        tok, ml, ix = model.tokenizer, cfg.max_length, pkg.entity_index
        test = encode(test_insts, cfg.eval_relations, tok, ml, ix)
        train = encode(train_insts, cfg.train_relations, tok, ml, ix)
        dev = encode(dev_insts, cfg.train_relations, tok, ml, ix)
        linked = float(np.mean(np.concatenate([test.head_entity, test.tail_entity]) >= 0))
        log(quiet, f"jaket-fewrel: {len(test)} evaluation sentences ({leaks.text_overlap} dropped for text overlap, "
                   f"{leaks.kg_facts} for pretraining-KG facts), {linked:.1%} of their mentions linked to {pkg.description}")
        test_eps = {(n, k): sample_episodes(test.pools(), n, k, cfg.query, cfg.episodes, cfg.episode_seed)
                    for n, k in SETTINGS}
        dev_eps = sample_episodes(dev.pools(), min(5, len(cfg.train_relations)), cfg.train_shot, cfg.query,
                                  cfg.dev_episodes, cfg.episode_seed)
        start_state = {k: v.clone() for k, v in model.state_dict().items()}

        def test_metrics(seed: int) -> dict:
            vectors = encode_all(model, test, pkg, cfg.knowledge, cfg, seed)
            out = {f"acc_{n}w{k}s": episode_accuracy(vectors, eps) for (n, k), eps in test_eps.items()}
            return {"acc": out.get(f"acc_5w{cfg.train_shot}s", float("nan")), **out}  # "acc": the dev setting, for the log

        records = []
        seeds = cfg.seeds if cfg.steps else 1
        for i in range(seeds):
            seed = cfg.seed + i
            if not cfg.steps:
                records.append({f"test_{k}": v for k, v in test_metrics(seed).items() if k != "acc"})
                continue

            def setup(gen: torch.Generator, seed=seed) -> SeedParts:
                model.load_state_dict(start_state)
                if not cfg.pretrained:  # a fresh KM per seed for the no-pretraining baseline
                    model.km = KnowledgeModule(model.hidden, model.arch["km_layers"], model.arch["km_heads"]).to(cfg.device)
                opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
                pools = train.pools()

                def train_epoch(epoch: int) -> dict:
                    model.train()
                    losses = []
                    for step in range(cfg.steps_per_eval):
                        g = stream_generator(seed, epoch, step)
                        ep = sample_episode(pools, cfg.train_way, cfg.train_shot, cfg.train_query, g)
                        idx = torch.cat([ep.support.reshape(-1), ep.query.reshape(-1)])
                        vec = represent(model, train, idx, pkg, cfg.knowledge, cfg, g)
                        n, k = ep.support.shape
                        support, query = vec[:n * k].view(n, k, -1), vec[n * k:]
                        labels = torch.arange(n).repeat_interleave(ep.query.shape[1]).to(vec.device)
                        logits = prototype_logits(support, query, temperature=vec.shape[1] ** 0.5)
                        loss = nn.functional.cross_entropy(logits, labels)
                        opt.zero_grad()
                        loss.backward()
                        opt.step()
                        losses.append(loss.item())
                    return {"loss": float(np.mean(losses))}

                def validate() -> dict:
                    return {"acc": episode_accuracy(encode_all(model, dev, pkg, cfg.knowledge, cfg, seed), dev_eps)}

                return SeedParts(model, opt, train_epoch, validate, lambda: test_metrics(seed), [gen])

            settings = LoopSettings(epochs=max(1, cfg.steps // cfg.steps_per_eval), select="acc")
            record = train_seed(run_dir, i, seed, setup, settings, quiet=quiet,
                                finish=lambda fit, test_m: {"dev_acc": fit.best_val["acc"],
                                                            **{f"test_{k}": v for k, v in test_m.items() if k != "acc"},
                                                            "best_step": float(fit.best_epoch * cfg.steps_per_eval)})
            records.append(record)
        metrics = summarize_runs(records)
        metrics.update({"wall_time_s": time.perf_counter() - t_all, "eval_sentences": float(len(test)),
                        "dropped_text_overlap": float(leaks.text_overlap), "dropped_kg_facts": float(leaks.kg_facts),
                        "linked_mentions": linked})
    tuned = (f"fine-tuned on {cfg.steps} {cfg.train_way}-way {cfg.train_shot}-shot episodes ({cfg.train_query} queries "
             f"per class) of the {len(cfg.train_relations)} training relations ({cfg.train_per_relation} sentences "
             f"each), AdamW lr {cfg.lr:g}, the best of every {cfg.steps_per_eval} episodes on {cfg.dev_episodes} dev "
             f"episodes (held-out sentences of the training relations); {seeds_phrase(cfg.seeds)}"
             if cfg.steps else "no fine-tuning (the encoder as it comes; one run)")
    protocol = (f"FewRel 1.0 val_wiki, {len(cfg.eval_relations)} evaluation relations / {len(cfg.train_relations)} "
                f"training relations (disjoint); {what}; prototypical classifier (squared Euclidean to the mean "
                f"support vector; training loss at temperature sqrt(dim)) over [head ; tail] mention vectors of "
                + (f"LM2 after fusing KM embeddings of mentions linked to {pkg.description}" if cfg.knowledge
                   else "the LM (no KM, no fusion)") + f"; {tuned}; "
                f"{cfg.episodes} test episodes per setting, {cfg.query} queries per class, fixed episode seed "
                f"{cfg.episode_seed}, over {len(test)} evaluation sentences after dropping {leaks.text_overlap} sharing "
                f"a {cfg.leak_ngram}-word run with the pretraining text and {leaks.kg_facts} whose (head, tail) is a "
                f"pretraining-KG fact; Freebase relations close to evaluation relations stay in the pretraining KG")
    result = Result("jaket-fewrel", cfg.dataset, protocol, metrics, run_dir.path)
    run_dir.write_metrics(result.to_json())
    write_report(run_dir, result, curves=["loss", "val_acc"])
    return result
