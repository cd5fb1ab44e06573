"""ogbn-arxiv on a six-paper copy written in OGB's exact file formats: loading and fetching.

The real data (169,343 papers) is not in the shared folder, so the loader's count constants
are lowered to the tiny copy's sizes.
"""

from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

import pytest

from plexus.datasets import load_dataset, ogbn_arxiv
from plexus.datasets.fetch import fetch_dataset
from plexus.errors import InputError

MAG_IDS = ["9657784", "44136706", "1502700", "200971", "2120373", "77777"]
CITATIONS = [(0, 1), (2, 1), (3, 0), (4, 5), (5, 4)]  # 4 and 5 cite each other
LABELS = [4, 5, 28, 8, 27, 39]
SPLIT = {"train": [2, 0, 1], "valid": [3], "test": [5, 4]}
# The text file covers other papers too, in its own order, after a header-like line.
TITLEABS = [
    "paper id\ttitle\tabstract",
    "200971\tontology as a source for rule generation\tThis paper discloses...",
    "123456\ta paper outside ogbn-arxiv\tignored",
    "9657784\tevasion attacks against machine learning\tIn security-sensitive settings...",
    "44136706\t\"quoted\" title\tAn abstract\twith a tab.",
    "1502700\tsparse graphs\t",
    "2120373\tgraph neural networks\tWe study GNNs.",
    "77777\tlast paper\tthe end",
]


def _write_gz(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in lines))


def _ogb_files() -> dict[str, list[str]]:
    """The lines of each file `arxiv.zip` holds under `arxiv/`, in OGB's formats."""
    return {
        "raw/edge.csv.gz": [f"{a},{b}" for a, b in CITATIONS],
        "raw/node-label.csv.gz": [str(y) for y in LABELS],
        "raw/node_year.csv.gz": ["2013"] * len(MAG_IDS),  # shipped by OGB, not read
        "mapping/nodeidx2paperid.csv.gz": ["node idx,paper id",
                                           *(f"{i},{pid}" for i, pid in enumerate(MAG_IDS))],
        **{f"split/time/{part}.csv.gz": [str(n) for n in nodes] for part, nodes in SPLIT.items()},
    }


@pytest.fixture(autouse=True)
def tiny_counts(monkeypatch):
    monkeypatch.setattr(ogbn_arxiv, "PAPERS", len(MAG_IDS))
    monkeypatch.setattr(ogbn_arxiv, "CITATIONS", len(CITATIONS))
    monkeypatch.setattr(ogbn_arxiv, "SPLIT_SIZES", {"train": 3, "val": 1, "test": 2})


@pytest.fixture
def folder(tmp_path) -> Path:
    """A tiny ogbn_arxiv folder as `plexus datasets fetch` lays it out."""
    folder = tmp_path / "root" / "ogbn_arxiv"
    for name, lines in _ogb_files().items():
        _write_gz(folder / name, lines)
    _write_gz(folder / "titleabs.tsv.gz", TITLEABS)
    return folder


def _edit(path: Path, edit) -> None:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        lines = f.read().splitlines()
    _write_gz(path, edit(lines))


def test_graph_labels_and_time_split(folder):
    data = load_dataset("ogbn-arxiv", data_dir=folder.parent)
    assert data.num_nodes == 6 and data.y.tolist() == LABELS
    assert data.is_undirected()
    assert set(map(tuple, data.edge_index.t().tolist())) == {
        (0, 1), (1, 0), (1, 2), (2, 1), (0, 3), (3, 0), (4, 5), (5, 4)}
    masks = [data.train_mask, data.val_mask, data.test_mask]
    assert [m.nonzero().view(-1).tolist() for m in masks] == [[0, 1, 2], [3], [4, 5]]
    assert sum(m.long() for m in masks).max() == 1  # disjoint


def test_text_is_title_and_abstract_joined_by_mag_id(folder):
    data = load_dataset("ogbn-arxiv", data_dir=folder.parent)
    assert data.node_id == MAG_IDS
    assert data.text == [
        "evasion attacks against machine learning. In security-sensitive settings...",
        "\"quoted\" title. An abstract\twith a tab.",
        "sparse graphs. ",
        "ontology as a source for rule generation. This paper discloses...",
        "graph neural networks. We study GNNs.",
        "last paper. the end",
    ]


@pytest.mark.parametrize("name, message", [
    ("raw/edge.csv.gz", r"raw/edge\.csv\.gz: expected 5 citations, found 4"),
    ("raw/node-label.csv.gz", r"raw/node-label\.csv\.gz: expected 6 labels, found 5"),
    ("mapping/nodeidx2paperid.csv.gz", r"nodeidx2paperid\.csv\.gz: expected 6 papers, found 5"),
    ("split/time/train.csv.gz", r"split/time/train\.csv\.gz: expected 3 train nodes, found 2"),
])
def test_count_mismatch_names_the_file(folder, name, message):
    _edit(folder / name, lambda lines: lines[:-1])
    with pytest.raises(InputError, match=message):
        load_dataset("ogbn-arxiv", data_dir=folder.parent)


def test_missing_text_names_the_paper(folder):
    _edit(folder / "titleabs.tsv.gz", lambda lines: [x for x in lines if not x.startswith("2120373")])
    with pytest.raises(InputError, match=r"titleabs\.tsv\.gz: no title/abstract for 1 of the 6 "
                                         r"papers \(first: MAG paper id 2120373\)"):
        load_dataset("ogbn-arxiv", data_dir=folder.parent)


def test_overlapping_split_is_rejected(folder):
    _edit(folder / "split/time/test.csv.gz", lambda lines: ["0", *lines[1:]])
    with pytest.raises(InputError, match=r"test\.csv\.gz: node 0 is also listed in \S*train\.csv\.gz"):
        load_dataset("ogbn-arxiv", data_dir=folder.parent)


def test_out_of_range_node_names_its_line(folder):
    _edit(folder / "raw/edge.csv.gz", lambda lines: [*lines[:2], "2,6", *lines[3:]])
    with pytest.raises(InputError, match=r"edge\.csv\.gz, line 3: paper id 6 is outside 0\.\.5"):
        load_dataset("ogbn-arxiv", data_dir=folder.parent)


def test_fetch_from_ogb_layout_over_http(server, folder, tmp_path):
    """arxiv.zip (members under arxiv/) and titleabs.tsv.gz served where OGB serves them."""
    base, www, requests = server
    ogb = www / "ogb" / "data"
    (ogb / "nodeproppred").mkdir(parents=True)
    with zipfile.ZipFile(ogb / "nodeproppred" / "arxiv.zip", "w") as z:
        for name in _ogb_files():
            z.write(folder / name, f"arxiv/{name}")
    (ogb / "misc" / "ogbn_arxiv").mkdir(parents=True)
    (ogb / "misc" / "ogbn_arxiv" / "titleabs.tsv.gz").write_bytes(
        (folder / "titleabs.tsv.gz").read_bytes())

    fetched = fetch_dataset("ogbn-arxiv", dest_root=tmp_path / "cache", base_url_override=base,
                            progress=False)
    assert sorted(requests) == ["/ogb/data/misc/ogbn_arxiv/titleabs.tsv.gz",
                                "/ogb/data/nodeproppred/arxiv.zip"]  # the archive once
    assert not (fetched / "raw" / "node_year.csv.gz").exists()  # only what the loader reads
    for name in ogbn_arxiv.FILES:
        assert (fetched / name).read_bytes() == (folder / name).read_bytes()
    assert load_dataset("ogbn-arxiv", data_dir=fetched.parent).text[5] == "last paper. the end"
