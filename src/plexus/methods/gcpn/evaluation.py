"""GCPN's evaluation protocols (You et al. 2018, section 4).

- property optimisation (plogp, qed): sample n molecules from the trained policy
  (stochastic, from a single carbon); top-3 property, validity, uniqueness, novelty against
  the training molecules, internal diversity (mean pairwise 1 - Tanimoto, Morgan r=2), the
  atom cap, and the fraction passing the ZINC filter (all molecules, and the top 10 unique
  ones with the steric-strain filter too), so reward hacking is visible;
- targeting (target-logp, target-mw): success rate (valid molecules inside the range) and
  diversity of the successful ones;
- constrained: from each start molecule, k samples; for delta in 0/0.2/0.4/0.6 a start
  succeeds when a modified valid molecule has similarity >= delta; improvement = the best
  such molecule's penalised logP minus the start's, on the unnormalised logP - SA - cycle
  scale of JT-VAE's Table 3 (which GCPN's Table 3 copies), mean ± std over successes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from rdkit import Chem

from plexus.chem import filters, properties
from plexus.chem.env import MolState
from plexus.methods.gcpn.policy import Policy
from plexus.methods.gcpn.ppo import run_episodes
from plexus.methods.gcpn.rewards import Scorer

DELTAS = (0.0, 0.2, 0.4, 0.6)


def sample(policy: Policy, n: int, gen: torch.Generator, max_atoms: int, max_steps: int, scorer: Scorer,
           batch: int = 128, steric: bool = False) -> list[dict[str, Any]]:
    out = []
    for i in range(0, n, batch):
        m = min(batch, n - i)
        ro = run_episodes(policy, [MolState.single(0)] * m, gen, max_atoms, max_steps)
        out += scorer(ro.finals, steric=steric)
    return out


def property_metrics(scores: list[dict[str, Any]], task: str, reference: set[str], max_atoms: int,
                     target: str = "low") -> dict[str, float]:
    n = len(scores)
    valid = [s for s in scores if s["valid"]]
    uniq: dict[str, dict] = {}
    for s in valid:
        uniq.setdefault(s["smiles"], s)
    mols = {k: Chem.MolFromSmiles(k) for k in uniq}
    m: dict[str, float] = {
        "n_generated": float(n),
        "validity": len(valid) / n if n else 0.0,
        "uniqueness": len(uniq) / len(valid) if valid else 0.0,
        "novelty": sum(k not in reference for k in uniq) / len(uniq) if uniq else 0.0,
        "int_diversity": properties.internal_diversity(list(mols.values())),
        "max_heavy_atoms": float(max((s["n_atoms"] for s in valid), default=0)),
        "within_atom_cap": float(np.mean([s["n_atoms"] <= max_atoms for s in valid])) if valid else 0.0,
        "zinc_filter_pass": float(np.mean([s["zinc_ok"] for s in valid])) if valid else 0.0,
        "mean_plogp": float(np.mean([s["plogp"] for s in valid])) if valid else float("nan"),
        "mean_qed": float(np.mean([s["qed"] for s in valid])) if valid else float("nan"),
    }
    if task in ("plogp", "qed"):
        ranked = sorted(uniq.values(), key=lambda s: -s[task])
        for k in range(3):
            m[f"top{k + 1}_{task}"] = ranked[k][task] if k < len(ranked) else float("nan")
        if task == "plogp":
            m["top1_plogp_raw"] = max((s["plogp_raw"] for s in uniq.values()), default=float("nan"))
        top = ranked[:10]
        m["top10_zinc_filter_pass"] = float(np.mean([s["zinc_ok"] for s in top])) if top else 0.0
        steric = [filters.steric_strain_filter(mols[s["smiles"]]) for s in top]
        m["top10_steric_pass"] = float(np.mean(steric)) if top else 0.0
        m["top10_both_filters_pass"] = float(np.mean([s["zinc_ok"] and st for s, st in zip(top, steric)])) if top else 0.0
    else:  # targeting
        low, high = properties.TARGET_RANGES[task][0 if target == "low" else 1]
        key = "logp" if task == "target-logp" else "mw"
        hits = [s for s in valid if low <= s[key] <= high]
        m["success_rate"] = len(hits) / n if n else 0.0
        hit_mols = [mols[s["smiles"]] for s in {h["smiles"]: h for h in hits}.values()]
        m["success_diversity"] = properties.internal_diversity(hit_mols)
    return m


def constrained_metrics(policy: Policy, starts: list[MolState], start_smiles: list[str], per_start: int,
                        gen: torch.Generator, max_atoms: int, max_steps: int, scorer: Scorer,
                        batch: int = 128) -> tuple[dict[str, float], list[dict[str, Any]]]:
    start_mols = [Chem.MolFromSmiles(s) for s in start_smiles]
    start_raw = [properties.penalized_logp(m, normalized=False) for m in start_mols]
    start_canon = [Chem.MolToSmiles(m) for m in start_mols]
    jobs = [i for i in range(len(starts)) for _ in range(per_start)]
    scores: list[dict[str, Any]] = []
    for s in range(0, len(jobs), batch):
        idx = jobs[s:s + batch]
        ro = run_episodes(policy, [starts[i] for i in idx], gen, max_atoms, max_steps)
        sc = scorer(ro.finals, [start_smiles[i] for i in idx], steric=False)
        for i, x in zip(idx, sc):
            x["start"] = i
        scores += sc
    metrics: dict[str, float] = {"n_starts": float(len(starts)), "samples_per_start": float(per_start),
                                 "validity": float(np.mean([s["valid"] for s in scores])) if scores else 0.0}
    for delta in DELTAS:
        gains, sims = [], []
        for i in range(len(starts)):
            cands = [s for s in scores if s["start"] == i and s["valid"] and s["smiles"] != start_canon[i]
                     and s["sim"] >= delta]
            if cands:
                best = max(cands, key=lambda s: s["plogp_raw"])
                gains.append(best["plogp_raw"] - start_raw[i])
                sims.append(best["sim"])
        tag = f"d{delta:.1f}"
        metrics[f"success_{tag}"] = len(gains) / len(starts) if starts else 0.0
        metrics[f"improvement_{tag}"] = float(np.mean(gains)) if gains else float("nan")
        metrics[f"improvement_std_{tag}"] = float(np.std(gains)) if gains else float("nan")
        metrics[f"similarity_{tag}"] = float(np.mean(sims)) if sims else float("nan")
    return metrics, scores
