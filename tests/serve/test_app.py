"""The recommender HTTP API over real HTTP: uvicorn on 127.0.0.1 (free port), httpx requests."""

from __future__ import annotations

import json

import httpx
import numpy as np
import pytest

from plexus.errors import InputError
from plexus.retrieval import load_recommender, save_recommender
from plexus.serve import create_app, running_server

NU, NI, D = 50, 200, 16


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    rng = np.random.default_rng(0)
    run_dir = tmp_path_factory.mktemp("serve") / "20250101-120000-mf-synthetic"
    seen = np.array([(u, i) for u in range(NU) for i in rng.choice(NI, 8, replace=False)]).T
    save_recommender(
        run_dir / "artifacts",
        user_emb=rng.standard_normal((NU, D)), item_emb=rng.standard_normal((NI, D)),
        user_ids=[str(u + 1) for u in range(NU)], item_ids=[f"item-{i}" for i in range(NI)],
        seen_edge_index=seen, item_text=[f"Title {i} (199{i % 10})" for i in range(NI)],
    )
    return run_dir


@pytest.fixture(scope="module")
def client(run_dir):
    with running_server(create_app(run_dir), host="127.0.0.1", port=0) as url:
        with httpx.Client(base_url=url, timeout=10) as c:
            yield c


@pytest.mark.timeout(60)
def test_health_and_docs(client, run_dir):
    r = client.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["run_dir"] == run_dir.resolve().name  # its name, not its path
    assert "/" not in body["run_dir"] and str(run_dir.parent) not in r.text
    assert (body["method"], body["dataset"]) == ("mf", "synthetic")  # from the run folder name
    assert (body["num_users"], body["num_items"], body["dim"], body["index"]) == (NU, NI, D, "Flat")
    assert body["num_seen"] == NU * 8
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    assert {"/health", "/recommend", "/similar"} <= set(spec["paths"])


@pytest.mark.timeout(60)
def test_recommend_and_similar(client, run_dir):
    rec = load_recommender(run_dir)
    r = client.get("/recommend", params={"user": "7", "k": 5})
    assert r.status_code == 200
    body = r.json()
    assert body["user"] == "7" and body["k"] == 5 and body["exclude_seen"] is True
    expected = rec.recommend("7", 5)
    assert [x["item_id"] for x in body["items"]] == [x["item_id"] for x in expected]
    assert [x["rank"] for x in body["items"]] == [1, 2, 3, 4, 5]
    assert body["items"][0]["text"] == expected[0]["text"]
    np.testing.assert_allclose([x["score"] for x in body["items"]], [x["score"] for x in expected], rtol=1e-6)
    seen = {rec.item_ids[i] for i in rec.seen[rec.user_index("7")].indices}
    everything = client.get("/recommend", params={"user": "7", "k": 1000}).json()["items"]
    assert len(everything) == NI - 8 and not seen & {x["item_id"] for x in everything}
    with_seen = client.get("/recommend", params={"user": "7", "k": 1000, "exclude_seen": "false"}).json()
    assert len(with_seen["items"]) == NI

    r = client.get("/similar", params={"item": "item-3", "k": 4})
    assert r.status_code == 200
    body = r.json()
    assert body["item"] == "item-3" and len(body["items"]) == 4
    assert [x["item_id"] for x in body["items"]] == [x["item_id"] for x in rec.similar("item-3", 4)]
    assert "item-3" not in [x["item_id"] for x in client.get("/similar?item=item-3&k=1000").json()["items"]]


@pytest.mark.timeout(60)
def test_unknown_ids_are_404_with_a_message(client):
    r = client.get("/recommend", params={"user": "999999"})
    assert r.status_code == 404
    assert r.json()["detail"].startswith("user '999999' is not in this run (50 users; ids look like '1', '2', '3'")
    r = client.get("/similar", params={"item": "Item-3"})
    assert r.status_code == 404 and "Did you mean 'item-3'?" in r.json()["detail"]
    for odd in ["ünïcödé ✓", "😀", "a\x00b", "../../etc/passwd", " 7", "' OR 1=1 --", "%ff"]:
        r = client.get("/recommend", params={"user": odd, "k": 3})
        assert r.status_code == 404, (odd, r.status_code, r.text)
        assert "is not in this run" in r.json()["detail"]
    r = client.get("/recommend?user=%ff%fe&k=3")  # bytes that are not UTF-8
    assert r.status_code in (404, 422) and json.loads(r.text)["detail"]


@pytest.mark.timeout(60)
def test_bad_parameters_are_422(client):
    bad = [
        "/recommend",  # missing user
        "/recommend?user=",  # empty user
        "/recommend?user=1&k=0",
        "/recommend?user=1&k=-3",
        "/recommend?user=1&k=1001",
        "/recommend?user=1&k=99999999999999999999999999",
        "/recommend?user=1&k=abc",
        "/recommend?user=1&k=2.5",
        "/recommend?user=1&exclude_seen=maybe",
        "/recommend?user=" + "x" * 600,
        "/similar",
        "/similar?item=&k=3",
        "/similar?item=item-1&k=0",
        "/similar?item=item-1&k=1e9",
    ]
    for path in bad:
        r = client.get(path)
        assert r.status_code == 422, (path, r.status_code, r.text)
        assert r.json()["detail"]
    assert client.get("/nope").status_code == 404
    assert client.post("/recommend?user=1").status_code == 405


@pytest.mark.timeout(60)
def test_concurrent_requests(client):
    from concurrent.futures import ThreadPoolExecutor

    def one(u: int) -> int:
        return client.get("/recommend", params={"user": str(u % NU + 1), "k": 10}).status_code

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(one, range(64))) == {200}


def test_bad_run_dir_fails_before_serving(tmp_path):
    with pytest.raises(InputError, match="holds no recommender"):
        create_app(tmp_path)


def test_serve_reports_a_taken_port(run_dir):
    import socket

    from plexus.serve import serve

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(InputError, match=f"cannot listen on 127.0.0.1:{port}"):
            serve(run_dir, host="127.0.0.1", port=port)
