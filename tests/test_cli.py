"""The `plexus` command line, run as a real subprocess.

Starting the CLI imports torch and PyG (several seconds each time), so the module fixture
launches every command at once and each test checks one of the finished results.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from cli_support import plexus_cmd, run_dirs
from shared_data import NO_SHARED

ALL_DATASETS = {
    "cora", "citeseer", "citeseer-tag", "wn18rr", "fb15k237", "umls", "fewrel", "movielens-100k",
    "gowalla", "ml-1m", "lastfm", "drugbank-ddi86", "zinc250k-subset", "ogbn-arxiv",
    "decagon", "decagon-targets", "twosides-cid-map",
}
NOT_IN_SHARED = {"ogbn-arxiv", "decagon"}  # too large for the shared folder: users fetch them


@dataclass
class Done:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    out: Path  # the --out folder the command was given (or would write into)
    files: dict[str, Path] | None = None  # input files the command was given


@pytest.fixture(scope="module")
def cli(tmp_path_factory, request) -> dict[str, Done]:
    tmp = tmp_path_factory.mktemp("cli")
    good_nodes = tmp / "nodes.csv"
    good_nodes.write_text("id,text\na,first\nb,second\nc,third\n")
    bad_edges = tmp / "bad_edges.csv"
    bad_edges.write_text("src,dst\na,b\nb,zz\nc,a\n")  # line 3: 'zz' is no node
    try:
        shared = request.getfixturevalue("shared_datasets")
    except pytest.skip.Exception:
        shared = None

    commands: dict[str, tuple[list[str], dict[str, str]]] = {
        "json": (["run", "vgae", "--dataset", "cora", "seeds=1", "epochs=5", "--json", "--quiet"], {}),
        "typo": (["run", "gae", "--dataset", "cora", "epoch=5"], {}),
        "unknown_dataset": (["run", "gae", "--dataset", "coraa"], {}),
        "bad_edges": (["run", "gae", "--nodes", str(good_nodes), "--edges", str(bad_edges)], {}),
        "info": (["datasets", "info", "cora"], {}),
        # the generic input mechanism: the same tables through --input, and its misuses
        "input_bad_edges": (["run", "gae", "--input", f"nodes={good_nodes}", "--input", f"edges={bad_edges}"], {}),
        "input_wrong_kind": (["run", "lightgcn", "--input", f"nodes={good_nodes}"], {}),
        "input_unknown_kind": (["run", "gae", "--input", f"node={good_nodes}"], {}),
        "methods": (["methods"], {}),
        # --resume continues the run's own data and settings: options that change them are refused
        "resume_dataset": (["run", "vgae", "--resume", str(tmp / "some-run"), "--dataset", "citeseer"], {}),
        "resume_input": (["run", "gae", "--resume", str(tmp / "some-run"), "--input", f"nodes={good_nodes}"], {}),
        "help": (["run", "--help"], {}),
    }
    if shared is not None:
        commands["list"] = (["datasets", "list"], {"PLEXUS_DATA": str(shared)})

    procs = {}
    for name, (args, env_extra) in commands.items():
        folder = tmp / name
        folder.mkdir()
        out = folder / "out"
        full = [*plexus_cmd(), *args] + (["--out", str(out)] if args[0] == "run" else [])
        env = {**os.environ, **env_extra, "COLUMNS": "200"}
        procs[name] = (full, out, subprocess.Popen(full, cwd=folder, env=env, text=True,
                                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    results = {}
    for name, (full, out, proc) in procs.items():
        stdout, stderr = proc.communicate(timeout=600)
        results[name] = Done(full, proc.returncode, stdout, stderr, out)
    results["bad_edges"].files = {"edges": bad_edges, "nodes": good_nodes}
    results["input_bad_edges"].files = {"edges": bad_edges, "nodes": good_nodes}
    return results


def user_error(done: Done) -> str:
    """A user error: status 2, one `error:` paragraph on stderr, no traceback."""
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    assert "Traceback" not in done.stderr, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, done.stderr
    return errors[0]


# ---------------------------------------------------------------------------- run


def test_run_json_prints_the_result_as_the_last_line(cli):
    done = cli["json"]
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, done.stdout  # --quiet: nothing but the JSON line on stdout
    payload = json.loads(lines[-1])
    assert {"method", "dataset", "protocol", "metrics", "run_dir"} <= set(payload)
    assert (payload["method"], payload["dataset"]) == ("vgae", "cora")
    assert "Kipf & Welling" in payload["protocol"]
    auc = payload["metrics"]["test_auc"]
    assert auc["n"] == 1 and auc["std"] == 0.0 and 0.0 <= auc["mean"] <= 1.0
    run = Path(payload["run_dir"])
    assert run_dirs(done.out) == [run]
    saved = json.loads((run / "metrics.json").read_text())
    assert saved["metrics"]["test_auc"] == auc and saved["run_dir"] == payload["run_dir"]
    assert len((run / "history.jsonl").read_text().splitlines()) == 5
    assert "seed 0:" not in done.stderr  # --quiet


def test_config_typo_suggests_the_key(cli):
    done = cli["typo"]
    message = user_error(done)
    assert "'epoch'" in message and "Did you mean 'epochs'?" in message
    assert not done.out.exists()  # rejected before anything is written


def test_unknown_dataset_suggests_the_name(cli):
    done = cli["unknown_dataset"]
    message = user_error(done)
    assert "'coraa'" in message and "Did you mean 'cora'?" in message
    assert run_dirs(done.out) == []


def test_malformed_edge_table_names_file_and_line_and_writes_nothing(cli):
    done = cli["bad_edges"]
    message = user_error(done)
    assert str(done.files["edges"]) in message
    assert "line 3" in message and "'zz'" in message and "dst" in message
    assert run_dirs(done.out) == [], "a rejected input left a run directory behind"
    assert not (done.out.exists() and any(done.out.rglob("*")))


# ------------------------------------------------------------------------ datasets


def test_datasets_list_finds_every_dataset_in_the_shared_folder(cli):
    if "list" not in cli:
        pytest.skip(NO_SHARED)
    done = cli["list"]
    assert done.returncode == 0, done.stderr[-2000:]
    found = {}
    for line in done.stdout.splitlines():
        if line.startswith("│"):
            cells = [c.strip() for c in line.strip().strip("│").split("│")]
            if cells[0]:  # first line of a row (wrapped cells continue with an empty name)
                found[cells[0]] = cells[-1]
    assert set(found) == ALL_DATASETS
    missing = {name: where for name, where in found.items() if not where.startswith("yes (")}
    assert set(missing) <= NOT_IN_SHARED, missing
    # not bundled (licence): it can only have been found through $PLEXUS_DATA
    assert found["movielens-100k"] == "yes ($PLEXUS_DATA)"


def test_datasets_info_cora(cli):
    done = cli["info"]
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    assert out.startswith("cora:")
    assert "2,708 papers" in out and "bundled: yes" in out
    found = next(line for line in out.splitlines() if line.strip().startswith("found:"))
    assert "no" != found.split(":", 1)[1].strip()
    assert "Data(x=[2708, 1433], edge_index=[2, 10556]" in out


# ------------------------------------------------------------------------- inputs


def test_input_kind_names_the_bad_file_and_line_like_the_old_flags(cli):
    old, new = user_error(cli["bad_edges"]), user_error(cli["input_bad_edges"])
    assert new == old
    assert "bad_edges.csv" in new and "line 3" in new and "zz" in new
    assert run_dirs(cli["input_bad_edges"].out) == []


def test_input_kind_a_method_does_not_read_is_an_error(cli):
    msg = user_error(cli["input_wrong_kind"])
    assert "lightgcn does not read nodes" in msg and "interactions" in msg


def test_unknown_input_kind_suggests_the_name(cli):
    msg = user_error(cli["input_unknown_kind"])
    assert "unknown input kind 'node'" in msg and "Did you mean 'nodes'?" in msg


def test_methods_lists_every_method_with_its_inputs(cli):
    done = cli["methods"]
    assert done.returncode == 0, done.stderr
    for name in ("gae", "vgae", "glem", "gnn", "lightgcn", "mf", "pop", "pinsage"):
        assert name in done.stdout
    assert "interactions" in done.stdout and "nodes, edges" in done.stdout


def test_resume_refuses_dataset_and_input_options_naming_them(cli):
    assert "--dataset cannot be used with --resume" in user_error(cli["resume_dataset"])
    assert "--input cannot be used with --resume" in user_error(cli["resume_input"])
    assert not cli["resume_dataset"].out.exists()


def test_help_shows_bracketed_defaults(cli):
    out = cli["help"].stdout
    assert cli["help"].returncode == 0, cli["help"].stderr
    assert "Node id column [id]" in out and "Edge target column [dst]" in out
