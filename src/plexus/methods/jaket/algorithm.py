"""JAKET pretraining (Yu et al., AAAI 2022, arXiv 2010.00796), step by step.

1. Corpus: every entity's description with the mention spans of its own name and of other
   entities' names found by exact matching (`corpus.py`); entity categories from the KG's
   relation schema; relation texts. Optionally a connected subset of the KG (`max_entities`,
   breadth-first from the highest-degree entity) for CPU presets.
2. Model (`model.py`): a Hugging Face encoder split into LM1 (first half of the layers) and
   LM2 (the rest), the relational GAT knowledge module, the fusion LayerNorm and the heads.
3. Entity context memory: E^(0) of every entity (LM1 at its own mention) and R^(0) of every
   relation, computed once, then refreshed every T(i) = min(I_init·a^⌊i/r⌋, I_max) steps with
   momentum m: E <- m·E + (1-m)·E_new (`plexus.nn.memory`). `memory=false` is the ablation:
   E^(0) and R^(0) are computed by LM1 for the batch's subgraph at every step, with gradient.
4. Each step: B descriptions; 15 % of mentions dropped; the KM embeds the kept mentions'
   entities and the relation pairs' entities from random-walk neighbourhoods (E^(0) from the
   memory); Z = LM1(masked text); Z_merge = LN(Z + E^KM) in kept mention spans; Z^LM =
   LM2(Z_merge); loss = category + relation + masked token + masked entity (`tasks.py`).
5. AdamW with linear warm-up and decay; checkpoint every `ckpt_every` steps (model,
   optimiser, schedule, memories, step; atomic) so `--resume` continues exactly; per-task
   losses, tokens/s and KG entities/s in history.jsonl; the model in
   artifacts/jaket_model.pt for `load_pretrained`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from plexus.config import BaseConfig
from plexus.errors import ConfigError
from plexus.result import Result
from plexus.train.report import write_report
from plexus.train.rundir import RunDir

CHECKPOINT = "pretrain.pt"


@dataclass
class Config(BaseConfig):
    dataset: str = "fb15k237"
    model: str = "default"  # bundled all-MiniLM-L6-v2 (3 + 3 layers); the paper: roberta-base (6 + 6)
    lm_split: int = 0  # layers in LM1; 0 = half (the paper's 6 + 6 of RoBERTa-base)
    max_length: int = 64  # paper: 512 (Experiment setup); FB15k-237 descriptions are < 64 tokens
    batch_size: int = 16  # texts per step; paper: 1024 (Experiment setup)
    steps: int = 2000
    lr: float = 1e-4
    weight_decay: float = 0.01
    warmup_steps: int = 100
    km_layers: int = 2
    km_heads: int = 4
    walk_length: int = 0  # random-walk steps from each root; 0 = km_layers
    walks_per_root: int = 4
    mlm_prob: float = 0.15  # BERT's masking rate
    mention_drop: float = 0.15  # share of mentions dropped for masked entity prediction (paper)
    entity_neighbours: int = 4  # neighbour negatives per dropped mention
    entity_random: int = 16  # random negatives per dropped mention
    tasks: str = "category,relation,mlm,entity"
    km: bool = True  # false: no knowledge module (LM tasks only), the speed reference
    memory: bool = True  # false: the no-memory ablation (LM1 per step for the subgraph)
    memory_init: int = 10  # I_init
    memory_growth: float = 2.0  # a
    memory_every: int = 3  # r
    memory_cap: int = 500  # I_max
    memory_momentum: float = 0.8  # m
    memory_batch_size: int = 256
    max_entities: int = 0  # 0 = the whole KG
    mentions: str = ""  # optional TSV of extra mention spans: entity, start, end, mentioned entity (corpus.read_mentions)
    precision: str = "auto"  # auto | fp32 | bf16 (autocast; auto = bf16 where the CPU has it natively)
    ckpt_every: int = 200
    log_every: int = 20
    threads: int = 0  # torch CPU threads; 0 = torch's default
    max_minutes: float = 0.0  # stop (checkpointed, resumable) after this long; 0 = no limit


def _tasks(cfg: Config) -> set[str]:
    from plexus.methods.jaket.tasks import TASKS

    tasks = {t.strip() for t in cfg.tasks.split(",") if t.strip()}
    bad = tasks - set(TASKS)
    if bad or not tasks:
        raise ConfigError(f"tasks: unknown {sorted(bad)}; choose from {', '.join(TASKS)}.")
    if not cfg.km:
        tasks -= {"category", "relation"}
    return tasks


def check_config(cfg: Config) -> None:
    if not 0 < cfg.mlm_prob < 1 or not 0 <= cfg.mention_drop < 1:
        raise ConfigError("mlm_prob must be in (0, 1) and mention_drop in [0, 1).")
    if cfg.steps < 1 or cfg.batch_size < 1 or cfg.max_length < 8:
        raise ConfigError("steps and batch_size must be >= 1, max_length >= 8.")
    if cfg.max_entities and cfg.max_entities < 10:
        raise ConfigError("max_entities must be 0 (all) or >= 10.")
    _tasks(cfg)


# --- data -----------------------------------------------------------------------------------

def entity_names(cfg: Config, data) -> list[str] | None:
    """Entity names: `data.entity_name` if the loader gives it; for FB15k-237 the KG-BERT name
    file (names can hold commas, so they cannot be cut from "name, description"); else None
    (the corpus takes the text before the first ", ")."""
    names = getattr(data, "entity_name", None)
    if names is not None:
        return list(names)
    if cfg.dataset != "fb15k237":
        return None
    from plexus.datasets.common import read_pairs
    from plexus.datasets.registry import get_info, locate

    found = locate(get_info("fb15k237"), cfg.data_dir)
    if found is None:
        return None
    table = read_pairs(found[1] / "entity2text.txt.gz")
    # the loader's text starts with the name when there is one (else the MID)
    return [table.get(mid, "").strip() or text.split(", ", 1)[0] for mid, text in zip(data.entity_id, data.text)]


def kg_subset(num_entities: int, edge_index: np.ndarray, limit: int) -> np.ndarray:
    """`limit` entities reached breadth-first from the highest-degree entity (a connected,
    dense corner of the KG, so a small preset still has neighbourhoods)."""
    from collections import deque

    adj: list[list[int]] = [[] for _ in range(num_entities)]
    for h, t in edge_index.T.tolist():
        adj[h].append(t)
        adj[t].append(h)
    start = int(np.argmax([len(a) for a in adj]))
    seen, order, queue = {start}, [start], deque([start])
    while queue and len(order) < limit:
        for u in adj[queue.popleft()]:
            if u not in seen and len(order) < limit:
                seen.add(u)
                order.append(u)
                queue.append(u)
    return np.sort(np.asarray(order, dtype=np.int64))


@dataclass
class PretrainData:
    corpus: object
    tok: object
    edge_index: np.ndarray
    edge_type: np.ndarray
    entity_ids: list[str]
    num_relations: int


def load_data(cfg: Config, tokenizer) -> PretrainData:
    from plexus.datasets import load_dataset
    from plexus.methods.jaket.corpus import build_corpus, tokenize_corpus

    data = load_dataset(cfg.dataset, cfg.data_dir)
    texts, ids = list(data.text), list(data.entity_id)
    names = entity_names(cfg, data)
    ei, et = data.edge_index.numpy(), data.edge_type.numpy()
    if cfg.max_entities and cfg.max_entities < data.num_nodes:
        keep = kg_subset(data.num_nodes, ei, cfg.max_entities)
        new = -np.ones(data.num_nodes, dtype=np.int64)
        new[keep] = np.arange(len(keep))
        inside = (new[ei[0]] >= 0) & (new[ei[1]] >= 0)
        ei, et = new[ei[:, inside]], et[inside]
        texts, ids = [texts[i] for i in keep], [ids[i] for i in keep]
        names = [names[i] for i in keep] if names is not None else None
    corpus = build_corpus(texts, names, list(data.relation_id), list(data.relation_text), ei, et)
    if cfg.mentions:
        from plexus.methods.jaket.corpus import read_mentions

        corpus.counts["user_mentions"] = read_mentions(Path(cfg.mentions).expanduser(), ids, corpus)
    tok = tokenize_corpus(corpus, tokenizer, cfg.max_length)
    return PretrainData(corpus, tok, ei, et, ids, len(data.relation_id))


# --- training ---------------------------------------------------------------------------------

def _schedule(cfg: Config, optimizer) -> torch.optim.lr_scheduler.LambdaLR:
    def factor(step: int) -> float:
        if step < cfg.warmup_steps:
            return (step + 1) / max(cfg.warmup_steps, 1)
        return max(0.0, (cfg.steps - step) / max(cfg.steps - cfg.warmup_steps, 1))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


class Pretrainer:
    """Everything one pretraining run holds; `step()` is one optimisation step."""

    def __init__(self, cfg: Config, model, data: PretrainData, gen_seed: int):
        from plexus.methods.jaket.knowledge import KnowledgeGraph
        from plexus.methods.jaket.tasks import PairRelations

        self.cfg, self.model, self.data = cfg, model, data
        self.tasks = _tasks(cfg)
        self.kg = KnowledgeGraph(data.corpus.num_entities, data.num_relations,
                                 torch.from_numpy(data.edge_index), torch.from_numpy(data.edge_type))
        self.pairs = PairRelations(data.corpus.num_entities, data.edge_index, data.edge_type)
        self.categories = torch.from_numpy(data.corpus.categories)
        self.seed = gen_seed
        decay = [p for n, p in model.named_parameters() if p.dim() > 1]
        rest = [p for n, p in model.named_parameters() if p.dim() <= 1]
        self.optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                                            {"params": rest, "weight_decay": 0.0}], lr=cfg.lr)
        self.scheduler = _schedule(cfg, self.optimizer)
        self.step_no = 0

    # memories --------------------------------------------------------------------------
    def build_memories(self) -> None:
        from plexus.methods.jaket.knowledge import build_memory, build_relation_memory
        from plexus.nn.memory import RefreshSchedule

        cfg = self.cfg
        sched = RefreshSchedule(cfg.memory_init, cfg.memory_growth, cfg.memory_every, cfg.memory_cap)
        self.kg.entity_memory = build_memory(self.model, self.data.tok, cfg.memory_batch_size,
                                             cfg.memory_momentum, sched)
        self.kg.relation_memory = build_relation_memory(self.model, self.data.tok, cfg.memory_batch_size,
                                                        cfg.memory_momentum, sched)

    def refresh_memories(self) -> None:
        from plexus.methods.jaket.knowledge import encode_spans

        tok, bs = self.data.tok, self.cfg.memory_batch_size
        for mem, seqs, spans in ((self.kg.entity_memory, tok.ids, tok.own),
                                 (self.kg.relation_memory, tok.relation_ids, tok.relation_span)):
            new = encode_spans(self.model, seqs, spans, bs)
            mem.update(torch.arange(mem.num_items), new)
            mem.mark_refreshed(self.step_no)

    def _describe_live(self, entities: torch.Tensor) -> torch.Tensor:
        """E^(0) of `entities` by LM1 now, with gradient (the no-memory ablation)."""
        from plexus.methods.jaket.corpus import pad_batch

        tok, m = self.data.tok, self.model
        entities = entities.cpu()
        ids, mask = pad_batch([tok.ids[e] for e in entities.tolist()], m.pad_id)
        sp = torch.as_tensor(tok.own[entities.numpy()])
        rows = torch.arange(len(entities))
        spans = torch.stack([rows, sp[:, 0], sp[:, 1], rows], 1)
        return m.describe(ids.to(m.device), mask.to(m.device), spans.to(m.device))

    def _relations_live(self, types: torch.Tensor) -> torch.Tensor:
        from plexus.methods.jaket.corpus import pad_batch

        tok, m = self.data.tok, self.model
        used = torch.unique(types.cpu())
        ids, mask = pad_batch([tok.relation_ids[r] for r in used.tolist()], m.pad_id)
        sp = torch.as_tensor(tok.relation_span[used.numpy()])
        rows = torch.arange(len(used))
        spans = torch.stack([rows, sp[:, 0], sp[:, 1], rows], 1)
        vec = m.describe(ids.to(m.device), mask.to(m.device), spans.to(m.device))
        out = torch.zeros((self.data.num_relations, m.hidden), dtype=vec.dtype, device=vec.device)
        return out.index_copy(0, used.to(vec.device), vec)

    # one step --------------------------------------------------------------------------
    def step(self) -> dict[str, float]:
        from plexus.methods.jaket import tasks as T
        from plexus.methods.jaket.knowledge import sample_neighbourhood
        from plexus.train.seed import stream_generator

        cfg, model = self.cfg, self.model
        if cfg.memory and self.kg.entity_memory is not None and self.kg.entity_memory.refresh_due(self.step_no):
            self.refresh_memories()
        gen = stream_generator(self.seed, self.step_no)
        torch.manual_seed(int(torch.randint(2**62, (1,), generator=gen)))  # dropout: resume-exact
        n = self.data.corpus.num_entities
        entities = torch.randint(n, (cfg.batch_size,), generator=gen).numpy()
        b = T.make_batch(self.data.tok, self.kg, self.pairs, entities, model.tokenizer, gen, cfg.mlm_prob,
                         cfg.mention_drop if "entity" in self.tasks else 0.0, cfg.entity_neighbours,
                         cfg.entity_random, with_pairs="relation" in self.tasks)
        model.train()
        losses: dict[str, torch.Tensor] = {}
        km_nodes = 0
        dev = model.device

        def to(t: torch.Tensor) -> torch.Tensor:  # the batch is built on the CPU (sampling, memory rows)
            return t.to(dev, non_blocking=True)

        attn = to(b.attention_mask)
        with model.autocast():
            z = model.lm1(to(b.input_ids), attn)
            if cfg.km:
                graph = sample_neighbourhood(self.kg, b.roots, cfg.walk_length or cfg.km_layers, cfg.walks_per_root,
                                             gen, exclude_pairs=b.pair_entities)
                if not cfg.memory:
                    graph.node_init = self._describe_live(graph.nodes)
                    graph.relation_init = self._relations_live(graph.edge_type)
                km_nodes = len(graph.nodes)
                e_km = model.knowledge(graph)
                z = model.fuse(z, to(b.fuse_spans), e_km)
                if "category" in self.tasks:
                    losses["category"] = T.category_loss(model, e_km, to(self.categories[b.roots]))
                if "relation" in self.tasks:
                    losses["relation"] = T.relation_loss(model, e_km, to(b.pairs), to(b.pair_labels))
            z_lm = model.lm2(z, attn)
            if "mlm" in self.tasks:
                losses["mlm"] = T.mlm_loss(model, z_lm, to(b.mlm_labels))
            if "entity" in self.tasks and len(b.drop_spans):
                if cfg.memory:
                    cand = to(self.kg.entity_memory.vectors[b.candidates])
                else:
                    flat = torch.unique(b.candidates)
                    vec = self._describe_live(flat)
                    cand = vec[to(torch.searchsorted(flat, b.candidates))]
                losses["entity"] = T.entity_loss(model, z_lm, to(b.drop_spans), to(b.candidates), cand)
        total = sum(losses.values())
        self.optimizer.zero_grad(set_to_none=True)
        total.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        self.optimizer.step()
        self.scheduler.step()
        self.step_no += 1
        out = {k: float(v.detach()) for k, v in losses.items()}
        out["loss"] = float(total.detach())
        out["tokens"] = b.tokens
        out["km_entities"] = km_nodes
        return out

    # checkpoints -----------------------------------------------------------------------
    def state(self) -> dict:
        kg = self.kg
        return {
            "arch": self.model.arch, "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(), "step": self.step_no,
            "entity_memory": kg.entity_memory.state_dict() if kg.entity_memory is not None else None,
            "relation_memory": kg.relation_memory.state_dict() if kg.relation_memory is not None else None,
            "entity_ids": self.data.entity_ids, "category_names": self.data.corpus.category_names,
            "relation_texts": self.data.corpus.relation_texts,
        }

    def load(self, state: dict) -> None:
        from plexus.methods.jaket.knowledge import EntityMemory

        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.step_no = int(state["step"])
        if state.get("entity_memory") is not None:
            self.kg.entity_memory = EntityMemory.from_state_dict(state["entity_memory"])
            self.kg.relation_memory = EntityMemory.from_state_dict(state["relation_memory"])


def run(cfg: Config, run_dir: RunDir, quiet: bool = False) -> Result:
    from plexus.methods.jaket.model import MODEL_FILE, JaketModel
    from plexus.text.encoder import _as_device, resolve_precision
    from plexus.train.checkpoint import load_checkpoint, save_checkpoint
    from plexus.train.loop import log
    from plexus.train.seed import seed_everything
    from plexus.train.threads import torch_threads

    check_config(cfg)
    with torch_threads(cfg.threads):
        seed_everything(cfg.seed)
        device = _as_device(cfg.device)
        precision = resolve_precision(cfg.precision, device)
        t_load = time.perf_counter()
        # heads need the corpus sizes; the tokenizer comes from the same model name
        from plexus.text.encoder import load_tokenizer

        data = load_data(cfg, load_tokenizer(cfg.model))
        model = JaketModel(cfg.model, cfg.km_layers, cfg.km_heads, len(data.corpus.category_names),
                           data.num_relations, cfg.lm_split or None, cfg.max_length, precision)
        model.to(device)
        trainer = Pretrainer(cfg, model, data, cfg.seed)
        ckpt_path = run_dir.checkpoints / CHECKPOINT
        state = load_checkpoint(ckpt_path)
        if state is not None:
            trainer.load(state)
            run_dir.keep_history(lambda r: r.get("step", 0) <= trainer.step_no)
            log(quiet, f"jaket: resumed at step {trainer.step_no}")
        elif cfg.km or "entity" in trainer.tasks:
            if cfg.memory:
                trainer.build_memories()
        setup_s = time.perf_counter() - t_load
        counts = {**data.corpus.counts, "truncated_mentions": data.tok.truncated_mentions,
                  "own_truncated": data.tok.own_truncated, "entities": data.corpus.num_entities,
                  "triples": int(data.edge_index.shape[1]), "categories": len(data.corpus.category_names)}
        log(quiet, f"jaket: {counts['entities']} entities, {counts['mentions']} mentions, "
                   f"{counts['categories']} categories; fallbacks: {counts.get('no_description', 0)} without "
                   f"description (name used), {counts.get('name_prepended', 0)} names prepended")
        started = time.perf_counter()
        window: list[dict] = []
        tokens = ents = 0
        busy = 0.0
        stopped_early = False
        while trainer.step_no < cfg.steps:
            t0 = time.perf_counter()
            rec = trainer.step()
            busy += time.perf_counter() - t0
            tokens += rec["tokens"]
            ents += rec["km_entities"]
            window.append(rec)
            step = trainer.step_no
            if step % cfg.log_every == 0 or step == cfg.steps:
                keys = sorted({k for w in window for k in w} - {"tokens", "km_entities"})
                line = {"step": step, **{k: float(np.mean([w[k] for w in window if k in w])) for k in keys},
                        "tokens_per_s": tokens / busy, "entities_per_s": ents / busy,
                        "lr": trainer.scheduler.get_last_lr()[0]}
                run_dir.log(**line)
                log(quiet, "jaket step {step}: ".format(step=step)
                    + " ".join(f"{k}={v:.4g}" for k, v in line.items() if k != "step"))
                window = []
            timed_out = cfg.max_minutes and (time.perf_counter() - started) / 60 >= cfg.max_minutes
            if step % cfg.ckpt_every == 0 or step == cfg.steps or timed_out:
                save_checkpoint(ckpt_path, trainer.state())
            if timed_out and step < cfg.steps:
                stopped_early = True
                break
        final = trainer.state()
        for key in ("optimizer", "scheduler"):
            final.pop(key)
        final["config"] = {k: v for k, v in vars(cfg).items()}
        final["counts"] = counts
        if not stopped_early:
            save_checkpoint(run_dir.artifacts / MODEL_FILE, final)
        hist = run_dir.history()
        last = hist[-1] if hist else {}
        metrics = {k: v for k, v in last.items() if k not in ("step", "lr")}
        metrics.update({"steps_done": float(trainer.step_no), "setup_seconds": setup_s,
                        **{f"count_{k}": float(v) for k, v in counts.items()}})
        run_dir.write_metrics({"metrics": metrics, "finished": not stopped_early})
        protocol = (f"JAKET pretraining on {cfg.dataset} ({counts['entities']} entities), {trainer.step_no} steps of "
                    f"{cfg.batch_size} descriptions, model {cfg.model}; losses are the mean of the last "
                    f"{cfg.log_every}-step window; tokens/s and KG entities/s are over training steps only.")
        artifacts = {"model": run_dir.artifacts / MODEL_FILE} if not stopped_early else {}
        result = Result("jaket", cfg.dataset, protocol, metrics, run_dir.path, artifacts)
        curves = sorted({k for r in hist for k in r} - {"step", "lr", "tokens_per_s", "entities_per_s"})
        write_report(run_dir, result, curves=curves, x_key="step")  # one curve per task loss
        return result
