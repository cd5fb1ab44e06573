"""Small typed edge tables for the Decagon tests (written by the tests, Decagon's layout)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

# Real molecules (aspirin, caffeine, ibuprofen, paracetamol, ...), enough for Morgan bits.
SMILES = ["CC(=O)OC1=CC=CC=C1C(=O)O", "CN1C=NC2=C1C(=O)N(C(=O)N2C)C", "CC(C)CC1=CC=C(C=C1)C(C)C(=O)O",
          "CC(=O)NC1=CC=C(C=C1)O", "C1=CC=C(C=C1)C=O", "CCO", "CCN(CC)CC", "C1CCCCC1", "OC(=O)CCC(=O)O",
          "CC(C)O", "C1=CC=NC=C1", "CC#N"]


def write_triples(folder: Path, drugs: int = 12, proteins: int = 8, relations: int = 3, per_relation: int = 30,
                  seed: int = 0, extra_rows: list[str] | None = None) -> Path:
    """head,relation,tail rows: `relations` side effects among drugs D0.., targets, ppi."""
    rng = np.random.default_rng(seed)
    rows = ["head,relation,tail"]
    for r in range(relations):
        pairs = set()
        while len(pairs) < per_relation:
            i, j = rng.choice(drugs, 2, replace=False)
            pairs.add((int(i), int(j)))
        rows += [f"D{i},se{r},D{j}" for i, j in sorted(pairs)]
    for d in range(drugs):
        rows.append(f"D{d},targets,P{d % proteins}")
    for p in range(proteins):
        rows.append(f"P{p},ppi,P{(p + 1) % proteins}")
    rows += extra_rows or []
    path = folder / "edges.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def write_nodes(folder: Path, drugs: int = 12, proteins: int = 8, bad_smiles: int | None = None) -> Path:
    rows = ["id,type,smiles"]
    for d in range(drugs):
        s = SMILES[d % len(SMILES)] if d != bad_smiles else "C1CC(("
        rows.append(f"D{d},drug,{s}")
    rows += [f"P{p},protein," for p in range(proteins)]
    path = folder / "nodes.csv"
    path.write_text("\n".join(rows) + "\n")
    return path
