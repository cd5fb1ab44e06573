"""GLEM end to end on a small text-attributed graph, with the real MiniLM."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from cli_support import plexus_cmd, run_dirs, run_until_file
from tag_graph import write_graph
from plexus.errors import ConfigError
from plexus.methods.glem import algorithm as glem
from plexus.runner import build_config, execute

TINY = ["seeds=1", "split.train_ratio=0.5", "split.val_ratio=0.25", "lm.max_length=16", "lm.batch_size=16",
        "lm.pretrain_epochs=1.0", "lm.em_epochs=0.5", "gnn.hidden=16", "gnn.epochs=30", "gnn.patience=30"]


@pytest.fixture(scope="module")
def graph(tmp_path_factory):
    return write_graph(tmp_path_factory.mktemp("tag"))


def _cfg(graph, extra=()):
    nodes, edges = graph
    return build_config("glem", overrides=[f"tables.nodes={nodes}", f"tables.edges={edges}", *TINY, *extra])


def _mean(metrics, key):
    v = metrics[key]
    return v["mean"] if isinstance(v, dict) else v


def test_stage_order_follows_em_order():
    cfg = glem.Config(em_iters=2)
    assert glem.stage_names(cfg) == ["gnn_frozen", "lm_pretrain", "gnn_pretrain", "lm_e1", "gnn_m1", "lm_e2",
                                     "gnn_m2"]
    cfg.em_order, cfg.frozen_start = "gnn-first", False
    assert glem.stage_names(cfg) == ["lm_pretrain", "gnn_pretrain", "gnn_m1", "lm_e1", "gnn_m2", "lm_e2"]


def test_bad_config_is_refused():
    with pytest.raises(ConfigError, match="em_order"):
        glem.check_config(glem.Config(em_order="lm_first"))
    with pytest.raises(ConfigError, match="alpha"):
        glem.check_config(glem.Config(alpha=1.5))
    with pytest.raises(ConfigError, match="Did you mean 'pl_filter'"):
        build_config("glem", overrides=["pl_fliter=0.5"])


def test_selection_and_metrics(graph, tmp_path):
    result = execute("glem", _cfg(graph), out=tmp_path, quiet=True)
    m = result.metrics
    for key in ("test_acc_glem_gnn", "test_acc_glem_lm", "val_acc_lm_pretrain", "val_acc_gnn_pretrain",
                "val_acc_lm_e1", "val_acc_gnn_m1"):
        assert key in m
    # GLEM-X is the X stage with the best validation accuracy, and its test accuracy is that stage's
    lm_stages = {s: _mean(m, f"val_acc_{s}") for s in ("lm_pretrain", "lm_e1")}
    best = max(lm_stages, key=lm_stages.get)
    assert _mean(m, "val_acc_glem_lm") == lm_stages[best]
    assert _mean(m, "test_acc_glem_lm") == _mean(m, f"test_acc_{best}")
    # the topics are easy: the GNN stage must learn them
    assert _mean(m, "test_acc_glem_gnn") > 0.6
    # each LM version encoded the texts exactly once: after lm_pretrain and after lm_e1
    assert _mean(m, "lm_encodings") == 2
    assert "transductive" in result.protocol
    history = [json.loads(line) for line in (result.run_dir / "history.jsonl").read_text().splitlines()]
    assert [h["stage"] for h in history] == ["gnn_frozen", "lm_pretrain", "gnn_pretrain", "lm_e1", "gnn_m1"]
    assert history[2]["pseudo_nodes"] == 0 and history[3]["pseudo_nodes"] > 0 and history[4]["pseudo_nodes"] > 0


def test_test_labels_never_reach_training(graph, tmp_path):
    """Scrambling the test nodes' labels changes test accuracy and nothing else."""
    nodes, edges = graph
    cfg = _cfg(graph)
    from plexus.datasets.source import load_graph
    from plexus.methods.gnn.algorithm import node_split

    data = load_graph(cfg.dataset, None, cfg.tables)
    test = node_split(cfg.split, data, data.y, cfg.seed).test
    lines = nodes.read_text().splitlines()
    for i in test.tolist():  # rotate each test node's label to another class
        pid, rest = lines[i + 1].split(",", 1)
        text, label = rest.rsplit(",", 1)
        lines[i + 1] = f"{pid},{text},c{(int(label[1]) + 1) % 3}"
    scrambled = tmp_path / "scrambled.csv"
    scrambled.write_text("\n".join(lines) + "\n")

    a = execute("glem", cfg, out=tmp_path / "a", quiet=True)
    b = execute("glem", _cfg((scrambled, edges)), out=tmp_path / "b", quiet=True)
    for key in a.metrics:
        if key.startswith(("val_acc", "glem_", "lm_encodings")):
            assert _mean(a.metrics, key) == _mean(b.metrics, key), key
    ckpt_a = torch.load(next((a.run_dir / "checkpoints").glob("seed0.pt")), weights_only=False)
    ckpt_b = torch.load(next((b.run_dir / "checkpoints").glob("seed0.pt")), weights_only=False)
    for sa, sb in zip(ckpt_a["stages"], ckpt_b["stages"]):
        assert torch.equal(sa["pred"], sb["pred"]), sa["stage"]
    assert _mean(a.metrics, "test_acc_glem_gnn") != _mean(b.metrics, "test_acc_glem_gnn")


