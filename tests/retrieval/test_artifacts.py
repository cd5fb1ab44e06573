"""save_recommender / load_recommender / Recommender / the CLI tables on a synthetic run dir."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from plexus.atomic import TEMP_PREFIX
from plexus.errors import InputError, PlexusError
from plexus.retrieval import (
    UnknownId,
    format_table,
    load_recommender,
    recommend_cli,
    save_recommender,
    similar_cli,
)

NU, NI, D = 50, 200, 16


def make_run(root, *, factory="Flat", text=True, seed=0):
    """A run directory like a recommendation method leaves: artifacts/ plus metrics.json."""
    rng = np.random.default_rng(seed)
    users = rng.standard_normal((NU, D)).astype(np.float32)
    items = rng.standard_normal((NI, D)).astype(np.float32)
    pairs = {(u, int(i)) for u in range(NU) for i in rng.choice(NI, size=5 + u % 7, replace=False)}
    pairs |= {(49, i) for i in range(NI)}  # user "u49" has seen every item
    seen = torch.tensor(sorted(pairs)).T
    texts = [f"Item {i}: " + "a long description " * (i % 9) for i in range(NI)] if text else None
    if text:
        texts[5] = None  # an item without text
    run_dir = root / "20250101-120000-lightgcn-synthetic"
    save_recommender(
        run_dir / "artifacts", user_emb=torch.from_numpy(users), item_emb=items,
        user_ids=[f"u{i}" for i in range(NU)], item_ids=[f"i{i}" for i in range(NI)],
        seen_edge_index=seen, item_text=texts, factory=factory,
    )
    (run_dir / "metrics.json").write_text(json.dumps({"method": "lightgcn", "dataset": "synthetic"}))
    return run_dir, users, items, seen.numpy()


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return make_run(tmp_path_factory.mktemp("rec"))


def seen_mask(seen):
    m = np.zeros((NU, NI), bool)
    m[seen[0], seen[1]] = True
    return m


def test_files_written(run):
    run_dir, *_ = run
    art = run_dir / "artifacts"
    names = sorted(p.name for p in art.iterdir())
    assert names == sorted(["user_embeddings.npy", "item_embeddings.npy", "user_ids.txt", "item_ids.txt",
                            "item_text.jsonl", "seen.npz", "item_index", "recommender.json"])
    assert not list(art.rglob(f"{TEMP_PREFIX}*"))
    man = json.loads((art / "recommender.json").read_text())
    assert (man["num_users"], man["num_items"], man["dim"], man["factory"]) == (NU, NI, D, "Flat")
    assert (art / "user_ids.txt").read_text().splitlines()[:2] == ["u0", "u1"]


def test_recommend_matches_brute_force_and_excludes_seen(run):
    run_dir, users, items, seen = run
    rec = load_recommender(run_dir)
    assert (rec.method, rec.dataset, rec.num_users, rec.num_items) == ("lightgcn", "synthetic", NU, NI)
    mask = seen_mask(seen)
    for u in (0, 7, 23):
        got = rec.recommend(f"u{u}", k=10)
        scores = np.where(mask[u], -np.inf, users[u] @ items.T)
        ref = np.argsort(-scores)[:10]
        assert [r["item_id"] for r in got] == [f"i{i}" for i in ref]
        np.testing.assert_allclose([r["score"] for r in got], scores[ref], rtol=1e-5)
        assert not {int(r["item_id"][1:]) for r in got} & set(np.flatnonzero(mask[u]))
        assert all(r["text"].startswith(f"Item {r['item_id'][1:]}:") for r in got if r["item_id"] != "i5")
    # without exclusion, the plain top-k over all items (seen ones included)
    got = rec.recommend("u0", k=NI, exclude_seen=False)
    assert [r["item_id"] for r in got] == [f"i{i}" for i in np.argsort(-(users[0] @ items.T))]
    # k larger than what is left: every unseen item, once
    got = rec.recommend("u3", k=1000)
    assert len(got) == NI - mask[3].sum() and len({r["item_id"] for r in got}) == len(got)
    assert rec.recommend("u49", k=5) == []  # seen everything


def test_similar_excludes_itself(run):
    run_dir, _, items, _ = run
    rec = load_recommender(run_dir / "artifacts")  # the artifacts folder works too
    got = rec.similar("i3", k=8)
    scores = items[3] @ items.T
    scores[3] = -np.inf
    assert [r["item_id"] for r in got] == [f"i{i}" for i in np.argsort(-scores)[:8]]
    assert "i3" not in {r["item_id"] for r in rec.similar("i3", k=NI)}
    assert len(rec.similar("i3", k=NI)) == NI - 1
    assert "text" not in rec.similar("i4", k=NI)[[r["item_id"] for r in rec.similar("i4", k=NI)].index("i5")]


def test_unknown_ids(run):
    rec = load_recommender(run[0])
    with pytest.raises(UnknownId) as e:
        rec.recommend("nobody", 5)
    assert isinstance(e.value, KeyError) and isinstance(e.value, PlexusError)
    assert str(e.value) == "user 'nobody' is not in this run (50 users; ids look like 'u0', 'u1', 'u2', …)."
    with pytest.raises(UnknownId, match=r"item 'x' is not in this run \(200 items"):
        rec.similar("x", 5)
    with pytest.raises(UnknownId, match="Did you mean 'u12'"):
        rec.recommend("U12 ", 5)
    with pytest.raises(UnknownId, match=r"\.\.\."):  # a huge id is shortened in the message
        rec.recommend("z" * 10_000, 5)
    with pytest.raises(InputError, match="k must be"):
        rec.recommend("u1", 0)


def test_cli_tables(run):
    run_dir, users, items, seen = run
    out = recommend_cli(run_dir, "u2", 4)
    lines = out.splitlines()
    assert lines[0].startswith("top 4 items for user 'u2' (") and "lightgcn on synthetic" in lines[0]
    assert lines[1].split() == ["rank", "item_id", "score", "text"]
    assert len(lines) == 2 + 1 + 4
    assert [ln.split()[0] for ln in lines[3:]] == ["1", "2", "3", "4"]
    best = load_recommender(run_dir).recommend("u2", 1)[0]
    assert lines[3].split()[1] == best["item_id"] and f"{best['score']:.4f}" in lines[3]
    assert all(len(ln.split("  ")[-1]) <= 80 for ln in lines[3:])
    assert "(no items left" in recommend_cli(run_dir, "u49", 3)
    lines = similar_cli(run_dir, "i8", 3).splitlines()
    assert lines[0].startswith("top 3 items similar to item 'i8' (lightgcn on synthetic")
    assert lines[1].startswith("item 'i8': Item 8: a long description")
    assert len(lines) == 2 + 2 + 3 and lines[2].split() == ["rank", "item_id", "score", "text"]
    with pytest.raises(UnknownId):
        recommend_cli(run_dir, "ghost", 3)


def test_format_table_clips_text():
    rows = [{"item_id": "a", "score": 1.5, "text": "word " * 100}, {"item_id": "bb", "score": -0.25}]
    lines = format_table(rows).splitlines()
    assert lines[2].endswith("…") and len(lines[2].split("  ")[-1]) == 80
    assert lines[3].split() == ["2", "bb", "-0.2500"]


def test_hnsw_index_and_no_text(tmp_path):
    make_run(tmp_path)  # first saved with text, then saved again over it without
    run_dir, users, items, seen = make_run(tmp_path, factory="HNSW32", text=False)
    rec = load_recommender(run_dir)
    assert rec.index.factory == "HNSW32" and rec.item_text is None
    got = rec.recommend("u1", 10)
    assert len(got) == 10 and all("text" not in r for r in got)
    assert "text" not in recommend_cli(run_dir, "u1", 3).splitlines()[1]
    # no stale item_text.jsonl from the first save
    assert not (run_dir / "artifacts" / "item_text.jsonl").exists()


def test_save_and_load_errors(tmp_path):
    emb = np.ones((2, 3), np.float32)
    ok = dict(user_emb=emb, item_emb=emb, user_ids=["a", "b"], item_ids=["x", "y"], seen_edge_index=np.zeros((2, 0)))
    with pytest.raises(InputError, match="occurs more than once"):
        save_recommender(tmp_path, **{**ok, "user_ids": ["a", "a"]})
    with pytest.raises(InputError, match="3 item ids for 2"):
        save_recommender(tmp_path, **{**ok, "item_ids": ["x", "y", "z"]})
    with pytest.raises(InputError, match="line break"):
        save_recommender(tmp_path, **{**ok, "item_ids": ["x", "y\nz"]})
    with pytest.raises(InputError, match="outside 2 users x 2 items"):
        save_recommender(tmp_path, **{**ok, "seen_edge_index": np.array([[0], [2]])})
    with pytest.raises(InputError, match="IVF"):
        save_recommender(tmp_path, **ok, factory="IVF64,Flat")
    assert not any(tmp_path.iterdir())  # nothing written when the input is bad
    with pytest.raises(InputError, match="does not exist"):
        load_recommender(tmp_path / "missing")
    with pytest.raises(InputError, match="holds no recommender"):
        load_recommender(tmp_path)
    save_recommender(tmp_path, **ok)
    (tmp_path / "item_ids.txt").write_text("x\n")
    with pytest.raises(InputError, match="damaged"):
        load_recommender(tmp_path)
