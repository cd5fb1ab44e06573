"""Helpers for dataset tests: private, editable copies of shared dataset folders."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path
from typing import Callable

import pytest


@pytest.fixture
def copy_dataset(shared_datasets: Path, tmp_path: Path) -> Callable[[str], Path]:
    """`copy_dataset(dirname)` copies shared/<dirname> to tmp_path/root/<dirname> (writable)."""

    def copy(dirname: str) -> Path:
        dest = tmp_path / "root" / dirname
        shutil.copytree(shared_datasets / dirname, dest)
        for f in dest.rglob("*"):
            f.chmod(0o644 if f.is_file() else 0o755)
        return dest

    return copy


@pytest.fixture
def edit_gz() -> Callable[[Path, Callable[[list[str]], list[str]]], None]:
    """`edit_gz(path, edit)` rewrites a gzipped text file through `edit(lines) -> lines`."""

    def rewrite(path: Path, edit: Callable[[list[str]], list[str]]) -> None:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            lines = f.readlines()  # each keeps its newline
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.writelines(edit(lines))

    return rewrite
