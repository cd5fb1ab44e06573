"""read_interactions / split_interactions / interaction_csr: interaction logs from the
user's own tables, and leakage-safe splits with a protocol sentence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from plexus.datasets import load_dataset
from plexus.errors import InputError
from plexus.graph.interactions import (
    EDGE,
    interaction_csr,
    read_interactions,
    split_interactions,
)

LOG = (
    "user,item,rating,time\n"
    "u1,a,5,10\n"
    "u1,b,3,11\n"
    "u2,a,4,12\n"
    "u1,a,2,13\n"  # u1 re-rates a later: this row wins, and is dropped by min_rating=4
    "u2,c,5,9\n"
    "u3,b,4,1\n"
    "u1,c,4,2\n"
    "u1,d,5,3\n"
    "u2,d,5,4\n"
)


def write(folder: Path, name: str, content: str) -> Path:
    path = folder / name
    path.write_text(content)
    return path


def error(path, *needles: str, **kwargs) -> str:
    with pytest.raises(InputError) as info:
        read_interactions(path, **kwargs)
    message = str(info.value)
    assert "\n" not in message, message
    for needle in needles:
        assert needle in message, f"{needle!r} not in: {message}"
    return message


def pairs(data, key="edge_index") -> set[tuple[str, str]]:
    users, items = data["user"].node_id, data["item"].node_id
    return {(users[u], items[i]) for u, i in data[EDGE][key].t().tolist()}


# ---------------------------------------------------------------------------- reading


def test_read_csv_ids_dedup_min_rating_and_text(tmp_path):
    text = write(tmp_path, "items.csv", "item,text\na,Alpha\nb,\nz,Zed\n")
    data = read_interactions(write(tmp_path, "log.csv", LOG), rating_col="rating",
                             time_col="time", min_rating=4, item_text=text)
    # First appearance among kept rows: u2 (line 4) before u3 and u1 (its line-2 row lost).
    assert data["user"].node_id == ["u2", "u3", "u1"]
    assert data["item"].node_id == ["a", "c", "b", "d"]
    assert pairs(data) == {("u2", "a"), ("u2", "c"), ("u3", "b"), ("u1", "c"),
                           ("u1", "d"), ("u2", "d")}
    store = data[EDGE]
    assert store.edge_index.dtype == torch.long
    assert store.edge_rating.tolist() == [4, 5, 4, 4, 5, 5]
    assert store.edge_time.tolist() == [12, 9, 1, 2, 3, 4] and store.edge_time.dtype == torch.long
    assert data["item"].text == ["Alpha", "", "", ""]  # b's cell is empty, c/d absent
    assert data.read_protocol == (
        "Read log.csv: 9 rows; 1 repeated (user, item) rows merged, keeping the latest by "
        "time; 2 interactions rated below 4 dropped as negative feedback; 6 interactions of "
        "3 users on 4 items; item text from items.csv: 3 items without text, 1 text rows for "
        "items with no interaction ignored."
    )


def test_without_time_the_last_repeat_wins(tmp_path):
    data = read_interactions(write(tmp_path, "log.csv", LOG), rating_col="rating")
    u1a = [r for (u, i), r in zip(data[EDGE].edge_index.t().tolist(),
                                  data[EDGE].edge_rating.tolist())
           if (data["user"].node_id[u], data["item"].node_id[i]) == ("u1", "a")]
    assert u1a == [2.0]
    assert "keeping the last in the file" in data.read_protocol


@pytest.mark.parametrize("suffix", [".tsv", ".parquet"])
def test_tsv_and_parquet(tmp_path, suffix):
    df = pd.read_csv(pd.io.common.StringIO(LOG), dtype={"user": str, "item": str})
    path = tmp_path / f"log{suffix}"
    if suffix == ".tsv":
        df.to_csv(path, sep="\t", index=False)
    else:
        df.to_parquet(path)
    data = read_interactions(path, rating_col="rating", time_col="time", min_rating=4)
    assert data["user"].node_id == ["u2", "u3", "u1"]
    assert data[EDGE].edge_index.size(1) == 6


def test_iso_datetime_times(tmp_path):
    path = write(tmp_path, "log.csv", "user,item,when\nx,1,2024-01-02 00:00:00\n"
                                      "x,2,2024-01-01T00:00:00\n")
    data = read_interactions(path, time_col="when")
    assert data[EDGE].edge_time.tolist() == [1704153600, 1704067200]


def test_errors_name_file_line_and_column(tmp_path):
    log = write(tmp_path, "log.csv", LOG)
    error(log, "log.csv", "no column 'usr'", "user_col", "Did you mean 'user'?", user_col="usr")
    error(log, "rating_col", "Did you mean 'rating'?", rating_col="ratings")
    error(log, "min_rating=4 needs rating_col", min_rating=4)
    error(write(tmp_path, "empty.csv", ""), "empty.csv", "empty")
    error(write(tmp_path, "header.csv", "user,item\n"), "header.csv", "no rows")

    bad = write(tmp_path, "bad.csv", "user,item,rating,time\nu,a,5,1\nu,b,five,2\n")
    error(bad, "bad.csv", "line 3, column 'rating'", "'five' is not a number",
          rating_col="rating")
    missing = write(tmp_path, "miss.csv", "user,item,rating,time\nu,a,5,1\nu,b,4,\n")
    error(missing, "line 3, column 'time'", "the time is empty", time_col="time")
    when = write(tmp_path, "when.csv", "user,item,time\nu,a,2024-01-01\nu,b,yesterday\n")
    error(when, "when.csv", "line 3, column 'time'", "'yesterday' is not a number or an ISO 8601",
          time_col="time")
    no_id = write(tmp_path, "noid.csv", 'user,item\nu,a\n"line\nbreak",b\n,c\n')
    error(no_id, "noid.csv", "line 5, column 'user'", "the id is empty")
    error(log, "every rating in column 'rating' is below min_rating=9", rating_col="rating",
          min_rating=9)

    text = write(tmp_path, "text.csv", "item,txt\na,A\n")
    error(log, "text.csv", "no column 'text' (the item_text_col argument)",
          "Did you mean 'txt'?", item_text=text)
    dup = write(tmp_path, "dup.csv", "item,text\na,A\nb,B\na,C\n")
    error(log, "dup.csv", "'a' appears more than once, at line 2 and line 4", item_text=dup)


# ------------------------------------------------------------------------------ splits


def keys(store, key, num_items):
    e = store[key].numpy()
    return e[0] * num_items + e[1]


def check_partition(before, after, num_items):
    """Every pooled interaction is in exactly one split; attributes stay aligned."""
    store = after[EDGE]
    parts = [keys(store, k, num_items) for k in ("edge_index", "val_edge_index",
                                                   "test_edge_index")]
    joined = np.concatenate(parts)
    assert len(np.unique(joined)) == len(joined)  # disjoint, no repeats
    original = np.concatenate([keys(before[EDGE], k, num_items)
                               for k in ("edge_index", "val_edge_index", "test_edge_index")
                               if k in before[EDGE]])
    assert set(joined.tolist()) == set(original.tolist())  # complete
    for prefix, key in (("", "edge_index"), ("val_", "val_edge_index"),
                        ("test_", "test_edge_index")):
        if f"{prefix}edge_time" in store:
            assert store[f"{prefix}edge_time"].numel() == store[key].size(1)


ITEMS = 30


def toy(num_users=5, per_user=(1, 2, 3, 6, 10), with_time=True):
    """User u has per_user[u] interactions with items 0.. in order; time = item index."""
    from plexus.datasets.interactions import interaction_data

    rows = [(u, i) for u, n in enumerate(per_user) for i in range(n)]
    data = interaction_data(num_users, ITEMS, {"train": np.array(rows).T})
    if with_time:
        data[EDGE].edge_time = torch.tensor([i for _, i in rows])
    return data


def test_loo_takes_the_last_by_time_and_counts_small_users():
    data = toy()
    # Shuffle row order: loo must go by time, not position.
    perm = torch.randperm(data[EDGE].edge_index.size(1), generator=torch.Generator().manual_seed(0))
    data[EDGE].edge_index = data[EDGE].edge_index[:, perm]
    data[EDGE].edge_time = data[EDGE].edge_time[perm]
    out, protocol = split_interactions(data, "loo")
    check_partition(data, out, ITEMS)
    store = out[EDGE]
    assert sorted(store.test_edge_index.t().tolist()) == [[2, 2], [3, 5], [4, 9]]
    assert sorted(store.val_edge_index.t().tolist()) == [[2, 1], [3, 4], [4, 8]]
    assert torch.equal(store.test_edge_time, store.test_edge_index[1])
    assert protocol.startswith("Leave-one-out by time: each user's last interaction is the "
                               "test item, the second last the validation item")
    assert "2 users with fewer than 3 interactions keep all of them in train" in protocol
    assert protocol.endswith("Train 16 / validation 3 / test 3 interactions.")
    assert "val_edge_index" not in data[EDGE]  # the input is untouched


def test_loo_needs_times():
    with pytest.raises(InputError, match="leave-one-out needs interaction times"):
        split_interactions(toy(with_time=False), "loo")


def test_ratio_is_disjoint_complete_deterministic_and_per_user():
    data = toy(per_user=(1, 2, 3, 10, 12))
    a, protocol = split_interactions(data, "ratio", val_ratio=0.1, test_ratio=0.2, seed=3)
    b, _ = split_interactions(data, "ratio", val_ratio=0.1, test_ratio=0.2, seed=3)
    c, _ = split_interactions(data, "ratio", val_ratio=0.1, test_ratio=0.2, seed=4)
    check_partition(data, a, ITEMS)
    for key in ("edge_index", "val_edge_index", "test_edge_index"):
        assert torch.equal(a[EDGE][key], b[EDGE][key])
    assert not torch.equal(a[EDGE].test_edge_index, c[EDGE].test_edge_index)
    # Per-user counts (RecBole's rule): n=1 -> all train; 2 -> 1 test; 3 -> 1 test, 1 val;
    # 10 -> 2 test, 1 val; 12 -> floor(2.4) = 2 test, floor(1.2) = 1 val.
    store = a[EDGE]
    test_n = torch.bincount(store.test_edge_index[0], minlength=5).tolist()
    val_n = torch.bincount(store.val_edge_index[0], minlength=5).tolist()
    assert test_n == [0, 1, 1, 2, 2] and val_n == [0, 0, 1, 1, 1]
    assert protocol.startswith("Per-user random split (seed 3): each user's interactions "
                               "shuffled and divided 70%/10%/20% train/validation/test")
    assert "2 users with too few interactions have no val item" in protocol
    assert "1 users with too few interactions have no test item" in protocol


def test_given_keeps_the_split_and_carves_validation_by_time():
    data = toy(per_user=(1, 2, 10, 20, 3))
    store = data[EDGE]
    store.test_edge_index = torch.tensor([[0, 3], [25, 25]])
    store.test_edge_time = torch.tensor([100, 100])
    out, protocol = split_interactions(data, "given", val_ratio=0.1)
    check_partition(data, out, ITEMS)
    s = out[EDGE]
    assert torch.equal(s.test_edge_index, store.test_edge_index)
    # latest 10% of each user's training items, at least one for users with >= 2
    assert sorted(s.val_edge_index.t().tolist()) == [[1, 1], [2, 9], [3, 18], [3, 19], [4, 2]]
    assert protocol.startswith("Train/test split given by the data; validation carved from "
                               "training: the latest (by time) 10%")
    assert "1 users with fewer than 2 training interactions have no validation item" in protocol

    # Without times the carve is random but seeded.
    del data[EDGE].edge_time, data[EDGE].test_edge_time
    r1, p1 = split_interactions(data, "given", seed=1)
    r2, _ = split_interactions(data, "given", seed=1)
    check_partition(data, r1, ITEMS)
    assert torch.equal(r1[EDGE].val_edge_index, r2[EDGE].val_edge_index)
    assert "a random (seed 1) 10%" in p1

    # A given validation split is kept as it is.
    kept, p2 = split_interactions(r1, "given")
    assert torch.equal(kept[EDGE].val_edge_index, r1[EDGE].val_edge_index)
    assert p2.startswith("Split given by the data: train, validation and test as in its files.")


def test_given_without_test_and_protocol_of_a_table(tmp_path):
    data = read_interactions(write(tmp_path, "log.csv", LOG), time_col="time")
    with pytest.raises(InputError, match="no test split"):
        split_interactions(data, "given")
    out, protocol = split_interactions(data, "loo")
    assert protocol.startswith("Read log.csv: 9 rows; 1 repeated (user, item) rows merged")
    assert "Leave-one-out by time" in protocol
    # u1: a(13), b(11), d(3), c(2) -> test a, val b
    assert pairs(out, "test_edge_index") >= {("u1", "a")}
    assert pairs(out, "val_edge_index") >= {("u1", "b")}


def test_movielens_splits_are_disjoint(shared_datasets):
    data = load_dataset("movielens-100k", data_dir=shared_datasets)
    n = data["item"].num_nodes
    for how in ("given", "ratio", "loo"):
        out, protocol = split_interactions(data, how)
        check_partition(data, out, n)
        assert "Train " in protocol
    out, _ = split_interactions(data, "loo")
    s = out[EDGE]
    # The test item is each user's latest: no training time of that user is later.
    last_train = torch.zeros(data["user"].num_nodes, dtype=torch.long).scatter_reduce(
        0, s.edge_index[0], s.edge_time, reduce="amax")
    assert (s.test_edge_time >= last_train[s.test_edge_index[0]]).all()
    assert (s.val_edge_time <= s.test_edge_time[torch.argsort(s.test_edge_index[0])][
        s.val_edge_index[0]]).all()


def test_interaction_csr():
    csr = interaction_csr(torch.tensor([[1, 0, 1, 1], [2, 3, 0, 2]]), 3, 4)
    assert csr.layout == torch.sparse_csr
    assert csr.to_dense().tolist() == [[0, 0, 0, 1], [1, 0, 1, 0], [0, 0, 0, 0]]
    with pytest.raises(ValueError, match="item index out of range"):
        interaction_csr(torch.tensor([[0], [4]]), 3, 4)
