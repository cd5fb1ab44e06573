"""--resume continues exactly the run it was given: config.yaml names its method and is
checked against its hash; overrides that change what was trained are refused."""

from __future__ import annotations

import json

import pytest
import yaml

from plexus.errors import ConfigError
from plexus.runner import build_config, execute, resume_config
from plexus.train.rundir import RunDir
from cli_support import run_dirs

FAST = ["seeds=1", "epochs=2", "ckpt_every=1"]


def _written_run(tmp_path, method="vgae", dataset="cora"):
    """A run directory as execute leaves it before training (config.yaml only)."""
    cfg = build_config(method, dataset=dataset, overrides=FAST)
    run = RunDir.create(tmp_path / "runs", method, dataset)
    run.write_config(cfg, method=method)
    return run, cfg


def test_resume_refuses_overrides_that_change_what_was_trained(tmp_path):
    run, _ = _written_run(tmp_path)
    with pytest.raises(ConfigError, match=r"dataset was 'cora'.*not 'citeseer'"):
        resume_config("vgae", run.path, ["dataset=citeseer", "seeds=2", "epochs=3"])
    with pytest.raises(ConfigError, match=r"epochs was 2"):
        resume_config("vgae", run.path, ["epochs=3"])
    with pytest.raises(ConfigError, match=r"seeds=0 is fewer than the 1 seeds"):
        resume_config("vgae", run.path, ["seeds=0"])
    cfg = resume_config("vgae", run.path, ["seeds=3", "device=cpu"])  # the allowlist
    assert cfg.seeds == 3 and cfg.dataset == "cora" and cfg.epochs == 2


def test_execute_refuses_a_config_that_differs_from_the_run(tmp_path):
    run, cfg = _written_run(tmp_path)
    cfg.dataset = "citeseer"
    with pytest.raises(ConfigError, match="dataset was 'cora'"):
        execute("vgae", cfg, resume=run.path, quiet=True)
    assert (run.path / "config.yaml").is_file()  # a refused resume deletes nothing


def test_resume_as_another_method_names_both(tmp_path):
    run, _ = _written_run(tmp_path)
    with pytest.raises(ConfigError, match=r"config for 'vgae', not 'lightgcn'"):
        resume_config("lightgcn", run.path)
    with pytest.raises(ConfigError, match=r"config for 'vgae', not 'gae'"):
        resume_config("gae", run.path)


@pytest.mark.parametrize("content", ["", "\n", "# nothing\n"])
def test_an_empty_config_yaml_is_an_error_naming_the_file(tmp_path, content):
    run, _ = _written_run(tmp_path)
    run.config_path.write_text(content)
    with pytest.raises(ConfigError, match=r"config\.yaml is empty"):
        resume_config("vgae", run.path)


def test_a_torn_or_edited_config_yaml_is_an_error_naming_the_file(tmp_path):
    run, _ = _written_run(tmp_path)
    text = run.config_path.read_text()
    run.config_path.write_text(text.replace("dataset: cora", "dataset: citeseer"))
    with pytest.raises(ConfigError, match=r"config\.yaml does not match the config hash"):
        resume_config("vgae", run.path)
    run.config_path.write_text(text[: len(text) // 2].rsplit("\n", 1)[0] + "\n")  # cut short
    with pytest.raises(ConfigError, match=r"config\.yaml"):
        resume_config("vgae", run.path)


def test_resume_after_a_kill_mid_history_append_completes(tmp_path):
    first = execute("vgae", build_config("vgae", dataset="cora", overrides=FAST), out=tmp_path / "runs", quiet=True)
    run = RunDir(first.run_dir)
    with open(run.history_path, "a") as f:
        f.write('{"seed": 1, "epoch": 1, "lo')  # killed mid-append
    resumed = execute("vgae", resume_config("vgae", run.path, ["seeds=2"]), resume=run.path, quiet=True)
    assert resumed.metrics["test_auc"]["n"] == 2
    assert sorted((r["seed"], r["epoch"]) for r in run.history()) == [(0, 1), (0, 2), (1, 1), (1, 2)]
    saved = yaml.safe_load(run.config_path.read_text())
    assert saved["seeds"] == 2 and saved["method"] == "vgae"
    assert json.loads((run.path / "metrics.json").read_text())["metrics"]["test_auc"]["n"] == 2
    assert run_dirs(tmp_path / "runs") == [run.path]
