"""Decagon at the paper's scale: time per training batch / epoch and peak memory.

The paper's graph: 645 drugs, 19,085 proteins, 964 side effects, 4,651,131 drug–drug edges
(undirected, one side effect each), 715,612 protein–protein and 18,596 drug–protein edges.
This builds a synthetic graph of exactly that shape (uniformly random distinct pairs per
side effect; protein–protein pairs with a skewed degree distribution) and runs the method's
own training step (`plexus.methods.decagon.algorithm.train_step`: whole-graph encoder,
DEDICOM / bilinear decoders, degree^0.75 negatives, Adam) on per-edge-type batches of 512,
at fractions 1/8, 1/4, 1/2 and 1 of the proteins, side effects and every edge count (the
645 drugs are kept, so each side effect keeps the paper's density of ~4,800 drug pairs).

An epoch at full size is ~20k batches, too slow to run whole on a CPU, so each fraction
times `--batches` batches after a warm-up and extrapolates to the epoch's batch count; the
output says so. Drug features are one-hot (the mono side-effect features would add an
embedding-bag over ~270 bits per drug–relation pair). Each fraction runs in a fresh
process so its peak RSS (`ru_maxrss`) is its own.

    python benchmarks/decagon_scale.py                      # all fractions, table on stdout
    python benchmarks/decagon_scale.py --fraction 0.125     # one fraction, JSON line
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

PAPER = {"drugs": 645, "proteins": 19085, "relations": 964, "dd": 4651131, "ppi": 715612, "targets": 18596}


def synthetic_graph(fraction: float, seed: int = 0):
    import numpy as np
    import torch

    from plexus.methods.decagon.data import DecagonGraph

    rng = np.random.default_rng(seed)
    nd = PAPER["drugs"]  # kept: each side effect keeps its ~4,800 pairs among 645 drugs
    npr = int(round(PAPER["proteins"] * fraction))
    nr = max(int(round(PAPER["relations"] * fraction)), 1)
    n_dd, n_ppi, n_t = (int(round(PAPER[k] * fraction)) for k in ("dd", "ppi", "targets"))
    pairs = nd * (nd - 1) // 2
    per_rel = np.full(nr, n_dd // nr)
    per_rel[: n_dd - per_rel.sum()] += 1
    keys, types = [], []
    for r, n in enumerate(per_rel):  # distinct unordered pairs per side effect
        k = rng.choice(pairs, size=min(int(n), pairs), replace=False)
        keys.append(k)
        types.append(np.full(k.size, r))
    k = np.concatenate(keys)
    # unordered pair index -> (i, j), i < j
    i = (nd - 2 - np.floor(np.sqrt(-8 * k + 4 * nd * (nd - 1) - 7) / 2 - 0.5)).astype(np.int64)
    j = (k + i + 1 - nd * (nd - 1) // 2 + (nd - i) * ((nd - i) - 1) // 2).astype(np.int64)
    ei = torch.from_numpy(np.stack([i, j]))
    et = torch.from_numpy(np.concatenate(types).astype(np.int64))
    weights = 1.0 / np.arange(1, npr + 1) ** 0.5  # skewed protein degrees
    weights /= weights.sum()
    a, b = rng.choice(npr, 2 * n_ppi, p=weights), rng.choice(npr, 2 * n_ppi, p=weights)
    keep = np.flatnonzero(a != b)[:n_ppi]  # exactly n_ppi pairs, no self-loops
    ppi = torch.from_numpy(np.stack([np.minimum(a, b)[keep], np.maximum(a, b)[keep]]).astype(np.int64))
    targets = torch.from_numpy(np.stack([rng.integers(nd, size=n_t), rng.integers(npr, size=n_t)]).astype(np.int64))
    g = DecagonGraph("synthetic", [f"d{x}" for x in range(nd)], [f"p{x}" for x in range(npr)],
                     [f"se{r}" for r in range(nr)], [f"se{r}" for r in range(nr)], None, None, targets, ppi, True,
                     None, "one-hot drugs")
    return g, (ei, et)


def measure(fraction: float, batches: int, warmup: int = 2) -> dict:
    import torch

    from plexus.methods.decagon.algorithm import Config, build_model, epoch_batches, train_step
    from plexus.train.seed import seed_everything

    torch.set_num_threads(1)
    c0 = time.process_time()
    graph, train = synthetic_graph(fraction)
    cfg = Config(features="onehot")
    model, opt, types, sampler, _ = build_model(cfg, graph, train, seed_everything(0))
    build_s = time.process_time() - c0
    plan = epoch_batches(types, cfg.batch_size, 0, 1)
    model.train()
    for key, pos in plan[:warmup]:
        train_step(cfg, model, opt, sampler, key, pos)
    t1, c1 = time.perf_counter(), time.process_time()
    for key, pos in plan[warmup:warmup + batches]:
        train_step(cfg, model, opt, sampler, key, pos)
    per_batch = (time.process_time() - c1) / batches  # CPU time: the machine may be shared
    wall_per_batch = (time.perf_counter() - t1) / batches
    return {"fraction": fraction, "drugs": graph.num_drugs, "proteins": graph.num_proteins,
            "relations": graph.num_relations, "dd_edges": int(train[1].numel()), "ppi_edges": int(graph.ppi.size(1)),
            "target_edges": int(graph.targets.size(1)),
            "parameters": sum(p.numel() for p in model.parameters()), "build_s": build_s,
            "batches_per_epoch": len(plan), "timed_batches": batches, "s_per_batch": per_batch, "wall_s_per_batch": wall_per_batch,
            "epoch_s_extrapolated": per_batch * len(plan),
            "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fraction", type=float, help="measure one fraction (JSON line)")
    ap.add_argument("--fractions", default="0.125,0.25,0.5,1")
    ap.add_argument("--batches", type=int, default=20)
    args = ap.parse_args()
    if args.fraction is not None:
        print(json.dumps(measure(args.fraction, args.batches)))
        return
    rows = []
    for f in (float(x) for x in args.fractions.split(",")):
        out = subprocess.run([sys.executable, __file__, "--fraction", str(f), "--batches", str(args.batches)],
                             capture_output=True, text=True)
        if out.returncode:
            print(out.stderr[-2000:], file=sys.stderr)
            continue
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(f"done {f}", file=sys.stderr, flush=True)
    print("| fraction | drugs | proteins | side effects | drug–drug edges | PPI | targets | parameters | "
          "build CPU (s) | CPU s / batch (wall) | batches / epoch | epoch (extrapolated, CPU) | peak RSS (GiB) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        ep = r["epoch_s_extrapolated"]
        print(f"| {r['fraction']:g} | {r['drugs']:,} | {r['proteins']:,} | {r['relations']:,} | {r['dd_edges']:,} | "
              f"{r['ppi_edges']:,} | {r['target_edges']:,} | {r['parameters'] / 1e6:.1f} M | {r['build_s']:.1f} | "
              f"{r['s_per_batch']:.3f} ({r['wall_s_per_batch']:.3f}) | {r['batches_per_epoch']:,} | {ep / 60:.0f} min ({ep / 3600:.1f} h) | "
              f"{r['peak_rss_gib']:.2f} |")
    print(f"\nOne torch thread; CPU s / batch = process CPU time per batch, mean over {args.batches} timed batches "
          "after 2 warm-up batches of one epoch's random batch order (wall time in parentheses: the machine is "
          "shared); the epoch time multiplies the CPU time by the epoch's batch count (not run whole).")


if __name__ == "__main__":
    main()
