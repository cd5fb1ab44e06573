"""DrugBank DDI (86 types): the SumGNN split in the KG layout, with SMILES and type texts."""

from __future__ import annotations

from collections import Counter

import pandas as pd
import pytest
import torch

from plexus.datasets import load_dataset
from plexus.errors import InputError


def test_counts_smiles_and_type_text(shared_datasets):
    data = load_dataset("drugbank-ddi86", data_dir=shared_datasets)
    assert data.num_nodes == len(data.drug_id) == len(data.smiles) == 1710
    sizes = [data[f"{s}_edge_index"].size(1) for s in ("train", "val", "test")]
    assert sizes == [134641, 19224, 38419]
    assert torch.equal(data.edge_index, data.train_edge_index)
    assert [torch.unique(data[f"{s}_edge_type"]).numel() for s in ("train", "val", "test")] == [86, 85, 86]
    missing = sorted(d for d, s in zip(data.drug_id, data.smiles) if not s)
    assert missing == ["DB00526", "DB09016", "DB09162", "DB11304", "DB11630", "DB13145"]
    assert data.num_missing_smiles == 6
    assert len(data.relation_text) == 86 and all("#Drug" in t for t in data.relation_text)


def test_splits_partition_drugbank_txt(shared_datasets):
    """Mapped back to DrugBank ids and labels, the three splits are exactly Drugbank.txt."""
    data = load_dataset("drugbank-ddi86", data_dir=shared_datasets)
    ours: Counter = Counter()
    for split in ("train", "val", "test"):
        (h, t), r = data[f"{split}_edge_index"].tolist(), data[f"{split}_edge_type"].tolist()
        ours.update((data.drug_id[a], data.drug_id[b], c + 1) for a, b, c in zip(h, t, r))
    table = pd.read_csv(shared_datasets / "drugbank_ddi86" / "Drugbank.txt.gz", sep="\t")
    assert ours == Counter(zip(table["drug1"], table["drug2"], table["Label"]))
    # The three most frequent labels are 49, 47, 73 (README).
    assert [label for label, _ in Counter(table["Label"]).most_common(3)] == [49, 47, 73]


def test_type_out_of_range_names_the_line(copy_dataset, edit_gz):
    folder = copy_dataset("drugbank_ddi86")
    edit_gz(folder / "test.txt.gz", lambda lines: ["0 1 86\n", *lines[1:]])
    with pytest.raises(InputError, match=r"test\.txt\.gz, line 1: interaction type id 86 is outside 0\.\.85"):
        load_dataset("drugbank-ddi86", data_dir=folder.parent)
