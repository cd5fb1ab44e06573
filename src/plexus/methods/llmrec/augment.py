"""LLMRec's three augmentations (Wei et al., WSDM 2024, Sec. 3.2-3.3), asked of any
OpenAI-compatible endpoint through `plexus.llm`, and their artefacts.

1. implicit feedback: for each user, the training history and the candidates
   (`candidates.py`); the LLM names one liked and one disliked candidate, which become the
   BPR triple (user, liked, disliked). A triple is accepted only if both are among the
   user's candidates, distinct, and not training items of the user; every other answer is
   rejected and counted by reason.
2. item attributes: director, country, language of each item, as structured text
   "director: ...; country: ...; language: ...".
3. user profiles: the data's own demographics (MovieLens: age, gender, occupation) and the
   LLM's age, gender, liked and disliked genres, from the user's history.

The texts are embedded with the bundled MiniLM (on-disk embedding cache) or, with
`llm.embed_model` set, by the endpoint's /v1/embeddings. Every answer goes through the LLM
client's SQLite cache as it arrives, so a killed or failed augmentation keeps what was
answered and a rerun asks only for the rest. The artefacts are JSON lines under
`artifacts/augmentation/` (written atomically, `manifest.json` last); `augmentation_from=RUN`
reads a previous run's instead of asking again.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from plexus.atomic import atomic_write_bytes, atomic_write_text
from plexus.errors import ConfigError, InputError
from plexus.methods.llmrec import prompts as P

AUG_DIR = "augmentation"
PART_FILES = {"implicit_feedback": "implicit_feedback.jsonl", "item_attributes": "item_attributes.jsonl",
              "user_profile": "user_profiles.jsonl"}
FORMAT = 1


@dataclass
class Catalog:
    """What the prompts describe: item text, per-user data text, training histories."""

    item_text: list[str]
    user_text: list[str]  # demographics ("age 24, M, technician"), "" when the data has none
    history: list[list[int]]  # training items per user, in interaction order

    @property
    def num_users(self) -> int:
        return len(self.history)


def catalog_from_split(split, source: str, item_text_file: str | None = None, item_col: str = "item") -> Catalog:
    """The catalog of an `InteractionSplit`; an InputError naming `source` without item text,
    and naming the item-text file and its lines where a user's table has empty texts."""
    if split.item_text is None:
        raise InputError(f"{source}: LLMRec needs item text for its prompts; give a table of item text "
                         f"(--input item_text=FILE with columns item and text).")
    empty = [i for i, t in enumerate(split.item_text) if not (t or "").strip()]
    if empty and item_text_file:
        raise InputError(_empty_text_message(item_text_file, item_col, [split.item_ids[i] for i in empty]))
    if len(empty) == len(split.item_text):
        raise InputError(f"{source}: every item text is empty; LLMRec's prompts need item text.")
    item_text = [" ".join((t or "").split()) or f"item {split.item_ids[i]}" for i, t in enumerate(split.item_text)]
    users = split.data["user"] if split.data is not None else None
    user_text = [""] * split.num_users
    if users is not None and "age" in users and "gender" in users:
        occ = users.occupation if "occupation" in users else [""] * split.num_users
        user_text = [f"age {int(a)}, {'male' if g == 'M' else 'female' if g == 'F' else g}, {o}".strip(", ")
                     for a, g, o in zip(users.age.tolist(), users.gender, occ)]
    history: list[list[int]] = [[] for _ in range(split.num_users)]
    for u, i in split.train.t().tolist():
        history[u].append(i)
    return Catalog(item_text, user_text, history)


def _empty_text_message(path: str, item_col: str, ids: list[str]) -> str:
    """Where the first items without text are (their line, or that the table lacks them)."""
    import csv

    lines: dict[str, int] = {}
    try:
        with open(path, newline="", encoding="utf-8") as f:
            sep = "\t" if str(path).endswith((".tsv", ".tsv.gz")) else ","
            reader = csv.reader(f, delimiter=sep)
            header = next(reader, [])
            col = header.index(item_col) if item_col in header else 0
            for n, row in enumerate(reader, 2):
                if len(row) > col:
                    lines.setdefault(row[col].strip(), n)
    except (OSError, UnicodeDecodeError):
        pass
    where = [f"item {i!r} (line {lines[i]}: empty text)" if i in lines else f"item {i!r} (not in the table)"
             for i in ids[:5]]
    more = f" and {len(ids) - 5} more" if len(ids) > 5 else ""
    return (f"{path}: {len(ids)} item(s) have no text: {', '.join(where)}{more}. LLMRec's prompts describe "
            f"every item by its text; give each interacted item a non-empty text.")


