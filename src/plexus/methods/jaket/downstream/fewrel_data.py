"""FewRel for JAKET: the relation split, what pretraining must not have seen, and token spans.

Relation split. Only FewRel 1.0 `val_wiki` (16 Wikidata relations) is available, so its
relations are split in two: 10 evaluation relations (10-way episodes need 10) and 6
training relations for episodic fine-tuning and validation. The evaluation relations are
the ten whose facts the pretraining KG (FB15k-237) holds least: counting, per relation,
the FewRel sentences whose (head, tail) Wikidata pair is linked by any FB15k-237 triple
(either direction, any split), seven relations have none (P177 crosses, P2094 competition
class, P59 constellation, P413 position played, P410 military rank, P25 mother, P40 child),
then P412 voice type (1), P206 located next to body of water (6), P364 original language
(7); the training relations are P155 follows (8), P26 spouse (10), P641 sport (16), P361
part of (18), P921 main subject (23), P463 member of (72).

What pretraining must not see, checked at run time (`leakage_filter`) against the
pretraining corpus (entity descriptions of the pretraining KG) and KG:
* a sentence of an evaluation relation sharing any run of `ngram` (8) words with a
  pretraining text is dropped from the evaluation pool (counted);
* a sentence whose (head, tail) pair is a fact of the pretraining KG is dropped (counted):
  after this no evaluation fact is in the pretraining KG at all.
FewRel sentences themselves are never pretraining text (the corpus is the KG's descriptions).
Relation *types* are not removed from the pretraining KG: Freebase paths with a meaning
close to an evaluation relation (e.g. /film/film/language for P364) stay, as they would in
any Freebase/Wikidata pretraining; the protocol string says so.

Token spans. Sentences are tokenised from their words (`is_split_into_words`), and each
mention's first occurrence maps to its first and last sub-word token, so the classifier
reads the LM's outputs exactly at the mention.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import torch

from plexus.datasets.fewrel import FewRel, Instance

EVAL_RELATIONS = ["P177", "P2094", "P59", "P413", "P410", "P25", "P40", "P412", "P206", "P364"]
TRAIN_RELATIONS = ["P155", "P26", "P641", "P361", "P921", "P463"]
_WORD = re.compile(r"\w+", re.UNICODE)


def ngrams(words: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def text_ngrams(texts: list[str], n: int) -> set[tuple[str, ...]]:
    out: set[tuple[str, ...]] = set()
    for t in texts:
        out |= ngrams([w.lower() for w in _WORD.findall(t)], n)
    return out


@dataclass
class Leakage:
    text_overlap: int  # evaluation sentences sharing an n-gram with pretraining text (dropped)
    kg_facts: int  # evaluation sentences whose (head, tail) pair is a pretraining-KG fact (dropped)
    kept: int


def leakage_filter(instances: list[Instance], corpus_ngrams: set[tuple[str, ...]], ngram: int,
                   kg_pairs: set[tuple[str, str]]) -> tuple[list[Instance], Leakage]:
    """Drop the sentences pretraining could have seen (see the module docstring).

    `kg_pairs` holds the Wikidata-id pairs linked by a pretraining-KG triple, both directions."""
    kept, text_hits, fact_hits = [], 0, 0
    for inst in instances:
        words = [w.lower() for t in inst.tokens for w in _WORD.findall(t)]
        if ngrams(words, ngram) & corpus_ngrams:
            text_hits += 1
        elif (inst.head.qid, inst.tail.qid) in kg_pairs:
            fact_hits += 1
        else:
            kept.append(inst)
    return kept, Leakage(text_hits, fact_hits, len(kept))


@dataclass
class Encoded:
    """Tokenised sentences of one pool, with mention token spans and linked KG entities."""

    input_ids: list[np.ndarray]
    head: np.ndarray  # [S, 2] first, last token of the head mention
    tail: np.ndarray  # [S, 2]
    head_entity: np.ndarray  # [S] pretraining-KG entity index, -1 when the Wikidata id is not in it
    tail_entity: np.ndarray
    label: np.ndarray  # [S] relation index within the pool's relation list

    def __len__(self) -> int:
        return len(self.input_ids)

    def pools(self) -> dict[int, torch.Tensor]:
        """relation index -> sentence indices (for the episode sampler)."""
        return {int(c): torch.from_numpy(np.flatnonzero(self.label == c)) for c in np.unique(self.label)}


def encode(instances: list[Instance], relations: list[str], tokenizer, max_length: int,
           entity_index: dict[str, int]) -> Encoded:
    """Tokenise sentences; a mention cut off by `max_length` is moved into view by cutting the
    sentence's words from the left (never silently lost: the span is checked)."""
    ids, head, tail = [], [], []
    for inst in instances:
        words = list(inst.tokens)
        offset = 0
        while True:
            enc = tokenizer(words[offset:], is_split_into_words=True, truncation=True, max_length=max_length)
            word_ids = enc.word_ids()
            spans = [_token_span(word_ids, m.span[0] - offset, m.span[1] - offset) for m in (inst.head, inst.tail)]
            if all(s is not None for s in spans) or offset >= min(inst.head.span[0], inst.tail.span[0]):
                break
            offset += 8
        if any(s is None for s in spans):
            raise ValueError(f"mentions of a {inst.relation} sentence do not fit in {max_length} tokens")
        ids.append(np.asarray(enc["input_ids"], dtype=np.int64))
        head.append(spans[0])
        tail.append(spans[1])
    index = {r: i for i, r in enumerate(relations)}
    return Encoded(ids, np.asarray(head, dtype=np.int64).reshape(-1, 2), np.asarray(tail, dtype=np.int64).reshape(-1, 2),
                   np.asarray([entity_index.get(i.head.qid, -1) for i in instances], dtype=np.int64),
                   np.asarray([entity_index.get(i.tail.qid, -1) for i in instances], dtype=np.int64),
                   np.asarray([index[i.relation] for i in instances], dtype=np.int64))


def _token_span(word_ids: list[int | None], first: int, last: int) -> tuple[int, int] | None:
    hit = [t for t, w in enumerate(word_ids) if w is not None and first <= w <= last]
    if not hit or first < 0:
        return None
    return hit[0], hit[-1]


def pools_of(fewrel: FewRel, relations: list[str], per_relation: int, seed: int,
             start: int = 0) -> list[Instance]:
    """`per_relation` sentences of each relation, drawn once with `seed` (0 = all), skipping
    the first `start` of that draw (so train and dev pools of one relation are disjoint)."""
    out = []
    gen = torch.Generator().manual_seed(int(seed))
    for rel in relations:
        rows = fewrel.instances[rel]
        order = torch.randperm(len(rows), generator=gen).tolist()[start:]
        if per_relation:
            order = order[:per_relation]
        out += [rows[i] for i in order]
    return out
