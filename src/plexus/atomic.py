"""Atomic file writes: a temp file beside the target, fsync, then rename.

A process killed mid-write leaves either the old file or the new one, never a torn one.
Every writer of results, checkpoints and caches goes through `atomic_write`.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import IO, Callable

TEMP_PREFIX = ".tmp-"  # temp files start with this; cleaners may remove stale ones


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], object]) -> None:
    """Call `write(fileobj)` on a temp file beside `path`, then move it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f"{TEMP_PREFIX}{path.name}.{uuid.uuid4().hex}"
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    atomic_write(path, lambda f: f.write(data))


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))
