"""GNN mini-batch training at ogbn-arxiv scale on CPU (issue 3, "Speed").

A synthetic graph the size of ogbn-arxiv: 169,343 nodes, 1,166,243 citations drawn with
power-law in-degrees (a few papers cited thousands of times, most a handful), made
symmetric as GNNs on arxiv use it (~2.3M directed edges), 384-d random features (the
MiniLM width), 40 classes given by a random linear function of the features, and
90,941 training nodes (arxiv's train split size).

For each model (GraphSAGE by default; `--models sage gcn gat`): one training epoch with
`plexus.sampling.neighbors` (fanouts 15, 10; batch 1024; Adam), then layer-wise inference
over all nodes with `plexus.gnn.predict`, at each `--threads` count, with the batches
sampled in process (`--workers 0`) or by DataLoader workers. Reported: epoch time, the
part of it spent waiting for batches (sampling in process, or a worker falling behind),
inference time, sampled edges per second of the sampler alone, and peak resident memory
(ru_maxrss) of this process and of the largest worker; forked workers count the pages
they share with this process, so the two do not add up.

The sampler is compared with a per-node Python loop doing the same draws (`torch.randperm`
per node), the obvious implementation without vectorisation. PyG's own NeighborLoader
cannot be timed here: it samples through pyg-lib or torch-sparse, neither installed.

    nice python benchmarks/gnn_minibatch_scale.py [--models sage gcn] [--threads 1 2] \\
        [--workers 0 1]
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import torch

from plexus.gnn import make_gnn, mini_batch_step, predict
from plexus.sampling.neighbors import NeighborSampler, neighbor_batches

NUM_NODES, NUM_CITATIONS, DIM, CLASSES, NUM_TRAIN = 169_343, 1_166_243, 384, 40, 90_941


def synthetic_arxiv(seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    # Cited papers by a Zipf-like popularity, citing papers uniformly: a heavy in-degree tail.
    popularity = torch.arange(1, NUM_NODES + 1, dtype=torch.float64).pow(-0.7)
    cited = torch.multinomial(popularity, NUM_CITATIONS, replacement=True, generator=gen)
    cited = torch.randperm(NUM_NODES, generator=gen)[cited]  # hubs anywhere in the id range
    citing = torch.randint(NUM_NODES, (NUM_CITATIONS,), generator=gen)
    keep = cited != citing
    pairs = torch.stack([citing[keep], cited[keep]])
    edge_index = torch.unique(torch.cat([pairs, pairs.flip(0)], 1), dim=1)
    x = torch.randn(NUM_NODES, DIM, generator=gen)
    # Labels of a random linear teacher: learnable, so the loss column shows training works.
    y = (x @ torch.randn(DIM, CLASSES, generator=gen)).argmax(1)
    train = torch.randperm(NUM_NODES, generator=gen)[:NUM_TRAIN]
    return x, edge_index, y, train


def loop_sample(sampler: NeighborSampler, seeds: torch.Tensor, gen: torch.Generator) -> int:
    """The same hop-by-hop draws node by node in Python; returns the edges sampled."""
    indptr, indices = sampler.csr.indptr.tolist(), sampler.csr.indices
    seen, frontier, edges = set(seeds.tolist()), seeds.tolist(), 0
    for fanout in sampler.fanouts:
        fresh = []
        for v in frontier:
            nbrs = indices[indptr[v]: indptr[v + 1]]
            if len(nbrs) > fanout:
                nbrs = nbrs[torch.randperm(len(nbrs), generator=gen)[:fanout]]
            edges += len(nbrs)
            for u in nbrs.tolist():
                if u not in seen:
                    seen.add(u)
                    fresh.append(u)
        frontier = fresh
    return edges


def peak_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux reports KiB


def bench_sampling(sampler, train, batch_size, loop_batches):
    gen = torch.Generator().manual_seed(1)
    t0 = time.perf_counter()
    edges = sum(b.edge_index.size(1) for b in neighbor_batches(sampler, train, batch_size,
                                                                True, gen))
    ours = edges / (time.perf_counter() - t0)
    seeds = train[: loop_batches * batch_size].split(batch_size)
    t0 = time.perf_counter()
    loop_edges = sum(loop_sample(sampler, s, gen) for s in seeds)
    loop = loop_edges / (time.perf_counter() - t0)
    return edges, ours, loop


def bench_model(kind, x, edge_index, y, train, sampler, batch_size, workers, hidden):
    torch.manual_seed(0)
    model = make_gnn(kind, DIM, hidden, CLASSES, num_layers=2, dropout=0.5, heads=4)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)

    def loss_fn(logits, node_ids):
        return torch.nn.functional.cross_entropy(logits, y[node_ids])

    gen = torch.Generator().manual_seed(2)
    waited = 0.0
    losses = []
    t0 = time.perf_counter()
    batches = neighbor_batches(sampler, train, batch_size, True, gen, num_workers=workers)
    while True:
        t1 = time.perf_counter()
        batch = next(batches, None)  # sampling, or waiting for a worker's batch
        waited += time.perf_counter() - t1
        if batch is None:
            break
        losses.append(mini_batch_step(model, opt, x, batch, loss_fn))
    epoch = time.perf_counter() - t0
    t0 = time.perf_counter()
    predict(model, x, edge_index, mode="layerwise", chunk_size=16384)
    infer = time.perf_counter() - t0
    return epoch, waited, infer, losses[0], losses[-1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", nargs="+", default=["sage"], choices=["sage", "gcn", "gat"])
    ap.add_argument("--workers", nargs="+", type=int, default=[0, 1])
    ap.add_argument("--fanouts", nargs="+", type=int, default=[15, 10])
    ap.add_argument("--batch-size", type=int, default=1024)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--loop-batches", type=int, default=3)
    args = ap.parse_args()

    t0 = time.perf_counter()
    x, edge_index, y, train = synthetic_arxiv()
    sampler = NeighborSampler(edge_index, NUM_NODES, args.fanouts)
    build = time.perf_counter() - t0
    deg = sampler.csr.degree.float()
    print(f"graph: {NUM_NODES:,} nodes, {edge_index.size(1):,} directed edges "
          f"(mean in-degree {deg.mean():.1f}, max {int(deg.max()):,}), {DIM}-d features, "
          f"{len(train):,} training nodes; built in {build:.1f} s. torch {torch.__version__}, "
          f"{os.cpu_count()} CPUs visible\n")

    # The sampler always runs on one thread (see NeighborSampler.sample).
    edges, ours, loop = bench_sampling(sampler, train, args.batch_size, args.loop_batches)
    print(f"| sampler (fanouts {args.fanouts}, batch {args.batch_size}) | sampled edges/s |")
    print("|---|---|")
    print(f"| plexus NeighborSampler (vectorised) | {ours / 1e6:.2f} M |")
    print(f"| per-node Python loop, same draws ({args.loop_batches} batches) "
          f"| {loop / 1e6:.3f} M (vectorised: {ours / loop:.1f}x) |")
    print("| PyG NeighborLoader | cannot run here: needs pyg-lib or torch-sparse |")
    print(f"\n{edges:,} edges sampled per epoch\n", flush=True)

    print("| model | threads | workers | epoch (s) | waiting for batches (s) "
          "| inference, all nodes (s) | loss first → last batch | peak RSS main (MB) "
          "| peak RSS workers (MB) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for kind in args.models:
        for threads in args.threads:
            torch.set_num_threads(threads)
            for workers in args.workers:
                epoch, waited, infer, l0, l1 = bench_model(
                    kind, x, edge_index, y, train, sampler, args.batch_size, workers,
                    args.hidden)
                print(f"| {kind} | {threads} | {workers} | {epoch:.1f} | {waited:.1f} "
                      f"| {infer:.1f} | {l0:.2f} → {l1:.2f} "
                      f"| {peak_mb(resource.RUSAGE_SELF):,.0f} "
                      f"| {peak_mb(resource.RUSAGE_CHILDREN):,.0f} |", flush=True)

if __name__ == "__main__":
    main()
