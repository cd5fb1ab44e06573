"""The LLM client against the real local server (SmolLM2 over llama.cpp) over loopback HTTP.

One server per module, in fault mode and requiring a key; each test scripts the faults the
next requests get (`POST /_faults`), so retries, repairs and rejects are counted exactly.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import httpx
import numpy as np
import openai
import pytest

from plexus.llm.client import ChatRequest, LLMClient
from plexus.llm.errors import LLMError
from plexus.llm.local import endpoint, local_server
from plexus.llm.settings import LOCAL_MODEL, LLMSettings

KEY_ENV = "PLEXUS_TEST_LLM_KEY"
KEY = "test-key-123"
os.environ[KEY_ENV] = KEY  # the server reads it at start; clients and subprocesses inherit it

SCHEMA = {"type": "object", "properties": {"liked": {"type": "integer", "enum": [3, 7, 9]}},
          "required": ["liked"]}


def ask(text: str) -> list[dict]:
    return [{"role": "system", "content": "You answer with JSON only."},
            {"role": "user", "content": text}]


def liked(answer: str) -> int:
    value = json.loads(answer)["liked"]
    if value not in (3, 7, 9):
        raise ValueError(f"liked={value!r} is not a candidate")
    return value


def settings(**kw) -> LLMSettings:
    base = dict(api_key_env=KEY_ENV, max_tokens=16, timeout_s=120.0, backoff_s=0.01, concurrency=1)
    return LLMSettings(**{**base, **kw})


@pytest.fixture(scope="module")
def server():
    with local_server(["--threads", "1", "--faults", "", "--api-key-env", KEY_ENV]) as url:
        yield url


@pytest.fixture
def faults(server):
    root = server.removesuffix("/v1")

    def script(*kinds: str, **kw) -> None:
        httpx.post(f"{root}/_faults", json={"script": list(kinds), **kw}).raise_for_status()

    script()
    yield script
    script()


def served(server) -> dict:
    return httpx.get(server.removesuffix("/v1") + "/_faults").json()["served"]


REQS = [ChatRequest(f"u{i}", ask(f"User {i} liked Toy Story. Candidates: 3 Aladdin, 7 Heat, 9 Casino. "
                                 'Which candidate will the user like? Answer {"liked": id}.'), SCHEMA)
        for i in range(3)]


def test_schema_constrained_answer_is_parseable_json(server, faults, tmp_path):
    with LLMClient(settings(), server, tmp_path / "c.sqlite") as client:
        out = client.chat_json(REQS[:2], liked)
        assert all(v in (3, 7, 9) for v in out)
        st = client.stats
        assert (st.calls, st.cache_hits, st.repairs, st.rejects, st.retries) == (2, 0, 0, 0, 0)
        assert st.prompt_tokens > 40 and st.completion_tokens > 2 and st.wall_s > 0


def test_rerun_hits_cache_and_key_includes_sampling_and_schema(server, faults, tmp_path):
    path = tmp_path / "c.sqlite"
    with LLMClient(settings(), server, path) as first:
        answers = first.chat_json(REQS, liked)
        assert first.stats.calls == 3
    with LLMClient(settings(), server, path) as again:
        assert again.chat_json(REQS, liked) == answers
        assert (again.stats.calls, again.stats.cache_hits) == (0, 3)
    with LLMClient(settings(temperature=0.7), server, path) as warmer:
        warmer.chat_json(REQS[:1], liked)
        assert (warmer.stats.calls, warmer.stats.cache_hits) == (1, 0)
    with LLMClient(settings(max_tokens=17), server, path) as longer:
        longer.chat_json(REQS[:1], liked)
        assert longer.stats.calls == 1
    other_schema = {**SCHEMA, "properties": {"liked": {"type": "integer", "enum": [3, 7]}}}
    with LLMClient(settings(), server, path) as schema:
        schema.chat_json([REQS[0]._replace(schema=other_schema)], liked)
        assert (schema.stats.calls, schema.stats.cache_hits) == (1, 0)
    # another model name misses the cache: the request reaches the endpoint, which refuses it
    with LLMClient(settings(model="another-model"), server, path) as other, pytest.raises(LLMError, match="404"):
        other.chat_json(REQS[:1], liked)


def test_malformed_answer_is_repaired_once(server, faults, tmp_path):
    faults("malformed")  # the first answer is cut short; the repair request is answered normally
    with LLMClient(settings(), server, tmp_path / "c.sqlite") as client:
        assert client.chat_json(REQS[:1], liked)[0] in (3, 7, 9)
        st = client.stats
        assert (st.calls, st.repairs, st.rejects, st.retries) == (2, 1, 0, 0)
    assert served(server) == {"malformed": 1, "ok": 1}
    # rerun: both the bad answer and its repair come from the cache
    with LLMClient(settings(), server, tmp_path / "c.sqlite") as again:
        assert again.chat_json(REQS[:1], liked)[0] in (3, 7, 9)
        assert (again.stats.calls, again.stats.cache_hits, again.stats.repairs) == (0, 2, 1)


def test_answer_bad_after_repair_is_a_counted_reject(server, faults, tmp_path):
    faults("malformed", "malformed")
    with LLMClient(settings(), server, tmp_path / "c.sqlite") as client:
        out = client.chat_json([REQS[0], REQS[1]], liked)
        assert out[0] is None and out[1] in (3, 7, 9)
        st = client.stats
        assert (st.calls, st.repairs, st.rejects, st.retries) == (3, 1, 1, 0)


def test_429_500_and_garbage_bodies_are_retried_and_counted(server, faults, tmp_path):
    faults("429", "500", "garbage", "429", retry_after_ms=300)
    with LLMClient(settings(), server, tmp_path / "c.sqlite") as client:
        t0 = time.perf_counter()
        out = client.chat_json(REQS[:2], liked)
        assert all(v in (3, 7, 9) for v in out)
        st = client.stats
        assert (st.calls, st.retries, st.rejects) == (2, 4, 0)
        assert time.perf_counter() - t0 >= 0.6  # both 429s' Retry-After (300 ms) were honoured
    assert served(server) == {"429": 2, "500": 1, "garbage": 1, "ok": 2}


def test_slow_answer_times_out_and_is_retried(server, faults, tmp_path):
    # the timeout sits far from both a normal answer (< 5 s even on a crowded machine) and
    # the slow one, so the test does not depend on the machine's load
    faults("slow", slow_s=30.0)
    with LLMClient(settings(timeout_s=10.0), server, tmp_path / "c.sqlite") as client:
        assert client.chat_json(REQS[:1], liked)[0] in (3, 7, 9)
        assert client.stats.retries >= 1 and client.stats.calls == 1


def test_endpoint_that_keeps_failing_raises_after_bounded_retries(server, faults, tmp_path):
    faults(rates={"500": 1.0})
    with LLMClient(settings(max_retries=2), server, tmp_path / "c.sqlite") as client:
        with pytest.raises(LLMError, match=r"kept failing: 3 attempts.*500") as err:
            client.chat_json(REQS[:1], liked)
        assert server in str(err.value)
        assert (client.stats.retries, client.stats.calls) == (2, 0)


def test_wrong_key_401_and_unknown_model_404_are_not_retried(server, faults, tmp_path, monkeypatch):
    monkeypatch.setenv("PLEXUS_TEST_WRONG_KEY", "nope")
    with LLMClient(settings(api_key_env="PLEXUS_TEST_WRONG_KEY"), server, None) as client:
        with pytest.raises(LLMError) as err:
            client.chat_json(REQS[:1], liked)
        assert "401" in str(err.value) and server in str(err.value) and "PLEXUS_TEST_WRONG_KEY" in str(err.value)
        assert client.stats.retries == 0
    with LLMClient(settings(model="gpt-nonexistent"), server, None) as client:
        with pytest.raises(LLMError, match="does not serve the model 'gpt-nonexistent'") as err:
            client.chat_json(REQS[:1], liked)
        assert server in str(err.value) and client.stats.retries == 0


def test_unreachable_endpoint_names_the_url():
    dead = "http://127.0.0.1:9/v1"  # the discard port: nothing listens on loopback
    with LLMClient(settings(max_retries=1), dead, None) as client:
        with pytest.raises(LLMError, match="Cannot reach the LLM endpoint http://127.0.0.1:9/v1"):
            client.chat_json(REQS[:1], liked)
        assert client.stats.retries == 1
    with pytest.raises(LLMError, match="Cannot reach the LLM endpoint http://127.0.0.1:9/v1"):
        with endpoint(settings(base_url=dead)):
            pass


def test_endpoint_checks_a_given_base_url(server, faults, monkeypatch):
    with endpoint(settings(base_url=server + "/")) as url:
        assert url == server
    with pytest.raises(LLMError, match="does not serve 'gpt-x'.*smollm2-135m-instruct"):
        with endpoint(settings(base_url=server, model="gpt-x")):
            pass
    monkeypatch.setenv("PLEXUS_TEST_WRONG_KEY", "nope")
    with pytest.raises(LLMError, match="refused the API key.*PLEXUS_TEST_WRONG_KEY"):
        with endpoint(settings(base_url=server, api_key_env="PLEXUS_TEST_WRONG_KEY")):
            pass


def test_embeddings_float_and_base64_agree_and_are_cached(server, faults, tmp_path):
    texts = ["Toy Story (1995) Animation", "Heat (1995) Crime", "Toy Story (1995) Animation"]
    faults("500")
    with LLMClient(settings(), server, tmp_path / "c.sqlite") as client:
        vecs = client.embed(texts)
        assert vecs.shape == (3, 576) and vecs.dtype == np.float32
        assert np.array_equal(vecs[0], vecs[2]) and not np.allclose(vecs[0], vecs[1])
        assert (client.stats.calls, client.stats.retries) == (1, 1)  # two distinct texts, one batch
    with openai.OpenAI(base_url=server, api_key=KEY) as api:  # the library's default: base64
        direct = api.embeddings.create(model=LOCAL_MODEL, input=texts[:2])
    assert np.allclose(np.array([d.embedding for d in direct.data]), vecs[:2], atol=1e-5)
    with LLMClient(settings(), server, tmp_path / "c.sqlite") as again:
        assert np.array_equal(again.embed(texts), vecs)
        assert (again.stats.calls, again.stats.cache_hits) == (0, 2)


RESUME_SCRIPT = """
import json, sys
from plexus.llm.client import ChatRequest, LLMClient
from plexus.llm.settings import LLMSettings
url, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = LLMSettings(api_key_env=%r, max_tokens=16, concurrency=1, timeout_s=60)
reqs = [ChatRequest(str(i), [{"role": "user", "content": f"Say a number for item {i}, as JSON"}], None)
        for i in range(n)]
