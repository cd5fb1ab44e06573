"""EmbeddingCache: keys, atomic shards, robustness; and TextEncoder.encode(cache=...)."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from plexus.errors import PlexusError
from plexus.text import EmbeddingCache, TextEncoder, default_model_path, folder_fingerprint
from plexus.text import cache as cache_mod

SPEC = {"model": "m", "pooling": "mean", "max_length": 8, "precision": "fp32", "normalize": False}


@pytest.fixture(scope="module")
def encoder() -> TextEncoder:
    return TextEncoder("default", precision="fp32", progress=False)


@pytest.fixture
def counted(encoder: TextEncoder):
    """The encoder with its model's forward wrapped by a call counter."""
    calls = {"n": 0}
    original = encoder.model.forward

    def forward(*args, **kwargs):
        calls["n"] += 1
        return original(*args, **kwargs)

    encoder.model.forward = forward
    try:
        yield encoder, calls
    finally:
        del encoder.model.forward


def _vecs(n: int, d: int = 4, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)


# -- the encoder with a cache ------------------------------------------------------------


def test_cache_hit_is_identical_and_encodes_nothing(counted, tmp_path: Path) -> None:
    enc, calls = counted
    cache = EmbeddingCache(tmp_path)
    texts = ["first paper", "second paper", "first paper", ""]
    x = enc.encode(texts, cache=cache)
    assert calls["n"] == 1
    encoded = enc.stats["encoded"]
    # a fresh cache object on the same folder, as another process would see it
    y = enc.encode(texts, cache=EmbeddingCache(tmp_path))
    assert calls["n"] == 1 and enc.stats["encoded"] == encoded
    assert torch.equal(x, y)
    torch.testing.assert_close(x, enc.encode(texts), atol=1e-5, rtol=1e-4)


def test_only_misses_are_encoded_and_order_is_kept(counted, tmp_path: Path) -> None:
    enc, _ = counted
    cache = EmbeddingCache(tmp_path)
    a = enc.encode(["alpha", "beta"], cache=cache)
    before = enc.stats["encoded"]
    hits = enc.stats["cache_hits"]
    b = enc.encode(["beta", "gamma", "alpha", "gamma"], cache=cache)
    assert enc.stats["encoded"] - before == 1  # only "gamma"
    assert enc.stats["cache_hits"] - hits == 2
    assert torch.equal(b[0], a[1]) and torch.equal(b[2], a[0]) and torch.equal(b[1], b[3])
    torch.testing.assert_close(b[1], enc.encode(["gamma"])[0])


def test_settings_and_weights_change_the_namespace(encoder: TextEncoder, tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path)
    base = encoder.cache_spec()
    specs = [
        base,
        {**base, "pooling": "cls"},
        {**base, "max_length": 128},
        {**base, "precision": "bf16"},
        {**base, "normalize": True},
        {**base, "model": base["model"] + "#v2"},
    ]
    keys = {cache.namespace(s).key("same text") for s in specs}
    dirs = {cache.namespace(s).path for s in specs}
    assert len(keys) == len(specs) and len(dirs) == len(specs)
    assert cache.namespace(base).key("a") != cache.namespace(base).key("b")
    assert cache.namespace(dict(base)).key("a") == cache.namespace(base).key("a")

    versioned = TextEncoder(encoder.model, tokenizer=encoder.tokenizer, weights_version="e1")
    ident = versioned.model_identity()
    versioned.weights_version = "e2"
    assert versioned.model_identity() != ident


def test_pooling_in_the_key_keeps_results_apart(encoder: TextEncoder, tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path)
    cls = TextEncoder("default", pooling="cls", precision="fp32", progress=False)
    m = encoder.encode(["shared text"], cache=cache)
    c = cls.encode(["shared text"], cache=cache)
    assert cls.stats["encoded"] == 1
    assert not torch.allclose(m, c)
    assert len(cache.namespaces()) == 2


