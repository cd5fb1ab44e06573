"""The KG text corpus JAKET pretrains on: one description per entity, with mention spans.

* Text: each entity's description ("name, description" as the KG loaders give it). An
  entity without a description uses its name (counted: `counts["no_description"]`).
* Own mention: the entity's name where it occurs in its own description (E^(0) is the mean of
  LM1's outputs at its start and end token). If it does not occur, the name is prepended
  ("name: text") — counted in `counts["name_prepended"]`.
* Other mentions: exact, case-insensitive, word-boundary matches of OTHER entities' names,
  longest match first, non-overlapping. Names shared by several entities are ambiguous and
  never matched (`counts["ambiguous_names"]`).
* Categories (entity category prediction): FB15k-237 ships no Freebase types, but every
  relation path names the Freebase type of its subject (`/film/film/genre`: the head is a
  `film/film`). An entity's category is its most frequent subject type over the training
  triples where it is the head; for KGs without path-like relation ids it is the entity's most
  frequent outgoing relation. Entities that are never a head get -1 (no category loss;
  `counts["uncategorised"]`).
* Relation texts: one per relation (R^(0) is LM1 over it, mean of first and last token). A
  relation without text (empty, or the loader's fallback to its id) uses the words of its id
  ("/film/film/genre" -> "film film genre"), counted in `counts["relation_no_text"]`.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from plexus.errors import InputError

if TYPE_CHECKING:  # torch is imported where tensors are made, so building the corpus stays light
    import torch

_WORD = re.compile(r"\w+", re.UNICODE)
_MAX_NAME_WORDS = 8  # longer names are not matched inside other descriptions (none in FB15k-237 matter)


@dataclass
class KGCorpus:
    names: list[str]
    texts: list[str]
    own_span: list[tuple[int, int]]  # char span [start, end) of the entity's own name in texts[e]
    mentions: list[list[tuple[int, int, int]]]  # (char start, char end, entity) of other entities
    relation_texts: list[str]
    categories: np.ndarray  # int64 [num_entities], -1 = none
    category_names: list[str]
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def num_entities(self) -> int:
        return len(self.texts)


def split_name(text: str) -> str:
    """The name of a "name, description" text (the KG loaders' form): before the first ", "."""
    return text.split(", ", 1)[0].strip()


def build_corpus(texts: list[str], names: list[str] | None, relation_ids: list[str],
                 relation_texts: list[str], edge_index: np.ndarray, edge_type: np.ndarray) -> KGCorpus:
    n = len(texts)
    if names is None:
        names = [split_name(t) for t in texts]
    if len(names) != n:
        raise ValueError(f"{len(names)} names for {n} texts")
    counts: Counter[str] = Counter()
    out_texts, own = [], []
    for name, text in zip(names, texts):
        name, text = name.strip(), text.strip()
        if not text or text == name:
            counts["no_description"] += 1
            text = name
        if not name:  # nothing to mention: the whole text is the span
            counts["no_name"] += 1
            out_texts.append(text)
            own.append((0, len(text)))
            continue
        span = find_word(text, name)
        if span is None:
            counts["name_prepended"] += 1
            text = f"{name}: {text}"
            span = (0, len(name))
        out_texts.append(text)
        own.append(span)
    mentions = find_mentions(out_texts, names, own, counts)
    rel_texts = []
    for rid, rtext in zip(relation_ids, relation_texts):
        if not str(rtext).strip() or str(rtext).strip() == rid:  # no text: words of the id, counted
            counts["relation_no_text"] += 1
            rtext = " ".join(_WORD.findall(rid.replace("_", " "))) or rid
        rel_texts.append(str(rtext).strip())
    categories, category_names = entity_categories(n, relation_ids, edge_index, edge_type)
    counts["uncategorised"] = int((categories < 0).sum())
    counts["mentions"] = sum(len(m) for m in mentions)
    return KGCorpus(list(names), out_texts, own, mentions, rel_texts, categories, category_names, dict(counts))


def find_word(text: str, name: str) -> tuple[int, int] | None:
    """The first case-insensitive, word-boundary occurrence of `name` in `text`."""
    m = re.search(r"(?<!\w)" + re.escape(name) + r"(?!\w)", text, flags=re.IGNORECASE)
    return (m.start(), m.end()) if m else None


def find_mentions(texts: list[str], names: list[str], own: list[tuple[int, int]],
                  counts: Counter) -> list[list[tuple[int, int, int]]]:
    """Exact name matches of other entities: a word n-gram lookup, longest match first."""
    by_key: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for e, name in enumerate(names):
        words = tuple(w.lower() for w in _WORD.findall(name))
        if words and len(words) <= _MAX_NAME_WORDS:
            by_key[words].append(e)
    ambiguous = {k for k, v in by_key.items() if len(set(v)) > 1}
    counts["ambiguous_names"] = len(ambiguous)
    lookup = {k: v[0] for k, v in by_key.items() if k not in ambiguous}
    out = []
    for e, text in enumerate(texts):
        words = [(m.start(), m.end(), m.group().lower()) for m in _WORD.finditer(text)]
        found, i = [], 0
        own_s, own_e = own[e]
        while i < len(words):
            hit = None
            for k in range(min(_MAX_NAME_WORDS, len(words) - i), 0, -1):
                key = tuple(w[2] for w in words[i:i + k])
                ent = lookup.get(key)
                if ent is None:
                    continue
                s, t = words[i][0], words[i + k - 1][1]
                # the name's words must be the exact text (case aside), not words joined by
                # other punctuation: "St. Louis" must not match a name "St Louis"
                if text[s:t].lower() != names[ent].lower():
                    continue
                hit = (s, t, ent, k)
                break
            if hit is None:
                i += 1
                continue
            s, t, ent, k = hit
            if ent != e and not (s < own_e and t > own_s):
                found.append((s, t, ent))
            i += k
        out.append(found)
    return out


def entity_categories(n: int, relation_ids: list[str], edge_index: np.ndarray,
                      edge_type: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Category per entity from the relations it is the subject of (see module docstring)."""
    path_like = all(r.startswith("/") and r.count("/") >= 3 for r in relation_ids)
    if path_like:
        rel_cat = ["/".join(r.split("/")[1:3]) for r in relation_ids]
    else:
        rel_cat = list(relation_ids)
    names = sorted(set(rel_cat))
    index = {c: i for i, c in enumerate(names)}
    rel_to_cat = np.array([index[c] for c in rel_cat], dtype=np.int64)
    heads = np.asarray(edge_index[0], dtype=np.int64)
    cats = rel_to_cat[np.asarray(edge_type, dtype=np.int64)]
    table = np.zeros((n, len(names)), dtype=np.int64)
    np.add.at(table, (heads, cats), 1)
    out = np.where(table.sum(1) > 0, table.argmax(1), -1).astype(np.int64)
    # keep only categories that occur, so the head has no dead classes
    used = np.unique(out[out >= 0])
    remap = -np.ones(len(names), dtype=np.int64)
    remap[used] = np.arange(len(used))
    out = np.where(out >= 0, remap[np.maximum(out, 0)], -1)
    return out, [names[i] for i in used]


def read_mentions(path: Path, entity_ids: list[str], corpus: KGCorpus) -> int:
    """Add user mention spans from a TSV `entity<TAB>start<TAB>end<TAB>mentioned_entity`
    (character offsets into the entity's corpus text, end exclusive). Every line is checked:
    unknown ids and spans whose text is not the mentioned entity's name are an `InputError`
    naming the file and line. Returns the number of spans added."""
    if not Path(path).is_file():
        raise InputError(f"{path}: mention file not found.")
    index = {e: i for i, e in enumerate(entity_ids)}
    added = 0
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 4:
                raise InputError(f"{path}:{lineno}: expected 4 tab-separated fields "
                                 f"(entity, start, end, mentioned entity); got {len(parts)}.")
            src, start, end, dst = parts
            for ent in (src, dst):
                if ent not in index:
                    raise InputError(f"{path}:{lineno}: entity {ent!r} is not in the knowledge graph (dangling id).")
            try:
                s, t = int(start), int(end)
            except ValueError:
                raise InputError(f"{path}:{lineno}: start/end must be integers; got {start!r}, {end!r}.") from None
            text, name = corpus.texts[index[src]], corpus.names[index[dst]]
            if not (0 <= s < t <= len(text)) or text[s:t].lower() != name.lower():
                raise InputError(f"{path}:{lineno}: span [{s}, {t}) of {src!r}'s text is {text[s:t]!r}, "
                                 f"not the name {name!r} of {dst!r}.")
            corpus.mentions[index[src]].append((s, t, index[dst]))
            added += 1
    return added


@dataclass
class TokenizedCorpus:
    """Token ids per entity text and relation text, with mention spans in token positions."""

    ids: list[np.ndarray]  # per entity: int64 token ids, specials included, truncated to max_length
    own: np.ndarray  # [E, 2] token start, end (inclusive) of the own mention (whole text if truncated away)
    mentions: list[np.ndarray]  # per entity: [k, 3] token start, end (inclusive), mentioned entity
    relation_ids: list[np.ndarray]
    relation_span: np.ndarray  # [R, 2] first and last non-special token of the relation text
    truncated_mentions: int = 0  # other-entity mentions cut off by max_length (dropped, counted)
    own_truncated: int = 0  # own names cut off by max_length (E^(0) from the whole text, counted)


def char_to_token_span(offsets: np.ndarray, start: int, end: int) -> tuple[int, int] | None:
    """First and last token overlapping the character span [start, end); specials have (0, 0)."""
    real = offsets[:, 1] > offsets[:, 0]
    hit = np.nonzero(real & (offsets[:, 1] > start) & (offsets[:, 0] < end))[0]
    if hit.size == 0:
        return None
    return int(hit[0]), int(hit[-1])


def tokenize_corpus(corpus: KGCorpus, tokenizer, max_length: int) -> TokenizedCorpus:
    enc = tokenizer(corpus.texts, truncation=True, max_length=max_length, return_offsets_mapping=True)
    ids, own, mentions, truncated, own_truncated = [], [], [], 0, 0
    for e in range(corpus.num_entities):
        offsets = np.asarray(enc["offset_mapping"][e], dtype=np.int64).reshape(-1, 2)
        ids.append(np.asarray(enc["input_ids"][e], dtype=np.int64))
        span = char_to_token_span(offsets, *corpus.own_span[e])
        if span is None:  # the name was cut off by max_length: the whole (truncated) text stands in
            own_truncated += 1
            span = char_to_token_span(offsets, 0, 1 << 30) or (0, len(offsets) - 1)
        own.append(span)
        rows = []
        for s, t, ent in corpus.mentions[e]:
            span = char_to_token_span(offsets, s, t)
            if span is None:
                truncated += 1
                continue
            rows.append((span[0], span[1], ent))
        mentions.append(np.asarray(rows, dtype=np.int64).reshape(-1, 3))
    renc = tokenizer(corpus.relation_texts, truncation=True, max_length=max_length, return_offsets_mapping=True)
    rel_ids, rel_span = [], []
    for r in range(len(corpus.relation_texts)):
        offsets = np.asarray(renc["offset_mapping"][r], dtype=np.int64).reshape(-1, 2)
        rel_ids.append(np.asarray(renc["input_ids"][r], dtype=np.int64))
        span = char_to_token_span(offsets, 0, 1 << 30)
        rel_span.append(span if span is not None else (0, len(offsets) - 1))
    return TokenizedCorpus(ids, np.asarray(own, dtype=np.int64).reshape(-1, 2), mentions, rel_ids,
                           np.asarray(rel_span, dtype=np.int64).reshape(-1, 2), truncated, own_truncated)


def pad_batch(seqs: list[np.ndarray], pad_id: int) -> tuple["torch.Tensor", "torch.Tensor"]:
    """Right-padded LongTensor ids [B, T] and attention mask [B, T]."""
    import torch

    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, :len(s)] = torch.from_numpy(s)
        mask[i, :len(s)] = 1
    return ids, mask


def corpus_from_data(data, names: list[str] | None = None) -> KGCorpus:
    """The corpus of a KG `Data` from `plexus.datasets.knowledge_graphs` (any of fb15k237,
    wn18rr, umls): its texts, relation texts and training triples. Names default to
    `data.entity_name` when the loader gives it, else the text before the first ", "."""
    names = names if names is not None else getattr(data, "entity_name", None)
    return build_corpus(list(data.text), names, list(data.relation_id), list(data.relation_text),
                        data.edge_index.numpy(), data.edge_type.numpy())
