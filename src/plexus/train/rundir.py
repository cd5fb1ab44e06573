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
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plexus.config import save_yaml
from plexus.atomic import atomic_write_text


@dataclass
class RunDir:
    path: Path

    @classmethod
    def create(cls, root: str | Path, method: str, dataset: str) -> "RunDir":
        stamp = time.strftime("%Y%m%d-%H%M%S")
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in dataset) or "data"
        base = Path(root) / f"{stamp}-{method}-{safe}"
        path, i = base, 1
        while path.exists():  # two runs in the same second
            path = base.with_name(f"{base.name}-{i}")
            i += 1
        run = cls(path)
        run.checkpoints.mkdir(parents=True)
        run.artifacts.mkdir(parents=True)
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

    def write_config(self, cfg: Any) -> None:
        save_yaml(cfg, self.path / "config.yaml")

    def log(self, **record: Any) -> None:
        """Append one line to history.jsonl (flushed, so a killed run keeps its history)."""
        with open(self.history_path, "a") as f:
            f.write(json.dumps(record) + "\n")
            f.flush()

    def history(self) -> list[dict[str, Any]]:
        if not self.history_path.exists():
            return []
        lines = self.history_path.read_text().splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def write_metrics(self, payload: dict[str, Any]) -> None:
        atomic_write_text(self.path / "metrics.json", json.dumps(payload, indent=2) + "\n")

    def keep_history(self, keep) -> None:
        """Drop history lines a resumed run will write again (`keep(record) -> bool`)."""
        kept = [r for r in self.history() if keep(r)]
        atomic_write_text(self.history_path, "".join(json.dumps(r) + "\n" for r in kept))
