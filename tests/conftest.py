"""Shared test fixtures. Tests use real components: real LM weights, real data files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from shared_data import NO_SHARED, shared_datasets_path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    """The folder of real datasets beside the checkout (`../shared/datasets`)."""
    path = shared_datasets_path()
    if path is None:
        pytest.skip(NO_SHARED)
    return path


def pytest_terminal_summary(terminalreporter):
    """Say once, with a count, how many tests did not run for want of the real datasets, so
    a green run without `../shared` is never mistaken for a full one."""
    skipped = terminalreporter.stats.get("skipped", [])
    missing = sum(NO_SHARED in str(getattr(r, "longrepr", "")) for r in skipped)
    if missing:
        terminalreporter.write_sep("=", "real datasets missing", yellow=True)
        terminalreporter.write_line(
            f"{missing} tests skipped: {NO_SHARED}. They read the real datasets; put them at "
            f"../shared/datasets beside the checkout or set PLEXUS_DATA to run them.")
