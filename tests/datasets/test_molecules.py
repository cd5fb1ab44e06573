"""ZINC250k subset: SMILES splits and the constrained-optimisation start set."""

from __future__ import annotations

import dataclasses

import pytest

from plexus.datasets import load_dataset
from plexus.datasets.molecules import SmilesDataset
from plexus.errors import InputError


def test_counts_and_values(shared_datasets):
    data = load_dataset("zinc250k-subset", data_dir=shared_datasets)
    assert isinstance(data, SmilesDataset)
    assert {k: len(v) for k, v in data.splits.items()} == {"valid": 24445, "test": 5000}
    assert len(set(data.splits["valid"])) == 24445
    assert data.splits["test"][0] == "CC(C)(C)c1ccc2occ(CC(=O)Nc3ccccc3F)c2c1"
    assert len(data.opt_test) == 800
    assert data.opt_test[0] == ("COc1cc2c(cc1OC)CC([NH3+])C2", pytest.approx(-2.50504567445))
    scores = [s for _, s in data.opt_test]
    assert min(scores) == pytest.approx(-10.0828760336) and max(scores) == pytest.approx(-2.19598547373)
    with pytest.raises(dataclasses.FrozenInstanceError):
        data.splits = {}  # type: ignore[misc]


def test_smiles_parse_with_rdkit(shared_datasets):
    Chem = pytest.importorskip("rdkit.Chem")
    data = load_dataset("zinc250k-subset", data_dir=shared_datasets)
    sample = data.splits["test"][:200] + [s for s, _ in data.opt_test[:200]]
    assert all(Chem.MolFromSmiles(s) is not None for s in sample)


def test_malformed_opt_line_names_the_line(copy_dataset, edit_gz):
    folder = copy_dataset("zinc250k_subset")
    edit_gz(folder / "opt.test.logP-SA.gz", lambda lines: [lines[0], "CCO not-a-number\n", *lines[2:]])
    with pytest.raises(InputError, match=r"opt\.test\.logP-SA\.gz, line 2: expected `SMILES score`"):
        load_dataset("zinc250k-subset", data_dir=folder.parent)
