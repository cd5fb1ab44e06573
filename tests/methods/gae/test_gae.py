"""GAE / VGAE: the blocked dense loss, a short real run on cora, kill-and-resume, features.

The resume test starts the real CLI as a subprocess, SIGKILLs it in the middle of seed 1,
resumes it with `--resume`, and compares the result with an uninterrupted run of the same
config: VGAE draws its reparameterisation noise from the global torch RNG, so an exact
match shows the checkpoint restored the model, the optimiser and the RNG state.
"""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml

from plexus.errors import ConfigError
from plexus.graph.splits import split_edges
from plexus.methods.gae.algorithm import DenseTarget, GCNEncoder, dense_recon_loss, normalized_adjacency
from plexus.runner import build_config, execute
from plexus.train.checkpoint import load_checkpoint
from cli_support import plexus_cmd, run_dirs, run_until_file

METRICS = ("test_auc", "test_ap", "test_hits@10", "test_mrr")


# ----------------------------------------------------------------- dense loss = BCE


def random_graph_target(n: int, m: int, seed: int) -> DenseTarget:
    g = torch.Generator().manual_seed(seed)
    ei = torch.randint(n, (2, m), generator=g)
    split = split_edges(ei, n, generator=g)
    return DenseTarget.from_split(split)


def reference_loss(z: torch.Tensor, target: DenseTarget) -> torch.Tensor:
    """Kipf's loss written the obvious way: a dense label matrix and the library BCE."""
    n = z.size(0)
    labels = torch.zeros(n, n, dtype=z.dtype)
    labels[target.pos_index[0], target.pos_index[1]] = 1.0
    pw = torch.tensor(target.pos_weight, dtype=z.dtype)
    return target.norm * F.binary_cross_entropy_with_logits(z @ z.t(), labels, pos_weight=pw)


def test_dense_target_weights():
    target = random_graph_target(37, 120, seed=0)
    n, p = 37, target.pos_index.size(1)
    # every positive is distinct: train edges both ways plus the n diagonal entries
    assert len(set(map(tuple, target.pos_index.t().tolist()))) == p
    assert target.pos_weight == pytest.approx((n * n - p) / p)
    assert target.norm == pytest.approx(n * n / (2 * (n * n - p)))


@pytest.mark.parametrize("block", [1, 5, 8, 16, 37, 64, 1024])  # 5, 8, 16 do not divide 37
@pytest.mark.parametrize("scale", [0.3, 4.0])  # 4.0: logits in the tens, softplus far from linear
def test_dense_recon_loss_equals_weighted_bce_value_and_gradient(block, scale):
    target = random_graph_target(37, 120, seed=1)
    z = (scale * torch.randn(37, 6, generator=torch.Generator().manual_seed(2), dtype=torch.float64))
    z.requires_grad_(True)
    ours = dense_recon_loss(z, target, block=block)
    ref = reference_loss(z, target)
    assert ours.dtype == torch.float64
    assert torch.allclose(ours, ref, rtol=1e-10, atol=0), (ours.item(), ref.item())
    (g_ours,) = torch.autograd.grad(ours, z)
    (g_ref,) = torch.autograd.grad(ref, z)
    # float64 round-off of the sum-then-correct formulation is ~1e-10 of the largest entry;
    # a wrong or missing block would be off by far more.
    tol = 1e-8 * g_ref.abs().max()
    assert (g_ours - g_ref).abs().max() <= tol, (g_ours - g_ref).abs().max()


def test_dense_recon_loss_gradient_through_a_downstream_scale():
    # The custom backward must scale by the incoming gradient, not assume it is 1.
    target = random_graph_target(20, 60, seed=3)
    z = torch.randn(20, 4, dtype=torch.float64, requires_grad=True)
    (g_ours,) = torch.autograd.grad(3.5 * dense_recon_loss(z, target, block=7), z)
    (g_ref,) = torch.autograd.grad(3.5 * reference_loss(z, target), z)
    assert (g_ours - g_ref).abs().max() <= 1e-8 * g_ref.abs().max()


# ------------------------------------------------------------- a short real run on cora


@pytest.fixture(scope="module")
def vgae_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("vgae")
    cfg = build_config("vgae", dataset="cora", overrides=["seeds=2", "epochs=30"])
    result = execute("vgae", cfg, out=out, quiet=True)
    return out, result


def test_vgae_metrics_are_summaries_over_two_seeds(vgae_run):
    _, result = vgae_run
    assert (result.method, result.dataset) == ("vgae", "cora")
    for key in METRICS:
        m = result.metrics[key]
        assert set(m) == {"mean", "std", "se", "n"} and m["n"] == 2, key
        assert 0.0 <= m["mean"] <= 1.0 and m["std"] >= 0.0, key
        assert m["se"] == pytest.approx(m["std"] / np.sqrt(2)), key
    assert "encoder sees train edges only" in result.protocol
    assert "30 epochs" in result.protocol and "2 seeds" in result.protocol