@dataclass
class Augmentation:
    """Parsed, accepted augmentation; None where a part was not asked for."""

    candidates: torch.Tensor | None = None  # [num_users, k]
    triples: torch.Tensor | None = None  # [3, n]: user, liked, disliked
    attributes: dict[int, dict[str, str]] | None = None  # item -> fields
    profiles: dict[int, dict[str, str]] | None = None  # user -> fields
    stats: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- triples


def build_triples(answers: dict[int, tuple[int, int] | None], candidates: torch.Tensor,
                  history: list[list[int]]) -> tuple[torch.Tensor, dict[str, int]]:
    """(triples [3, n], counts) from parsed answers {user: (liked, disliked) candidate numbers}.

    Numbers are 1-based positions in the user's candidate list. Rejected and counted: no
    answer (`unanswered`), a number outside 1..k (`not_candidate`), liked == disliked
    (`same_item`), an item the user already has in training (`training_item`).
    """
    k = candidates.size(1)
    counts = {"accepted": 0, "unanswered": 0, "not_candidate": 0, "same_item": 0, "training_item": 0}
    rows = []
    for u in sorted(answers):
        ans = answers[u]
        if ans is None:
            counts["unanswered"] += 1
            continue
        liked, disliked = ans
        if not (1 <= liked <= k and 1 <= disliked <= k):
            counts["not_candidate"] += 1
            continue
        if liked == disliked:
            counts["same_item"] += 1
            continue
        pos, neg = int(candidates[u, liked - 1]), int(candidates[u, disliked - 1])
        seen = set(history[u])
        if pos in seen or neg in seen:
            counts["training_item"] += 1
            continue
        rows.append((u, pos, neg))
        counts["accepted"] += 1
    triples = torch.tensor(rows, dtype=torch.long).t() if rows else torch.empty(3, 0, dtype=torch.long)
    return triples, counts


# --------------------------------------------------------------------------- texts


def attribute_text(item_text: str, fields: dict[str, str] | None) -> str:
    """The structured text of an item's attributes; the item's own text when the LLM gave none."""
    if not fields:
        return item_text
    return "; ".join(f"{k}: {fields[k]}" for k in P.ATTRIBUTE_FIELDS if k in fields)


def profile_text(user_text: str, fields: dict[str, str] | None, history_titles: list[str]) -> str:
    """A user's profile text: the data's demographics, then the LLM's fields (or, without
    an answer, the first watched titles, so every user has a profile to embed)."""
    parts = [user_text] if user_text else []
    if fields:
        parts += [f"{k.replace('_', ' ')}: {fields[k]}" for k in P.PROFILE_FIELDS if k in fields]
    else:
        parts.append("watched: " + ", ".join(history_titles[:5]))
    return "; ".join(p for p in parts if p)


def embed(texts: list[str], settings, client=None) -> torch.Tensor:
    """[n, F] float embeddings: the bundled MiniLM (cached on disk) or the endpoint's."""
    if settings.embed_model:
        if client is None:
            raise ValueError("an endpoint embedding needs a client")
        return torch.as_tensor(client.embed(texts), dtype=torch.float32)
    from plexus.text.encoder import encode_texts

    return encode_texts(texts, progress=False).float()


# --------------------------------------------------------------------------- asking the LLM


def default_llm_cache() -> Path:
    """`$PLEXUS_CACHE/llm/answers.sqlite`, else `~/.cache/plexus/llm/answers.sqlite`."""
    base = os.environ.get("PLEXUS_CACHE")
    return (Path(base) if base else Path.home() / ".cache" / "plexus") / "llm" / "answers.sqlite"


def _history_lines(catalog: Catalog, u: int, n: int) -> list[str]:
    return [catalog.item_text[i] for i in catalog.history[u][-n:]]


