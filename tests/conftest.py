"""Shared test fixtures. Tests use real components: real LM weights, real data files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]


def _shared_datasets() -> Path | None:
    env = os.environ.get("PLEXUS_DATA")
    for cand in ([Path(env)] if env else []) + [REPO.parent / "shared" / "datasets"]:
        if cand.is_dir():
            return cand
    return None


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    """The folder of real datasets beside the checkout (`../shared/datasets`)."""
    path = _shared_datasets()
    if path is None:
        pytest.skip("../shared/datasets is not present and PLEXUS_DATA is unset")
    return path
