"""PinSage random-walk throughput: walk steps per second of `plexus.sampling.random_walk`.

Computes the importance neighbourhood of every item (the per-epoch cache PinSage uses) on
movielens-100k and gowalla (the LightGCN split; `--synthetic-gowalla` draws a random
bipartite graph of the same size instead, for machines without the data). A step is one
hop (item -> user or user -> item), the unit DGL and pyg-lib report. Two rates:

- `walk`: hops / time spent walking (the vectorised CSR steps alone);
- `end-to-end`: hops / time of the whole call, including counting visits per
  (query, item) and selecting the top T.

Each cell is the best of `--repeats` runs after a warm-up, at each thread count.

    PLEXUS_DATA=/work/shared/datasets python benchmarks/walk_throughput.py \
        [--threads 1 2] [--walks 200] [--traversals 3] [--termination 0.5] [--neighbors 50]
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from plexus.sampling.random_walk import WalkConfig, bipartite_csr, importance_neighbors


def load_graph(name: str, synthetic: bool):
    if synthetic:
        gen = torch.Generator().manual_seed(0)
        num_users, num_items, num_edges = 29858, 40981, 810128
        # Popularity-skewed items, as in real interaction data.
        weights = torch.arange(1, num_items + 1, dtype=torch.float64).pow(-0.8)
        items = torch.multinomial(weights, num_edges, replacement=True, generator=gen)
        users = torch.randint(num_users, (num_edges,), generator=gen)
        return "gowalla-size (synthetic)", bipartite_csr(torch.stack([users, items]),
                                                         num_users, num_items)
    from plexus.datasets import load_dataset

    data = load_dataset(name)
    edge_index = data["user", "interacts", "item"].edge_index
    return name, bipartite_csr(edge_index, data["user"].num_nodes, data["item"].num_nodes)


def measure(graph, cfg: WalkConfig, repeats: int) -> tuple[int, float, float]:
    best_walk = best_total = float("inf")
    steps = 0
    for r in range(repeats + 1):  # the first run warms up
        stats: dict = {}
        gen = torch.Generator().manual_seed(r)
        t0 = time.perf_counter()
        importance_neighbors(graph, cfg, generator=gen, stats=stats)
        total = time.perf_counter() - t0
        if r > 0:
            best_walk = min(best_walk, stats["walk_seconds"])
            best_total = min(best_total, total)
        steps = stats["steps"]
    return steps, steps / best_walk, steps / best_total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--walks", type=int, default=200)
    ap.add_argument("--traversals", type=int, default=3)
    ap.add_argument("--termination", type=float, default=0.5)
    ap.add_argument("--neighbors", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--datasets", nargs="+", default=["movielens-100k", "gowalla"])
    ap.add_argument("--synthetic-gowalla", action="store_true")
    args = ap.parse_args()
    cfg = WalkConfig(num_traversals=args.traversals, termination_prob=args.termination,
                     num_random_walks=args.walks, num_neighbors=args.neighbors)
    print(f"walks/item {cfg.num_random_walks}, traversals {cfg.num_traversals}, "
          f"termination {cfg.termination_prob}, T {cfg.num_neighbors}; "
          f"torch {torch.__version__}, {os.cpu_count()} CPUs visible\n")
    print("| graph | items | users | edges | threads | hops | walk Msteps/s | "
          "end-to-end Msteps/s |")
    print("|---|---|---|---|---|---|---|---|")
    for name in args.datasets:
        synthetic = args.synthetic_gowalla and name == "gowalla"
        label, graph = load_graph(name, synthetic)
        for threads in args.threads:
            torch.set_num_threads(threads)
            steps, walk_rate, total_rate = measure(graph, cfg, args.repeats)
            print(f"| {label} | {graph.num_items:,} | {graph.num_users:,} | "
                  f"{graph.num_edges:,} | {threads} | {steps:,} | {walk_rate / 1e6:.1f} | "
                  f"{total_rate / 1e6:.1f} |", flush=True)


if __name__ == "__main__":
    main()
