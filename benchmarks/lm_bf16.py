"""fp32 vs bf16-autocast throughput of the default text encoder (all-MiniLM-L6-v2) on CPU.

Decides `precision="auto"` in `plexus.text.encoder.resolve_precision`. Encodes ~1000 real
CiteSeer texts (title + abstract; from `../shared/datasets/citeseer_tag` or $PLEXUS_DATA,
else generated sentences) with the same `TextEncoder` settings in both precisions, batch by
batch and interleaved, at each token limit, and prints a markdown table: sentences/s, the
bf16/fp32 speed ratio, and the cosine similarity between the fp32 and bf16 embeddings.

    python benchmarks/lm_bf16.py                    # ~12 min on 2 cores
    python benchmarks/lm_bf16.py --n 200 --max-lengths 64 --repeats 1   # a quick look
"""

from __future__ import annotations

import argparse
import gzip
import os
import platform
import random
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

from plexus.text import TextEncoder, cpu_has_native_bf16  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def citeseer_texts(n: int) -> tuple[list[str], str]:
    roots = [Path(os.environ["PLEXUS_DATA"])] if os.environ.get("PLEXUS_DATA") else []
    roots.append(REPO.parent / "shared" / "datasets")
    for root in roots:
        path = root / "citeseer_tag" / "citeseer_texts.txt.gz"
        if path.is_file():
            with gzip.open(path, "rt", encoding="utf-8") as f:
                lines = f.read().split("\n")
            lines = lines[: len(lines) // 3 * 3]
            return lines[1::3][:n], f"title+abstract ({path})"
    rng = random.Random(0)
    words = (
        "graph neural network language model node edge citation paper embedding text "
        "attention training learning retrieval recommendation molecule protein drug"
    ).split()
    texts = [" ".join(rng.choice(words) for _ in range(rng.randint(8, 200))) for _ in range(n)]
    return texts, "generated sentences (CiteSeer file not found)"


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def measure(texts: list[str], max_length: int, batch_size: int, repeats: int, clock=time.perf_counter) -> dict:
    """Time fp32 and bf16 on the same batches, interleaved, `repeats` times per batch.

    The machine may be shared, so wall-clock runs are noisy; interleaving fp32 and bf16 batch
    by batch and keeping each batch's fastest time filters out other processes' bursts. The
    first pass is reported too: it includes oneDNN's one-off kernel creation for each new
    batch shape, which is what a single cold `encode` call pays. With `clock=time.thread_time`
    and one torch thread, the figure is CPU time, which other processes cannot inflate.
    """
    encoders = {
        p: TextEncoder("default", max_length=max_length, batch_size=batch_size, precision=p,
                       progress=False)
        for p in ("fp32", "bf16")
    }
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))  # as TextEncoder does
    batches = [[texts[i] for i in order[s : s + batch_size]] for s in range(0, len(order), batch_size)]
    best = {p: [float("inf")] * len(batches) for p in encoders}
    first = {p: 0.0 for p in encoders}
    emb: dict[str, list[torch.Tensor]] = {p: [] for p in encoders}
    for rep in range(repeats):
        for b, batch in enumerate(batches):
            for p, enc in encoders.items():
                t0 = clock()
                vec = enc._encode_uncached(batch, progress=False)
                dt = clock() - t0
                best[p][b] = min(best[p][b], dt)
                if rep == 0:
                    first[p] += dt
                    emb[p].append(torch.from_numpy(vec))
    cos = torch.nn.functional.cosine_similarity(torch.cat(emb["fp32"]), torch.cat(emb["bf16"]), dim=1)
    return {
        "rate": {p: len(texts) / sum(ts) for p, ts in best.items()},
        "first": {p: len(texts) / t for p, t in first.items()},
        "cos_mean": float(cos.mean()),
        "cos_min": float(cos.min()),
    }


def table(texts: list[str], lengths: list[int], batch_size: int, repeats: int, clock) -> None:
    print("| max_length | precision | sentences/s (best) | sentences/s (first pass) "
          "| speed vs fp32 (best / first) | cosine to fp32 (mean / min) |")
    print("|---:|---|---:|---:|---:|---|")
    for max_length in lengths:
        r = measure(texts, max_length, batch_size, repeats, clock)
        rb = r["rate"]["bf16"] / r["rate"]["fp32"]
        rf = r["first"]["bf16"] / r["first"]["fp32"]
        print(f"| {max_length} | fp32 | {r['rate']['fp32']:.1f} | {r['first']['fp32']:.1f} "
              f"| 1.00x / 1.00x | 1 / 1 |")
        print(f"| {max_length} | bf16 autocast | {r['rate']['bf16']:.1f} | {r['first']['bf16']:.1f} "
              f"| {rb:.2f}x / {rf:.2f}x | {r['cos_mean']:.5f} / {r['cos_min']:.5f} |", flush=True)
    print()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--max-lengths", default="256,32",
                    help="comma-separated token limits; 256 is MiniLM's own, 32 ~ short texts")
    ap.add_argument("--cpu-n", type=int, default=300,
                    help="texts for the 1-thread CPU-time table (0 skips it)")
    args = ap.parse_args()

    texts, source = citeseer_texts(args.n)
    lengths = [int(x) for x in args.max_lengths.split(",") if x.strip()]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")

    print("# bf16 vs fp32 text encoding on CPU\n")
    print(f"- model: all-MiniLM-L6-v2 (d=384), mean pooling, batch_size={args.batch_size}")
    print(f"- texts: {len(texts)} {source}, mean {sum(map(len, texts)) / len(texts):.0f} chars")
    print(f"- CPU: {cpu_name()}, {os.cpu_count()} cores, load average at start {load:.1f}; "
          f"native bf16 (avx512_bf16/amx_bf16): {cpu_has_native_bf16()}; torch {torch.__version__}")
    print(f"- 'best' sums each batch's fastest of {args.repeats} interleaved passes; "
          "'first pass' is the cold single pass\n")

    torch.set_num_threads(args.threads)
    print(f"## wall clock, {args.threads} threads, {len(texts)} texts\n")
    table(texts, lengths, args.batch_size, args.repeats, time.perf_counter)
    if args.cpu_n > 0:
        torch.set_num_threads(1)
        print(f"## CPU time of the encoding thread, 1 thread, {min(args.cpu_n, len(texts))} texts "
              "(immune to other processes)\n")
        table(texts[: args.cpu_n], lengths, args.batch_size, args.repeats, time.thread_time)


if __name__ == "__main__":
    main()
