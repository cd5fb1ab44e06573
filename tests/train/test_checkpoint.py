"""Atomic checkpoints and the run directory they live in."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
import torch

from plexus.atomic import atomic_write_bytes, atomic_write_text
from plexus.train.checkpoint import load_checkpoint, save_checkpoint
from plexus.train.rundir import RunDir


class Unpicklable:
    """Raises while being pickled, i.e. halfway through torch.save writing the file."""

    def __reduce__(self):
        raise RuntimeError("cannot pickle this")


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())  # includes dot-files (temp files)


# ------------------------------------------------------------------------ checkpoints


def test_save_load_round_trip(tmp_path):
    state = {"epoch": 7, "w": torch.arange(6.0).reshape(2, 3), "rng": torch.get_rng_state(),
             "nested": {"best": 0.5, "list": [1, 2]}}
    path = tmp_path / "deep" / "ck.pt"  # parent folders are created
    save_checkpoint(path, state)
    back = load_checkpoint(path)
    assert back["epoch"] == 7 and back["nested"] == {"best": 0.5, "list": [1, 2]}
    assert torch.equal(back["w"], state["w"]) and torch.equal(back["rng"], state["rng"])
    assert listing(path.parent) == ["ck.pt"]  # no temp file left behind


def test_load_missing_checkpoint_is_none(tmp_path):
    assert load_checkpoint(tmp_path / "nope.pt") is None


def test_overwrite_replaces_the_previous_checkpoint(tmp_path):
    path = tmp_path / "ck.pt"
    save_checkpoint(path, {"epoch": 1})
    save_checkpoint(path, {"epoch": 2})
    assert load_checkpoint(path) == {"epoch": 2}
    assert listing(tmp_path) == ["ck.pt"]


def test_failed_write_keeps_previous_checkpoint_and_no_temp_file(tmp_path):
    path = tmp_path / "ck.pt"
    save_checkpoint(path, {"epoch": 1, "w": torch.ones(3)})
    before = path.read_bytes()
    with pytest.raises(RuntimeError, match="cannot pickle"):
        save_checkpoint(path, {"epoch": 2, "w": torch.zeros(3), "bad": Unpicklable()})
    assert path.read_bytes() == before
    back = load_checkpoint(path)
    assert back["epoch"] == 1 and torch.equal(back["w"], torch.ones(3))
    assert listing(tmp_path) == ["ck.pt"]


def test_failed_first_write_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError):
        save_checkpoint(tmp_path / "ck.pt", {"bad": Unpicklable()})
    assert listing(tmp_path) == []
    assert load_checkpoint(tmp_path / "ck.pt") is None


def test_atomic_write_text_and_bytes(tmp_path):
    atomic_write_text(tmp_path / "a" / "m.json", "héllo\n")
    assert (tmp_path / "a" / "m.json").read_text(encoding="utf-8") == "héllo\n"
    atomic_write_bytes(tmp_path / "a" / "m.json", b"\x00\x01")
    assert (tmp_path / "a" / "m.json").read_bytes() == b"\x00\x01"
    assert listing(tmp_path / "a") == ["m.json"]


def test_atomic_write_text_failure_keeps_old_content(tmp_path):
    path = tmp_path / "m.json"
    atomic_write_text(path, "old")
    with pytest.raises(UnicodeEncodeError):
        atomic_write_text(path, "bad \ud800 surrogate")
    assert path.read_text() == "old" and listing(tmp_path) == ["m.json"]


# --------------------------------------------------------------------------- RunDir


def test_create_layout(tmp_path):
    run = RunDir.create(tmp_path / "runs", "vgae", "cora")
    assert run.path.parent == tmp_path / "runs"
    assert re.fullmatch(r"\d{8}-\d{6}-vgae-cora", run.path.name), run.path.name
    assert run.checkpoints == run.path / "checkpoints" and run.checkpoints.is_dir()
    assert run.artifacts == run.path / "artifacts" and run.artifacts.is_dir()
    assert run.history_path == run.path / "history.jsonl"
    assert run.history() == []  # no history yet


def test_dataset_name_is_made_path_safe(tmp_path):
    run = RunDir.create(tmp_path, "gae", "my data/../x")
    assert run.path.parent == tmp_path
    assert run.path.name.endswith("-gae-my_data_.._x")


def test_runs_in_the_same_second_get_unique_names(tmp_path):
    # Retry until three creations fall in one wall-clock second (nearly always at once).
    for _ in range(20):
        root = tmp_path / f"try{_}"
        t0 = time.strftime("%Y%m%d-%H%M%S")
        runs = [RunDir.create(root, "gae", "cora") for _ in range(3)]
        if time.strftime("%Y%m%d-%H%M%S") == t0:
            break
    else:
        pytest.fail("could not create three runs within one second")
    names = [r.path.name for r in runs]
    assert names == [f"{t0}-gae-cora", f"{t0}-gae-cora-1", f"{t0}-gae-cora-2"]
    assert all(r.checkpoints.is_dir() and r.artifacts.is_dir() for r in runs)


def test_log_history_keep_history(tmp_path):
    run = RunDir.create(tmp_path, "gae", "cora")
    for seed in (0, 1):
        for epoch in (1, 2, 3):
            run.log(seed=seed, epoch=epoch, loss=1.0 / epoch)
    lines = run.history_path.read_text().splitlines()
    assert len(lines) == 6 and json.loads(lines[0]) == {"seed": 0, "epoch": 1, "loss": 1.0}
    assert run.history()[-1] == {"seed": 1, "epoch": 3, "loss": 1 / 3}

    # What a resume from seed 1's epoch-1 checkpoint does: drop seed 1's later epochs.
    run.keep_history(lambda r: r["seed"] != 1 or r["epoch"] < 2)
    assert [(r["seed"], r["epoch"]) for r in run.history()] == [(0, 1), (0, 2), (0, 3), (1, 1)]
    run.log(seed=1, epoch=2, loss=0.5)  # appending after a rewrite continues the file
    assert [(r["seed"], r["epoch"]) for r in run.history()][-2:] == [(1, 1), (1, 2)]
    assert listing(run.path) == ["artifacts", "checkpoints", "history.jsonl"]


def test_write_metrics_and_config(tmp_path):
    from plexus.methods.gae.algorithm import Config

    run = RunDir.create(tmp_path, "gae", "cora")
    run.write_metrics({"metrics": {"test_auc": 0.9}})
    assert json.loads((run.path / "metrics.json").read_text()) == {"metrics": {"test_auc": 0.9}}
    run.write_config(Config(epochs=3))
    assert "epochs: 3" in (run.path / "config.yaml").read_text()


class RunsCode:
    """Unpickling this would call print (any callable would do: os.system, ...)."""

    def __reduce__(self):
        return (print, ("code ran while loading",))


def test_a_checkpoint_that_would_run_code_is_refused(tmp_path, capsys):
    from plexus.errors import InputError

    path = tmp_path / "evil.pt"
    torch.save({"epoch": 1, "payload": RunsCode()}, path)  # written by someone else, not save_checkpoint
    with pytest.raises(InputError, match="refused to load"):
        load_checkpoint(path)
    assert "code ran" not in capsys.readouterr().out


def test_numpy_values_are_saved_as_plain_data(tmp_path):
    import numpy as np

    path = tmp_path / "ck.pt"
    save_checkpoint(path, {"auc": np.float64(0.9), "rng": np.random.get_state(), "a": np.arange(3)})
    back = load_checkpoint(path)
    assert back["auc"] == 0.9 and isinstance(back["auc"], float)
    assert torch.equal(back["a"], torch.arange(3))
    np.random.set_state((back["rng"][0], np.asarray(back["rng"][1], dtype=np.uint32), *back["rng"][2:]))


def test_a_truncated_checkpoint_is_a_clear_error(tmp_path):
    from plexus.errors import InputError

    path = tmp_path / "ck.pt"
    save_checkpoint(path, {"w": torch.ones(1000)})
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(InputError, match="not a readable checkpoint"):
        load_checkpoint(path)
