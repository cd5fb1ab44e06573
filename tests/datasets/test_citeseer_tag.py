"""CiteSeer text-attributed graph: text, labels and the citation subgraph among texted papers."""

from __future__ import annotations

import gzip

import pytest
import torch

from plexus.datasets import load_dataset
from plexus.errors import InputError


def test_counts_labels_and_text(shared_datasets):
    data = load_dataset("citeseer-tag", data_dir=shared_datasets)
    assert data.num_nodes == len(data.text) == len(data.node_id) == 3186
    assert data.node_id[0] == "norman00argument"
    assert data.text[0].startswith("Argument in Multi-Agent Systems")
    assert all(t.strip() for t in data.text)
    counts = dict(zip(data.label_names, torch.bincount(data.y, minlength=6).tolist()))
    assert counts == {"DB": 685, "IR": 641, "ML": 569, "Agents": 562, "HCI": 490, "AI": 239}
    assert "train_mask" not in data  # splits are drawn by the methods


def test_edges_are_the_texted_citations_made_undirected(shared_datasets):
    data = load_dataset("citeseer-tag", data_dir=shared_datasets)
    # 4,732 lines - 335 touching papers without text - 120 self citations = 4,277 directed
    # citations, of which 52 pairs cite each other: 4,225 undirected edges.
    assert data.num_dropped_no_text == 335 and data.num_self_loops == 120
    assert data.edge_index.shape == (2, 2 * 4225)
    assert data.is_undirected() and not data.has_self_loops()

    index = {pid: i for i, pid in enumerate(data.node_id)}
    edges = set(map(tuple, data.edge_index.t().tolist()))
    with gzip.open(shared_datasets / "citeseer_tag" / "citeseer.cites.gz", "rt") as f:
        for line in f:
            cited, citing = line.split()
            if cited in index and citing in index and cited != citing:
                assert (index[citing], index[cited]) in edges


def test_unknown_label_names_its_line(copy_dataset, edit_gz):
    folder = copy_dataset("citeseer_tag")
    edit_gz(folder / "citeseer_texts.txt.gz", lambda lines: [lines[0], lines[1], "Robotics\n", *lines[3:]])
    with pytest.raises(InputError, match=r"citeseer_texts\.txt\.gz, line 3: unknown label 'Robotics'"):
        load_dataset("citeseer-tag", data_dir=folder.parent)


def test_missing_citation_lines_are_reported(copy_dataset, edit_gz):
    folder = copy_dataset("citeseer_tag")
    edit_gz(folder / "citeseer.cites.gz", lambda lines: lines[:-10])
    with pytest.raises(InputError, match=r"citeseer\.cites\.gz: expected 4,732 citation lines, found 4,722"):
        load_dataset("citeseer-tag", data_dir=folder.parent)