def test_vgae_learns_well_above_chance(vgae_run):
    # 30 epochs of VGAE on cora measured ~0.89 test AUC; a broken model sits near 0.5.
    _, result = vgae_run
    assert result.metrics["test_auc"]["mean"] > 0.80, result.metrics["test_auc"]
    assert result.metrics["test_ap"]["mean"] > 0.80, result.metrics["test_ap"]
    assert result.metrics["test_hits@10"]["mean"] > 0.05


def test_vgae_run_directory(vgae_run):
    out, result = vgae_run
    assert run_dirs(out) == [result.run_dir]
    run = result.run_dir
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    assert (cfg["epochs"], cfg["seeds"], cfg["variational"], cfg["dataset"]) == (30, 2, True, "cora")
    saved = json.loads((run / "metrics.json").read_text())
    assert saved["metrics"]["test_auc"] == pytest.approx(result.metrics["test_auc"])
    assert saved["method"] == "vgae" and saved["protocol"] == result.protocol

    history = [json.loads(line) for line in (run / "history.jsonl").read_text().splitlines()]
    assert len(history) == 60
    assert sorted((r["seed"], r["epoch"]) for r in history) == [(s, e) for s in (0, 1) for e in range(1, 31)]
    assert all(np.isfinite(r["loss"]) for r in history)
    first, last = [r["loss"] for r in history if r["seed"] == 0][::29]
    assert last < first  # training lowered the loss

    report = (run / "report.md").read_text()
    pngs = sorted(p.name for p in run.glob("*.png"))
    assert pngs and all(f"]({p})" in report for p in pngs)
    assert "test_auc" in report and result.protocol in report
    assert all((run / p).stat().st_size > 1000 for p in pngs)

    emb = np.load(run / "artifacts" / "embeddings.npy")
    assert emb.shape == (2708, 16) and np.isfinite(emb).all() and emb.std() > 0
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["seed0.pt", "seed1.pt"]


# ------------------------------------------------------------------- kill and resume


