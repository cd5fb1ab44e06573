"""Approximate (HNSW / IVF) indexes written by an export are the ones `serve` searches; their
recall@10 against exact search; item query vectors (a bias column) used by `similar`."""

from __future__ import annotations

import json

import httpx
import numpy as np
import pytest

from plexus.retrieval import load_recommender, save_recommender
from plexus.retrieval.index import ItemIndex, index_recall
from plexus.serve import create_app, running_server

NU, NI, D = 30, 400, 16


def _save(folder, factory, *, queries=None, seed=0):
    rng = np.random.default_rng(seed)
    items = rng.standard_normal((NI, D)).astype(np.float32)
    save_recommender(folder, user_emb=rng.standard_normal((NU, D)), item_emb=items,
                     user_ids=[f"u{u}" for u in range(NU)], item_ids=[f"i{i}" for i in range(NI)],
                     seen_edge_index=np.array([[0, 1], [0, 1]]), factory=factory, item_query_emb=queries)
    return items


@pytest.mark.timeout(120)
@pytest.mark.parametrize("factory", ["HNSW32", "IVF8,Flat"])
def test_serve_searches_the_exported_ann_index(tmp_path, factory):
    run_dir = tmp_path / "20250101-120000-pinsage-synthetic"
    items = _save(run_dir / "artifacts", factory)
    meta = json.loads((run_dir / "artifacts" / "item_index" / "index.json").read_text())
    assert meta["factory"] == factory
    rec = load_recommender(run_dir)
    assert rec.index.factory == factory  # what was exported, not a Flat rebuilt at load
    # the served answer is the saved index's search (excluding the query item itself)
    index = ItemIndex.load(run_dir / "artifacts" / "item_index")
    _, want = index.search(items[7:8], 10, exclude=[np.array([7])])
    with running_server(create_app(run_dir), host="127.0.0.1", port=0) as url:
        got = httpx.get(f"{url}/similar", params={"item": "i7", "k": 10}, timeout=10).json()
    assert [r["item_id"] for r in got["items"]] == [f"i{i}" for i in want[0]]
    # an approximate index is close to exact search; Flat is exact
    recall = index_recall(run_dir / "artifacts" / "item_index", items, items, k=10)
    assert 0.8 <= recall <= 1.0
    flat = tmp_path / "flat"
    _save(flat, "Flat")
    assert index_recall(flat / "item_index", items, items, k=10) == 1.0


def test_index_recall_detects_a_poor_index(tmp_path):
    rng = np.random.default_rng(1)
    items = rng.standard_normal((2000, 32)).astype(np.float32)
    poor = ItemIndex.build(items, "IVF64,Flat", nprobe=1)  # one list of 64: most true neighbours missed
    poor.save(tmp_path / "poor")
    assert index_recall(tmp_path / "poor", items, items, k=10) < 0.6
    good = ItemIndex.build(items, "IVF64,Flat", nprobe=64)  # every list: exact
    good.save(tmp_path / "good")
    assert index_recall(tmp_path / "good", items, items, k=10) == pytest.approx(1.0, abs=1e-3)


def test_similar_uses_item_query_vectors(tmp_path):
    # indexed vectors end in a bias b_i, queries in 1: score(q, i) = z_q . z_i + b_i
    z = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.8, 0.0]], np.float32)
    bias = np.array([0.0, 0.0, 5.0, 0.0], np.float32)
    items = np.c_[z, bias]
    queries = np.c_[z, np.ones(4, np.float32)]
    save_recommender(tmp_path, user_emb=np.zeros((1, 3)), item_emb=items, user_ids=["u"],
                     item_ids=list("abcd"), seen_edge_index=np.zeros((2, 0)), item_query_emb=queries)
    rec = load_recommender(tmp_path)
    got = rec.similar("a", 3)
    # z_a . z + b: b -> 0.9, c -> 5.0, d -> 0.8: the popular (biased) item first
    assert [r["item_id"] for r in got] == ["c", "b", "d"]
    assert got[0]["score"] == pytest.approx(5.0)
    # without query vectors the bias column would multiply the query's own bias (0): c last
    save_recommender(tmp_path / "plain", user_emb=np.zeros((1, 3)), item_emb=items, user_ids=["u"],
                     item_ids=list("abcd"), seen_edge_index=np.zeros((2, 0)))
    assert [r["item_id"] for r in load_recommender(tmp_path / "plain").similar("a", 3)] == ["b", "d", "c"]


def test_serve_and_cli_take_the_search_settings_of_an_approximate_index(tmp_path):
    run_dir = tmp_path / "20250101-120000-pinsage-synthetic"
    _save(run_dir / "artifacts", "IVF8,Flat")
    assert create_app(run_dir).state.recommender.index.params["nprobe"] != 1
    app = create_app(run_dir, nprobe=1)  # `plexus serve RUN --nprobe 1`
    assert app.state.recommender.index.params["nprobe"] == 1
