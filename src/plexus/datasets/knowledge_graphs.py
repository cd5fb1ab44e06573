"""Knowledge graphs with entity text: WN18RR, FB15k-237, UMLS (KG-BERT / OpenKE packagings).

All three come out in one shape, so KG methods (JAKET, R-GCN-style link prediction) never
branch on the dataset:

* `num_nodes`, `entity_id` (original ids, by index), `text` (one string per entity, the
  form "name, description" where both exist), `num_text_fallback` (entities whose text
  fell back to their name or id because no description was found);
* `relation_id`, `relation_text` (one per relation index);
* `train_edge_index`/`train_edge_type`, `val_...`, `test_...`: head -> tail LongTensors;
  `edge_index`/`edge_type` are the training triples (the graph a model may see).

`triples_data` builds that split layout and is shared with the DDI loader.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import torch
from torch_geometric.data import Data

from plexus.datasets.common import (
    check_range,
    expect_count,
    index_of,
    int_column,
    read_json,
    read_lines,
    read_pairs,
    read_table,
)
from plexus.errors import InputError

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class KGCounts:
    entities: int
    relations: int
    train: int
    val: int
    test: int


def triples_data(num_nodes: int, triples: dict[str, np.ndarray]) -> Data:
    """A `Data` with `<split>_edge_index` (2 x n, head -> tail) and `<split>_edge_type` (n).

    `triples[split]` is an (n, 3) integer array of (head, relation, tail).
    """
    data = Data(num_nodes=num_nodes)
    for split in SPLITS:
        hrt = torch.from_numpy(np.ascontiguousarray(triples[split], dtype=np.int64))
        data[f"{split}_edge_index"] = hrt[:, [0, 2]].t().contiguous()
        data[f"{split}_edge_type"] = hrt[:, 1].contiguous()
    data.edge_index = data.train_edge_index
    data.edge_type = data.train_edge_type
    return data


def _kg(entity_id: list[str], text: list[str], fallback: int, relation_id: list[str],
        relation_text: list[str], triples: dict[str, np.ndarray]) -> Data:
    data = triples_data(len(entity_id), triples)
    data.entity_id = entity_id
    data.text = text
    data.num_text_fallback = fallback
    data.relation_id = relation_id
    data.relation_text = relation_text
    return data


def _texts(ids: list[str], texts: dict[str, str]) -> tuple[list[str], int]:
    """The text of each id, or the id itself where there is none; and how many had none."""
    found = [texts.get(i, "").strip() for i in ids]
    return [t or i for t, i in zip(found, ids)], found.count("")


# --- KG-BERT packaging: names in the files (WN18RR, UMLS) -------------------------------

TSV_SPLITS = {"train": "train.tsv.gz", "val": "dev.tsv.gz", "test": "test.tsv.gz"}
TSV_FILES = (*TSV_SPLITS.values(), "entities.txt.gz", "relations.txt.gz",
             "entity2text.txt.gz", "relation2text.txt.gz")
UMLS_FILES = (*TSV_FILES, "entity2textlong.txt.gz")


def load_tsv_kg(folder: Path, counts: KGCounts,
                describe: Callable[[Path], dict[str, str]]) -> Data:
    """A KG-BERT folder: `head<TAB>relation<TAB>tail` splits plus id lists and text files.

    `describe(folder)` maps entity id -> text; entity and relation indices follow the order
    of `entities.txt` and `relations.txt`.
    """
    entity_id = _id_list(folder / "entities.txt.gz", "entities", counts.entities)
    relation_id = _id_list(folder / "relations.txt.gz", "relations", counts.relations)
    entities, relations = pd.Index(entity_id), pd.Index(relation_id)
    triples = {}
    for split, name in TSV_SPLITS.items():
        path = folder / name
        table = read_table(path, "\t", 3)
        expect_count(path, "triples", getattr(counts, split), len(table))
        triples[split] = np.stack([
            index_of(table[0], entities, path, "entity"),
            index_of(table[1], relations, path, "relation"),
            index_of(table[2], entities, path, "entity"),
        ], axis=1)
    text, fallback = _texts(entity_id, describe(folder))
    relation_text, _ = _texts(relation_id, read_pairs(folder / "relation2text.txt.gz"))
    return _kg(entity_id, text, fallback, relation_id, relation_text, triples)


def _id_list(path: Path, what: str, expected: int) -> list[str]:
    ids = [line.strip() for line in read_lines(path)]
    expect_count(path, what, expected, len(ids))
    expect_count(path, f"unique {what}", expected, len(set(ids)))
    return ids


def load_wn18rr(folder: Path) -> Data:
    """WN18RR; entity text is "lemma, gloss" as KG-BERT ships it."""
    return load_tsv_kg(folder, KGCounts(40943, 11, 86835, 3034, 3134),
                       lambda f: read_pairs(f / "entity2text.txt.gz"))


def load_umls(folder: Path) -> Data:
    """UMLS; entity text is "short name, long description" from KG-BERT's two text files."""
    return load_tsv_kg(folder, KGCounts(135, 46, 5216, 652, 661), _umls_text)


