"""Running a reproduction suite: many independent runs, each a table row.

Rows run in spawned worker processes, one torch thread each: two such processes on two
cores finish a table ~1.7x sooner than one process using both threads, because the
kernels of these small models scale poorly across threads. Each row is an ordinary run
(`runner.build_config` + `runner.execute`), so it leaves a normal run directory.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Hashable


def _run_row(method: str, dataset: str, overrides: list[str], out: str) -> tuple[dict, float]:
    import torch

    from plexus.runner import build_config, execute

    torch.set_num_threads(1)
    cfg = build_config(method, dataset=dataset, overrides=overrides)
    t0 = time.perf_counter()
    result = execute(method, cfg, out=out, quiet=True)
    return result.to_json(), time.perf_counter() - t0


def run_rows(rows: dict[Hashable, tuple[str, str, list[str]]], out: str,
             jobs: int | None = None) -> dict[Hashable, tuple[dict, float]]:
    """`{key: (method, dataset, overrides)}` -> `{key: (result JSON, wall seconds)}`.

    Submit the longest rows first (dict order) so the workers finish together. A line on
    stderr marks each finished row (a suite can take an hour; stdout stays the table).
    """
    jobs = jobs or min(len(os.sched_getaffinity(0)), len(rows))
    t0 = time.perf_counter()
    with ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn")) as pool:
        futures = {pool.submit(_run_row, *row, out): key for key, row in rows.items()}
        done: dict[Hashable, tuple[dict, float]] = {}
        for i, future in enumerate(as_completed(futures), 1):
            key = futures[future]
            done[key] = future.result()
            print(f"[bench {i}/{len(rows)}] {key}: {done[key][1]:.0f} s "
                  f"({time.perf_counter() - t0:.0f} s elapsed)", file=sys.stderr, flush=True)
        return {key: done[key] for key in rows}
