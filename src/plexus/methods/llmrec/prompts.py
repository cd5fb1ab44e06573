"""LLMRec's three prompts, their JSON schemas and the parsers of the answers.

The prompts are `string.Template` files in `templates/` (`$history`, `$candidates`, `$item`,
`$user`); a config key (`prompts.implicit_feedback`, `prompts.item_attributes`,
`prompts.user_profile`) pointing at another file replaces one. A line `---` separates the
system message (above) from the user message (below). They are kept short on purpose: the
default local model has 135M parameters and reads every token on a CPU. Each asks for a JSON
object, and the request carries the matching JSON schema (the endpoint may constrain its
output with it). The paper's prompts (its Fig. 3 / the official `LLM_augmentation_*` scripts)
ask for the same three things in free text: one liked and one disliked candidate ("two
numbers separated by '::'"), an item's director / country / language, and a user's age,
gender, liked and disliked genres, country, language.
"""

from __future__ import annotations

import json
import re
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plexus.errors import ConfigError

TEMPLATES = Path(__file__).parent / "templates"
KINDS = ("implicit_feedback", "item_attributes", "user_profile")
ATTRIBUTE_FIELDS = ("director", "country", "language")
PROFILE_FIELDS = ("age", "gender", "liked_genres", "disliked_genres")


@dataclass
class PromptFiles:
    """Template files replacing the bundled ones (None: the bundled template)."""

    implicit_feedback: str | None = None
    item_attributes: str | None = None
    user_profile: str | None = None


@dataclass
class Prompt:
    system: str | None
    user: string.Template
    source: str

    def messages(self, **fields: str) -> list[dict[str, str]]:
        try:
            text = self.user.substitute(**fields)
        except (KeyError, ValueError) as e:
            raise ConfigError(f"prompt template {self.source}: unknown or malformed placeholder {e}; "
                              f"available: {', '.join('$' + k for k in fields)}.") from None
        msgs = [{"role": "system", "content": self.system}] if self.system else []
        return msgs + [{"role": "user", "content": text}]


def load_prompt(kind: str, override: str | None = None) -> Prompt:
    """The template for `kind`, from `override` if given (a ConfigError naming the file if unreadable)."""
    path = Path(override) if override else TEMPLATES / f"{kind}.txt"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"prompts.{kind}={override}: cannot read the template ({e.strerror}).") from None
    if not text.strip():
        raise ConfigError(f"prompts.{kind}: the template {path} is empty.")
    system, sep, user = text.partition("\n---\n")
    if not sep:
        system, user = "", text
    return Prompt(system.strip() or None, string.Template(user.strip()), str(path))


def numbered(texts: list[str]) -> str:
    """'1. first\n2. second ...' (the numbers the LLM answers with)."""
    return "\n".join(f"{i}. {t}" for i, t in enumerate(texts, 1))


# --------------------------------------------------------------------------- schemas


def implicit_schema(k: int) -> dict[str, Any]:
    num = {"type": "integer", "minimum": 1, "maximum": k}
    return {"type": "object", "properties": {"liked": num, "disliked": num},
            "required": ["liked", "disliked"], "additionalProperties": False}


def _strings_schema(fields: tuple[str, ...]) -> dict[str, Any]:
    return {"type": "object", "properties": {f: {"type": "string"} for f in fields},
            "required": list(fields), "additionalProperties": False}


ATTRIBUTE_SCHEMA = _strings_schema(ATTRIBUTE_FIELDS)
PROFILE_SCHEMA = _strings_schema(PROFILE_FIELDS)


# --------------------------------------------------------------------------- parsers


def json_object(text: str) -> dict[str, Any]:
    """The first JSON object in `text` (models often wrap it in prose or code fences)."""
    start = text.find("{")
    if start < 0:
        raise ValueError("no JSON object in the answer")
    try:
        obj, _ = json.JSONDecoder().raw_decode(text[start:])
    except json.JSONDecodeError as e:
        raise ValueError(f"invalid JSON: {e.msg}") from None
    if not isinstance(obj, dict):
        raise ValueError("the answer is not a JSON object")
    return obj


def _as_int(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a candidate number")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*\d+\s*", value):
        return int(value)
    raise ValueError(f"{name} must be a candidate number, got {value!r}")


def implicit_parser(k: int):
    """parse(answer) -> (liked, disliked) candidate numbers in 1..k, distinct; ValueError otherwise."""

    def parse(text: str) -> tuple[int, int]:
        obj = json_object(text)
        liked, disliked = _as_int(obj.get("liked"), "liked"), _as_int(obj.get("disliked"), "disliked")
        for name, v in (("liked", liked), ("disliked", disliked)):
            if not 1 <= v <= k:
                raise ValueError(f"{name}={v} is not a candidate number (1..{k})")
        if liked == disliked:
            raise ValueError("liked and disliked must be different candidates")
        return liked, disliked

    return parse


def fields_parser(fields: tuple[str, ...]):
    """parse(answer) -> {field: non-empty text}; ValueError when no field has a usable value."""

    def parse(text: str) -> dict[str, str]:
        obj = json_object(text)
        out = {}
        for f in fields:
            v = obj.get(f)
            if isinstance(v, list):
                v = ", ".join(str(x) for x in v)
            if isinstance(v, (str, int, float)) and not isinstance(v, bool) and str(v).strip():
                out[f] = " ".join(str(v).split())[:120]
        if not out:
            raise ValueError(f"none of the fields {', '.join(fields)} has a value")
        return out

    return parse
