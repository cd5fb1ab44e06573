"""ogbn-arxiv with paper text: OGB's citation graph, labels and time split, plus titles/abstracts.

The folder mirrors what OGB's `arxiv.zip` unpacks to (`raw/`, `mapping/`, `split/time/`), so
an existing OGB download can be used by dropping `titleabs.tsv.gz` beside it. That text file
(MAG paper id <TAB> title <TAB> abstract) is the one GLEM and TAPE use; it covers more papers
than ogbn-arxiv and is joined to the nodes through `mapping/nodeidx2paperid.csv.gz`.

Citations are made undirected, the form GNNs (and GLEM's recipe) consume. The masks are
OGB's official time split: papers up to 2017 train, 2018 validate, 2019 test.
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import numpy as np
import torch
from torch_geometric.data import Data
from torch_geometric.utils import to_undirected

from plexus.datasets.common import (
    check_range,
    expect_count,
    int_column,
    numbered_lines,
    read_csv,
    read_table,
)
from plexus.errors import InputError

EDGES = "raw/edge.csv.gz"
LABELS = "raw/node-label.csv.gz"
PAPER_IDS = "mapping/nodeidx2paperid.csv.gz"
SPLITS = {"train": "split/time/train.csv.gz", "val": "split/time/valid.csv.gz",
          "test": "split/time/test.csv.gz"}
OGB_FILES = (EDGES, LABELS, PAPER_IDS, *SPLITS.values())  # members of arxiv.zip, under arxiv/
TEXTS = "titleabs.tsv.gz"
FILES = (*OGB_FILES, TEXTS)

PAPERS = 169_343
CITATIONS = 1_166_243  # directed, one per line of raw/edge.csv.gz
CLASSES = 40
SPLIT_SIZES = {"train": 90_941, "val": 29_799, "test": 48_603}


def load_ogbn_arxiv(folder: Path) -> Data:
    """`Data(edge_index, y, text, node_id, train_mask, val_mask, test_mask, num_nodes)`.

    `node_id` holds each node's MAG paper id (as text); `text` is "title. abstract".
    """
    paper_ids = _read_paper_ids(folder / PAPER_IDS)

    edges = _read_ints(folder / EDGES, 2, "citations", CITATIONS)
    for endpoints in edges.T:
        check_range(folder / EDGES, endpoints, PAPERS, "paper")
    edge_index = to_undirected(torch.from_numpy(edges.T.copy()), num_nodes=PAPERS)

    labels = _read_ints(folder / LABELS, 1, "labels", PAPERS).ravel()
    check_range(folder / LABELS, labels, CLASSES, "class")

    data = Data(edge_index=edge_index, y=torch.from_numpy(labels), num_nodes=PAPERS)
    for part, mask in _read_split(folder).items():
        data[f"{part}_mask"] = mask
    data.text = _read_texts(folder / TEXTS, paper_ids)
    data.node_id = paper_ids
    return data


def _read_ints(path: Path, ncols: int, what: str, expected: int) -> np.ndarray:
    """A headerless CSV of integers, as OGB ships its raw and split files."""
    table = read_table(path, ",", ncols, dtype="int64").to_numpy(copy=True)
    expect_count(path, what, expected, len(table))
    return table


def _read_paper_ids(path: Path) -> list[str]:
    """MAG paper id of each node, from the `node idx,paper id` mapping (rows in node order)."""
    frame = read_csv(path, ("node idx", "paper id"))
    expect_count(path, "papers", PAPERS, len(frame))
    node_idx = int_column(frame["node idx"], path, "node idx")
    wrong = np.flatnonzero(node_idx != np.arange(len(node_idx)))
    if wrong.size:
        raise InputError(f"{path}, row {wrong[0] + 1}: expected node idx {wrong[0]}, found "
                         f"{node_idx[wrong[0]]} (rows must list nodes 0, 1, 2, ... in order).")
    return [pid.strip() for pid in frame["paper id"]]


def _read_split(folder: Path) -> dict[str, torch.Tensor]:
    """Train/val/test masks from the time split's node lists; the parts must not overlap."""
    masks: dict[str, torch.Tensor] = {}
    for part, name in SPLITS.items():
        nodes = _read_ints(folder / name, 1, f"{part} nodes", SPLIT_SIZES[part]).ravel()
        check_range(folder / name, nodes, PAPERS, "node")
        masks[part] = torch.zeros(PAPERS, dtype=torch.bool)
        masks[part][torch.from_numpy(nodes)] = True
    for a, b in combinations(SPLITS, 2):
        both = torch.nonzero(masks[a] & masks[b]).view(-1)
        if both.numel():
            raise InputError(f"{folder / SPLITS[b]}: node {both[0].item()} is also listed in "
                             f"{folder / SPLITS[a]}; the split's parts must not overlap.")
    return masks


def _read_texts(path: Path, paper_ids: list[str]) -> list[str]:
    """"title. abstract" for each MAG id in `paper_ids`, from `id <TAB> title <TAB> abstract`.

    Lines about other papers (the file covers more than ogbn-arxiv), including a header line,
    are skipped; a paper listed twice keeps its first line.
    """
    wanted = set(paper_ids)
    found: dict[str, str] = {}
    for lineno, line in numbered_lines(path):
        pid, _, rest = line.partition("\t")
        pid = pid.strip()
        if pid not in wanted or pid in found:
            continue
        title, tab, abstract = rest.partition("\t")
        if not tab:
            raise InputError(f"{path}, line {lineno}: expected `paper id<TAB>title<TAB>abstract`, "
                             f"found {line[:80]!r}.")
        found[pid] = f"{title.strip()}. {abstract.strip()}"
    missing = [pid for pid in paper_ids if pid not in found]
    if missing:
        raise InputError(
            f"{path}: no title/abstract for {len(missing):,} of the {len(paper_ids):,} papers "
            f"(first: MAG paper id {missing[0]}). Use OGB's titleabs.tsv.gz for ogbn-arxiv."
        )
    return [found[pid] for pid in paper_ids]
