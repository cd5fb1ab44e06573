"""`plexus bench gcpn`: our runs beside GCPN's Table 1 and Table 3 and TorchDrug's reproduction.

Rows are ordinary runs (`plexus.bench.run_rows`: one spawned single-threaded process per
row, each leaving a run directory) with a preset: `quick` (minutes, smoke scale) or the
`cpu-2h` budget. Paper numbers are copied from You et al. 2018 (Table 1: top-3 penalised
logP and QED, validity; Table 3: constrained optimisation) and TorchDrug's GCPN tutorial
(top-1 penalised logP 6.56 without the adversarial reward). Every row states its budget
and wall time; `table(results)` formats any set of finished results the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

CONFIGS = Path(__file__).resolve().parents[4] / "configs" / "gcpn"

PAPER_T1 = {"plogp": ("7.98", "7.85", "7.80"), "qed": ("0.948", "0.947", "0.946")}
ZINC_T1 = {"plogp": "4.52", "qed": "0.948"}
PAPER_T3 = {0.0: ("4.20 ± 1.28", "100%"), 0.2: ("4.12 ± 1.19", "100%"), 0.4: ("2.49 ± 1.30", "100%"),
            0.6: ("0.79 ± 0.63", "100%")}
TORCHDRUG_PLOGP = "6.56 (top-1, no adversarial reward; top molecules are alkane chains)"


def _preset(name: str) -> dict[str, Any]:
    path = CONFIGS / f"{name}.yaml"
    return yaml.safe_load(path.read_text()) if path.is_file() else {}


def _overrides(values: dict[str, Any]) -> list[str]:
    return [f"{k}={v}" for k, v in values.items()]


def _num(metrics: dict, key: str) -> float:
    v = metrics.get(key, float("nan"))
    return v["mean"] if isinstance(v, dict) else float(v)


def table(results: dict[str, tuple[dict, float]], budget: str) -> str:
    """`{task: (result JSON, wall seconds)}` -> markdown tables with the paper's rows."""
    lines = []
    prop = {t: r for t, r in results.items() if t in ("plogp", "qed")}
    if prop:
        lines += ["### Property optimisation (GCPN Table 1; max 38 heavy atoms)", "",
                  "| task | source | 1st | 2nd | 3rd | validity | uniq. | novelty | int. div. | ZINC filter (all / top-10) "
                  "| steric (top-10) | PPO iters | budget | wall |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for task, (res, wall) in prop.items():
            m = res["metrics"]
            lines.append(
                f"| {task} | plexus GCPN | {_num(m, f'top1_{task}'):.3f} | {_num(m, f'top2_{task}'):.3f} | "
                f"{_num(m, f'top3_{task}'):.3f} | {_num(m, 'validity'):.1%} | {_num(m, 'uniqueness'):.1%} | "
                f"{_num(m, 'novelty'):.1%} | {_num(m, 'int_diversity'):.3f} | {_num(m, 'zinc_filter_pass'):.1%} / "
                f"{_num(m, 'top10_zinc_filter_pass'):.0%} | {_num(m, 'top10_steric_pass'):.0%} | "
                f"{_num(m, 'ppo_iterations'):.0f} | {budget} | {wall / 60:.1f} min |")
            p = PAPER_T1[task]
            lines.append(f"| {task} | GCPN paper | {p[0]} | {p[1]} | {p[2]} | 100% | | | | | | | | |")
            lines.append(f"| {task} | ZINC250k best | {ZINC_T1[task]} | | | | | | | | | | | |")
            if task == "plogp":
                lines.append(f"| plogp | TorchDrug GCPN | {TORCHDRUG_PLOGP} | | | | | | | | | | | |")
        lines.append("")
    if "constrained" in results:
        res, wall = results["constrained"]
        m = res["metrics"]
        lines += ["### Constrained optimisation (GCPN Table 3; 800 lowest-penalised-logP ZINC molecules)", "",
                  "| delta | plexus improvement | similarity | success | paper improvement | paper success |",
                  "|---|---|---|---|---|---|"]
        for d, (pi, ps) in PAPER_T3.items():
            tag = f"d{d:.1f}"
            lines.append(f"| {d} | {_num(m, f'improvement_{tag}'):.2f} ± {_num(m, f'improvement_std_{tag}'):.2f} | "
                         f"{_num(m, f'similarity_{tag}'):.2f} | {_num(m, f'success_{tag}'):.1%} | {pi} | {ps} |")
        lines += ["", f"Budget: {budget}; wall {wall / 60:.1f} min; "
                  f"{_num(m, 'n_starts'):.0f} starts x {_num(m, 'samples_per_start'):.0f} samples.", ""]
    return "\n".join(lines)


def bench(quick: bool = False, quiet: bool = False, out: str = "runs", jobs: int | None = None) -> str:
    from plexus.bench import run_rows

    preset = "quick" if quick else "cpu-20m"
    values = _preset(preset)
    rows = {task: ("gcpn", "zinc250k-subset", _overrides({**values, "task": task}))
            for task in ("plogp", "qed", "constrained")}
    results = run_rows(rows, out, jobs)
    text = table(results, f"preset {preset}, 1 thread per run")
    if not quiet:
        print(text)
    return text
