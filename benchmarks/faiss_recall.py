"""FAISS retrieval: recall@10 of approximate indexes against exact `Flat`, and queries/s.

Indexes (all through `plexus.retrieval.ItemIndex`, as `plexus recommend/serve` use them):
Flat (exact), HNSW32 at several efSearch, IVF1024,Flat at nprobe 8 and 32. Recall@10 is
|ANN top-10 ∩ Flat top-10| / 10 averaged over all queries; queries/s is one batch search of
all queries, best of `--repeats` rounds (configurations timed round-robin); ms/query is
the median latency of one-query searches, as `/recommend` makes them. Prints a markdown table.

Data: by default synthetic embeddings of Gowalla's size (40,981 items x 64-d, 29,858 user
queries), "clustered" (items around 256 centres with a log-normal norm spread, like trained
collaborative-filtering embeddings; users mix three centres) or "gaussian" (i.i.d. N(0, I):
no structure, the hard case for approximate search). With `--run-dir` it uses a trained
run's real item embeddings and all its user embeddings as queries.

    python benchmarks/faiss_recall.py                       # clustered synthetic, ~1-2 min on 2 cores
    python benchmarks/faiss_recall.py --data gaussian
    python benchmarks/faiss_recall.py --run-dir runs/<time>-lightgcn-gowalla
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import faiss
import numpy as np

from plexus.retrieval import ItemIndex, load_recommender


def synthetic(kind: str, n_items: int, n_queries: int, dim: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    if kind == "gaussian":
        return (rng.standard_normal((n_items, dim), dtype=np.float32),
                rng.standard_normal((n_queries, dim), dtype=np.float32))
    centres = rng.standard_normal((256, dim), dtype=np.float32)
    items = centres[rng.integers(0, 256, n_items)] + 0.5 * rng.standard_normal((n_items, dim), dtype=np.float32)
    items *= rng.lognormal(0.0, 0.3, (n_items, 1)).astype(np.float32)  # popularity-like norm spread
    mix = rng.dirichlet(np.ones(3), n_queries).astype(np.float32)
    picks = centres[rng.integers(0, 256, (n_queries, 3))]  # [Q, 3, d]
    queries = np.einsum("qc,qcd->qd", mix, picks) + 0.5 * rng.standard_normal((n_queries, dim), dtype=np.float32)
    return items, queries


def recall_at(approx: np.ndarray, exact: np.ndarray) -> float:
    k = exact.shape[1]
    # per-row intersection size without a Python loop (ids are unique within a row)
    hits = (approx[:, :, None] == exact[:, None, :]).any(-1) & (approx >= 0)
    return float(hits.sum() / (k * len(exact)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run-dir", type=Path, help="a recommendation run directory (its real embeddings)")
    ap.add_argument("--data", choices=["clustered", "gaussian"], default="clustered")
    ap.add_argument("--items", type=int, default=40_981)
    ap.add_argument("--queries", type=int, default=29_858)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None, help="FAISS OpenMP threads [all cores]")
    ap.add_argument("--ef", type=int, nargs="+", default=[32, 64, 128, 256], help="HNSW efSearch values")
    ap.add_argument("--nprobe", type=int, nargs="+", default=[8, 32], help="IVF nprobe values")
    args = ap.parse_args()
    if args.threads:
        faiss.omp_set_num_threads(args.threads)

    if args.run_dir:
        rec = load_recommender(args.run_dir)
        items, queries, metric = rec.item_emb, rec.user_emb, rec.index.metric
        source = f"run {args.run_dir} ({rec.method} on {rec.dataset})"
    else:
        items, queries = synthetic(args.data, args.items, args.queries, args.dim)
        metric = "ip"
        source = f"synthetic {args.data}"
    n, d = items.shape
    nq, k = len(queries), args.k
    print(f"{source}: {n} items x {d}-d, {nq} queries, top-{k}, metric {metric}; "
          f"faiss {faiss.__version__}, {faiss.omp_get_max_threads()} threads, {platform.processor() or platform.machine()}")

    # build every index first, then time the searches round-robin (`--repeats` rounds, best
    # per configuration), so a noisy minute on a shared machine does not hit one row only
    configs = []  # (index name, parameter label, build seconds, index, search kwargs)
    for factory, knob, values in [("Flat", None, [None]), ("HNSW32", "ef_search", args.ef),
                                  ("IVF1024,Flat", "nprobe", args.nprobe)]:
        if factory.startswith("IVF") and n < 1024:
            continue
        t0 = time.perf_counter()
        index = ItemIndex.build(items, factory, metric)
        build = time.perf_counter() - t0
        for v in values:
            label = "-" if knob is None else f"{'efSearch' if knob == 'ef_search' else 'nprobe'}={v}"
            configs.append((factory, label, build, index, {} if knob is None else {knob: v}))
    best = [float("inf")] * len(configs)
    found: list[np.ndarray | None] = [None] * len(configs)
    for _ in range(args.repeats):
        for c, (_, _, _, index, params) in enumerate(configs):
            if params:
                index.set_search_params(**params)
            t0 = time.perf_counter()
            _, ids = index.search(queries, k)
            best[c] = min(best[c], time.perf_counter() - t0)
            found[c] = ids
    # serving latency: one query per call, as /recommend does (median over 200 queries)
    latency = []
    for _, _, _, index, params in configs:
        if params:
            index.set_search_params(**params)
        times = []
        for q in queries[:200]:
            t0 = time.perf_counter()
            index.search(q[None], k)
            times.append(time.perf_counter() - t0)
        latency.append(1000 * float(np.median(times)))
    exact = found[0]
    # sanity: Flat is brute force (first 200 queries, to keep memory small)
    s200 = queries[:200] @ items.T if metric == "ip" else -((queries[:200, None] - items[None]) ** 2).sum(-1)
    ref = np.argsort(-s200, axis=1)[:, :k]
    rows = []
    for c, (factory, label, build, _, _) in enumerate(configs):
        recall = recall_at(exact[:200], ref) if c == 0 else recall_at(found[c], exact)
        rows.append((factory + (" (exact)" if c == 0 else ""), label, build, recall, nq / best[c], latency[c]))

    print()
    print(f"| index | search parameter | build s | recall@{k} vs Flat | queries/s (batch) | ms/query (single) |")
    print("|---|---|---:|---:|---:|---:|")
    for name, param, build, rec_k, qps, ms in rows:
        print(f"| {name} | {param} | {build:.2f} | {rec_k:.4f} | {qps:,.0f} | {ms:.3f} |")
    print(f"\n(Flat row: recall of Flat vs NumPy brute force on the first 200 queries. "
          f"queries/s = {nq} queries in one batch, best of {args.repeats} rounds; "
          f"ms/query = median of 200 one-query searches.)")


if __name__ == "__main__":
    main()
