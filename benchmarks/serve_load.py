"""Load test of `plexus serve` on loopback: latency percentiles and errors under concurrency.

Starts the real server (`plexus serve RUN --port P`, uvicorn, one process) over a trained
recommender's run directory, then runs `--clients` client threads for `--seconds`, each
with its own keep-alive HTTP connection, sending a mix of `/recommend?user=U&k=10` (users
drawn uniformly from the run's users) and `/similar?item=I&k=10` (`--similar-share` of the
requests). Every answer is checked: status 200 and k results. Prints a markdown table of
requests, errors, requests/s, and p50 / p90 / p99 / max latency per endpoint.

The clients share the machine with the server (2 cores here), so the figures are an upper
bound on the latency a remote client would see at this concurrency.

    python benchmarks/serve_load.py                        # trains a small lightgcn run first
    python benchmarks/serve_load.py --run runs/<time>-lightgcn-movielens-100k --seconds 20
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np


def plexus_bin() -> list[str]:
    script = Path(sys.executable).with_name("plexus")
    return [str(script)] if script.exists() else [sys.executable, "-m", "plexus.cli"]


def train_run(out: Path) -> Path:
    """A small real LightGCN run on movielens-100k (a few epochs: latency does not depend on
    how well it was trained)."""
    cmd = [*plexus_bin(), "run", "lightgcn", "--dataset", "movielens-100k", "--out", str(out),
           "--quiet", "seeds=1", "epochs=5"]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    (run,) = [p for p in out.iterdir() if p.is_dir()]
    return run


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(base: str, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"plexus serve exited with {proc.returncode}")
        try:
            if httpx.get(base + "/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("plexus serve did not become healthy")


def client(base: str, users: list[str], items: list[str], similar_share: float, k: int,
           stop_at: float, seed: int, out: dict[str, list], errors: dict[str, int],
           lock: threading.Lock) -> None:
    rng = random.Random(seed)
    local: dict[str, list[float]] = {"recommend": [], "similar": []}
    local_err = {"recommend": 0, "similar": 0}
    with httpx.Client(base_url=base, timeout=30) as http:
        while time.monotonic() < stop_at:
            if rng.random() < similar_share:
                kind, params = "similar", {"item": rng.choice(items), "k": k}
            else:
                kind, params = "recommend", {"user": rng.choice(users), "k": k}
            t0 = time.perf_counter()
            try:
                r = http.get("/" + kind, params=params)
                ok = r.status_code == 200 and len(r.json()["items"]) == k
            except (httpx.HTTPError, ValueError, KeyError):
                ok = False
            local[kind].append(time.perf_counter() - t0)
            local_err[kind] += not ok
    with lock:
        for kind in local:
            out[kind] += local[kind]
            errors[kind] += local_err[kind]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", type=Path, help="a recommender run directory (default: train one)")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--similar-share", type=float, default=0.3)
    args = ap.parse_args()

    tmp = tempfile.TemporaryDirectory()
    run = args.run or train_run(Path(tmp.name))
    users = (run / "artifacts" / "user_ids.txt").read_text().split("\n")
    items = (run / "artifacts" / "item_ids.txt").read_text().split("\n")
    users, items = [u for u in users if u], [i for i in items if i]

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([*plexus_bin(), "serve", str(run), "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_healthy(base, proc)
        latencies: dict[str, list] = {"recommend": [], "similar": []}
        errors = {"recommend": 0, "similar": 0}
        lock = threading.Lock()
        stop_at = time.monotonic() + args.seconds
        threads = [threading.Thread(target=client, args=(base, users, items, args.similar_share,
                                                         args.k, stop_at, i, latencies, errors, lock))
                   for i in range(args.clients)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.monotonic() - t0
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    print(f"`plexus serve` load test: {args.clients} concurrent keep-alive clients for "
          f"{args.seconds:.0f} s on 127.0.0.1, k={args.k}, {len(users)} users x {len(items)} items "
          f"({run.name}); {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"{datetime.date.today()}\n")
    print("| endpoint | requests | errors | req/s | p50 ms | p90 ms | p99 ms | max ms |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    total = []
    for kind in ("recommend", "similar", "all"):
        lat = np.array(total if kind == "all" else latencies[kind]) * 1000
        if kind != "all":
            total += latencies[kind]
        err = sum(errors.values()) if kind == "all" else errors[kind]
        if lat.size == 0:
            continue
        p50, p90, p99 = np.percentile(lat, [50, 90, 99])
        print(f"| {kind} | {lat.size} | {err} | {lat.size / wall:.0f} | {p50:.1f} | {p90:.1f} | "
              f"{p99:.1f} | {lat.max():.1f} |")
    tmp.cleanup()
    if sum(errors.values()):
        raise SystemExit(f"{sum(errors.values())} requests failed")


if __name__ == "__main__":
    main()
