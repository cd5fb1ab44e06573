"""runner.execute at the boundary: configs are range-checked before a run directory exists,
anything that escapes before the first checkpoint leaves no run directory behind, and a
method's progress goes to stderr."""

from __future__ import annotations

import pytest

from plexus.config import validate
from plexus.errors import InputError, ConfigError
from plexus.registry import get_method
from plexus.runner import build_config, execute
from cli_support import run_dirs


@pytest.mark.parametrize("method, overrides, key", [
    ("vgae", ["epochs=-1"], "epochs"),
    ("gae", ["seeds=0"], "seeds"),
    ("gae", ["val_ratio=0.9", "test_ratio=0.5"], "val_ratio"),
    ("gae", ["lr=0"], "lr"),
    ("gnn", ["split.val_ratio=0.9"], "split.train_ratio"),
    ("gnn", ["model.dropout=1.5"], "model.dropout"),
    ("lightgcn", ["batch_size=0"], "batch_size"),
])
def test_out_of_range_settings_are_config_errors_and_leave_nothing(tmp_path, method, overrides, key):
    cfg = build_config(method, overrides=overrides)
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        execute(method, cfg, out=tmp_path / "runs", quiet=True)
    assert run_dirs(tmp_path / "runs") == []


def test_every_method_default_passes_validation():
    from plexus.registry import method_names

    for name in method_names():
        validate(get_method(name).make_config())


def test_a_bug_before_the_first_checkpoint_leaves_no_run_directory(tmp_path, monkeypatch):
    def broken(cfg, run_dir, quiet=False):
        run_dir.log(epoch=1)
        raise RuntimeError("a bug")

    monkeypatch.setattr(get_method("gae")._module(), "run", broken)
    with pytest.raises(RuntimeError, match="a bug"):  # the bug keeps its traceback
        execute("gae", build_config("gae"), out=tmp_path / "runs", quiet=True)
    assert run_dirs(tmp_path / "runs") == []


def test_too_few_edges_leaves_no_run_directory(tmp_path):
    nodes, edges = tmp_path / "n.csv", tmp_path / "e.csv"
    nodes.write_text("id,text\n" + "".join(f"n{i},t{i}\n" for i in range(10)))
    edges.write_text("src,dst\nn0,n1\nn1,n2\nn2,n3\nn3,n4\nn5,n6\n")
    cfg = build_config("gae", inputs=[f"nodes={nodes}", f"edges={edges}"], overrides=["epochs=2", "seeds=1"])
    with pytest.raises(InputError, match="too few edges"):  # a user error: no traceback in the CLI
        execute("gae", cfg, out=tmp_path / "runs", quiet=True)
    assert run_dirs(tmp_path / "runs") == []


def test_progress_goes_to_stderr(tmp_path, capfd):
    cfg = build_config("vgae", dataset="cora", overrides=["seeds=1", "epochs=2"])
    execute("vgae", cfg, out=tmp_path / "runs", quiet=False)
    out, err = capfd.readouterr()
    assert out == "" and "seed 0" in err
