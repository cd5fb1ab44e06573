"""The run directory: unique creation under concurrency, atomic config.yaml with its method,
version and hash, and a history.jsonl that survives a kill mid-append."""

from __future__ import annotations

import json
import multiprocessing as mp
import threading
from pathlib import Path

import pytest
import yaml

from plexus import __version__
from plexus.config import config_hash, to_dict
from plexus.errors import InputError
from plexus.methods.gae.algorithm import Config
from plexus.train.rundir import RunDir


def _create(root: str, n: int, queue) -> None:
    for _ in range(n):
        queue.put(str(RunDir.create(root, "vgae", "cora").path))


def test_create_is_unique_when_threads_and_processes_start_in_the_same_second(tmp_path, monkeypatch):
    monkeypatch.setattr("time.strftime", lambda fmt: "20260101-000000")  # all in one second
    paths: list[str] = []
    lock = threading.Lock()

    def worker():
        for _ in range(10):
            p = str(RunDir.create(tmp_path, "vgae", "cora").path)
            with lock:
                paths.append(p)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(paths) == 80 and len(set(paths)) == 80
    assert all((Path(p) / "checkpoints").is_dir() and (Path(p) / "artifacts").is_dir() for p in paths)

    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_create, args=(str(tmp_path), 5, queue)) for _ in range(4)]
    for p in procs:
        p.start()
    got = [queue.get(timeout=60) for _ in range(20)]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert len(set(got) | set(paths)) == 100


def test_config_yaml_records_method_version_and_hash_atomically(tmp_path):
    run = RunDir.create(tmp_path, "vgae", "cora")
    cfg = Config(variational=True, epochs=3)
    run.write_config(cfg, method="vgae")
    saved = yaml.safe_load(run.config_path.read_text())
    assert saved["method"] == "vgae" and saved["plexus_version"] == __version__
    values = {k: v for k, v in saved.items() if k not in ("method", "plexus_version", "config_hash")}
    assert values == to_dict(cfg) and saved["config_hash"] == config_hash(cfg)
    assert [p.name for p in run.path.iterdir() if p.name.startswith(".tmp-")] == []


def test_history_appends_are_fsynced(tmp_path, monkeypatch):
    synced = []
    real = __import__("os").fsync
    monkeypatch.setattr("os.fsync", lambda fd: (synced.append(fd), real(fd)))
    run = RunDir.create(tmp_path, "vgae", "cora")
    run.log(seed=0, epoch=1, loss=1.0)
    assert synced and run.history() == [{"seed": 0, "epoch": 1, "loss": 1.0}]


def test_a_torn_last_history_line_is_skipped_and_repaired(tmp_path):
    run = RunDir.create(tmp_path, "vgae", "cora")
    run.log(seed=0, epoch=1, loss=1.0)
    with open(run.history_path, "a") as f:
        f.write('{"seed": 0, "epoch": 2, "lo')  # a kill mid-append
    assert run.history() == [{"seed": 0, "epoch": 1, "loss": 1.0}]
    run.log(seed=0, epoch=2, loss=0.5)  # the next append cuts the torn line off first
    lines = run.history_path.read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1, 2]
    run.keep_history(lambda r: r["epoch"] < 2)
    assert run.history() == [{"seed": 0, "epoch": 1, "loss": 1.0}]


def test_a_complete_last_line_without_newline_is_kept(tmp_path):
    run = RunDir.create(tmp_path, "vgae", "cora")
    run.history_path.write_text('{"epoch": 1}\n{"epoch": 2}')
    assert run.history() == [{"epoch": 1}, {"epoch": 2}]
    run.repair_history()
    assert run.history_path.read_text() == '{"epoch": 1}\n{"epoch": 2}\n'


def test_a_corrupt_line_inside_the_history_names_file_and_line(tmp_path):
    run = RunDir.create(tmp_path, "vgae", "cora")
    run.history_path.write_text('{"epoch": 1}\nnot json\n{"epoch": 3}\n')
    with pytest.raises(InputError, match=r"history\.jsonl, line 2"):
        run.history()
