"""The most-popular baseline: counts, metrics by hand on a tiny dataset, and a real run."""

from __future__ import annotations

import os

import numpy as np
import torch

from plexus.methods.recommenders.popularity import Config, item_counts, run
from plexus.train.rundir import RunDir


def test_item_counts():
    train = torch.tensor([[0, 1, 2, 2], [3, 3, 0, 3]])
    assert item_counts(train, 5).tolist() == [1.0, 0.0, 0.0, 3.0, 0.0]


def tiny_csv(folder):
    """5 users, 6 items: item 0 is the most popular, then 1, then 2."""
    rows = [(0, 0), (0, 1), (0, 4), (1, 0), (1, 1), (1, 5), (2, 0), (2, 2), (2, 3), (3, 0), (3, 1), (3, 2),
            (4, 0), (4, 3), (4, 2)]
    path = folder / "tiny.csv"
    path.write_text("user,item\n" + "".join(f"u{u},i{i}\n" for u, i in rows))
    return path


def test_popularity_on_a_tiny_table_recommends_popular_unseen_items(tmp_path):
    path = tiny_csv(tmp_path)
    cfg = Config(dataset="tiny", split="ratio", val_ratio=0.2, test_ratio=0.2, ks=[1, 2])
    cfg.interactions.path = str(path)
    rd = RunDir.create(tmp_path / "runs", "pop", "tiny")
    result = run(cfg, rd, quiet=True)
    for k in ("val_recall@1", "test_recall@2", "test_ndcg@2", "test_mrr@1", "test_precision@2"):
        assert 0.0 <= result.metrics[k] <= 1.0, k
    from plexus.retrieval.artifacts import load_recommender

    rec = load_recommender(rd.path)
    art = rd.path / "artifacts"
    counts = np.load(art / "item_embeddings.npy")[:, 0]
    ids = (art / "item_ids.txt").read_text().split()
    for user in ("u0", "u2"):
        got = rec.recommend(user, k=2)
        u = rec.user_index(user)
        seen = {ids[j] for j in rec.seen.indices[rec.seen.indptr[u]:rec.seen.indptr[u + 1]]}
        assert seen  # train + validation items of the user
        assert [r["score"] for r in got] == sorted((r["score"] for r in got), reverse=True)
        assert not seen & {r["item_id"] for r in got}
        assert all(r["score"] == counts[ids.index(r["item_id"])] for r in got)


def test_popularity_run_on_movielens(tmp_path, shared_datasets):
    os.environ.setdefault("PLEXUS_DATA", str(shared_datasets))
    cfg = Config(dataset="movielens-100k")
    rd = RunDir.create(tmp_path, "pop", cfg.dataset)
    result = run(cfg, rd, quiet=True)
    m = result.metrics
    for split in ("val", "test"):
        for name in ("recall", "ndcg", "precision", "hit_rate", "mrr"):
            for k in (10, 20):
                assert 0.0 <= m[f"{split}_{name}@{k}"] <= 1.0
    # MovieLens is popularity-skewed: the baseline is far from zero (measured ~0.1 recall@20)
    assert m["test_recall@20"] > 0.03
    assert "most popular" in result.protocol
    assert (rd.path / "metrics.json").is_file() and (rd.path / "artifacts" / "item_text.jsonl").is_file()
