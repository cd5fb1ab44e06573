"""Scoring finished molecules and GCPN's environment rewards.

`score_state` builds the RDKit molecule of a finished state and measures everything the
rewards and the evaluation need (validity, penalised logP on both scales, logP, SA, QED,
molecular weight, ZINC filter, steric-strain filter, similarity to the start molecule).
It is a plain function of picklable arguments, so `Scorer(workers=k)` runs it in k worker
processes (RDKit is the expensive part of a rollout; the policy forward stays batched in
the main process).

Rewards (GCPN's gym-molecule `step`, coefficients per task):
    step    +1/38 for a valid edit, -1/38 for an invalid one (only without masks)
    final   validity: -5 when RDKit cannot sanitise (never happens with masks)
            filters: -filter_penalty for failing the ZINC filter and again for steric strain
            property term (task):
              plogp        penalised logP (normalised) / 3
              qed          2 * QED
              target-*     2 * target_reward (1 in range, linear down to -1 outside)
              constrained  (plogp(m) - plogp(m0)) / 3 (normalised scale)
                           - sim_penalty * max(0, delta - sim(m, m0)) / 0.1
"""

from __future__ import annotations

import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

from plexus.chem import filters, properties
from plexus.chem.env import MolState, to_mol

TARGET_SCALE = {"target-logp": 1.0, "target-mw": 50.0}


def score_state(types, charges, adj, start_smiles: str | None = None, steric: bool = True) -> dict[str, Any]:
    from rdkit import Chem

    mol = to_mol(MolState(np.asarray(types), np.asarray(charges), np.asarray(adj)))
    if mol is None:
        return {"valid": False, "smiles": None}
    smiles = Chem.MolToSmiles(mol)
    mol = Chem.MolFromSmiles(smiles)  # round trip, as GCPN (aromaticity perceived)
    if mol is None:
        return {"valid": False, "smiles": smiles}
    out = {
        "valid": True,
        "smiles": smiles,
        "n_atoms": mol.GetNumAtoms(),
        "plogp": properties.penalized_logp(mol),
        "plogp_raw": properties.penalized_logp(mol, normalized=False),
        "logp": properties.logp(mol),
        "sa": properties.sa_score(mol),
        "qed": properties.qed(mol),
        "mw": properties.mol_weight(mol),
        "zinc_ok": filters.zinc_filter(mol),
        "steric_ok": filters.steric_strain_filter(mol) if steric else None,
    }
    if start_smiles is not None:
        start = Chem.MolFromSmiles(start_smiles)
        out["sim"] = properties.similarity(mol, start)
    return out


def _score_args(args):
    return score_state(*args)


class Scorer:
    """Scores states in-process (workers=0) or in a pool of spawned worker processes."""

    def __init__(self, workers: int = 0):
        self.pool = None
        if workers > 0:
            self.pool = ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"))

    def __call__(self, states: list[MolState], starts: list[str | None] | None = None,
                 steric: bool = True) -> list[dict[str, Any]]:
        starts = starts or [None] * len(states)
        args = [(s.types, s.charges, s.adj, st, steric) for s, st in zip(states, starts)]
        if self.pool is None:
            return [score_state(*a) for a in args]
        return list(self.pool.map(_score_args, args, chunksize=max(1, len(args) // 8)))

    def close(self):
        if self.pool is not None:
            self.pool.shutdown()
            self.pool = None


def property_reward(score: dict[str, Any], task: str, target: str = "low", start_plogp: float | None = None,
                    delta: float = 0.4, sim_penalty: float = 1.0) -> float:
    if not score["valid"]:
        return 0.0
    if task == "plogp":
        return score["plogp"] / 3.0
    if task == "qed":
        return 2.0 * score["qed"]
    if task in ("target-logp", "target-mw"):
        low, high = properties.TARGET_RANGES[task][0 if target == "low" else 1]
        value = score["logp"] if task == "target-logp" else score["mw"]
        return 2.0 * properties.target_reward(value, low, high, TARGET_SCALE[task])
    if task == "constrained":
        gain = (score["plogp"] - start_plogp) / 3.0
        return gain - sim_penalty * max(0.0, delta - score["sim"]) / 0.1
    raise ValueError(task)


def final_reward(score: dict[str, Any], task: str, filter_penalty: float = 1.0, invalid_penalty: float = 5.0,
                 **kw) -> float:
    if not score["valid"]:
        return -invalid_penalty
    r = property_reward(score, task, **kw)
    if not score["zinc_ok"]:
        r -= filter_penalty
    if score.get("steric_ok") is False:
        r -= filter_penalty
    return r
