"""DrugBank drug–drug interactions with 86 interaction types (DeepDDI set, SumGNN split).

One relation per interaction type, so Decagon-style multi-relational link prediction reads
it exactly like a knowledge graph: the same `<split>_edge_index`/`<split>_edge_type` layout
(see `knowledge_graphs.py`), with drugs as nodes. Drugs also carry SMILES for molecular
encoders; six drugs have none in the source and get "" (counted in `num_missing_smiles`).

Relation r is DrugBank `Label` r + 1, and its text is the `Interaction type` r + 1 row of
`Interaction_information.csv` (a "#Drug1 ... #Drug2" template). That correspondence is the
data README's inference from the label frequencies, not something upstream states.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from torch_geometric.data import Data

from plexus.datasets.common import (
    check_range,
    expect_count,
    int_column,
    read_csv,
    read_json,
    read_table,
)
from plexus.datasets.knowledge_graphs import triples_data
from plexus.errors import InputError

SPLIT_FILES = {"train": "train.txt.gz", "val": "dev.txt.gz", "test": "test.txt.gz"}
FILES = (*SPLIT_FILES.values(), "node2id.json.gz", "drug_smiles.csv.gz",
         "Interaction_information.csv.gz")
DRUGS, TYPES, WITH_SMILES = 1710, 86, 1704
SPLIT_COUNTS = {"train": 134641, "val": 19224, "test": 38419}


def load_drugbank_ddi(folder: Path) -> Data:
    """`Data(num_nodes, drug_id, smiles, relation_text, <split>_edge_index/_edge_type)`."""
    drug_id = _drug_ids(folder / "node2id.json.gz")
    triples = {}
    for split, name in SPLIT_FILES.items():
        path = folder / name
        hrt = read_table(path, r"\s+", 3, dtype=np.int64).to_numpy()[:, [0, 2, 1]]
        expect_count(path, "interactions", SPLIT_COUNTS[split], len(hrt))
        for col, n, what in ((0, DRUGS, "head drug"), (1, TYPES, "interaction type"),
                             (2, DRUGS, "tail drug")):
            check_range(path, hrt[:, col], n, what)
        triples[split] = hrt

    data = triples_data(DRUGS, triples)
    data.drug_id = drug_id
    data.smiles = _smiles(folder / "drug_smiles.csv.gz", drug_id)
    data.num_missing_smiles = data.smiles.count("")
    data.relation_text = _type_text(folder / "Interaction_information.csv.gz")
    return data


def _drug_ids(path: Path) -> list[str]:
    """`{DrugBank id: index}` as the list of DrugBank ids by index."""
    mapping = read_json(path)
    expect_count(path, "drugs", DRUGS, len(mapping))
    if sorted(mapping.values()) != list(range(DRUGS)):
        raise InputError(f"{path}: the drug indices are not 0..{DRUGS - 1}, each once.")
    out = [""] * DRUGS
    for drug, i in mapping.items():
        out[i] = drug
    return out


def _smiles(path: Path, drug_id: list[str]) -> list[str]:
    table = read_csv(path, ("drug_id", "smiles"))
    table = table[table["smiles"].str.strip() != ""]
    expect_count(path, "drugs with SMILES", WITH_SMILES, table["drug_id"].nunique())
    known = dict(zip(table["drug_id"], table["smiles"].str.strip()))
    return [known.get(d, "") for d in drug_id]


def _type_text(path: Path) -> list[str]:
    table = read_csv(path, ("Interaction type", "Description"))
    expect_count(path, "interaction types", TYPES, len(table))
    label = int_column(table["Interaction type"], path, "interaction type")
    if sorted(label) != list(range(1, TYPES + 1)):
        raise InputError(f"{path}: 'Interaction type' is not 1..{TYPES}, each once.")
    text = pd.Series(table["Description"].str.strip().to_numpy(), index=label - 1)
    return text.sort_index().tolist()