def ask(client, kind: str, prompt: P.Prompt, keyed_fields: dict[int, dict[str, str]], schema, parse,
        quiet: bool) -> tuple[dict[int, Any], dict[str, Any]]:
    """Send one prompt per key; {key: parsed answer or None} and the client's stats delta."""
    from plexus.llm.client import ChatRequest

    before = client.stats.as_dict()
    keys = sorted(keyed_fields)
    requests = [ChatRequest(f"{kind}:{k}", prompt.messages(**keyed_fields[k]), schema) for k in keys]
    t0 = time.perf_counter()
    if not quiet:
        print(f"  augmentation: {kind}, {len(requests)} prompts", file=sys.stderr, flush=True)
    answers = client.chat_json(requests, parse)
    after = client.stats.as_dict()
    delta = {k: after[k] - before.get(k, 0) for k in after if isinstance(after[k], (int, float))}
    delta["wall_s"] = time.perf_counter() - t0
    delta["prompts"] = len(requests)
    delta["parsed"] = sum(a is not None for a in answers)
    if not quiet:
        print(f"  augmentation: {kind}: {delta['parsed']}/{len(requests)} parsed, {delta.get('calls', 0)} calls, "
              f"{delta.get('cache_hits', 0)} cache hits, {delta['wall_s']:.0f} s", file=sys.stderr, flush=True)
    return dict(zip(keys, answers)), delta


def run_augmentation(parts: set[str], catalog: Catalog, candidates: torch.Tensor | None, users: list[int],
                     items: list[int], llm, prompt_files: P.PromptFiles, history_len: int, cache_path: Path,
                     quiet: bool = False) -> Augmentation:
    """Ask the LLM for `parts` (implicit_feedback, item_attributes, user_profile) of the given
    users and items; LLMError (from plexus.llm) when the endpoint fails."""
    from plexus.llm.client import LLMClient
    from plexus.llm.local import endpoint

    aug = Augmentation(candidates=candidates)
    t0 = time.perf_counter()
    with endpoint(llm) as base_url:
        client = LLMClient(llm, base_url, cache_path)
        try:
            if "implicit_feedback" in parts:
                k = candidates.size(1)
                fields = {u: {"history": P.numbered(_history_lines(catalog, u, history_len)),
                              "candidates": P.numbered([catalog.item_text[i] for i in candidates[u].tolist()])}
                          for u in users}
                answers, stats = ask(client, "implicit_feedback", P.load_prompt("implicit_feedback",
                                     prompt_files.implicit_feedback), fields, P.implicit_schema(k),
                                     P.implicit_parser(k), quiet)
                aug.triples, counts = build_triples(answers, candidates, catalog.history)
                aug.stats["implicit_feedback"] = {**stats, **counts}
            if "item_attributes" in parts:
                fields = {i: {"item": catalog.item_text[i]} for i in items}
                answers, stats = ask(client, "item_attributes", P.load_prompt("item_attributes",
                                     prompt_files.item_attributes), fields, P.ATTRIBUTE_SCHEMA,
                                     P.fields_parser(P.ATTRIBUTE_FIELDS), quiet)
                aug.attributes = {i: a for i, a in answers.items() if a}
                aug.stats["item_attributes"] = stats
            if "user_profile" in parts:
                fields = {u: {"user": catalog.user_text[u] or "unknown",
                              "history": P.numbered(_history_lines(catalog, u, history_len))} for u in users}
                answers, stats = ask(client, "user_profile", P.load_prompt("user_profile", prompt_files.user_profile),
                                     fields, P.PROFILE_SCHEMA, P.fields_parser(P.PROFILE_FIELDS), quiet)
                aug.profiles = {u: a for u, a in answers.items() if a}
                aug.stats["user_profile"] = stats
        finally:
            client.close()
    aug.stats["wall_s"] = time.perf_counter() - t0
    aug.stats["model"] = llm.model
    aug.stats["endpoint"] = llm.base_url or "local SmolLM2 server (plexus.llm.server)"
    return aug


# --------------------------------------------------------------------------- artefacts


def _jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows)


def save_augmentation(folder: Path, aug: Augmentation, user_ids: list[str], item_ids: list[str]) -> None:
    """The artefacts of `aug` under `folder` (JSON lines; manifest.json written last)."""
    folder.mkdir(parents=True, exist_ok=True)
    parts = []
    if aug.candidates is not None:
        save_candidates(folder / "candidates.jsonl", aug.candidates, user_ids)
    if aug.triples is not None:
        parts.append("implicit_feedback")
        atomic_write_text(folder / PART_FILES["implicit_feedback"], _jsonl(
            [{"u": u, "user": user_ids[u], "liked": p, "liked_item": item_ids[p], "disliked": n,
              "disliked_item": item_ids[n]} for u, p, n in aug.triples.t().tolist()]))
    if aug.attributes is not None:
        parts.append("item_attributes")
        atomic_write_text(folder / PART_FILES["item_attributes"], _jsonl(
            [{"i": i, "item": item_ids[i], "attributes": a} for i, a in sorted(aug.attributes.items())]))
    if aug.profiles is not None:
        parts.append("user_profile")
        atomic_write_text(folder / PART_FILES["user_profile"], _jsonl(
            [{"u": u, "user": user_ids[u], "profile": a} for u, a in sorted(aug.profiles.items())]))
    manifest = {"format": FORMAT, "parts": parts, "num_users": len(user_ids), "num_items": len(item_ids),
                "stats": aug.stats}
    atomic_write_text(folder / "manifest.json", json.dumps(manifest, indent=2, sort_keys=True))


