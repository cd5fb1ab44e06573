"""The Decagon polypharmacy data (Zitnik, Agrawal & Leskovec, Bioinformatics 2018; SNAP BioData).

Three loaders:

* `load_snap_decagon(folder)` — the SNAP release (`plexus datasets fetch decagon`):
  `bio-decagon-combo.csv` (STITCH 1, STITCH 2, Polypharmacy Side Effect, Side Effect Name:
  one row per drug pair and side effect), `bio-decagon-ppi.csv` (Gene 1, Gene 2),
  `bio-decagon-targets.csv` (STITCH, Gene) and `bio-decagon-mono.csv` (STITCH, Individual
  Side Effect, Side Effect Name), each gzipped. Returns a `HeteroData`:

      data["drug"].node_id          STITCH ids (combo drugs first, then target/mono-only drugs)
      data["protein"].node_id       Entrez gene ids (as strings)
      data["drug", "interacts", "drug"].edge_index / .edge_type   one row per combo line
      data.relation_id, data.relation_text, data.relation_count   side effects (CUI, name, #pairs)
      data["protein", "ppi", "protein"].edge_index                 as listed (undirected)
      data["drug", "targets", "protein"].edge_index
      data.mono_index [2, n] (drug, mono side effect), data.mono_id  individual side effects

  The released files could not be obtained on the machine this was written on (the shared
  folder holds only the targets file), so no sha256 is pinned and the SNAP counts (645 drugs,
  19,081 proteins, 1,317 side effects, 4,649,441 combo rows, 715,612 PPI, 18,690 targets)
  are reported, not enforced; malformed rows are errors naming file and line.
* `load_decagon_targets(folder)` — just the drug–target file (the shared `decagon_partial/`
  folder): `(stitch ids, gene ids)` of the 18,690 Decagon drug–protein edges (count checked).
* `load_cid_map(folder)` — TWOSIDES/Decagon drugs with STITCH CID, DrugBank id and SMILES
  (SumGNN/KnowDDI `id2drug.json`, shared `twosides_decagon200_valid/`): maps Decagon's drugs
  to DrugBank ids, so DrugBank-keyed data (drugbank-ddi86) can borrow Decagon's targets.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch_geometric.data import HeteroData

from plexus.datasets.common import expect_count, read_csv, read_json
from plexus.errors import InputError

COMBO, PPI, TARGETS, MONO = ("bio-decagon-combo.csv.gz", "bio-decagon-ppi.csv.gz",
                             "bio-decagon-targets.csv.gz", "bio-decagon-mono.csv.gz")
FILES = (COMBO, PPI, TARGETS, MONO)
COMBO_COLS = ("STITCH 1", "STITCH 2", "Polypharmacy Side Effect", "Side Effect Name")
PPI_COLS = ("Gene 1", "Gene 2")
TARGET_COLS = ("STITCH", "Gene")
MONO_COLS = ("STITCH", "Individual Side Effect", "Side Effect Name")
SNAP_COUNTS = {"drugs": 645, "proteins": 19081, "side effects": 1317, "combo rows": 4649441,
               "ppi": 715612, "targets": 18690}
TARGETS_ONLY_FILES = ("bio-decagon-targets.csv.gz",)
TARGET_EDGES = 18690
CID_MAP_FILES = ("id2drug.json.gz",)
CID_MAP_DRUGS = 604


def _nonempty(frame: pd.DataFrame, path: Path, cols: tuple[str, ...]) -> None:
    for col in cols:
        empty = (frame[col].str.strip() == "").to_numpy()
        if empty.any():
            row = int(np.flatnonzero(empty)[0])
            raise InputError(f"{path}, line {row + 2}, column '{col}': empty value. Every row needs all of "
                             f"{', '.join(cols)}.")


def _index(values: pd.Series, ids: list[str]) -> np.ndarray:
    return pd.Index(ids).get_indexer(values.str.strip()).astype(np.int64)


def load_snap_decagon(folder: Path) -> HeteroData:
    """The SNAP Decagon release as a HeteroData (see the module docstring)."""
    folder = Path(folder)
    combo = read_csv(folder / COMBO, COMBO_COLS)
    ppi = read_csv(folder / PPI, PPI_COLS)
    targets = read_csv(folder / TARGETS, TARGET_COLS)
    mono = read_csv(folder / MONO, MONO_COLS)
    for frame, name, cols in ((combo, COMBO, COMBO_COLS), (ppi, PPI, PPI_COLS), (targets, TARGETS, TARGET_COLS),
                              (mono, MONO, MONO_COLS)):
        _nonempty(frame, folder / name, cols)

    drugs = list(dict.fromkeys(pd.concat([combo["STITCH 1"], combo["STITCH 2"], targets["STITCH"],
                                          mono["STITCH"]]).str.strip()))
    proteins = list(dict.fromkeys(pd.concat([ppi["Gene 1"], ppi["Gene 2"], targets["Gene"]]).str.strip()))
    effects = combo["Polypharmacy Side Effect"].str.strip()
    rel_ids = list(dict.fromkeys(effects))
    names = combo.drop_duplicates("Polypharmacy Side Effect").set_index("Polypharmacy Side Effect")["Side Effect Name"]
    mono_ids = list(dict.fromkeys(mono["Individual Side Effect"].str.strip()))

    data = HeteroData()
    data["drug"].num_nodes = len(drugs)
    data["drug"].node_id = drugs
    data["protein"].num_nodes = len(proteins)
    data["protein"].node_id = proteins
    dd = data["drug", "interacts", "drug"]
    dd.edge_index = torch.from_numpy(np.stack([_index(combo["STITCH 1"], drugs), _index(combo["STITCH 2"], drugs)]))
    edge_type = _index(effects, rel_ids)
    dd.edge_type = torch.from_numpy(edge_type)
    data.relation_id = rel_ids
    data.relation_text = [str(names.get(r, r)).strip() for r in rel_ids]
    data.relation_count = np.bincount(edge_type, minlength=len(rel_ids)).tolist()
    data["protein", "ppi", "protein"].edge_index = torch.from_numpy(
        np.stack([_index(ppi["Gene 1"], proteins), _index(ppi["Gene 2"], proteins)]))
    data["drug", "targets", "protein"].edge_index = torch.from_numpy(
        np.stack([_index(targets["STITCH"], drugs), _index(targets["Gene"], proteins)]))
    data.mono_index = torch.from_numpy(np.stack([_index(mono["STITCH"], drugs),
                                                 _index(mono["Individual Side Effect"], mono_ids)]))
    data.mono_id = mono_ids
    data.counts = {"drugs": int(dd.edge_index.unique().numel()), "proteins": len(proteins),
                   "side effects": len(rel_ids), "combo rows": len(combo), "ppi": len(ppi), "targets": len(targets)}
    return data


def load_decagon_targets(folder: Path) -> tuple[list[str], list[str]]:
    """(STITCH drug id, Entrez gene id) of each Decagon drug–target edge."""
    path = Path(folder) / TARGETS_ONLY_FILES[0]
    frame = read_csv(path, TARGET_COLS)
    _nonempty(frame, path, TARGET_COLS)
    expect_count(path, "drug–target pairs", TARGET_EDGES, len(frame))
    return frame["STITCH"].str.strip().tolist(), frame["Gene"].str.strip().tolist()


@dataclass
class CidMap:
    """Decagon/TWOSIDES drugs: STITCH CID, DrugBank id (or None) and SMILES (or None)."""

    cid: list[str]
    drugbank: list[str | None]
    smiles: list[str | None]


def load_cid_map(folder: Path) -> CidMap:
    path = Path(folder) / CID_MAP_FILES[0]
    table = read_json(path)
    expect_count(path, "drugs", CID_MAP_DRUGS, len(table))
    rows = [table[k] for k in sorted(table, key=int)]
    return CidMap([r["cid"] for r in rows], [r.get("db") for r in rows], [r.get("smiles") for r in rows])