def test_model_folder_fingerprint_follows_the_weight_files(tmp_path: Path) -> None:
    src = default_model_path()
    copy = tmp_path / "minilm"
    shutil.copytree(src, copy)  # same names, sizes and mtimes: the same model, wherever it is
    fp = folder_fingerprint(copy)
    assert fp == folder_fingerprint(src)
    assert folder_fingerprint(copy) == fp  # stable while nothing changes
    weights = copy / "model.safetensors"
    st = weights.stat()
    os.utime(weights, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # rewritten weights
    assert folder_fingerprint(copy) != fp
    (copy / "README.md").write_text("docs do not change outputs")
    fp2 = folder_fingerprint(copy)
    (copy / "README.md").write_text("docs do not change outputs, still")
    assert folder_fingerprint(copy) == fp2

    enc = TextEncoder(str(copy), precision="fp32", progress=False)
    assert enc.model_identity() == f"local:{fp2}"


def test_in_memory_model_without_version_hashes_its_weights(encoder: TextEncoder) -> None:
    import copy

    model = copy.deepcopy(encoder.model)
    mem = TextEncoder(model, tokenizer=encoder.tokenizer, progress=False)
    before = mem.model_identity()
    assert mem.model_identity() == before
    with torch.no_grad():
        model.pooler.dense.bias.add_(1.0)  # a training step would do this
    assert mem.model_identity() != before


# -- the cache itself ----------------------------------------------------------------------


def test_store_and_lookup_roundtrip(tmp_path: Path) -> None:
    ns = EmbeddingCache(tmp_path).namespace(SPEC)
    keys = ns.keys(["a", "b", "c"])
    found, hit = ns.lookup(keys)
    assert found is None and not hit.any()
    v = _vecs(3)
    assert ns.store(keys[:2], v[:2]) == 2
    assert ns.store(keys, v) == 1  # "a" and "b" are there already
    found, hit = ns.lookup([keys[2], ns.key("zzz"), keys[0]])
    assert hit.tolist() == [True, False, True]
    assert np.array_equal(found[0], v[2]) and np.array_equal(found[2], v[0])
    assert not found[1].any()
    assert len(ns) == 3 and len(list(ns.path.glob("shard-*.npz"))) == 2
    assert (ns.path / "meta.json").is_file()


def test_temp_and_corrupt_files_are_ignored(tmp_path: Path) -> None:
    ns = EmbeddingCache(tmp_path).namespace(SPEC)
    keys = ns.keys(["a", "b"])
    v = _vecs(2)
    ns.store(keys, v)
    # a writer killed mid-write leaves a partial temp file; one "shard" is truncated garbage
    (ns.path / ".tmp-deadbeef.part").write_bytes(b"PK\x03\x04 half a zip")
    good = next(ns.path.glob("shard-*.npz"))
    (ns.path / "shard-00000000000000000001-1-bad.npz").write_bytes(good.read_bytes()[:100])

    fresh = EmbeddingCache(tmp_path).namespace(SPEC)
    with pytest.warns(RuntimeWarning, match="unreadable shard"):
        found, hit = fresh.lookup(keys)
    assert hit.all() and np.array_equal(found, v)
    # and new writes still work
    fresh.store(fresh.keys(["c"]), _vecs(1, seed=1))
    assert fresh.lookup(fresh.keys(["c"]))[1].all()


def test_encoder_ignores_garbage_in_the_cache_dir(encoder: TextEncoder, tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path)
    ns = cache.namespace(encoder.cache_spec())
    (ns.path / ".tmp-0123.part").write_bytes(os.urandom(500))
    (ns.path / "shard-00000000000000000000-0-junk.npz").write_bytes(os.urandom(500))
    with pytest.warns(RuntimeWarning):
        x = encoder.encode(["robust"], cache=cache)
    torch.testing.assert_close(x, encoder.encode(["robust"]))
    with pytest.warns(RuntimeWarning):  # each cache object reports the bad shard once
        again = encoder.encode(["robust"], cache=EmbeddingCache(tmp_path))
    assert torch.equal(again, x)


def test_interrupted_write_leaves_no_shard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ns = EmbeddingCache(tmp_path).namespace(SPEC)
    ns.store(ns.keys(["warm"]), _vecs(1))  # meta.json written

    def killed(src, dst):
        raise KeyboardInterrupt("killed before the rename")

    monkeypatch.setattr(cache_mod.os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        ns.store(ns.keys(["x", "y"]), _vecs(2))
    monkeypatch.undo()
    assert len(list(ns.path.glob("shard-*.npz"))) == 1
    assert not list(ns.path.glob(".tmp-*"))
    fresh = EmbeddingCache(tmp_path).namespace(SPEC)
    assert not fresh.lookup(fresh.keys(["x", "y"]))[1].any()
    assert fresh.lookup(fresh.keys(["warm"]))[1].all()


def test_stale_temp_files_are_swept(tmp_path: Path) -> None:
    ns = EmbeddingCache(tmp_path).namespace(SPEC)
    old, new = ns.path / ".tmp-old.part", ns.path / ".tmp-new.part"
    old.write_bytes(b"x")
    new.write_bytes(b"x")
    past = time.time() - 2 * cache_mod.STALE_TEMP_S
    os.utime(old, (past, past))
    EmbeddingCache(tmp_path).namespace(SPEC)
    assert not old.exists() and new.exists()  # a recent one may belong to a live writer


def test_shards_written_by_another_instance_are_seen(tmp_path: Path) -> None:
    reader = EmbeddingCache(tmp_path).namespace(SPEC)
    assert reader.lookup(reader.keys(["a"]))[0] is None
    writer = EmbeddingCache(tmp_path).namespace(SPEC)
    writer.store(writer.keys(["a"]), _vecs(1))
    found, hit = reader.lookup(reader.keys(["a"]))
    assert hit.all() and np.array_equal(found, _vecs(1))


def test_compact_merges_shards(tmp_path: Path) -> None:
    ns = EmbeddingCache(tmp_path, shard_rows=2).namespace(SPEC)
    texts = [f"t{i}" for i in range(5)]
    v = _vecs(5)
    for i in range(5):
        ns.store(ns.keys([texts[i]]), v[i : i + 1])
    assert len(list(ns.path.glob("shard-*.npz"))) == 5
    ns.compact()
    assert len(list(ns.path.glob("shard-*.npz"))) == 3  # 5 rows, 2 per shard
    other = EmbeddingCache(tmp_path).namespace(SPEC)
    found, hit = other.lookup(other.keys(texts))
    assert hit.all() and np.array_equal(found, v)


def test_dimension_mismatch_is_an_error(tmp_path: Path) -> None:
    ns = EmbeddingCache(tmp_path).namespace(SPEC)
    ns.store(ns.keys(["a"]), _vecs(1, d=4))
    with pytest.raises(PlexusError, match="4-d"):
        ns.store(ns.keys(["b"]), _vecs(1, d=8))


def test_default_root_follows_plexus_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLEXUS_CACHE", str(tmp_path / "pc"))
    assert EmbeddingCache().root == tmp_path / "pc" / "embeddings"
    monkeypatch.delenv("PLEXUS_CACHE")
    assert cache_mod.default_cache_root() == Path.home() / ".cache" / "plexus" / "embeddings"
