"""PinSage layer-wise inference at 10k, 100k and 1M items: time and peak memory.

For each size a synthetic bipartite graph is drawn (users = items / 2, `--degree`
interactions per item on average, popularity-skewed items as in real data), importance
neighbourhoods are computed for every item by the real walks
(`plexus.sampling.random_walk.importance_neighbors`), and `plexus.nn.pinsage.layerwise_inference`
embeds every item through an untrained 2-layer PinSage model (timing does not depend on
the weights). Each size runs in a fresh process so its peak RSS (`ru_maxrss`) is its own;
"inference peak" is that peak minus the RSS just before inference (graph, neighbourhood
tables and features already resident), i.e. what inference itself adds.

Dimensions are reduced so 1M items fit a 2-core, 24 GiB machine: 64-d input features,
64-d hidden layers, 32-d output, T = 20 neighbours from 50 walks per item.

    python benchmarks/pinsage_scale.py [--sizes 10000 100000 1000000] [--threads 1]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import time


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def measure(num_items: int, degree: int, threads: int, chunk: int) -> dict:
    import torch

    from plexus.nn.pinsage import PinSageModel, layerwise_inference
    from plexus.sampling.random_walk import WalkConfig, bipartite_csr, importance_neighbors

    torch.set_num_threads(threads)
    gen = torch.Generator().manual_seed(0)
    num_users, num_edges = num_items // 2, num_items * degree
    weights = torch.arange(1, num_items + 1, dtype=torch.float64).pow(-0.8)
    items = torch.multinomial(weights, num_edges, replacement=True, generator=gen)
    users = torch.randint(num_users, (num_edges,), generator=gen)
    graph = bipartite_csr(torch.stack([users, items]), num_users, num_items)
    del weights, items, users

    t0 = time.perf_counter()
    nbr, w = importance_neighbors(graph, WalkConfig(num_random_walks=50, num_neighbors=20), generator=gen)
    t_walk = time.perf_counter() - t0

    features = torch.randn(num_items, 64, generator=gen)
    model = PinSageModel(64, 64, 32, num_layers=2)
    before = _rss_mib()
    t0 = time.perf_counter()
    emb = layerwise_inference(model, features, nbr, w, chunk_size=chunk)
    t_inf = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    assert emb.shape == (num_items, 32)
    return {"items": num_items, "edges": graph.num_edges, "walk_s": t_walk, "inference_s": t_inf,
            "inference_peak_mib": peak - before, "process_peak_mib": peak}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--degree", type=int, default=10, help="interactions per item on average")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--chunk", type=int, default=4096, help="items per inference chunk")
    args = ap.parse_args()
    ctx = mp.get_context("spawn")  # a fresh process per size: its own peak RSS
    rows = []
    for n in args.sizes:
        with ctx.Pool(1) as pool:
            rows.append(pool.apply(measure, (n, args.degree, args.threads, args.chunk)))
    print(f"| items | interactions | neighbourhoods (s) | inference (s) | µs / item | inference peak (MiB) | "
          f"process peak (MiB) |  (threads={args.threads})")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['items']:,} | {r['edges']:,} | {r['walk_s']:.1f} | {r['inference_s']:.2f} | "
              f"{1e6 * r['inference_s'] / r['items']:.1f} | {r['inference_peak_mib']:.0f} | "
              f"{r['process_peak_mib']:.0f} |")


if __name__ == "__main__":
    main()
