"""What a method's `run` returns: final metrics, the protocol that produced them, paths."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Metric = float | dict[str, float]  # a number, or {"mean", "std", "se", "n"} over seeds


@dataclass
class Result:
    method: str
    dataset: str
    protocol: str  # one sentence saying how the metrics were obtained
    metrics: dict[str, Metric]
    run_dir: Path
    artifacts: dict[str, Path] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "dataset": self.dataset,
            "protocol": self.protocol,
            "metrics": self.metrics,
            "run_dir": str(self.run_dir),
            "artifacts": {k: str(v) for k, v in self.artifacts.items()},
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json())
