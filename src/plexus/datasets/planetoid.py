"""Planetoid Cora / CiteSeer: the `ind.<name>.*` pickles with the standard split.

Parsing is PyG's `read_planetoid_data` (the reference reconstruction: test rows reordered,
CiteSeer's isolated test indices padded with zero rows, self loops and duplicate edges
removed); this module only checks the result against the counts the data README states.

The pickled parts are unpickled by PyG, and unpickling runs whatever code a file names, so
every pickle is checked against the sha256 of the published file (the bundled copies, see
bundled/planetoid/README.md) before anything reads it, wherever it was found.
"""

from __future__ import annotations

import hashlib
import pickle
import warnings
from dataclasses import dataclass
from pathlib import Path

from torch_geometric.data import Data

from plexus.datasets.common import expect_count
from plexus.errors import InputError

PARTS = ("x", "tx", "allx", "y", "ty", "ally", "graph", "test.index")

# sha256 of the published files (tkipf/gcn = kimiyoung/planetoid), for fetching and for
# checking the pickles before they are unpickled (`test.index` is text, not checked on load).
SHA256 = {
    "ind.cora.test.index": "297ce89af2b51a6a194181c7dbe1796c6a1cf9cd9349a88383b1b1e227867875",
    "ind.citeseer.test.index": "2af990671580b6b2df5d158d1038f8292e30c9cd821b5453f399659b25b723d4",

    "ind.cora.x": "23cfa55d91c6f624233f5eb7b6e3f141f1bd2b2ae39608a63cf5d084bb27baab",
    "ind.cora.y": "94465c14eb53e04ca262198dcbb2521ee8af60fb3f3d546cd6ca24a511b0e7d1",
    "ind.cora.tx": "b9afbaa4a400df991f6f02ef677e1e44da55ffc04801fd02f9e673987829226a",
    "ind.cora.ty": "41f5ac76596a1699cc33f53084a2419e92961c42bb75f36fc38e616d348532ad",
    "ind.cora.allx": "9419ba2f26f5c35243db64aba110e0f35a04851609e0dc5433450676ca6b8543",
    "ind.cora.ally": "2b998f5cc7fedc86e7f97ca2498f47a1ffc1462c29e2d578b23bf3f62b6e7d71",
    "ind.cora.graph": "58f13302f39dde8852dad6fe6d15b89b077b6d7f837626bce671ef80344b383d",
    "ind.citeseer.x": "d20de19150741e555de0ed037195630fc194114ebc7fd72ced62810148aa22f6",
    "ind.citeseer.y": "8ba87e515d8e3ee3cf52f6d2c5b86aa73f11ecad825a808455209ec26cd54924",
    "ind.citeseer.tx": "539a8906a2da97628d212f2fdd668c109a8b3f0d36574b59e5d3fd5b5303da21",
    "ind.citeseer.ty": "55e5bd1ba1e733a04598753ad1a8d57957f4b8f89e74519f41f4f4938767e4ce",
    "ind.citeseer.allx": "2ac30345d95c9ec933a817ee0bdd6a5f077f8c184a20e696910192d534414668",
    "ind.citeseer.ally": "f704b2d986dde6c2669934de1f3ae5696a6cf9455c0f6b2646a2d135ea0a1c95",
    "ind.citeseer.graph": "d79a4ef9d3e7169aee8946145f6b7306e35bc79bffad26346cfb94e10e9912a7",
}


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

    verify_pickles(folder, prefix)
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


def verify_pickles(folder: Path, prefix: str) -> None:
    """InputError naming the first pickle of `prefix` whose sha256 is not the published one."""
    for name in planetoid_files(prefix):
        want = SHA256.get(name)
        path = Path(folder) / name
        if want is None or name.endswith("test.index") or not path.is_file():
            continue  # test.index is text (never unpickled); a missing file is reported by the reader
        got = hashlib.sha256(path.read_bytes()).hexdigest()
        if got != want:
            raise InputError(
                f"{path}: sha256 {got} is not the published Planetoid file's ({want}). Plexus does not "
                f"unpickle unknown files (unpickling can run code); replace it with the original "
                f"(tkipf/gcn, gcn/data/{name}) or remove it to use the bundled copy.")


def load_cora(folder: Path) -> Data:
    return load_planetoid(folder, "cora")


def load_citeseer(folder: Path) -> Data:
    return load_planetoid(folder, "citeseer")
