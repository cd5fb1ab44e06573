"""ItemIndex against brute force with real FAISS: exactness, recall, exclusion, persistence."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from plexus.atomic import TEMP_PREFIX
from plexus.errors import ConfigError, InputError
from plexus.retrieval import ItemIndex


def brute_force(q: np.ndarray, items: np.ndarray, k: int, metric: str = "ip", mask=None):
    if metric == "ip":
        s = q @ items.T
    else:
        s = -((q[:, None, :] - items[None, :, :]) ** 2).sum(-1)
    if mask is not None:
        s = np.where(mask, -np.inf, s)
    ids = np.argsort(-s, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(s, ids, axis=1), ids


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    items = rng.standard_normal((500, 24)).astype(np.float32)
    queries = rng.standard_normal((40, 24)).astype(np.float32)
    return items, queries


@pytest.mark.parametrize("metric", ["ip", "l2"])
@pytest.mark.parametrize("nq", [3, 40])  # FAISS uses a direct kernel below 20 queries and BLAS above
def test_flat_equals_brute_force(data, metric, nq):
    items, queries = data
    q = queries[:nq]
    index = ItemIndex.build(items, "Flat", metric)
    scores, ids = index.search(q, 10)
    ref_scores, ref_ids = brute_force(q, items, 10, metric)
    # ties-free random data: the exact same items in the same order
    np.testing.assert_array_equal(ids, ref_ids)
    # scores equal up to float32 summation order (FAISS and NumPy add the 24 terms differently)
    np.testing.assert_allclose(scores, ref_scores.astype(np.float32), rtol=1e-5, atol=1e-5)
    assert scores.dtype == np.float32 and ids.dtype == np.int64
    assert (np.diff(scores, axis=1) <= 0).all()


def test_hnsw_recall_vs_flat():
    rng = np.random.default_rng(1)
    centers = rng.standard_normal((20, 32)).astype(np.float32) * 3
    items = centers[rng.integers(0, 20, 3000)] + rng.standard_normal((3000, 32)).astype(np.float32)
    queries = centers[rng.integers(0, 20, 200)] + rng.standard_normal((200, 32)).astype(np.float32)
    _, exact = ItemIndex.build(items, "Flat").search(queries, 10)
    hnsw = ItemIndex.build(items, "HNSW32")
    assert hnsw.params == {"efSearch": 128}
    _, approx = hnsw.search(queries, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(approx, exact)])
    assert recall >= 0.95, recall


def test_ivf_trains_and_sets_nprobe(data):
    items, queries = data
    index = ItemIndex.build(items, "IVF8,Flat", nprobe=100)
    assert index.params == {"nprobe": 8}  # capped at nlist: visits every list, so it is exact
    _, ids = index.search(queries, 5)
    _, ref = brute_force(queries, items, 5)
    np.testing.assert_array_equal(ids, ref)


def test_exclude_never_returns_excluded_and_fills_k(data):
    items, queries = data
    rng = np.random.default_rng(2)
    index = ItemIndex.build(items, "Flat")
    _, top = index.search(queries, 30)
    # exclude most of each query's true top-30 plus random others; lengths differ per query
    exclude = [np.concatenate([top[i, : 5 + i % 20], rng.integers(0, 500, i)]) for i in range(len(queries))]
    exclude[3] = np.array([], dtype=np.int64)
    exclude[4] = None
    scores, ids = index.search(queries, 10, exclude=exclude)
    mask = np.zeros((len(queries), len(items)), bool)
    for i, e in enumerate(exclude):
        if e is not None:
            mask[i, e] = True
    ref_scores, ref_ids = brute_force(queries, items, 10, mask=mask)
    np.testing.assert_array_equal(ids, ref_ids)
    np.testing.assert_allclose(scores, ref_scores, rtol=1e-5, atol=1e-5)
    for i, e in enumerate(exclude):
        if e is not None:
            assert not set(ids[i]) & set(e.tolist())


def test_padding_when_too_few_items_remain():
    items = np.eye(4, dtype=np.float32)
    index = ItemIndex.build(items, "Flat")
    scores, ids = index.search(items[:2], 6, exclude=[[0, 1, 2], []])
    assert ids[0].tolist() == [3, -1, -1, -1, -1, -1]
    assert np.isneginf(scores[0, 1:]).all() and scores[0, 0] == 0.0
    assert sorted(ids[1, :4].tolist()) == [0, 1, 2, 3] and ids[1, 0] == 1 and (ids[1, 4:] == -1).all()
    scores, ids = index.search(items[:1], 3, exclude=[[0, 1, 2, 3]])
    assert (ids == -1).all() and np.isneginf(scores).all()


def test_torch_input_and_single_query(data):
    items, queries = data
    index = ItemIndex.build(torch.from_numpy(items), "Flat")
    s1, i1 = index.search(torch.from_numpy(queries[0]), 4)  # a 1-D query is one query
    s2, i2 = index.search(queries[:1], 4)
    np.testing.assert_array_equal(i1, i2)
    np.testing.assert_array_equal(s1, s2)


def test_clear_errors(data):
    items, queries = data
    with pytest.raises(InputError, match="1024 inverted lists but there are only 500 items"):
        ItemIndex.build(items, "IVF1024,Flat")
    with pytest.raises(ConfigError, match="could not parse"):
        ItemIndex.build(items, "NotAnIndex")
    with pytest.raises(ConfigError, match="cannot add the items"):
        ItemIndex.build(items, "IDMap,Flat")
    with pytest.raises(ConfigError, match="metric"):
        ItemIndex.build(items, "Flat", metric="cosine")
    bad = items.copy()
    bad[7, 3] = np.nan
    with pytest.raises(InputError, match="row 7"):
        ItemIndex.build(bad, "Flat")
    index = ItemIndex.build(items, "Flat")
    with pytest.raises(InputError, match="dimension 5"):
        index.search(np.zeros((2, 5), np.float32), 3)
    with pytest.raises(InputError, match="k must be"):
        index.search(queries, 0)
    with pytest.raises(InputError, match="exclude has 1 entries"):
        index.search(queries[:2], 3, exclude=[[1]])
    with pytest.raises(InputError, match="outside"):
        index.search(queries[:1], 3, exclude=[[500]])


@pytest.mark.parametrize("factory", ["Flat", "HNSW16"])
def test_save_load_roundtrip(tmp_path, data, factory):
    items, queries = data
    index = ItemIndex.build(items, factory, "l2", ef_search=40)
    folder = tmp_path / "idx"
    index.save(folder)
    assert sorted(p.name for p in folder.iterdir()) == ["index.faiss", "index.json"]  # no temp files
    meta = json.loads((folder / "index.json").read_text())
    assert meta["factory"] == factory and meta["metric"] == "l2"
    assert meta["dim"] == 24 and meta["ntotal"] == 500
    loaded = ItemIndex.load(folder)
    assert loaded.params == index.params and loaded.metric == "l2"
    s1, i1 = index.search(queries, 7, exclude=[[0, 1]] * len(queries))
    s2, i2 = loaded.search(queries, 7, exclude=[[0, 1]] * len(queries))
    np.testing.assert_array_equal(i1, i2)
    np.testing.assert_array_equal(s1, s2)
    if factory.startswith("HNSW"):
        assert ItemIndex.load(folder, ef_search=99).params == {"efSearch": 99}
    # saving again over the old files leaves exactly the two files, no temp leftovers
    loaded.save(folder)
    assert not [p for p in folder.iterdir() if p.name.startswith(TEMP_PREFIX)]


def test_load_errors(tmp_path, data):
    with pytest.raises(InputError, match="no saved item index"):
        ItemIndex.load(tmp_path)
    items, _ = data
    ItemIndex.build(items, "Flat").save(tmp_path)
    meta = json.loads((tmp_path / "index.json").read_text())
    meta["ntotal"] = 3
    (tmp_path / "index.json").write_text(json.dumps(meta))
    with pytest.raises(InputError, match="inconsistent"):
        ItemIndex.load(tmp_path)