def _umls_text(folder: Path) -> dict[str, str]:
    short = read_pairs(folder / "entity2text.txt.gz")
    long = read_pairs(folder / "entity2textlong.txt.gz")
    return {e: ", ".join(t for t in (short.get(e, ""), long.get(e, "")) if t)
            for e in short.keys() | long.keys()}


# --- FB15k-237: OpenKE integer triples + KG-BERT names + Wikidata descriptions -----------

FB_SPLITS = {"train": "openke_train2id.txt.gz", "val": "openke_valid2id.txt.gz",
             "test": "openke_test2id.txt.gz"}
FB_FILES = (*FB_SPLITS.values(), "openke_entity2id.txt.gz", "openke_relation2id.txt.gz",
            "entity2text.txt.gz", "relation2text.txt.gz", "entity2wikidata.json.gz")
FB_COUNTS = KGCounts(14541, 237, 272115, 17535, 20466)


def load_fb15k237(folder: Path) -> Data:
    """FB15k-237 in OpenKE's id order; text is "name, Wikidata description" where known."""
    entity_id = _openke_ids(folder / "openke_entity2id.txt.gz", "entities", FB_COUNTS.entities)
    relation_id = _openke_ids(folder / "openke_relation2id.txt.gz", "relations", FB_COUNTS.relations)
    triples = {}
    for split, name in FB_SPLITS.items():
        path = folder / name
        htr = read_table(path, r"\s+", 3, skiprows=1, dtype=np.int64).to_numpy()
        expect_count(path, "triples", getattr(FB_COUNTS, split), len(htr))
        for col, n, what in ((0, len(entity_id), "head entity"), (1, len(entity_id), "tail entity"),
                             (2, len(relation_id), "relation")):
            check_range(path, htr[:, col], n, what, first_line=2)  # line 1 is the row count
        triples[split] = htr[:, [0, 2, 1]]  # OpenKE rows are (head, tail, relation)

    names = read_pairs(folder / "entity2text.txt.gz")
    wikidata_path = folder / "entity2wikidata.json.gz"
    wikidata = read_json(wikidata_path)
    text, fallback = [], 0
    for mid in entity_id:
        info = wikidata.get(mid) or {}
        name = names.get(mid, "").strip() or str(info.get("label") or "").strip()
        desc = str(info.get("description") or "").strip()
        if name and desc:
            text.append(f"{name}, {desc}")
        else:  # no description: the name, or the MID when even that is missing
            text.append(name or mid)
            fallback += 1
    relation_text, _ = _texts(relation_id, read_pairs(folder / "relation2text.txt.gz"))
    return _kg(entity_id, text, fallback, relation_id, relation_text, triples)


def _openke_ids(path: Path, what: str, expected: int) -> list[str]:
    """An OpenKE `name<TAB>id` file (first line: row count) as the list of names by id."""
    table = read_table(path, "\t", 2, skiprows=1)
    expect_count(path, what, expected, len(table))
    ids = int_column(table[1], path, "id")
    if not np.array_equal(np.sort(ids), np.arange(len(ids))):
        raise InputError(f"{path}: the ids are not the integers 0..{len(ids) - 1}, each once.")
    names = [""] * len(ids)
    for name, i in zip(table[0], ids):
        names[i] = name
    return names
