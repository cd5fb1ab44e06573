"""Where datasets are found: --data-dir, then $PLEXUS_DATA, then bundled, then the cache."""

from __future__ import annotations

import shutil

import pytest

from plexus.datasets import get_info, load_dataset, locate, registry
from plexus.errors import DatasetNotFound, InputError


@pytest.fixture
def no_env(monkeypatch, tmp_path):
    """No $PLEXUS_DATA and an empty cache, so only the arguments and the package count."""
    monkeypatch.delenv("PLEXUS_DATA", raising=False)
    monkeypatch.setattr(registry, "CACHE_DIR", tmp_path / "cache")


def _umls_copy(shared_datasets, root, drop_train_line=False):
    folder = root / "umls_text"
    shutil.copytree(shared_datasets / "umls_text", folder)
    for f in folder.iterdir():
        f.chmod(0o644)
    if drop_train_line:  # a copy that loads differently: it fails the count check
        import gzip

        with gzip.open(folder / "train.tsv.gz", "rt") as f:
            lines = f.readlines()
        with gzip.open(folder / "train.tsv.gz", "wt") as f:
            f.writelines(lines[:-1])
    return folder


def test_data_dir_beats_env_beats_bundled(shared_datasets, tmp_path, monkeypatch, no_env):
    info = get_info("umls")
    assert locate(info)[0] == "bundled"

    env_root = tmp_path / "env"
    _umls_copy(shared_datasets, env_root)
    monkeypatch.setenv("PLEXUS_DATA", str(env_root))
    assert locate(info) == ("$PLEXUS_DATA", env_root / "umls_text")

    arg_root = tmp_path / "arg"
    bad = _umls_copy(shared_datasets, arg_root, drop_train_line=True)
    assert locate(info, arg_root) == ("--data-dir", bad)
    # The --data-dir copy is the one actually loaded: its truncated file is reported.
    with pytest.raises(InputError, match=str(bad / "train.tsv.gz")):
        load_dataset("umls", data_dir=arg_root)
    assert load_dataset("umls").num_nodes == 135  # without the argument: $PLEXUS_DATA


def test_incomplete_folder_is_skipped(shared_datasets, tmp_path, no_env):
    folder = _umls_copy(shared_datasets, tmp_path / "arg")
    (folder / "relations.txt.gz").unlink()
    assert locate(get_info("umls"), tmp_path / "arg")[0] == "bundled"


def test_bundled_cora_loads_without_plexus_data(no_env):
    assert locate(get_info("cora"))[0] == "bundled"
    data = load_dataset("cora")
    assert data.num_nodes == 2708


def test_missing_dataset_names_every_searched_folder(tmp_path, monkeypatch, no_env):
    monkeypatch.setenv("PLEXUS_DATA", str(tmp_path / "env"))
    with pytest.raises(DatasetNotFound) as err:
        load_dataset("wn18rr", data_dir=tmp_path / "arg")
    message = str(err.value)
    for folder in (tmp_path / "arg" / "wn18rr_text", tmp_path / "env" / "wn18rr_text",
                   registry.BUNDLED_DIR / "wn18rr_text", tmp_path / "cache" / "wn18rr_text"):
        assert str(folder) in message
    assert "plexus datasets fetch wn18rr" in message


def test_unknown_name_suggests_a_close_one():
    with pytest.raises(DatasetNotFound, match="Did you mean 'citeseer-tag'"):
        get_info("citeseer_tag")
