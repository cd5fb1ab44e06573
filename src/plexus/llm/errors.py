"""LLM endpoint errors: what a user can fix (URL, key, model name), named in the message."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from plexus.errors import PlexusError

if TYPE_CHECKING:
    from plexus.llm.settings import LLMSettings


class LLMError(PlexusError):
    """An endpoint that is unreachable, refuses the key, does not serve the model, rejects
    the request or keeps failing after the retries. The message names the endpoint and what
    to do."""


def unreachable(url: str, err: object) -> LLMError:
    return LLMError(
        f"Cannot reach the LLM endpoint {url} ({err}). Check llm.base_url (an OpenAI-compatible "
        "base URL, usually ending in /v1) and that the server is running, or unset llm.base_url "
        "to use the local SmolLM2 server."
    )


def refused(url: str, status: int, message: str, settings: LLMSettings, model: str) -> LLMError:
    """The error for a status the client does not retry (401, 403, 404, 400, ...)."""
    if status in (401, 403):
        key = "set" if os.environ.get(settings.api_key_env) else "unset"
        return LLMError(
            f"The LLM endpoint {url} refused the API key ({status}: {message}). Put a valid key in "
            f"the environment variable {settings.api_key_env} (now {key}), or name another "
            "variable with llm.api_key_env."
        )
    if status == 404:
        return LLMError(
            f"The LLM endpoint {url} does not serve the model {model!r} (404: {message}). Set "
            "llm.model (or llm.embed_model for embeddings) to a model it serves, or check that "
            "llm.base_url is the API root (usually ending in /v1)."
        )
    hint = ""
    if status == 400 and "response_format" in message:
        hint = " This endpoint may not support JSON-schema answers: try llm.send_schema=false."
    return LLMError(f"The LLM endpoint {url} rejected the request ({status}: {message}).{hint}")
