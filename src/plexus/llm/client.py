"""The LLM client: OpenAI's chat-completions and embeddings protocol against any base URL.

Built on the maintained `openai` package (its own retries off, so every retry is counted
here). For each request:

1. the answer cache (`cache.py`) is asked first; a hit costs no call;
2. otherwise the endpoint is called, with `settings.concurrency` requests in flight. 429,
   5xx, timeouts, connection errors and 200s that are not a completion are retried up to
   `max_retries` times with exponential backoff and jitter (a 429's Retry-After is honoured);
   401/403/404/400 are not retried: an `LLMError` names the endpoint and what to do;
3. the answer is committed to the cache as soon as it arrives (a kill loses nothing done);
4. `parse` checks it; a bad answer gets one repair request (the conversation plus the
   answer and the parse error, asking for valid JSON), itself cached; if that fails too the
   request's result is None and counted as a reject.

`stats` counts calls, cache hits, repairs, rejects, retries and tokens, and the wall time.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, NamedTuple, Sequence, TypeVar

import numpy as np
import openai

from plexus.llm import errors
from plexus.llm.cache import AnswerCache, cache_key
from plexus.llm.errors import LLMError
from plexus.llm.settings import LLMSettings

T = TypeVar("T")
MAX_BACKOFF_S = 60.0
EMBED_BATCH = 32
# What parse functions raise on a bad answer (json.JSONDecodeError is a ValueError).
PARSE_ERRORS = (ValueError, KeyError, TypeError, IndexError)


class ChatRequest(NamedTuple):
    key: str  # the caller's id for the request (not part of the cache key)
    messages: list[dict[str, str]]
    schema: dict | None = None  # JSON schema the answer must follow (sent as response_format)


@dataclasses.dataclass
class LLMStats:
    calls: int = 0  # requests answered by the endpoint (repairs and embeddings included)
    cache_hits: int = 0
    repairs: int = 0  # answers that failed `parse` and were sent back once
    rejects: int = 0  # answers still failing after the repair (result None)
    retries: int = 0  # extra attempts after a 429/5xx/timeout/connection error/bad body
    prompt_tokens: int = 0
    completion_tokens: int = 0
    wall_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class _Retryable(Exception):
    """A failed attempt worth repeating; `wait_s` is a server-given minimum wait."""

    def __init__(self, what: str, wait_s: float = 0.0):
        super().__init__(what)
        self.wait_s = wait_s


def repair_messages(messages: list[dict], answer: str, error: str, schema: dict | None) -> list[dict]:
    """The conversation, the bad answer, and a request to answer again in valid JSON."""
    want = f" matching this JSON schema: {json.dumps(schema)}" if schema else ""
    return list(messages) + [
        {"role": "assistant", "content": answer},
        {"role": "user", "content": f"That answer could not be used ({error}). Reply with only valid JSON{want}, "
                                    "nothing else."},
    ]


class LLMClient:
    def __init__(self, settings: LLMSettings, base_url: str, cache_path: Path | None):
        self.settings = settings
        self.base_url = base_url.rstrip("/")
        self.cache = AnswerCache(":memory:" if cache_path is None else cache_path)
        self.stats = LLMStats()
        self._lock = threading.Lock()
        # The local server needs no key, but the client library insists on one.
        key = os.environ.get(settings.api_key_env) or "no-key"
        self._api = openai.OpenAI(base_url=self.base_url, api_key=key, timeout=settings.timeout_s, max_retries=0)

    # ---- public -------------------------------------------------------------------------

    def chat_json(self, requests: Sequence[ChatRequest | tuple], parse: Callable[[str], T]) -> list[T | None]:
        """Answers for `requests` (each (key, messages, schema|None)), parsed, in order; None
        for a reject. Raises LLMError when the endpoint refuses or keeps failing (the answers
        received before are in the cache)."""
        reqs = [ChatRequest(*r) for r in requests]
        return self._run(lambda r: self._answer(r, parse), reqs)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One float32 row per text from the endpoint's /embeddings (`embed_model`, else
        `model`), cached per text."""
        model = self.settings.embed_model or self.settings.model
        keys = [cache_key(kind="embed", model=model, text=t) for t in texts]
        found: dict[str, list[float]] = {}
        todo: dict[str, str] = {}
        for k, t in zip(keys, texts):
            if k in found or k in todo:
                continue
            hit = self.cache.get(k)
            if hit is None:
                todo[k] = t
            else:
                found[k] = hit
                self._count(cache_hits=1)
        items = list(todo.items())
        batches = [items[i:i + EMBED_BATCH] for i in range(0, len(items), EMBED_BATCH)]
        for batch_found in self._run(lambda b: self._embed_batch(model, b), batches):
            found.update(batch_found)
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.asarray([found[k] for k in keys], dtype=np.float32)

    def close(self) -> None:
        self._api.close()
        self.cache.close()

    def __enter__(self) -> LLMClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- one request --------------------------------------------------------------------

    def _answer(self, req: ChatRequest, parse: Callable[[str], T]) -> T | None:
        answer = self._complete(req.messages, req.schema)
        try:
            return parse(answer)
        except PARSE_ERRORS as err:
            self._count(repairs=1)
            fixed = self._complete(repair_messages(req.messages, answer, str(err), req.schema), req.schema)
        try:
            return parse(fixed)
        except PARSE_ERRORS:
            self._count(rejects=1)
            return None

    def _complete(self, messages: list[dict], schema: dict | None) -> str:
        s = self.settings
        sampling = {"temperature": s.temperature, "max_tokens": s.max_tokens}
        key = cache_key(kind="chat", model=s.model, messages=messages, schema=schema,
                        send_schema=s.send_schema and schema is not None, **sampling)
        hit = self.cache.get(key)
        if hit is not None:
            self._count(cache_hits=1)
            return hit["content"]
        extra = {}
        if s.send_schema and schema is not None:
            extra["response_format"] = {"type": "json_schema",
                                        "json_schema": {"name": "answer", "schema": schema, "strict": True}}

        def call() -> Any:
            out = self._api.chat.completions.create(model=s.model, messages=messages, **sampling, **extra)
            if not getattr(out, "choices", None):  # e.g. a 200 whose body is not a completion
                raise _Retryable(f"an answer that is not a chat completion: {str(out)[:120]!r}")
            return out

        out = self._with_retries(call, s.model)
        content = out.choices[0].message.content or ""
        usage = out.usage
        self._count(calls=1, prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
                    completion_tokens=getattr(usage, "completion_tokens", 0) or 0)
        self.cache.put(key, {"content": content})
        return content

    def _embed_batch(self, model: str, batch: list[tuple[str, str]]) -> dict[str, list[float]]:
        texts = [t for _, t in batch]

        def call() -> Any:
            out = self._api.embeddings.create(model=model, input=texts, encoding_format="float")
            data = getattr(out, "data", None)
            if not isinstance(data, list) or len(data) != len(texts):
                raise _Retryable(f"an embeddings answer with {len(data or [])} vectors for {len(texts)} texts")
            return out

        out = self._with_retries(call, model)
        self._count(calls=1, prompt_tokens=getattr(out.usage, "prompt_tokens", 0) or 0)
        vecs = {}
        for d in sorted(out.data, key=lambda d: d.index):
            k = batch[d.index][0]
            vecs[k] = [float(x) for x in d.embedding]
            self.cache.put(k, vecs[k])
        return vecs

    # ---- retries, concurrency, counting -------------------------------------------------

    def _with_retries(self, call: Callable[[], Any], model: str) -> Any:
        s = self.settings
        for attempt in range(s.max_retries + 1):
            try:
                return call()
            except openai.APIConnectionError as err:  # includes timeouts
                failure = _Retryable("timed out" if isinstance(err, openai.APITimeoutError) else str(err))
                if not isinstance(err, openai.APITimeoutError) and attempt == s.max_retries:
                    raise errors.unreachable(self.base_url, err) from None
            except openai.APIStatusError as err:
                status = err.status_code
                if status != 429 and status < 500:
                    raise errors.refused(self.base_url, status, _message(err), s, model) from None
                failure = _Retryable(f"{status}: {_message(err)}", _retry_after(err) if status == 429 else 0.0)
            except (openai.APIResponseValidationError, ValueError) as err:  # a body that is not JSON
                failure = _Retryable(f"a malformed answer: {err}")
            except _Retryable as err:
                failure = err
            if attempt == s.max_retries:
                raise LLMError(
                    f"The LLM endpoint {self.base_url} kept failing: {s.max_retries + 1} attempts, the last "
                    f"one {failure}. Answers received so far are cached: rerun to continue, or raise "
                    "llm.max_retries / llm.timeout_s."
                )
            self._count(retries=1)
            delay = min(MAX_BACKOFF_S, s.backoff_s * 2 ** attempt * random.uniform(0.5, 1.5))
            time.sleep(max(delay, failure.wait_s))
        raise AssertionError("unreachable")

    def _run(self, fn: Callable[[Any], T], items: list) -> list[T]:
        """fn over items with `concurrency` in flight, results in order. On the first error
        the requests not yet started are dropped and the error is raised."""
        t0 = time.perf_counter()
        try:
            if self.settings.concurrency <= 1 or len(items) <= 1:
                return [fn(x) for x in items]
            pool = ThreadPoolExecutor(max_workers=self.settings.concurrency, thread_name_prefix="llm")
            try:
                futures = [pool.submit(fn, x) for x in items]
                return [f.result() for f in futures]
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
        finally:
            self._count(wall_s=time.perf_counter() - t0)

    def _count(self, **inc: float) -> None:
        with self._lock:
            for name, value in inc.items():
                setattr(self.stats, name, getattr(self.stats, name) + value)


def _message(err: openai.APIStatusError) -> str:
    body = err.body
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return body["message"]
    return str(err.message)


def _retry_after(err: openai.APIStatusError) -> float:
    """The wait a 429 asks for (retry-after-ms, else Retry-After seconds), capped."""
    headers = err.response.headers
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        try:
            return min(MAX_BACKOFF_S, float(headers[name]) / scale)
        except (KeyError, ValueError):
            continue
    return 0.0