LLMClient(s, url, path).chat_json(reqs, lambda a: a)
print("finished")
""" % KEY_ENV


def test_killed_augmentation_resumes_with_only_the_missing_calls(server, faults, tmp_path):
    n, path = 6, tmp_path / "c.sqlite"
    # two quick answers, then answers that take 3 s: the kill lands while the third is pending
    faults("ok", "ok", "slow", "slow", "slow", "slow", slow_s=3.0)
    proc = subprocess.Popen([sys.executable, "-c", RESUME_SCRIPT, server, str(path), str(n)],
                            stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    done = 0
    while done < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
        if path.exists():
            with sqlite3.connect(path) as db:
                try:
                    done = db.execute("SELECT COUNT(*) FROM answers").fetchone()[0]
                except sqlite3.OperationalError:  # table not created yet
                    pass
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.stdout.read() == ""  # killed before finishing
    with sqlite3.connect(path) as db:
        kept = db.execute("SELECT COUNT(*) FROM answers").fetchone()[0]
    assert 2 <= kept < n
    faults()  # the rerun gets normal answers
    reqs = [ChatRequest(str(i), [{"role": "user", "content": f"Say a number for item {i}, as JSON"}], None)
            for i in range(n)]
    with LLMClient(settings(concurrency=2), server, path) as client:
        out = client.chat_json(reqs, lambda a: a)
        assert (client.stats.cache_hits, client.stats.calls) == (kept, n - kept)
        assert all(isinstance(a, str) and a for a in out)
    with LLMClient(settings(), server, path) as again:
        assert again.chat_json(reqs, lambda a: a) == out and again.stats.calls == 0


def test_default_endpoint_starts_and_stops_the_local_server():
    with endpoint(LLMSettings(server_threads=1)) as url:
        assert url.startswith("http://127.0.0.1:")
        with LLMClient(LLMSettings(max_tokens=8), url, None) as client:
            assert client.chat_json([("a", ask("Reply with the JSON {\"ok\": true}"), None)], str)[0]
    with pytest.raises(openai.APIConnectionError):
        with openai.OpenAI(base_url=url, api_key="x", max_retries=0, timeout=2) as api:
            api.models.list()
    with pytest.raises(LLMError, match="needs llm.base_url"):
        with endpoint(LLMSettings(model="gpt-4o")):
            pass


def test_integer_bounds_constrain_the_answer(server, faults, tmp_path):
    # llama-cpp-python's grammar ignores minimum/maximum; the server adds the range as an enum
    from plexus.llm.server import grammar_schema

    bounded = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 1, "maximum": 3}},
               "required": ["n"]}
    assert grammar_schema(bounded)["properties"]["n"]["enum"] == [1, 2, 3]
    assert "enum" not in grammar_schema({"type": "integer", "minimum": 0, "maximum": 10**6})
    req = ChatRequest("n", ask('Reply with exactly {"n": 42}'), bounded)
    with LLMClient(settings(), server, None) as client:
        assert client.chat_json([req], lambda a: json.loads(a)["n"])[0] in (1, 2, 3)