def _env():
    return {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}


def test_resume_after_kill_matches_uninterrupted(graph, tmp_path):
    nodes, edges = graph
    args = ["run", "glem", "--nodes", str(nodes), "--edges", str(edges), *TINY]
    code = run_until_file(args, tmp_path / "killed", "*/checkpoints/seed0.pt", tmp_path / "log", env=_env())
    assert code == -9, (tmp_path / "log").read_text()
    [run] = run_dirs(tmp_path / "killed")
    subprocess.run([*plexus_cmd(), "run", "glem", "--resume", str(run), "--quiet"], check=True, env=_env())
    subprocess.run([*plexus_cmd(), *args, "--out", str(tmp_path / "whole"), "--quiet"], check=True, env=_env())
    [whole] = run_dirs(tmp_path / "whole")
    resumed = json.loads((run / "metrics.json").read_text())["metrics"]
    fresh = json.loads((whole / "metrics.json").read_text())["metrics"]
    for key in ("val_acc_lm_pretrain", "val_acc_gnn_m1", "test_acc_glem_gnn", "test_acc_glem_lm"):
        assert _mean(resumed, key) == pytest.approx(_mean(fresh, key), abs=0.02), key
    stages = [json.loads(line)["stage"] for line in (run / "history.jsonl").read_text().splitlines()]
    assert stages == ["gnn_frozen", "lm_pretrain", "gnn_pretrain", "lm_e1", "gnn_m1"]  # no stage logged twice


def test_two_process_torchrun(graph, tmp_path):
    """The LM stage as DDP over 2 gloo processes: one run directory, same accuracy as 1 process."""
    nodes, edges = graph
    torchrun = Path(sys.executable).with_name("torchrun")
    cmd = [str(torchrun), "--nproc_per_node=2", "--standalone", "-m",
           "plexus.cli", "run", "glem", "--nodes", str(nodes), "--edges", str(edges), *TINY,
           "--out", str(tmp_path / "ddp"), "--json", "--quiet"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    [run] = run_dirs(tmp_path / "ddp")
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1  # only rank 0 reports
    ddp = json.loads(lines[0])["metrics"]
    single = execute("glem", _cfg(graph), out=tmp_path / "single", quiet=True).metrics
    assert _mean(ddp, "lm_encodings") == 2
    for key in ("test_acc_glem_gnn", "val_acc_glem_gnn"):
        assert abs(_mean(ddp, key) - _mean(single, key)) <= 0.15, key
