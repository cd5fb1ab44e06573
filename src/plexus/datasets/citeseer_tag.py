"""CiteSeer as a text-attributed graph (TAPE "CiteSeer-Orig"): paper text, label, citations.

The text file covers 3,186 of the 3,312 LINQS papers, so citation lines touching a paper
without text are dropped (the graph is the 3,186-node subgraph TAPE and GLEM use). Self
citations are dropped too, and the rest is made undirected, the form GNNs consume. No split
ships with the data: methods draw their own (TAPE/GLEM use random 60/20/20 splits).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch_geometric.data import Data
from torch_geometric.utils import to_undirected

from plexus.datasets.common import expect_count, open_text, read_table
from plexus.errors import InputError

TEXTS = "citeseer_texts.txt.gz"
CITES = "citeseer.cites.gz"
FILES = (TEXTS, CITES)

# Class order of the LINQS release (`class_names` of its npz packaging): alphabetical.
LABEL_NAMES = ("AI", "Agents", "DB", "HCI", "IR", "ML")

PAPERS = 3186
CITE_LINES = 4732
CITE_LINES_WITH_TEXT = 4397  # lines whose two endpoints both have text


def load_citeseer_tag(folder: Path) -> Data:
    """`Data(text, y, node_id, label_names, edge_index, num_nodes)`; no masks (see module doc).

    Also records what was dropped from `.cites`: `num_dropped_no_text`, `num_self_loops`.
    """
    node_id, text, labels = _read_papers(folder / TEXTS)
    index = pd.Index(node_id)
    if not index.is_unique:
        raise InputError(f"{folder / TEXTS}: paper ids are not unique.")

    cites = read_table(folder / CITES, "\t", 2)
    expect_count(folder / CITES, "citation lines", CITE_LINES, len(cites))
    cited = index.get_indexer(cites[0])
    citing = index.get_indexer(cites[1])
    keep = (cited >= 0) & (citing >= 0)
    expect_count(folder / CITES, "citation lines with text at both ends", CITE_LINES_WITH_TEXT,
                 int(keep.sum()))
    cited, citing = cited[keep], citing[keep]
    loops = cited == citing
    # LINQS line `a b` means b cites a: store citing -> cited, then symmetrise.
    edge_index = torch.from_numpy(np.stack([citing[~loops], cited[~loops]]).astype(np.int64))
    edge_index = to_undirected(edge_index, num_nodes=len(node_id))

    data = Data(edge_index=edge_index, y=torch.from_numpy(labels), num_nodes=len(node_id))
    data.text = text
    data.node_id = node_id
    data.label_names = list(LABEL_NAMES)
    data.num_dropped_no_text = int((~keep).sum())
    data.num_self_loops = int(loops.sum())
    return data


def _read_papers(path: Path) -> tuple[list[str], list[str], np.ndarray]:
    """The three-lines-per-paper file: id, title + abstract, label name."""
    with open_text(path) as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # a trailing newline, if any
    if len(lines) % 3:
        raise InputError(f"{path}: expected 3 lines per paper, found {len(lines):,} lines.")
    node_id, text, label = lines[0::3], lines[1::3], lines[2::3]
    expect_count(path, "papers", PAPERS, len(node_id))
    index = {name: i for i, name in enumerate(LABEL_NAMES)}
    codes = np.array([index.get(s.strip(), -1) for s in label], dtype=np.int64)
    if (codes < 0).any():
        row = int(np.flatnonzero(codes < 0)[0])
        raise InputError(
            f"{path}, line {3 * row + 3}: unknown label {label[row]!r}; expected one of "
            f"{', '.join(LABEL_NAMES)}."
        )
    empty = [i for i, t in enumerate(text) if not t.strip()]
    if empty:
        raise InputError(
            f"{path}, line {3 * empty[0] + 2}: empty text for paper {node_id[empty[0]]!r}."
        )
    return [s.strip() for s in node_id], [t.strip() for t in text], codes.astype(np.int64)
