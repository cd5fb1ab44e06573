"""Planetoid Cora / CiteSeer: the `ind.<name>.*` pickles with the standard split.

Parsing is PyG's `read_planetoid_data` (the reference reconstruction: test rows reordered,
CiteSeer's isolated test indices padded with zero rows, self loops and duplicate edges
removed); this module only checks the result against the counts the data README states.
"""

from __future__ import annotations

import pickle
import warnings
from dataclasses import dataclass
from pathlib import Path

from torch_geometric.data import Data

from plexus.datasets.common import expect_count
from plexus.errors import InputError

PARTS = ("x", "tx", "allx", "y", "ty", "ally", "graph", "test.index")


@dataclass(frozen=True)
class PlanetoidCounts:
    nodes: int
    undirected_edges: int  # without self loops
    features: int
    classes: int
    train: int
    val: int
    test: int


COUNTS = {
    "cora": PlanetoidCounts(2708, 5278, 1433, 7, 140, 500, 1000),
    "citeseer": PlanetoidCounts(3327, 4552, 3703, 6, 120, 500, 1000),
}


def planetoid_files(prefix: str) -> tuple[str, ...]:
    """The eight files of one Planetoid dataset, e.g. `ind.cora.x`."""
    return tuple(f"ind.{prefix}.{part}" for part in PARTS)


def load_planetoid(folder: Path, prefix: str) -> Data:
    """`Data(x, edge_index, y, train_mask, val_mask, test_mask)`; edges in both directions."""
    from torch_geometric.io import read_planetoid_data

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # scipy's "csr name is deprecated" on unpickling
            data = read_planetoid_data(str(folder), prefix)
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            ImportError) as e:
        raise InputError(
            f"{folder}: the Planetoid files ind.{prefix}.* could not be read "
            f"({type(e).__name__}: {e})."
        ) from None

    want = COUNTS[prefix]
    file = lambda part: folder / f"ind.{prefix}.{part}"  # noqa: E731
    expect_count(file("*"), "nodes", want.nodes, data.num_nodes)
    expect_count(file("graph"), "directed edge entries (2 x undirected)",
                 2 * want.undirected_edges, data.edge_index.size(1))
    expect_count(file("allx"), "feature columns", want.features, data.x.size(1))
    expect_count(file("ally"), "classes", want.classes, int(data.y.max()) + 1)
    expect_count(file("y"), "training nodes", want.train, int(data.train_mask.sum()))
    expect_count(file("*"), "validation nodes", want.val, int(data.val_mask.sum()))
    expect_count(file("test.index"), "test nodes", want.test, int(data.test_mask.sum()))
    return data


def load_cora(folder: Path) -> Data:
    return load_planetoid(folder, "cora")


def load_citeseer(folder: Path) -> Data:
    return load_planetoid(folder, "citeseer")
