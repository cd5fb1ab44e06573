"""A whole Decagon run on a small typed edge table: metrics, per-relation CSV and plot, exact
resume after an interruption, bad input leaving nothing behind, and (slow) the real CLI."""

from __future__ import annotations

import csv
import json
import subprocess

import pytest
from cli_support import plexus_cmd, run_dirs, run_until_file
from decagon_support import write_nodes, write_triples

import plexus.methods.decagon.algorithm as algorithm
from plexus.errors import InputError
from plexus.runner import build_config, execute
from plexus.train.rundir import RunDir

FAST = ["epochs=4", "seeds=2", "hidden=8", "out=4", "batch_size=16", "patience=null", "min_eval_edges=1"]


def _cfg(tmp_path, *extra):
    edges, nodes = write_triples(tmp_path), write_nodes(tmp_path)
    return build_config("decagon", inputs=[f"triples={edges}"], overrides=[f"node_table={nodes}", *FAST, *extra])


def test_run_writes_metrics_csv_and_plot(tmp_path):
    res = execute("decagon", _cfg(tmp_path), out=tmp_path / "runs", quiet=True)
    m = res.metrics
    for split in ("val", "test"):
        for key in ("auroc", "auprc", "ap@50"):
            for suffix in ("", "_median"):
                assert 0.0 <= m[f"{split}_{key}{suffix}"]["mean"] <= 1.0
                assert m[f"{split}_{key}{suffix}"]["n"] == 2
    assert res.dataset == "edges"
    assert 0.0 <= m["test_mc_accuracy"]["mean"] <= 1.0 and -1.0 <= m["test_mc_kappa"]["mean"] <= 1.0
    rows = list(csv.DictReader(open(res.artifacts["per_relation_csv"])))
    assert [r["relation"] for r in rows] == ["se0", "se1", "se2"]
    assert [int(r["test_edges"]) for r in rows] == [3, 3, 3]
    assert all(0 <= float(r["test_auroc"]) <= 1 for r in rows)
    assert res.artifacts["per_relation_plot"].stat().st_size > 0
    assert (res.run_dir / "report.md").is_file()
    assert json.loads((res.run_dir / "metrics.json").read_text())["metrics"]["test_auroc"]["n"] == 2


def test_resume_after_an_interruption_is_exact(tmp_path, monkeypatch):
    cfg = _cfg(tmp_path, "seeds=1")
    whole = execute("decagon", cfg, out=tmp_path / "a", quiet=True)

    real = algorithm.epoch_batches

    def dies_at_epoch_3(types, batch_size, seed, epoch):
        if epoch == 3:
            raise KeyboardInterrupt  # a kill after epoch 2's checkpoint
        return real(types, batch_size, seed, epoch)

    monkeypatch.setattr(algorithm, "epoch_batches", dies_at_epoch_3)
    with pytest.raises(KeyboardInterrupt):
        execute("decagon", cfg, out=tmp_path / "b", quiet=True)
    monkeypatch.setattr(algorithm, "epoch_batches", real)
    (run_dir,) = run_dirs(tmp_path / "b")
    assert (run_dir / "checkpoints" / "seed0.pt").is_file() and not (run_dir / "metrics.json").exists()
    resumed = execute("decagon", cfg, resume=run_dir, quiet=True)
    for key in ("test_auroc", "test_auprc", "test_ap@50", "val_auroc"):
        assert resumed.metrics[key]["mean"] == whole.metrics[key]["mean"], key
    epochs = [r["epoch"] for r in RunDir(run_dir).history()]
    assert epochs == [1, 2, 3, 4]


def test_bad_input_leaves_nothing_behind(tmp_path):
    edges = write_triples(tmp_path, extra_rows=["D1,se0,D99"])
    nodes = write_nodes(tmp_path)
    cfg = build_config("decagon", inputs=[f"triples={edges}"], overrides=[f"node_table={nodes}", *FAST])
    with pytest.raises(InputError, match="'D99'"):
        execute("decagon", cfg, out=tmp_path / "runs", quiet=True)
    assert run_dirs(tmp_path / "runs") == []


@pytest.mark.slow
def test_cli_run_kill_and_resume(tmp_path):
    edges, nodes = write_triples(tmp_path), write_nodes(tmp_path)
    args = ["run", "decagon", "--input", f"triples={edges}", f"node_table={nodes}", *FAST, "epochs=30", "seeds=1"]
    out = tmp_path / "runs"
    run_until_file(args, out, "*/checkpoints/seed0.pt", tmp_path / "log.txt")
    (run_dir,) = run_dirs(out)
    assert not (run_dir / "metrics.json").exists()
    done = subprocess.run([*plexus_cmd(), "run", "decagon", "--resume", str(run_dir), "--json", "--quiet"],
                          capture_output=True, text=True, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert 0 <= result["metrics"]["test_auroc"]["mean"] <= 1 and result["run_dir"] == str(run_dir)
    bad = subprocess.run([*plexus_cmd(), "run", "decagon", "--input", f"triples={edges}", "relations=[se0]",
                          "--out", str(tmp_path / "bad")], capture_output=True, text=True)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "unknown relation 'se1'" in bad.stderr
    assert run_dirs(tmp_path / "bad") == []
