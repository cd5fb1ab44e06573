"""A run is a directory (see docs/architecture.md):

    runs/<time>-<method>-<dataset>/
        config.yaml      fully resolved config
        metrics.json     final metrics (the Result)
        history.jsonl    one JSON line per epoch/step
        checkpoints/     atomic checkpoints; --resume continues from them
        artifacts/       embeddings, predictions, indexes
        report.md        metrics table and training-curve plots
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plexus.atomic import atomic_write_text
from plexus.config import save_yaml
from plexus.errors import InputError


@dataclass
class RunDir:
    path: Path

    @classmethod
    def create(cls, root: str | Path, method: str, dataset: str) -> "RunDir":
        stamp = time.strftime("%Y%m%d-%H%M%S")
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in dataset) or "data"
        base = Path(root) / f"{stamp}-{method}-{safe}"
        base.parent.mkdir(parents=True, exist_ok=True)
        path, i = base, 1
        while True:  # mkdir is atomic: of two runs started in the same second, one gets -1
            try:
                path.mkdir()
                break
            except FileExistsError:
                path = base.with_name(f"{base.name}-{i}")
                i += 1
        run = cls(path)
        run.checkpoints.mkdir()
        run.artifacts.mkdir()
        return run

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def artifacts(self) -> Path:
        return self.path / "artifacts"

    @property
    def history_path(self) -> Path:
        return self.path / "history.jsonl"

    @property
    def config_path(self) -> Path:
        return self.path / "config.yaml"

    def write_config(self, cfg: Any, method: str | None = None) -> None:
        """config.yaml, atomically, headed by the method, the plexus version and a hash of
        the settings (see plexus.config.save_yaml), so --resume can check what it continues."""
        save_yaml(cfg, self.config_path, method=method)

    def log(self, **record: Any) -> None:
        """Append one line to history.jsonl, fsync'd, so a killed run keeps its history.

        A line torn by a kill mid-append is cut off first, so it never glues onto this one."""
        self.repair_history()
        with open(self.history_path, "a") as f:
            f.write(json.dumps(record) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def repair_history(self) -> None:
        """Cut a torn last line (no trailing newline) off history.jsonl."""
        try:
            with open(self.history_path, "rb+") as f:
                size = f.seek(0, os.SEEK_END)
                if size == 0:
                    return
                f.seek(size - 1)
                if f.read(1) == b"\n":
                    return
                f.seek(0)
                data = f.read()
                start = data.rfind(b"\n") + 1
                try:  # complete but for its newline: keep it
                    json.loads(data[start:])
                    f.seek(size)
                    f.write(b"\n")
                except ValueError:
                    f.truncate(start)
                f.flush()
                os.fsync(f.fileno())
        except FileNotFoundError:
            return

    def history(self) -> list[dict[str, Any]]:
        """The history records; a torn last line (a kill mid-append) is skipped."""
        if not self.history_path.exists():
            return []
        text = self.history_path.read_text(encoding="utf-8", errors="replace")
        lines = text.split("\n")
        torn = lines.pop()  # "" when the file ends with a newline, else an unfinished line
        records = []
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                raise InputError(f"{self.history_path}, line {n}: not a JSON record; the history is "
                                 f"corrupt (remove that line to continue).") from None
        if torn.strip():
            try:
                records.append(json.loads(torn))  # complete but for the newline
            except json.JSONDecodeError:
                pass
        return records

    def write_metrics(self, payload: dict[str, Any]) -> None:
        atomic_write_text(self.path / "metrics.json", json.dumps(payload, indent=2) + "\n")

    def keep_history(self, keep) -> None:
        """Drop history lines a resumed run will write again (`keep(record) -> bool`)."""
        kept = [r for r in self.history() if keep(r)]
        atomic_write_text(self.history_path, "".join(json.dumps(r) + "\n" for r in kept))
