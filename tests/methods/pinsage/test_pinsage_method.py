"""PinSage end to end on MovieLens-100K through the real CLI: the metrics of both protocols,
the curriculum in training, selection on validation, `plexus similar`, kill-and-resume, and
`plexus embed RUN_DIR --new-items` for items the run never saw."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from plexus.train.checkpoint import load_checkpoint
from cli_support import plexus_cmd, run_dirs, run_until_file

# Small and fast: few pairs per epoch, short walks, narrow layers.
SMALL = ["pairs_per_epoch=2048", "num_random_walks=40", "hidden_dim=32", "dim=16", "num_negatives=100",
         "threads=1", "patience=10"]


def _env(shared_datasets) -> dict:
    return {**os.environ, "PLEXUS_DATA": str(shared_datasets)}


def _plexus(args, env, timeout=300) -> subprocess.CompletedProcess:
    done = subprocess.run([*plexus_cmd(), *args], capture_output=True, text=True, timeout=timeout, env=env)
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory, shared_datasets):
    out = tmp_path_factory.mktemp("pinsage")
    done = _plexus(["run", "pinsage", "--dataset", "movielens-100k", "epochs=3", "max_hard_negatives=1",
                    "num_workers=1", "index=HNSW32", *SMALL, "--out", str(out), "--json", "--quiet"],
                   _env(shared_datasets))
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_json_reports_item_to_item_and_user_level_metrics(cli_run):
    m = cli_run["metrics"]
    for split in ("val", "test"):
        for key in ("hit_rate@10", "hit_rate@20", "mrr", "mrr_unscaled", "user_hit_rate@10", "user_recall@20"):
            assert 0.0 <= m[f"{split}_{key}"]["mean"] <= 1.0, key
    assert m["test_hit_rate@20"]["mean"] >= m["test_hit_rate@10"]["mean"] > 0.0
    assert m["test_mrr"]["mean"] >= m["test_mrr_unscaled"]["mean"]  # ceil(rank / 100) <= rank
    assert "max-margin" in cli_run["protocol"] and "3600 s" in cli_run["protocol"]


def test_curriculum_adds_a_hard_negative_per_epoch_up_to_the_cap(cli_run):
    history = [json.loads(x) for x in (Path(cli_run["run_dir"]) / "history.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in history] == [1, 2, 3]
    assert [r["hard_negatives"] for r in history] == [0, 1, 1]  # epoch n: n - 1, capped at 1
    assert all(r["pairs"] == 2048 for r in history)


def test_hard_window_is_calibrated_beyond_validation_targets_and_recorded(cli_run):
    info = json.loads((Path(cli_run["run_dir"]) / "artifacts" / "hard_negatives.json").read_text())
    assert info["how"].startswith("calibrated") and info["quantile"] == 0.95
    assert info["val_targets_before_window"] >= 0.95 and info["val_targets_inside_window"] <= 0.05
    assert info["val_target_rank_median"] < info["lo"] < info["hi"] <= 1681
    m = cli_run["metrics"]
    assert (m["hard_lo"], m["hard_hi"]) == (info["lo"], info["hi"])  # plain numbers: one window per run
    assert f"[{info['lo']}, {info['hi']})" in cli_run["protocol"]


def test_export_builds_the_configured_ann_index(cli_run):
    meta = json.loads((Path(cli_run["run_dir"]) / "artifacts" / "item_index" / "index.json").read_text())
    assert meta["factory"] == "HNSW32" and meta["params"]["efSearch"] >= 1
    assert 0.9 <= cli_run["metrics"]["index_recall@10"] <= 1.0  # measured against Flat at export
    assert "HNSW32 index" in cli_run["protocol"]


def test_test_metrics_come_from_the_best_validation_epoch(cli_run, shared_datasets):
    run = Path(cli_run["run_dir"])
    history = [json.loads(x) for x in (run / "history.jsonl").read_text().splitlines()]
    val = {r["epoch"]: r["val_hit_rate@10"] for r in history}
    best = max(val, key=val.get)
    assert cli_run["metrics"]["best_epoch"]["mean"] == best
    # the exported embeddings are the selected model's: they reproduce its validation score
    from plexus.methods.pinsage.algorithm import Config, prepare
    from plexus.methods.pinsage.evaluation import embedding_scorer

    data = prepare(Config(dataset="movielens-100k", data_dir=str(shared_datasets)))
    emb = torch.from_numpy(np.load(run / "artifacts" / "item_embeddings.npy"))
    again = data.evaluation.evaluate(embedding_scorer(emb), "val")
    assert again["hit_rate@10"] == pytest.approx(val[best], abs=1e-6)


def test_similar_works_on_the_run_directory(cli_run, shared_datasets):
    done = _plexus(["similar", cli_run["run_dir"], "--item", "1", "-k", "5"], _env(shared_datasets))
    lines = done.stdout.strip().splitlines()
    assert "Toy Story" in lines[1]  # the query's own text
    assert len(lines) == 2 + 2 + 5  # title, query text, header, rule, 5 rows


def _new_items(tmp_path: Path, run: Path, originals: list[str]) -> tuple[Path, Path]:
    """Copies of existing movies under new ids (same text, same users), one watched by a new
    user, and one without interactions (text only)."""
    texts = {json.loads(x)["item_id"]: json.loads(x)["text"]
             for x in (run / "artifacts" / "item_text.jsonl").read_text().splitlines()}
    items = tmp_path / "new_items.csv"
    with open(items, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["item", "text"])
        for i in originals:
            w.writerow([f"new-{i}", texts[i]])
        w.writerow(["new-cold", "Brand New Space Adventure (2026) | Sci-Fi"])
        w.writerow(["new-orphan", "Nobody Watched This (2026) | Documentary"])  # no interactions
    from plexus.methods.recommenders.data import RecConfig, load_split

    split = load_split(RecConfig(dataset="movielens-100k"))
    inter = tmp_path / "new_interactions.csv"
    with open(inter, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["user", "item"])
        for u, i in split.train.t().tolist():
            if split.item_ids[i] in originals:
                w.writerow([split.user_ids[u], f"new-{split.item_ids[i]}"])
        w.writerow(["a-new-user", "new-cold"])  # unknown users join the graph
        w.writerow(["a-new-user", "1"])
    return items, inter


def test_embed_new_items_inductively(cli_run, shared_datasets, tmp_path):
    env = _env(shared_datasets)
    run = Path(cli_run["run_dir"])
    originals = ["50", "100", "181"]  # Star Wars, Fargo, Return of the Jedi
    items, inter = _new_items(tmp_path, run, originals)
    out = tmp_path / "inductive"
    done = _plexus(["embed", str(run), "--new-items", str(items), "--new-interactions", str(inter),
                    "--out", str(out)], env)
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["new_items"] == 5 and summary["new_items_without_interactions"] == 1

    old = np.load(run / "artifacts" / "item_embeddings.npy")
    both = np.load(out / "item_embeddings.npy")
    ids = (out / "item_ids.txt").read_text().split()
    assert both.shape == (old.shape[0] + 5, old.shape[1])
    np.testing.assert_allclose(both[:old.shape[0]], old, atol=1e-5)  # trained items are untouched
    for i in originals:
        twin, orig = both[ids.index(f"new-{i}")], both[ids.index(i)]
        assert float(twin @ orig) > 0.9  # same text and users: nearly the same place
    # the new items are retrievable like any other
    shown = _plexus(["similar", str(out), "--item", "new-50", "-k", "5"], env).stdout
    assert "new-50" in shown.splitlines()[0]


def test_embed_refuses_items_the_run_already_has(cli_run, shared_datasets, tmp_path):
    items = tmp_path / "dup.csv"
    items.write_text("item,text\n1,Toy Story again\n")
    done = subprocess.run([*plexus_cmd(), "embed", cli_run["run_dir"], "--new-items", str(items)],
                          capture_output=True, text=True, timeout=120, env=_env(shared_datasets))
    assert done.returncode == 2 and "already in the run" in done.stderr


# ------------------------------------------------------------------- kill and resume


def test_kill_after_first_checkpoint_then_resume_matches_an_uninterrupted_run(tmp_path, shared_datasets):
    env = _env(shared_datasets)
    args = ["run", "pinsage", "--dataset", "movielens-100k", "epochs=2", "num_workers=0", *SMALL]
    out = tmp_path / "runs"
    code = run_until_file(args, out, "*/checkpoints/seed0.pt", tmp_path / "killed.stderr", env=env)
    assert code == -signal.SIGKILL, (code, (tmp_path / "killed.stderr").read_text())
    (run,) = run_dirs(out)
    ckpt = load_checkpoint(run / "checkpoints" / "seed0.pt")
    assert ckpt["done"] is False and ckpt["epoch"] == 1

    done = _plexus(["run", "pinsage", "--resume", str(run), "--json", "--quiet"], env)
    resumed = json.loads(done.stdout.strip().splitlines()[-1])
    assert run_dirs(out) == [run]
    lines = [json.loads(x) for x in (run / "history.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in lines] == [1, 2]

    ref = _plexus([*args, "--out", str(tmp_path / "ref"), "--json", "--quiet"], env)
    theirs = json.loads(ref.stdout.strip().splitlines()[-1])
    for key, value in resumed["metrics"].items():
        if key.startswith(("val_", "test_")) or key == "best_epoch":
            assert value["mean"] == pytest.approx(theirs["metrics"][key]["mean"], abs=1e-6), key
    ref_loss = [json.loads(x)["loss"] for x in (Path(theirs["run_dir"]) / "history.jsonl").read_text().splitlines()]
    assert [r["loss"] for r in lines] == pytest.approx(ref_loss, rel=1e-5)


# ------------------------------------------------------------------------------ presets

PRESETS = sorted((Path(__file__).resolve().parents[3] / "configs" / "pinsage").glob("*.yaml"))


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.name)
def test_presets_are_valid_and_spell_out_the_defaults(path):
    """configs/pinsage/DATASET.yaml is valid and holds the defaults (the paper's setting and the
    options chosen on validation); ml-1m also spells out the id embedding and its pair budget."""
    from dataclasses import asdict

    from plexus.config import apply_dict, load_yaml
    from plexus.methods.pinsage.algorithm import Config, check_config

    values = load_yaml(path)
    assert values.pop("method") == "pinsage" and values["dataset"] == path.stem
    cfg = Config()
    apply_dict(cfg, values, str(path))
    check_config(cfg)
    expected = Config(dataset=path.stem)
    if path.stem == "ml-1m":
        expected.id_embedding, expected.pairs_per_epoch, expected.epochs = True, 50000, 8
    assert asdict(cfg) == asdict(expected)
