"""A small OpenAI-compatible server over SmolLM2-135M-Instruct (GGUF through llama.cpp;
F16 weights by default, see `weights.py`).

    GET  /v1/models              the one model it serves (and its context length)
    POST /v1/chat/completions    messages -> one answer; `response_format` with a JSON schema
                                 constrains decoding to that schema (llama.cpp grammar)
    POST /v1/embeddings          mean-pooled hidden states of the same GGUF

It is the model Plexus starts when no endpoint is configured (`plexus.llm.local.endpoint`)
and the server the client's tests talk to over real HTTP. llama.cpp contexts are not thread
safe, so each model instance serves one request at a time; `--parallel P` loads P instances
that serve P requests side by side, each with `--threads` threads (see
benchmarks/llm_throughput.py for what pays on which machine). Errors use OpenAI's
envelope `{"error": {"message", "type", "code"}}`: 401 for a wrong key (when started with
`--api-key-env`), 404 for a model it does not serve, 400 for a request it cannot answer.

Fault mode (`--faults SPEC`, for testing clients): `SPEC` is `kind:rate,...` over the kinds
`429` (with Retry-After), `500`, `slow` (answers after `--slow-s` seconds), `malformed` (a
200 whose answer is cut-off text, never valid JSON) and `garbage` (a 200 whose body is not
JSON); `--faults ""` turns the mode on with no random faults. In fault mode `POST /_faults`
replaces the settings (`script`: kinds served to the next requests in arrival order, before
any random draw; `rates`, `seed`, `slow_s`, `retry_after_ms`) and `GET /_faults` counts
what was served, so tests are deterministic.

Run: `python -m plexus.llm.server --port 0` prints `PLEXUS_LLM_PORT <port>` once listening.
"""

from __future__ import annotations

import argparse
import base64
import collections
import os
import queue
import random
import socket
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from typing import Any, Iterator

import numpy as np
from fastapi import Body, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from plexus.llm.settings import LOCAL_MODEL
from plexus.llm.weights import PRECISIONS, serving_file

FAULT_KINDS = ("429", "500", "slow", "malformed", "garbage")
PORT_LINE = "PLEXUS_LLM_PORT"


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


