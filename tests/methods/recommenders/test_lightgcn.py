"""LightGCN: propagation against a dense reference, the layer mean and its hand-written
gradient, a short real run on MovieLens-100K (run directory, export, selection on
validation), and kill-and-resume through the real CLI.

The resume test starts `plexus run lightgcn` as a subprocess, SIGKILLs it right after its
first checkpoint, resumes it with `--resume`, and compares the result with an uninterrupted
run of the same config: training is deterministic on CPU (same split, init, sampler state,
Adam state), so equal metrics show the checkpoint restored the model, the optimiser and
every random generator.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from plexus.methods.recommenders.data import load_split
from plexus.methods.recommenders.lightgcn import Config, LightGCN, Propagation, layer_mean, layer_mean_rows, normalized_bipartite
from plexus.nn.sparse import SparseOperator
from plexus.train.checkpoint import load_checkpoint
from plexus.train.rundir import RunDir
from cli_support import plexus_cmd, run_dirs, run_until_file


def tiny_interactions(num_users=7, num_items=9, n=30, seed=0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.stack([torch.randint(num_users, (n,), generator=g), torch.randint(num_items, (n,), generator=g)])


def dense_normalized(train: torch.Tensor, num_users: int, num_items: int) -> torch.Tensor:
    """D^-1/2 A D^-1/2 written the obvious way, float64."""
    n = num_users + num_items
    r = torch.zeros(num_users, num_items, dtype=torch.float64)
    r[train[0], train[1]] = 1.0  # repeated pairs count once
    a = torch.zeros(n, n, dtype=torch.float64)
    a[:num_users, num_users:] = r
    a[num_users:, :num_users] = r.t()
    deg = a.sum(1)
    dinv = torch.where(deg > 0, deg.pow(-0.5), torch.zeros_like(deg))
    return dinv[:, None] * a * dinv[None, :]


def test_normalized_adjacency_equals_the_dense_formula():
    train = tiny_interactions()
    train = torch.cat([train, train[:, :5]], dim=1)  # duplicates
    op = normalized_bipartite(train, 7, 9)
    ref = dense_normalized(train, 7, 9)
    assert torch.allclose(op.dense().double(), ref, atol=1e-7)
    assert torch.equal(op.dense(), op.dense().t())  # symmetric
    assert float(op.dense().diagonal().abs().sum()) == 0.0  # no self-loops


@pytest.mark.parametrize("slice_below", [0.0, 2.0])  # never / always take the row-slice path
@pytest.mark.parametrize("layers", [0, 1, 2, 3, 4])
def test_layer_mean_rows_equals_dense_reference_value_and_gradient(layers, slice_below):
    train = tiny_interactions()
    a = dense_normalized(train, 7, 9)
    prop = Propagation(SparseOperator(a.to_sparse(), symmetric=True), slice_below=slice_below)
    e0 = torch.randn(16, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(1), requires_grad=True)
    ref = sum(torch.linalg.matrix_power(a, k) @ e0 for k in range(layers + 1)) / (layers + 1)
    nodes = torch.tensor([0, 3, 6, 8, 12, 15])  # users and items
    out = layer_mean_rows(e0, prop, nodes, layers)
    assert torch.allclose(out, ref[nodes], atol=1e-12)
    w = torch.randn(out.shape, dtype=torch.float64)
    (g_ours,) = torch.autograd.grad((out * w).sum(), e0)
    (g_ref,) = torch.autograd.grad((ref[nodes] * w).sum(), e0)
    assert torch.allclose(g_ours, g_ref, atol=1e-12)
    assert torch.allclose(layer_mean(e0, prop.op, layers), ref, atol=1e-12)


def test_layer_mean_is_the_mean_of_the_layers():
    a = dense_normalized(tiny_interactions(), 7, 9)
    op = SparseOperator(a.to_sparse(), symmetric=True)
    e0 = torch.randn(16, 3, dtype=torch.float64)
    e1, e2, e3 = a @ e0, a @ a @ e0, a @ a @ a @ e0
    assert torch.allclose(layer_mean(e0, op, 3), (e0 + e1 + e2 + e3) / 4)
    assert torch.allclose(layer_mean(e0, op, 0), e0)


def test_batch_rows_match_the_full_propagation():
    train = tiny_interactions()
    torch.manual_seed(0)
    model = LightGCN(7, 9, 4, 3, normalized_bipartite(train, 7, 9))
    users, pos, neg = torch.tensor([0, 0, 5]), torch.tensor([1, 8, 1]), torch.tensor([2, 2, 7])
    final, layer0 = model.batch_rows(users, pos, neg)
    u_all, i_all = model.final()
    assert torch.allclose(final, torch.cat([u_all[users], i_all[pos], i_all[neg]]), atol=1e-6)
    assert torch.equal(layer0, torch.cat([model.embedding[users], model.embedding[pos + 7],
                                          model.embedding[neg + 7]]))
    assert 0.05 < float(model.embedding.std()) < 0.2  # normal init, std 0.1


# ---------------------------------------------------------- a short real run (ml-100k)


@pytest.fixture(scope="module")
def ml100k_run(tmp_path_factory, shared_datasets):
    os.environ.setdefault("PLEXUS_DATA", str(shared_datasets))
    from plexus.methods.recommenders import lightgcn

    out = tmp_path_factory.mktemp("lightgcn")
    cfg = Config(dataset="movielens-100k", epochs=6, eval_every=2, dim=32, lr=0.005, threads=1)
    run = RunDir.create(out, "lightgcn", cfg.dataset)
    run.write_config(cfg)
    return cfg, lightgcn.run(cfg, run, quiet=True)


def test_run_reports_every_metric_for_val_and_test(ml100k_run):
    cfg, result = ml100k_run
    for split in ("val", "test"):
        for name in ("recall", "ndcg", "precision", "hit_rate", "mrr"):
            for k in (10, 20):
                m = result.metrics[f"{split}_{name}@{k}"]
                assert set(m) == {"mean", "std", "se", "n"} and m["n"] == 1
                assert 0.0 <= m["mean"] <= 1.0
    assert result.metrics["test_recall@20"]["mean"] > 0.0
    assert "LightGCN" in result.protocol and "validation" in result.protocol


def test_run_directory_and_export(ml100k_run):
    _, result = ml100k_run
    run = result.run_dir
    saved = json.loads((run / "metrics.json").read_text())
    assert saved["metrics"]["test_ndcg@20"] == pytest.approx(result.metrics["test_ndcg@20"])
    history = [json.loads(line) for line in (run / "history.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in history] == [1, 2, 3, 4, 5, 6]
    assert all(np.isfinite(r["loss"]) for r in history)
    assert [r["epoch"] for r in history if "val_recall@20" in r] == [2, 4, 6]
    assert (run / "report.md").is_file() and "test_recall@20" in (run / "report.md").read_text()
    art = run / "artifacts"
    for name in ("user_embeddings.npy", "item_embeddings.npy", "user_ids.txt", "item_ids.txt", "seen.npz",
                 "item_text.jsonl"):
        assert (art / name).is_file(), name
    assert np.load(art / "user_embeddings.npy").shape == (943, 32)
    assert np.load(art / "item_embeddings.npy").shape == (1682, 32)

    from plexus.retrieval.artifacts import load_recommender

    rec = load_recommender(run).recommend("1", k=5)
    assert len(rec) == 5 and all("text" in r for r in rec)


def test_test_metrics_come_from_the_best_validation_epoch(ml100k_run):
    cfg, result = ml100k_run
    run = result.run_dir
    history = [json.loads(line) for line in (run / "history.jsonl").read_text().splitlines()]
    evals = {r["epoch"]: r["val_recall@20"] for r in history if "val_recall@20" in r}
    best_epoch = max(evals, key=evals.get)
    assert result.metrics["best_epoch"]["mean"] == best_epoch
    assert result.metrics["val_recall@20"]["mean"] == pytest.approx(evals[best_epoch])
    # the exported embeddings are the selected model: they reproduce its validation score
    from plexus.eval.ranking import full_ranking_metrics

    split = load_split(cfg)
    users = torch.from_numpy(np.load(run / "artifacts" / "user_embeddings.npy"))
    items = torch.from_numpy(np.load(run / "artifacts" / "item_embeddings.npy"))
    val = full_ranking_metrics(lambda u: users[u] @ items.t(), split.val, [split.train], split.num_users,
                               split.num_items, ks=(20,))
    assert val["recall@20"] == pytest.approx(evals[best_epoch], abs=1e-6)


# ------------------------------------------------------------------- kill and resume


def test_kill_after_first_checkpoint_then_resume_matches_an_uninterrupted_run(tmp_path, shared_datasets):
    env = {**os.environ, "PLEXUS_DATA": str(shared_datasets)}
    overrides = ["epochs=5", "eval_every=1", "dim=16", "patience=100", "threads=1"]
    out = tmp_path / "runs"
    code = run_until_file(["run", "lightgcn", "--dataset", "movielens-100k", *overrides], out,
                          "*/checkpoints/seed0.pt", tmp_path / "killed.stderr", env=env)
    assert code == -signal.SIGKILL, (code, (tmp_path / "killed.stderr").read_text())
    (run,) = run_dirs(out)
    ckpt = load_checkpoint(run / "checkpoints" / "seed0.pt")
    assert ckpt["done"] is False and 1 <= ckpt["epoch"] < 5
    assert not (run / "metrics.json").exists()

    done = subprocess.run([*plexus_cmd(), "run", "lightgcn", "--resume", str(run), "--json", "--quiet"],
                          capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout.strip().splitlines()[-1])
    assert Path(payload["run_dir"]) == run and run_dirs(out) == [run]
    lines = [json.loads(line) for line in (run / "history.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in lines] == [1, 2, 3, 4, 5]  # every epoch once, in order
    assert load_checkpoint(run / "checkpoints" / "seed0.pt")["done"] is True
    assert yaml.safe_load((run / "config.yaml").read_text())["epochs"] == 5

    # the same config, uninterrupted, in this process
    from plexus.config import parse_override, set_key
    from plexus.methods.recommenders import lightgcn

    cfg = Config(dataset="movielens-100k")
    for text in overrides:
        set_key(cfg, *parse_override(text))
    ref_run = RunDir.create(tmp_path / "ref", "lightgcn", cfg.dataset)
    theirs = lightgcn.run(cfg, ref_run, quiet=True).metrics
    for key, value in payload["metrics"].items():
        if key.startswith(("val_", "test_")) or key == "best_epoch":
            assert value["mean"] == pytest.approx(theirs[key]["mean"], abs=1e-6), key
    ref_loss = [json.loads(line)["loss"] for line in ref_run.history_path.read_text().splitlines()]
    assert [r["loss"] for r in lines] == pytest.approx(ref_loss, rel=1e-5)


# ------------------------------------------------------------------------------ presets

PRESETS = sorted((Path(__file__).resolve().parents[3] / "configs").glob("*/*.yaml"))


@pytest.mark.parametrize("path", [p for p in PRESETS if p.parent.name in ("lightgcn", "mf")], ids=lambda p: p.name)
def test_presets_are_valid_configs(path):
    from plexus.config import apply_dict, load_yaml
    from plexus.methods.recommenders import lightgcn, mf
    from plexus.methods.recommenders.bpr import check_config

    values = load_yaml(path)
    method = values.pop("method")
    assert method == path.parent.name
    cfg = {"lightgcn": lightgcn, "mf": mf}[method].Config()
    apply_dict(cfg, values, str(path))
    check_config(cfg)
    assert (cfg.dim, cfg.lr, cfg.batch_size, cfg.reg) == (64, 0.001, 2048, 1e-4)  # the paper's setting


def test_gowalla_cpu_preset_is_the_bench_budget():
    from plexus.config import load_yaml
    from plexus.methods.recommenders.bench import BUDGETS, GOWALLA_CPU

    preset = load_yaml(Path(__file__).resolve().parents[3] / "configs" / "lightgcn" / "gowalla-cpu.yaml")
    assert {k: preset[k] for k in GOWALLA_CPU} == GOWALLA_CPU
    assert BUDGETS["gowalla"][0] is GOWALLA_CPU
    paper = load_yaml(Path(__file__).resolve().parents[3] / "configs" / "lightgcn" / "gowalla.yaml")
    assert (paper["epochs"], paper["layers"], paper["patience"]) == (1000, 3, 50)
