"""The `llm.*` config section: which endpoint, which model, how hard to try.

With `base_url` unset, Plexus starts its own OpenAI-compatible server on loopback over
SmolLM2-135M-Instruct (`plexus.llm.server`); any other endpoint that speaks the protocol
(vLLM, Ollama, llama.cpp's server, a hosted API) is used by setting `base_url` and putting
its key in the environment variable named by `api_key_env`.
"""

from __future__ import annotations

from dataclasses import dataclass

LOCAL_MODEL = "smollm2-135m-instruct"  # the name the local server answers to


@dataclass
class LLMSettings:
    base_url: str | None = None  # None -> start the local SmolLM2 server on loopback
    model: str = LOCAL_MODEL  # the model name sent to the endpoint
    api_key_env: str = "OPENAI_API_KEY"  # env var holding the key (the local server needs none)
    timeout_s: float = 60.0  # per request; a slower answer counts as a failed attempt
    max_retries: int = 4  # on 429/5xx/timeouts/connection errors, exponential backoff with jitter
    backoff_s: float = 0.5  # first backoff; doubles per retry (a 429's Retry-After wins if longer)
    concurrency: int = 4  # requests in flight
    temperature: float = 0.0
    max_tokens: int = 64
    embed_model: str | None = None  # None -> embeddings from the bundled MiniLM, not the endpoint
    send_schema: bool = True  # send a request's JSON schema as response_format (json_schema)
    # The local server only (ignored with base_url). llama.cpp threads per model instance:
    # 1, because its spinning threads slow down ~10x when the cores are shared with other
    # work (measured 52 s vs 4.8 s for 4 answers at load 11 on 2 cores); model instances
    # answering side by side (0 = min(usable cores, concurrency)); context length; weights
    # (f16: widened once from the shipped Q4_1, prompts ~2x faster; or q4_1).
    server_threads: int = 1
    server_parallel: int = 0
    server_ctx: int = 4096
    server_precision: str = "f16"