def test_kill_mid_seed_then_resume_matches_an_uninterrupted_run(tmp_path):
    epochs, every = 8, 2
    overrides = ["seeds=2", f"epochs={epochs}", f"ckpt_every={every}"]
    out = tmp_path / "runs"
    code = run_until_file(["run", "vgae", "--dataset", "cora", *overrides], out,
                          "*/checkpoints/seed1.pt", tmp_path / "killed.stderr")
    assert code == -signal.SIGKILL, (code, (tmp_path / "killed.stderr").read_text())
    (run,) = run_dirs(out)

    seed1 = load_checkpoint(run / "checkpoints" / "seed1.pt")
    assert seed1["done"] is False and every <= seed1["epoch"] < epochs  # killed mid-seed
    seed0_path = run / "checkpoints" / "seed0.pt"
    assert load_checkpoint(seed0_path)["done"] is True
    seed0_stat, seed0_bytes = seed0_path.stat().st_mtime_ns, seed0_path.read_bytes()
    seed0_history = [line for line in (run / "history.jsonl").read_text().splitlines()
                     if json.loads(line)["seed"] == 0]
    assert not (run / "metrics.json").exists()
    # a kill during a checkpoint write may leave that write's temp file; never a torn .pt
    stale = {p.name for p in (run / "checkpoints").iterdir() if p.name.startswith(".")}

    done = subprocess.run([*plexus_cmd(), "run", "vgae", "--resume", str(run), "--json", "--quiet"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout.strip().splitlines()[-1])
    assert Path(payload["run_dir"]) == run
    assert all(payload["metrics"][k]["n"] == 2 for k in METRICS)
    assert run_dirs(out) == [run]  # resumed in place, no new run directory

    lines = (run / "history.jsonl").read_text().splitlines()
    pairs = [(json.loads(line)["seed"], json.loads(line)["epoch"]) for line in lines]
    assert len(lines) == 2 * epochs and len(set(pairs)) == 2 * epochs
    assert set(pairs) == {(s, e) for s in (0, 1) for e in range(1, epochs + 1)}
    # seed 0 was not recomputed: its checkpoint and history are untouched
    assert seed0_path.stat().st_mtime_ns == seed0_stat and seed0_path.read_bytes() == seed0_bytes
    assert [line for line in lines if json.loads(line)["seed"] == 0] == seed0_history
    assert load_checkpoint(run / "checkpoints" / "seed1.pt")["done"] is True
    leftovers = {p.name for p in (run / "checkpoints").iterdir() if p.name.startswith(".")}
    assert leftovers <= stale, leftovers - stale  # the resumed run's own writes left no temp files

    # The same config, uninterrupted, in this process. Training is deterministic (same
    # split, init, Adam state and VGAE noise) up to float32 summation order in multithreaded
    # kernels (seen: AP differing by 1.3e-6 on a loaded machine), hence 1e-4 tolerances; a
    # broken RNG restore moves the losses by 0.1-1.6% and test AUC by ~2e-3, far outside.
    ref = execute("vgae", build_config("vgae", dataset="cora", overrides=overrides),
                  out=tmp_path / "ref", quiet=True)
    for seed in (0, 1):
        ours = load_checkpoint(run / "checkpoints" / f"seed{seed}.pt")["record"]["metrics"]
        theirs = load_checkpoint(ref.run_dir / "checkpoints" / f"seed{seed}.pt")["record"]["metrics"]
        assert ours.keys() == theirs.keys()
        for key in ours:
            assert ours[key] == pytest.approx(theirs[key], abs=1e-4), (seed, key, ours[key], theirs[key])
    ref_history = (ref.run_dir / "history.jsonl").read_text().splitlines()
    ref_loss = {(r["seed"], r["epoch"]): r["loss"] for r in map(json.loads, ref_history)}
    our_loss = {(r["seed"], r["epoch"]): r["loss"] for r in map(json.loads, lines)}
    assert our_loss.keys() == ref_loss.keys()
    for key in ref_loss:  # every epoch after the resume point trained as if never killed
        assert our_loss[key] == pytest.approx(ref_loss[key], rel=1e-4), key
    assert np.allclose(np.load(run / "artifacts" / "embeddings.npy"),
                       np.load(ref.run_dir / "artifacts" / "embeddings.npy"), atol=1e-3)


# ------------------------------------------------------------------------- features


def tiny_tables(folder: Path, with_text: bool = False) -> tuple[Path, Path]:
    """24 nodes: a ring plus chords i -> i+5, 48 undirected edges."""
    n = 24
    nodes = folder / "tiny_nodes.csv"
    edges = folder / "tiny_edges.csv"
    header = "id,text" if with_text else "id"
    nodes.write_text(header + "\n" + "".join(f"n{i}" + (f",paper {i}" if with_text else "") + "\n"
                                             for i in range(n)))
    rows = [(i, (i + 1) % n) for i in range(n)] + [(i, (i + 5) % n) for i in range(n)]
    edges.write_text("src,dst\n" + "".join(f"n{a},n{b}\n" for a, b in rows))
    return nodes, edges


def tables_config(folder: Path, *extra: str):
    nodes, edges = tiny_tables(folder)
    return build_config("gae", dataset="tiny", overrides=[f"tables.nodes={nodes}", f"tables.edges={edges}",
                                                          "seeds=1", "epochs=5", *extra])


def test_identity_features_equal_an_explicit_identity_matrix():
    n = 15
    ring = torch.stack([torch.arange(n), (torch.arange(n) + 1) % n])
    adj = normalized_adjacency(torch.cat([ring, ring.flip(0)], dim=1), n)
    torch.manual_seed(0)
    enc = GCNEncoder(n, 8, 4, variational=True, dropout=0.0)
    mu, logstd = enc(None, adj)
    for eye in (torch.eye(n), torch.eye(n).to_sparse()):
        mu2, logstd2 = enc(eye, adj)
        assert torch.allclose(mu, mu2, atol=1e-6) and torch.allclose(logstd, logstd2, atol=1e-6)
    assert mu.shape == (n, 4)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny")
    cfg = tables_config(folder, "features=none")
    return execute("gae", cfg, out=folder / "runs", quiet=True), cfg


def test_featureless_run_on_a_tiny_graph(tiny_run):
    result, _ = tiny_run
    assert "no features (identity)" in result.protocol
    emb = np.load(result.artifacts["embeddings"])
    assert emb.shape == (24, 16) and np.isfinite(emb).all()
    assert 0.0 <= result.metrics["test_auc"]["mean"] <= 1.0 and result.metrics["test_auc"]["n"] == 1
    # 48 edges -> 4 test negatives: Hits@10/50/100 are undefined and omitted
    assert not [k for k in result.metrics if k.startswith("test_hits@")]
    assert len((result.run_dir / "history.jsonl").read_text().splitlines()) == 5


def test_tables_run_is_not_labelled_as_another_dataset(tmp_path):
    # Through the Python API (no `dataset=`), a run on the user's tables must not claim to
    # be on the Config's default dataset; the CLI and the run directory name use the stem.
    nodes, edges = tiny_tables(tmp_path)
    cfg = build_config("gae", overrides=[f"tables.nodes={nodes}", f"tables.edges={edges}",
                                         "seeds=1", "epochs=2", "features=none"])
    result = execute("gae", cfg, out=tmp_path / "runs", quiet=True)
    assert result.run_dir.name.endswith(f"-gae-{nodes.stem}")
    assert result.dataset == nodes.stem


@pytest.mark.parametrize("mode, needle", [("raw", "features=raw"), ("text", "features=text")])
def test_missing_features_are_a_config_error_and_leave_no_run(tmp_path, mode, needle):
    cfg = tables_config(tmp_path, f"features={mode}")
    out = tmp_path / "runs"
    with pytest.raises(ConfigError) as info:
        execute("gae", cfg, out=out, quiet=True)
    assert needle in str(info.value)
    assert run_dirs(out) == []  # bad input: no half-written run directory
