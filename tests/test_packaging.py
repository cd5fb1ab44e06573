"""Packaging: pyproject's metadata is what current setuptools accepts without deprecations,
and the Makefile installs the CPU torch build from an overridable index."""

from __future__ import annotations

import subprocess
import tomllib
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_license_is_an_spdx_string_setuptools_accepts_without_warnings():
    from setuptools.config.pyprojecttoml import apply_configuration
    from setuptools.dist import Distribution

    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert project["project"]["license"] == "MIT"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dist = apply_configuration(Distribution(), REPO / "pyproject.toml")
    assert not [w for w in caught if "license" in str(w.message).lower()], [str(w.message) for w in caught]
    assert dist.metadata.license_expression == "MIT"


def _make_dry_run(*args: str) -> str:
    done = subprocess.run(["make", "-n", "-B", "-C", str(REPO), *args, ".venv/.installed"],
                          capture_output=True, text=True, check=True)
    return done.stdout


def test_makefile_installs_cpu_torch_from_an_overridable_index_with_a_plain_fallback():
    out = _make_dry_run()
    torch_line = next(line for line in out.splitlines() if "torch==" in line)
    assert "--index-url https://download.pytorch.org/whl/cpu" in torch_line
    assert "||" in torch_line and torch_line.rstrip().endswith("pip install -q torch==2.13.0")
    mirror = _make_dry_run("TORCH_INDEX=https://mirror.example/whl/cpu")
    assert "--index-url https://mirror.example/whl/cpu" in mirror


def test_make_test_slow_exits_cleanly_when_nothing_is_marked_slow():
    # -o: take the installed venv as up to date (never reinstall from a test)
    done = subprocess.run(["make", "-s", "-C", str(REPO), "-o", ".venv/.installed", "test-slow",
                           "PYTEST_ARGS=tests/test_packaging.py"], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no test is marked slow" in done.stdout
