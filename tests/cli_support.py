"""Helpers for tests that drive the real `plexus` CLI as a subprocess (importable because
pyproject's pytest `pythonpath` includes tests/)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path


def plexus_cmd() -> list[str]:
    """The installed console script (falls back to the module)."""
    script = Path(sys.executable).with_name("plexus")
    return [str(script)] if script.exists() else [sys.executable, "-m", "plexus.cli"]


def run_dirs(out: Path) -> list[Path]:
    return sorted(p for p in out.iterdir() if p.is_dir()) if out.exists() else []


def run_until_file(args: list[str], out: Path, marker: str, log: Path, env: dict | None = None,
                   timeout: float = 240) -> int:
    """Start `plexus ARGS --out OUT --quiet`, SIGKILL it as soon as a file matching the glob
    `marker` appears under OUT (a real kill, mid-run), and return its exit code."""
    with open(log, "w") as err:
        proc = subprocess.Popen([*plexus_cmd(), *args, "--out", str(out), "--quiet"],
                                stdout=subprocess.DEVNULL, stderr=err, env=env)
        try:
            deadline = time.monotonic() + timeout
            while proc.poll() is None and time.monotonic() < deadline:
                if list(out.glob(marker)):
                    proc.send_signal(signal.SIGKILL)
                    break
                time.sleep(0.01)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
    return proc.returncode