class ModelPool:
    """P llama.cpp instances for chat, one (made on first use) for embeddings."""

    def __init__(self, path: str, threads: int = 0, parallel: int = 1, n_ctx: int = 4096):
        import llama_cpp

        self._llama = llama_cpp
        self.path, self.n_ctx = path, n_ctx
        per = threads or max(1, usable_cores() // parallel)
        self.threads = per
        self._free: queue.Queue = queue.Queue()
        for _ in range(parallel):
            self._free.put(llama_cpp.Llama(model_path=path, n_ctx=n_ctx, n_threads=per,
                                           n_threads_batch=per, verbose=False))
        self._embedder = None
        self._embed_lock = threading.Lock()

    @contextmanager
    def _instance(self) -> Iterator[Any]:
        llm = self._free.get()
        try:
            yield llm
        finally:
            self._free.put(llm)

    def chat(self, messages: list[dict], schema: dict | None, **sampling: Any) -> dict:
        # llama-cpp-python's form of a schema-constrained answer (converted to a grammar)
        fmt = {"type": "json_object", "schema": grammar_schema(schema)} if schema is not None else None
        with self._instance() as llm:
            return llm.create_chat_completion(messages=messages, response_format=fmt, **sampling)

    def embed(self, texts: list[str]) -> tuple[np.ndarray, int]:
        with self._embed_lock:
            if self._embedder is None:
                self._embedder = self._llama.Llama(
                    model_path=self.path, n_ctx=self.n_ctx, n_threads=self.threads, n_threads_batch=self.threads,
                    embedding=True,
                    pooling_type=self._llama.LLAMA_POOLING_TYPE_MEAN, verbose=False)
            out = self._embedder.create_embedding(texts)
        vecs = np.asarray([d["embedding"] for d in out["data"]], dtype=np.float32)
        return vecs, int(out["usage"]["prompt_tokens"])


class Faults:
    """Which fault (or "ok") the next request gets: the script first, then a seeded draw."""

    def __init__(self, rates: dict[str, float] | None = None, seed: int = 0, slow_s: float = 3.0,
                 retry_after_ms: int = 200):
        self._lock = threading.Lock()
        self.configure(script=[], rates=rates or {}, seed=seed, slow_s=slow_s, retry_after_ms=retry_after_ms)

    def configure(self, script: list[str], rates: dict[str, float], seed: int, slow_s: float,
                  retry_after_ms: int) -> None:
        for kind in list(script) + list(rates):
            if kind not in FAULT_KINDS + ("ok",):
                raise ValueError(f"unknown fault {kind!r}; known: {', '.join(FAULT_KINDS)}, ok")
        if sum(rates.values()) > 1 or any(r < 0 for r in rates.values()):
            raise ValueError(f"fault rates must be >= 0 and sum to at most 1, got {rates}")
        with self._lock:
            self.script = collections.deque(script)
            self.rates, self.slow_s, self.retry_after_ms = dict(rates), float(slow_s), int(retry_after_ms)
            self._rng = random.Random(seed)
            self.served: collections.Counter = collections.Counter()

    def next(self) -> str:
        with self._lock:
            if self.script:
                kind = self.script.popleft()
            else:
                u, kind = self._rng.random(), "ok"
                for name, rate in self.rates.items():
                    if u < rate:
                        kind = name
                        break
                    u -= rate
            self.served[kind] += 1
            return kind

    @staticmethod
    def parse(spec: str) -> dict[str, float]:
        rates = {}
        for part in filter(None, (p.strip() for p in spec.split(","))):
            kind, _, rate = part.partition(":")
            try:
                rates[kind.strip()] = float(rate)
            except ValueError:
                raise ValueError(f"bad fault {part!r}: expected kind:rate, e.g. 429:0.3") from None
        return rates


def _error(status: int, message: str, type_: str, code: str | None = None,
           headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": type_, "param": None, "code": code}},
                        status_code=status, headers=headers)


def _text(content: Any) -> str:
    """A message's content: a string, or OpenAI's list of parts (text parts joined)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    raise ValueError("message content must be a string or a list of text parts")


def _schema_of(fmt: Any) -> dict | None:
    """The JSON schema in an OpenAI `response_format` (json_schema or json_object)."""
    if not fmt or fmt.get("type") in (None, "text"):
        return None
    if fmt["type"] == "json_schema":
        return (fmt.get("json_schema") or {}).get("schema") or {"type": "object"}
    if fmt["type"] == "json_object":
        return fmt.get("schema") or {"type": "object"}
    raise ValueError(f"unsupported response_format type {fmt['type']!r}")


MAX_ENUM_RANGE = 1000


def grammar_schema(schema: Any) -> Any:
    """The schema with each bounded integer range (minimum..maximum, at most 1000 values)
    also written as an enum: llama-cpp-python's schema-to-grammar converter ignores
    minimum/maximum but honours enum, so the answer stays in range."""
    if isinstance(schema, list):
        return [grammar_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: grammar_schema(v) for k, v in schema.items()}
    lo, hi = out.get("minimum"), out.get("maximum")
    if (out.get("type") == "integer" and "enum" not in out and isinstance(lo, int) and isinstance(hi, int)
            and 0 <= hi - lo < MAX_ENUM_RANGE):
        out["enum"] = list(range(lo, hi + 1))
    return out


def create_app(pool: ModelPool, model_name: str = LOCAL_MODEL, api_key: str | None = None,
               faults: Faults | None = None) -> FastAPI:
    app = FastAPI(title="Plexus local LLM", docs_url=None, redoc_url=None)

    def refuse(request: Request, model: Any) -> JSONResponse | None:
        """401 for a wrong key, 404 for a model this server does not serve, else None."""
        if api_key is not None and request.headers.get("authorization") != f"Bearer {api_key}":
            return _error(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
        if model != model_name:
            return _error(404, f"The model {model!r} does not exist; this server serves {model_name!r}.",
                          "invalid_request_error", "model_not_found")
        return None

    def fault() -> tuple[str, JSONResponse | PlainTextResponse | None]:
        """The fault for this request: a response to send instead of an answer, or a delay."""
        if faults is None:
            return "ok", None
        kind = faults.next()
        if kind == "429":
            ms = faults.retry_after_ms
            return kind, _error(429, "Rate limit reached; retry later.", "rate_limit_exceeded", "rate_limit_exceeded",
                                headers={"Retry-After": str(max(1, round(ms / 1000))), "retry-after-ms": str(ms)})
        if kind == "500":
            return kind, _error(500, "Injected server error.", "server_error")
        if kind == "garbage":
            return kind, PlainTextResponse("<html>502 upstream hiccup</html>", status_code=200)
        if kind == "slow":
            time.sleep(faults.slow_s)
        return kind, None

    @app.get("/v1/models")
    def models(request: Request):
        if api_key is not None and request.headers.get("authorization") != f"Bearer {api_key}":
            return _error(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
        return {"object": "list", "data": [{"id": model_name, "object": "model", "created": 0,
                                            "owned_by": "plexus", "context_length": pool.n_ctx}]}

    @app.post("/v1/chat/completions")
    def chat(request: Request, body: dict = Body(...)):
        refused = refuse(request, body.get("model"))
        if refused is not None:
            return refused
        if body.get("stream"):
            return _error(400, "stream=true is not supported by this server.", "invalid_request_error")
        try:
            messages = [{"role": str(m["role"]), "content": _text(m.get("content"))} for m in body["messages"]]
            schema = _schema_of(body.get("response_format"))
            sampling = {"temperature": float(body.get("temperature", 1.0)),
                        "top_p": float(body.get("top_p", 1.0)),
                        "max_tokens": body.get("max_completion_tokens") or body.get("max_tokens"),
                        "stop": body.get("stop") or [], "seed": body.get("seed")}
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            return _error(400, f"Malformed request: {err}", "invalid_request_error")
        kind, injected = fault()
        if injected is not None:
            return injected
        try:
            out = pool.chat(messages, schema, **sampling)
        except ValueError as err:  # llama.cpp: the prompt exceeds the context window
            return _error(400, str(err), "invalid_request_error", "context_length_exceeded")
        content = out["choices"][0]["message"]["content"] or ""
        if kind == "malformed":
            # a preamble and half an answer: never valid JSON, whatever the model said
            content = "Sure! Here is the answer: " + content[: len(content) // 2]
        return {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()),
                "model": model_name,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                             "logprobs": None, "finish_reason": out["choices"][0]["finish_reason"]}],
                "usage": out["usage"]}

    @app.post("/v1/embeddings")
    def embeddings(request: Request, body: dict = Body(...)):
        refused = refuse(request, body.get("model"))
        if refused is not None:
            return refused
        texts = body.get("input")
        texts = [texts] if isinstance(texts, str) else texts
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
            return _error(400, "input must be a string or a non-empty list of strings.", "invalid_request_error")
        kind, injected = fault()
        if injected is not None:
            return injected
        if kind == "malformed":  # an embedding cannot be half-said: send a broken body instead
            return PlainTextResponse("{\"object\": \"list\", \"data\": [", status_code=200,
                                     media_type="application/json")
        vecs, tokens = pool.embed(texts)
        as_b64 = body.get("encoding_format") == "base64"
        data = [{"object": "embedding", "index": i,
                 "embedding": base64.b64encode(v.astype("<f4").tobytes()).decode() if as_b64 else v.tolist()}
                for i, v in enumerate(vecs)]
        return {"object": "list", "data": data, "model": model_name,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}

    if faults is not None:
        @app.post("/_faults")
        def set_faults(body: dict = Body(...)):
            try:
                faults.configure(script=list(body.get("script", [])), rates=dict(body.get("rates", {})),
                                 seed=int(body.get("seed", 0)), slow_s=float(body.get("slow_s", 3.0)),
                                 retry_after_ms=int(body.get("retry_after_ms", 200)))
            except (TypeError, ValueError) as err:
                return _error(400, str(err), "invalid_request_error")
            return {"ok": True}

        @app.get("/_faults")
        def get_faults():
            with faults._lock:
                return {"served": dict(faults.served), "script_left": len(faults.script)}

    return app


def _exit_with_parent(parent: int) -> None:
    """Stop when the process that started us is gone (even SIGKILLed): no orphan servers."""
    def watch() -> None:
        while True:
            if os.getppid() != parent:
                os._exit(0)
            time.sleep(0.5)
    threading.Thread(target=watch, daemon=True).start()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m plexus.llm.server", description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0: a free port (printed as 'PLEXUS_LLM_PORT <port>')")
    ap.add_argument("--model-name", default=LOCAL_MODEL)
    ap.add_argument("--model-path", default=None, help="a GGUF chat model (default: SmolLM2-135M-Instruct)")
    ap.add_argument("--precision", default="f16", choices=PRECISIONS,
                    help="SmolLM2 weights: f16 (widened once from the shipped Q4_1; faster prompts) or q4_1")
    ap.add_argument("--threads", type=int, default=0, help="llama.cpp threads per instance (0: cores / parallel)")
    ap.add_argument("--parallel", type=int, default=1, help="model instances serving side by side")
    ap.add_argument("--ctx", type=int, default=4096)
    ap.add_argument("--api-key-env", default=None, help="require the key held in this env var")
    ap.add_argument("--faults", default=None, help="fault mode: kind:rate,... (kinds: " + ", ".join(FAULT_KINDS) + ")")
    ap.add_argument("--fault-seed", type=int, default=0)
    ap.add_argument("--slow-s", type=float, default=3.0)
    ap.add_argument("--parent-pid", type=int, default=None, help="exit when this process is gone")
    args = ap.parse_args(argv)

    if args.parent_pid:
        _exit_with_parent(args.parent_pid)
    api_key = None
    if args.api_key_env:
        api_key = os.environ.get(args.api_key_env)
        if not api_key:
            ap.error(f"--api-key-env {args.api_key_env}: that environment variable is empty")
    try:
        faults = None if args.faults is None else Faults(Faults.parse(args.faults), args.fault_seed, args.slow_s)
    except ValueError as err:
        ap.error(str(err))
    pool = ModelPool(args.model_path or str(serving_file(args.precision)), args.threads, args.parallel, args.ctx)
    app = create_app(pool, args.model_name, api_key, faults)

    import uvicorn

    # bind first, then announce: the parent learns a port that is already ours (no race)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    print(f"{PORT_LINE} {sock.getsockname()[1]}", flush=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    server.run(sockets=[sock])


if __name__ == "__main__":
    sys.exit(main())
