"""The real `plexus` CLI on GCPN (subprocesses): kill + --resume, bad input. Slow."""

import json
import os
import subprocess

import pytest

from cli_support import plexus_cmd, run_dirs, run_until_file

pytestmark = pytest.mark.slow

TINY = ["expert_molecules=120", "pretrain_steps=12", "pretrain_batch=16", "pretrain_checkpoint_every=5",
        "iterations=6", "episodes=4", "eval_samples=12", "steric_filter=false", "hidden=16", "disc_hidden=16",
        "checkpoint_every=2", "max_steps=20", "max_atoms=15", "minibatch=64", "ppo_epochs=2", "disc_batch=16"]
TIMING = {"ppo_minutes", "seed_minutes"}


def _env():
    env = dict(os.environ)
    env.setdefault("PLEXUS_DATA", "/work/shared/datasets")
    return env


def test_kill_and_resume_matches_uninterrupted(tmp_path):
    args = ["run", "gcpn", "task=qed", *TINY]
    code = run_until_file(args, tmp_path / "killed", "*/checkpoints/seed0.pt", tmp_path / "log", env=_env())
    assert code == -9, (tmp_path / "log").read_text()
    [run] = run_dirs(tmp_path / "killed")
    subprocess.run([*plexus_cmd(), "run", "gcpn", "--resume", str(run), "--quiet"], check=True, env=_env())
    subprocess.run([*plexus_cmd(), *args, "--out", str(tmp_path / "whole"), "--quiet"], check=True, env=_env())
    [whole] = run_dirs(tmp_path / "whole")
    resumed = json.loads((run / "metrics.json").read_text())["metrics"]
    fresh = json.loads((whole / "metrics.json").read_text())["metrics"]
    assert {k: v for k, v in resumed.items() if k not in TIMING} == {k: v for k, v in fresh.items() if k not in TIMING}
    ticks = [json.loads(line)["tick"] for line in (run / "history.jsonl").read_text().splitlines()]
    assert ticks == sorted(set(ticks))  # nothing logged twice


def test_bad_start_file_is_one_paragraph(tmp_path):
    bad = tmp_path / "starts.csv"
    bad.write_text("smiles\nCCO\nC1CC(\n")
    proc = subprocess.run([*plexus_cmd(), "run", "gcpn", "task=constrained", "--input", f"molecules={bad}", *TINY,
                           "--out", str(tmp_path / "runs")], capture_output=True, text=True, env=_env())
    assert proc.returncode == 2
    assert "line 3" in proc.stderr and "Traceback" not in proc.stderr
    assert run_dirs(tmp_path / "runs") == []
