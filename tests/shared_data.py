"""Where the real datasets are for tests (`../shared/datasets` or $PLEXUS_DATA), and the one
skip reason used when they are absent (conftest counts it in the summary)."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NO_SHARED = "../shared/datasets is not present and PLEXUS_DATA is unset"


def shared_datasets_path() -> Path | None:
    env = os.environ.get("PLEXUS_DATA")
    for cand in ([Path(env)] if env else []) + [REPO.parent / "shared" / "datasets"]:
        if cand.is_dir():
            return cand
    return None
