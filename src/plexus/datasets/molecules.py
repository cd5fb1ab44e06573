"""ZINC250k subset: JT-VAE's valid/test SMILES and the constrained-optimisation start set.

Molecules are many small graphs, not one, and GCPN builds each graph itself (RDKit, step by
step), so this is the one loader that returns no PyG object: a `SmilesDataset` of strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from plexus.datasets.common import expect_count, read_lines
from plexus.errors import InputError

SPLIT_FILES = {"valid": "zinc250k_jtvae_valid.txt.gz", "test": "zinc250k_jtvae_test.txt.gz"}
OPT_FILE = "opt.test.logP-SA.gz"
FILES = (*SPLIT_FILES.values(), OPT_FILE)
COUNTS = {"valid": 24445, "test": 5000, "opt_test": 800}


@dataclass(frozen=True)
class SmilesDataset:
    """Molecules as SMILES strings — deliberately not a PyG graph (see the module docstring).

    `splits`: split name -> SMILES ("valid" 24,445 and "test" 5,000 ZINC250k molecules of
    the JT-VAE partition; its train split is not available). `opt_test`: the 800
    (SMILES, penalised logP) pairs with the lowest penalised logP, the starting molecules
    of constrained optimisation in JT-VAE and GCPN.
    """

    splits: dict[str, list[str]]
    opt_test: list[tuple[str, float]]


def load_zinc250k_subset(folder: Path) -> SmilesDataset:
    splits = {}
    for split, name in SPLIT_FILES.items():
        smiles = [line.strip() for line in read_lines(folder / name)]
        expect_count(folder / name, "SMILES", COUNTS[split], len(smiles))
        splits[split] = smiles
    return SmilesDataset(splits=splits, opt_test=_read_opt(folder / OPT_FILE))


def _read_opt(path: Path) -> list[tuple[str, float]]:
    """`SMILES penalised_logP` lines."""
    rows = []
    for lineno, line in enumerate(read_lines(path), 1):
        parts = line.split()
        try:
            if len(parts) != 2:
                raise ValueError
            rows.append((parts[0], float(parts[1])))
        except ValueError:
            raise InputError(
                f"{path}, line {lineno}: expected `SMILES score`, found {line[:80]!r}."
            ) from None
    expect_count(path, "molecules", COUNTS["opt_test"], len(rows))
    return rows
