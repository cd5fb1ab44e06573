"""`plexus generate RUN_DIR -n 1000`: sample molecules from a finished GCPN run.

Writes a CSV with every property of every sampled molecule (SMILES, validity, heavy atoms,
penalised logP on both scales, logP, SA, QED, MW, ZINC and steric-strain filters) and a grid
image of the top molecules (RDKit drawing), linked from the run's report.md.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from plexus.atomic import atomic_write_bytes, atomic_write_text
from plexus.errors import InputError

GRID_NAME = "top_molecules.png"
SECTION = "## Top generated molecules"


def load_policy(run_dir: Path):
    from plexus.methods.gcpn.algorithm import Config
    from plexus.methods.gcpn.policy import Policy
    from plexus.train.checkpoint import load_checkpoint

    path = Path(run_dir) / "artifacts" / "policy.pt"
    if not path.is_file():
        raise InputError(f"{run_dir} holds no trained GCPN policy ({path} is missing): "
                         "is it a finished `plexus run gcpn` directory?")
    blob = load_checkpoint(path)  # tensors and plain data only: a crafted file is refused, never run
    cfg = Config()
    known = {k: v for k, v in blob["config"].items() if hasattr(cfg, k) and not isinstance(v, dict)}
    for k, v in known.items():
        setattr(cfg, k, v)
    policy = Policy(cfg.hidden, cfg.layers, cfg.max_atoms)
    policy.load_state_dict(blob["policy"])
    return policy, cfg


def top_grid(run_dir, csv_path: Path, task: str, k: int = 12) -> str:
    """Draw the top-k unique valid molecules of `csv_path` by `task` into run_dir/top_molecules.png;
    return the report section (markdown)."""
    from rdkit import Chem
    from rdkit.Chem import Draw

    run_path = Path(getattr(run_dir, "path", run_dir))
    rows = [r for r in csv.DictReader(open(csv_path)) if r.get("valid") == "True"]
    uniq = {}
    for r in rows:
        uniq.setdefault(r["smiles"], r)
    top = sorted(uniq.values(), key=lambda r: -float(r[task]))[:k]
    if not top:
        return f"\n{SECTION}\n\nNo valid molecules.\n"
    mols = [Chem.MolFromSmiles(r["smiles"]) for r in top]
    legends = [f"{task} {float(r[task]):.3f}" + ("" if r.get("zinc_ok") == "True" else " (ZINC filter: fail)")
               for r in top]
    img = Draw.MolsToGridImage(mols, molsPerRow=4, subImgSize=(260, 220), legends=legends)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    atomic_write_bytes(run_path / GRID_NAME, buf.getvalue())
    lines = [f"\n{SECTION}\n", f"Top {len(top)} unique molecules of `{Path(csv_path).name}` by {task}.\n",
             f"![top molecules]({GRID_NAME})\n", "| rank | SMILES | " + task + " | ZINC filter |", "|---|---|---|---|"]
    lines += [f"| {i + 1} | `{r['smiles']}` | {float(r[task]):.3f} | {r.get('zinc_ok')} |" for i, r in enumerate(top)]
    return "\n".join(lines) + "\n"


def generate_cli(run_dir: Path, n: int, out: Path | None) -> str:
    """Sample `n` molecules from the run's policy; write the CSV (`out`, default
    RUN_DIR/artifacts/generated_<n>.csv), the top-molecule grid, and update report.md.
    Returns a short text summary for the terminal."""
    import torch

    from plexus.methods.gcpn import evaluation
    from plexus.methods.gcpn.algorithm import write_scores_csv
    from plexus.methods.gcpn.rewards import Scorer
    from plexus.train.seed import stream_generator

    run_dir = Path(run_dir)
    if n < 1:
        raise InputError(f"-n {n}: the number of molecules must be at least 1.")
    policy, cfg = load_policy(run_dir)
    torch.set_num_threads(cfg.threads)
    scorer = Scorer(cfg.workers)
    try:
        scores = evaluation.sample(policy, n, stream_generator(cfg.seed, 4, n), cfg.max_atoms, cfg.max_steps,
                                   scorer, steric=True)
    finally:
        scorer.close()
    out = Path(out) if out else run_dir / "artifacts" / f"generated_{n}.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    write_scores_csv(out, scores)
    task = cfg.task if cfg.task in ("plogp", "qed") else "plogp"
    section = top_grid(run_dir, out, task)
    report = run_dir / "report.md"
    text = report.read_text() if report.exists() else ""
    if SECTION in text:
        text = text[:text.index(SECTION)].rstrip("\n") + "\n"
    atomic_write_text(report, text + section)
    valid = [s for s in scores if s["valid"]]
    best = max((s[task] for s in valid), default=float("nan"))
    return (f"{len(scores)} molecules -> {out}\nvalid {len(valid)}/{len(scores)}, unique "
            f"{len({s['smiles'] for s in valid})}, best {task} {best:.3f}, ZINC filter pass "
            f"{sum(s['zinc_ok'] for s in valid) / max(len(valid), 1):.1%}, steric pass "
            f"{sum(bool(s['steric_ok']) for s in valid) / max(len(valid), 1):.1%}\n"
            f"grid: {run_dir / GRID_NAME}, report: {report}")
