"""JAKET pretraining speed beside a bare Hugging Face MLM loop on the same LM and texts.

Rows (all: the same FB15k-237 descriptions, batch size, max length, AdamW, one thread):
  hf-mlm          AutoModelForMaskedLM(input_ids, labels) + backward + AdamW: the reference
  hf-mlm masked-logits  the same, vocabulary logits only at masked positions (as JAKET does)
  jaket km=off    JAKET's step with the knowledge module off (LM1 -> LM2, masked tokens only)
  jaket           the full step: 4 tasks, KM over random-walk subgraphs, E^(0) from the memory
  jaket memory=off the no-memory ablation: LM1 computes E^(0)/R^(0) of each subgraph every step

Rows are measured in interleaved rounds (so load from other processes hits them alike);
the per-step figure is the median over rounds of CPU seconds of this process (1 thread), so
another process's load does not count. Memory refreshes are timed on their own: between
refreshes a step does no memory work, and the refresh cost is amortised over T(i) steps.

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/jaket_speed.py [--entities 2000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

import torch


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entities", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--max-length", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=3, help="steps per row per round")
    args = ap.parse_args()
    torch.set_num_threads(1)

    from transformers import AutoModelForMaskedLM, DataCollatorForLanguageModeling

    from plexus.methods.jaket.algorithm import Config, Pretrainer, load_data
    from plexus.methods.jaket.model import JaketModel
    from plexus.text.encoder import _quiet_transformers, load_tokenizer, resolve_model
    from plexus.train.seed import stream_generator

    base = dict(max_entities=args.entities, batch_size=args.batch, max_length=args.max_length, steps=10**6,
                warmup_steps=10, memory_init=10**9)  # no refresh inside the timed steps (timed apart)
    t0 = time.perf_counter()
    tokenizer = load_tokenizer("default")
    data = load_data(Config(**base), tokenizer)
    load_s = time.perf_counter() - t0

    def jaket(**kw):
        cfg = Config(**base, **kw)
        torch.manual_seed(0)
        m = JaketModel("default", cfg.km_layers, cfg.km_heads, len(data.corpus.category_names), data.num_relations,
                       None, cfg.max_length, "fp32")
        tr = Pretrainer(cfg, m, data, 0)
        if cfg.km and cfg.memory:
            tr.build_memories()
        return tr

    rows = {"jaket km=off": jaket(km=False, tasks="mlm"), "jaket": jaket(), "jaket memory=off": jaket(memory=False)}
    with _quiet_transformers():
        hf = AutoModelForMaskedLM.from_pretrained(resolve_model("default"), local_files_only=True)
    hf.train()
    hf_opt = torch.optim.AdamW(hf.parameters(), lr=1e-4, weight_decay=0.01)
    collate = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15, return_tensors="pt")
    hf_step_no = [0]

    def hf_step() -> dict:
        gen = stream_generator(0, hf_step_no[0])
        hf_step_no[0] += 1
        ents = torch.randint(data.corpus.num_entities, (args.batch,), generator=gen).tolist()
        batch = collate([{"input_ids": data.tok.ids[e].tolist()} for e in ents])
        loss = hf(**batch).loss
        hf_opt.zero_grad(set_to_none=True)
        loss.backward()
        hf_opt.step()
        return {"tokens": int(batch["attention_mask"].sum()), "km_entities": 0}

    hf2 = copy.deepcopy(hf)
    hf2_opt = torch.optim.AdamW(hf2.parameters(), lr=1e-4, weight_decay=0.01)
    hf2_step_no = [0]

    def hf_masked_step() -> dict:
        # the same HF model, vocabulary logits only at the masked positions (what JAKET does):
        # the like-for-like reference for the cost of the LM1/fusion/LM2 split itself
        gen = stream_generator(0, hf2_step_no[0])
        hf2_step_no[0] += 1
        ents = torch.randint(data.corpus.num_entities, (args.batch,), generator=gen).tolist()
        batch = collate([{"input_ids": data.tok.ids[e].tolist()} for e in ents])
        h = hf2.base_model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
        where = batch["labels"] != -100
        loss = torch.nn.functional.cross_entropy(hf2.cls(h[where]), batch["labels"][where])
        hf2_opt.zero_grad(set_to_none=True)
        loss.backward()
        hf2_opt.step()
        return {"tokens": int(batch["attention_mask"].sum()), "km_entities": 0}

    steps = {"hf-mlm": hf_step, "hf-mlm masked-logits": hf_masked_step, **{k: tr.step for k, tr in rows.items()}}
    for fn in steps.values():  # warm-up (allocations, first-call overheads)
        fn()
    cpu = {k: [] for k in steps}
    wall = {k: [] for k in steps}
    toks = {k: 0 for k in steps}
    ents = {k: 0 for k in steps}
    nsteps = {k: 0 for k in steps}
    for _ in range(args.rounds):
        for name, fn in steps.items():
            c0, w0 = time.process_time(), time.perf_counter()
            t = e = 0
            for _ in range(args.steps):
                r = fn()
                t += r["tokens"]
                e += r["km_entities"]
            cpu[name].append((time.process_time() - c0) / args.steps)
            wall[name].append((time.perf_counter() - w0) / args.steps)
            toks[name] += t
            ents[name] += e
            nsteps[name] += args.steps

    # one memory refresh of every entity and relation, timed alone
    tr = rows["jaket"]
    c0 = time.process_time()
    tr.refresh_memories()
    refresh_cpu = time.process_time() - c0

    ref = toks["hf-mlm"] / nsteps["hf-mlm"] / statistics.median(cpu["hf-mlm"])
    print(f"JAKET pretraining speed: FB15k-237 subset of {data.corpus.num_entities} entities, batch {args.batch}, "
          f"max length {args.max_length}, all-MiniLM-L6-v2 (3 + 3), 1 thread, "
          f"{args.rounds} rounds x {args.steps} steps (median CPU s/step; data load {load_s:.0f} s)")
    print()
    print("| row | CPU s/step | tokens/s (CPU) | KG entities/s (CPU) | vs hf-mlm tokens/s | wall s/step |")
    print("|---|---|---|---|---|---|")
    for name in steps:
        s = statistics.median(cpu[name])
        tps = toks[name] / nsteps[name] / s
        eps = ents[name] / nsteps[name] / s
        print(f"| {name} | {s:.3f} | {tps:.0f} | {eps:.0f} | {tps / ref:.0%} | {statistics.median(wall[name]):.3f} |")
    n_ent = data.corpus.num_entities
    print()
    print(f"memory refresh (all {n_ent} entities + {data.num_relations} relations through LM1): {refresh_cpu:.2f} CPU s "
          f"= {refresh_cpu / n_ent * 1000:.2f} ms per entity; amortised over T(i) = 500 steps "
          f"(after ~3,800 steps) that is {refresh_cpu / 500:.3f} s/step here, "
          f"{refresh_cpu / n_ent * 14541 / 500:.3f} s/step for all 14,541 FB15k-237 entities.")
    mem_on = statistics.median(cpu["jaket"])
    mem_off = statistics.median(cpu["jaket memory=off"])
    print(f"memory speed-up (step without vs with memory, refreshes aside): {mem_off / mem_on:.2f}x "
          f"(the paper reports ~15x at its scale)")


if __name__ == "__main__":
    main()
