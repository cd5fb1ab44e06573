"""FewRel 1.0 `val_wiki` (Han et al., EMNLP 2018): sentences whose head and tail mentions carry
Wikidata ids, 16 Wikidata relations x 700, plus `pid2name` for the relations' names.

Only the validation split is public in a size we could obtain (`train_wiki.json`, 64
relations, is not in the shared data), so few-shot methods split these 16 relations
themselves (see `plexus.methods.jaket.downstream.fewrel`).

An instance keeps every occurrence of its head and tail mentions, as the file does; models
read the first occurrence (`head_span`/`tail_span`, inclusive word positions), as the
official FewRel encoders do (`h[2][0]`). Each occurrence is checked against the mention
text (words concatenated, case and spaces ignored, because the file tokenises
"ak-sar-ben" as "ak - sar - ben"); a mismatch is an `InputError` naming the relation and
instance.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from plexus.datasets.common import expect_count, read_json
from plexus.errors import InputError

FILES = ("val_wiki.json.gz", "pid2name.json.gz")
COUNTS = {"relations": 16, "per_relation": 700, "entities": 15611, "pid2name": 744}


@dataclass(frozen=True)
class Mention:
    text: str
    qid: str  # Wikidata entity id
    spans: tuple[tuple[int, ...], ...]  # word positions of each occurrence

    @property
    def span(self) -> tuple[int, int]:
        """(first, last) word of the first occurrence, inclusive."""
        return self.spans[0][0], self.spans[0][-1]


@dataclass(frozen=True)
class Instance:
    tokens: tuple[str, ...]
    head: Mention
    tail: Mention
    relation: str  # Wikidata property id, e.g. "P177"


@dataclass
class FewRel:
    relations: list[str]  # P-ids in file order
    names: dict[str, str]  # P-id -> Wikidata label ("crosses")
    descriptions: dict[str, str]
    instances: dict[str, list[Instance]]  # P-id -> its sentences, file order

    def entity_ids(self) -> set[str]:
        return {m.qid for rel in self.instances.values() for inst in rel for m in (inst.head, inst.tail)}

    def __len__(self) -> int:
        return sum(len(v) for v in self.instances.values())


def _mention(raw, tokens: list[str], where: str) -> Mention:
    try:
        text, qid, spans = raw
        spans = tuple(tuple(int(i) for i in span) for span in spans)
    except (TypeError, ValueError) as e:
        raise InputError(f"{where}: a mention must be [text, wikidata_id, [[word, ...], ...]] ({e}).") from None
    if not spans or any(not s for s in spans):
        raise InputError(f"{where}: mention {text!r} has no word positions.")
    want = str(text).lower().replace(" ", "")
    for span in spans:
        if list(span) != list(range(span[0], span[-1] + 1)) or span[0] < 0 or span[-1] >= len(tokens):
            raise InputError(f"{where}: mention {text!r} positions {list(span)} are not consecutive words "
                             f"of the {len(tokens)}-word sentence.")
        got = "".join(tokens[i] for i in span).lower().replace(" ", "")
        if got != want:
            raise InputError(f"{where}: mention {text!r} does not match its words {list(span)} "
                             f"({' '.join(tokens[i] for i in span)!r}).")
    return Mention(str(text), str(qid), spans)


def parse_fewrel(data: dict, pid2name: dict, path: Path) -> FewRel:
    """Validated `FewRel` from the parsed JSON of a FewRel file and `pid2name`."""
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected {{relation_id: [instance, ...]}}.")
    instances: dict[str, list[Instance]] = {}
    for rel, rows in data.items():
        if rel not in pid2name:
            raise InputError(f"{path}: relation {rel!r} has no entry in pid2name.json.")
        out = []
        for i, row in enumerate(rows):
            where = f"{path}, relation {rel}, instance {i}"
            try:
                tokens = [str(t) for t in row["tokens"]]
                head, tail = row["h"], row["t"]
            except (KeyError, TypeError):
                raise InputError(f"{where}: an instance needs 'tokens', 'h' and 't'.") from None
            out.append(Instance(tuple(tokens), _mention(head, tokens, where + " (head)"),
                                _mention(tail, tokens, where + " (tail)"), rel))
        instances[rel] = out
    names = {rel: str(pid2name[rel][0]) for rel in instances}
    descriptions = {rel: str(pid2name[rel][1]) for rel in instances}
    return FewRel(list(instances), names, descriptions, instances)


def load_fewrel(folder: Path) -> FewRel:
    """FewRel 1.0 val_wiki with the counts of its README checked."""
    path = folder / "val_wiki.json.gz"
    pid_path = folder / "pid2name.json.gz"
    pid2name = read_json(pid_path)
    expect_count(pid_path, "properties", COUNTS["pid2name"], len(pid2name))
    fewrel = parse_fewrel(read_json(path), pid2name, path)
    expect_count(path, "relations", COUNTS["relations"], len(fewrel.relations))
    for rel, rows in fewrel.instances.items():
        expect_count(path, f"instances of {rel}", COUNTS["per_relation"], len(rows))
    expect_count(path, "distinct Wikidata entities", COUNTS["entities"], len(fewrel.entity_ids()))
    return fewrel