def save_candidates(path: Path, candidates: torch.Tensor, user_ids: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, _jsonl([{"u": u, "user": user_ids[u], "candidates": row}
                                    for u, row in enumerate(candidates.tolist())]))


def load_candidates(path: Path, num_users: int, num_items: int, k: int) -> torch.Tensor:
    """The candidates a (killed) run saved; an InputError naming the file if they do not fit."""
    try:
        cand = torch.tensor([r["candidates"] for r in _read_jsonl(path)], dtype=torch.long)
    except (KeyError, TypeError, ValueError) as e:
        raise InputError(f"{path}: malformed candidates ({e}).") from None
    if cand.shape != (num_users, k) or (cand.numel() and (int(cand.min()) < 0 or int(cand.max()) >= num_items)):
        raise InputError(f"{path}: candidates of shape {tuple(cand.shape)} do not fit {num_users} users, "
                         f"{num_items} items and candidates={k}.")
    return cand


def _read_jsonl(path: Path) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise InputError(f"{path}, line {n}: not valid JSON ({e.msg}).") from None
    return rows


def load_augmentation(folder: Path, parts: set[str], num_users: int, num_items: int, source: str) -> Augmentation:
    """The artefacts under `folder`; a ConfigError naming `source` when something is missing or
    they belong to other data."""
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        raise ConfigError(f"{source}: no augmentation artefacts at {folder} (no manifest.json); point "
                          f"augmentation_from at the run directory of an LLMRec run that augmented.")
    manifest = json.loads(manifest_path.read_text())
    if (manifest.get("num_users"), manifest.get("num_items")) != (num_users, num_items):
        raise ConfigError(f"{source}: the augmentation at {folder} is for {manifest.get('num_users')} users and "
                          f"{manifest.get('num_items')} items, this data has {num_users} and {num_items}.")
    missing = sorted(parts - set(manifest.get("parts", [])))
    if missing:
        raise ConfigError(f"{source}: the augmentation at {folder} lacks {', '.join(missing)} "
                          f"(it has {', '.join(manifest.get('parts', [])) or 'nothing'}).")
    aug = Augmentation(stats=manifest.get("stats", {}))
    try:
        if (folder / "candidates.jsonl").is_file():
            aug.candidates = torch.tensor([r["candidates"] for r in _read_jsonl(folder / "candidates.jsonl")])
        if "implicit_feedback" in parts:
            rows = _read_jsonl(folder / PART_FILES["implicit_feedback"])
            aug.triples = (torch.tensor([[r["u"], r["liked"], r["disliked"]] for r in rows], dtype=torch.long).t()
                           if rows else torch.empty(3, 0, dtype=torch.long))
        if "item_attributes" in parts:
            aug.attributes = {r["i"]: r["attributes"] for r in _read_jsonl(folder / PART_FILES["item_attributes"])}
        if "user_profile" in parts:
            aug.profiles = {r["u"]: r["profile"] for r in _read_jsonl(folder / PART_FILES["user_profile"])}
    except (KeyError, TypeError) as e:
        raise InputError(f"{folder}: malformed augmentation artefact ({e!r}).") from None
    if aug.triples is not None and aug.triples.numel():
        if int(aug.triples[0].max()) >= num_users or int(aug.triples[1:].max()) >= num_items:
            raise InputError(f"{folder}: an augmented triple names a user or item outside this data.")
    return aug


def copy_artifacts(src: Path, dst: Path) -> None:
    """Copy a previous run's augmentation files into this run (manifest last)."""
    dst.mkdir(parents=True, exist_ok=True)
    for p in [*sorted(src.glob("*.jsonl")), src / "manifest.json"]:
        atomic_write_bytes(dst / p.name, p.read_bytes())
