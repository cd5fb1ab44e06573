"""The `gnn` method checkpoints each finished seed: a run killed mid-way continues with
--resume from the first unfinished seed and ends as an uninterrupted run would."""

from __future__ import annotations

import json
import os
import signal
import subprocess

import torch

from cli_support import plexus_cmd, run_dirs, run_until_file
from tag_graph import write_graph

from plexus.runner import build_config, execute
from plexus.train.checkpoint import load_checkpoint
from plexus.train.rundir import RunDir

SETTINGS = ["features=tfidf", "seeds=3", "split.train_ratio=0.5", "split.val_ratio=0.25", "model.hidden=16",
            "model.epochs=300", "model.patience=1000"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}  # OpenMP waits badly on shared cores


def test_kill_after_a_seed_then_resume_matches_an_uninterrupted_run(tmp_path):
    nodes, edges = write_graph(tmp_path, n=300)
    inputs = [f"nodes={nodes}", f"edges={edges}"]
    out = tmp_path / "runs"
    args = ["run", "gnn", "--input", inputs[0], "--input", inputs[1], *SETTINGS]
    code = run_until_file(args, out, "*/checkpoints/seed0.pt", tmp_path / "killed.stderr", env=ENV)
    assert code == -signal.SIGKILL, (code, (tmp_path / "killed.stderr").read_text())
    (run,) = run_dirs(out)
    assert load_checkpoint(run / "checkpoints" / "seed0.pt")["done"] is True
    assert not (run / "checkpoints" / "seed2.pt").exists() and not (run / "metrics.json").exists()
    seed0 = (run / "checkpoints" / "seed0.pt").read_bytes()

    done = subprocess.run([*plexus_cmd(), "run", "gnn", "--resume", str(run), "--json", "--quiet"],
                          capture_output=True, text=True, timeout=600, env=ENV)
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout.strip().splitlines()[-1])
    assert payload["metrics"]["test_acc"]["n"] == 3 and run_dirs(out) == [run]
    assert (run / "checkpoints" / "seed0.pt").read_bytes() == seed0  # a finished seed is not retrained

    history = RunDir(run).history()
    assert sorted(r["seed"] for r in history) == [0, 1, 2]
    cfg = build_config("gnn", inputs=inputs, overrides=SETTINGS)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the CLI runs above (OMP_NUM_THREADS=1): same arithmetic, no OpenMP waits
    try:
        whole = execute("gnn", cfg, out=tmp_path / "whole", quiet=True)
    finally:
        torch.set_num_threads(threads)
    want = {r["seed"]: r for r in RunDir(whole.run_dir).history()}
    for rec in history:
        assert (rec["val_acc"], rec["test_acc"], rec["best_epoch"]) == \
            (want[rec["seed"]]["val_acc"], want[rec["seed"]]["test_acc"], want[rec["seed"]]["best_epoch"])
    assert payload["metrics"]["test_acc"]["mean"] == whole.metrics["test_acc"]["mean"]
    assert "| test_acc |" in (run / "report.md").read_text()
