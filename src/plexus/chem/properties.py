"""Molecular properties used as GCPN objectives and evaluation metrics.

Penalised logP is normalised exactly as GCPN (gym-molecule `reward_penalized_log_p`) and
TorchDrug (`torchdrug.metrics.penalized_logP`) do, with the means/stds those codes computed
on 250k_rndm_zinc_drugs_clean.smi:

    (logP - 2.4570953396190123) / 1.434324401111988
  + (-SA + 3.0525811293166134) / 0.8335207024513095
  + (-cycles + 0.0485696876403053) / 0.2860212110245455

SA = RDKit Contrib sascorer; cycles = max(0, L - 6), L the largest cycle of
`networkx.cycle_basis` over the heavy-atom graph (the JT-VAE `bo/` scripts and GCPN use the
cycle basis, not RDKit's SSSR; they agree on ZINC-like molecules). JT-VAE's
`opt.test.logP-SA` scores are the *unnormalised* sum logP - SA - cycles
(`penalized_logp(mol, normalized=False)`), checked in tests/chem/test_properties.py.
"""

from __future__ import annotations

import math
from functools import lru_cache

import networkx as nx
from rdkit import Chem, DataStructs, RDLogger
from rdkit.Chem import Crippen, Descriptors, QED, rdFingerprintGenerator
from rdkit.Contrib.SA_Score import sascorer

RDLogger.DisableLog("rdApp.*")

LOGP_MEAN, LOGP_STD = 2.4570953396190123, 1.434324401111988
SA_MEAN, SA_STD = -3.0525811293166134, 0.8335207024513095
CYCLE_MEAN, CYCLE_STD = -0.0485696876403053, 0.2860212110245455

# Property targeting ranges (GCPN Table 2).
TARGET_RANGES = {
    "target-logp": [(-2.5, -2.0), (5.0, 5.5)],
    "target-mw": [(150.0, 200.0), (500.0, 550.0)],
}


def logp(mol: Chem.Mol) -> float:
    return Crippen.MolLogP(mol)


def sa_score(mol: Chem.Mol) -> float:
    return sascorer.calculateScore(mol)


def cycle_penalty(mol: Chem.Mol) -> int:
    """max(0, largest cycle of the cycle basis - 6), as the JT-VAE/GCPN code."""
    graph = nx.Graph(Chem.GetAdjacencyMatrix(mol))
    cycles = nx.cycle_basis(graph)
    largest = max((len(c) for c in cycles), default=0)
    return max(largest - 6, 0)


def penalized_logp(mol: Chem.Mol, normalized: bool = True) -> float:
    lp, sa, cyc = logp(mol), -sa_score(mol), -cycle_penalty(mol)
    if not normalized:
        return lp + sa + cyc
    return (lp - LOGP_MEAN) / LOGP_STD + (sa - SA_MEAN) / SA_STD + (cyc - CYCLE_MEAN) / CYCLE_STD


def qed(mol: Chem.Mol) -> float:
    return QED.qed(mol)


def mol_weight(mol: Chem.Mol) -> float:
    """Average molecular weight (Descriptors.MolWt), as GCPN's targeting experiments."""
    return Descriptors.MolWt(mol)


@lru_cache(maxsize=1)
def _morgan():
    return rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)


def fingerprint(mol: Chem.Mol):
    """Morgan (ECFP4-like, radius 2, 2048 bits) bit vector."""
    return _morgan().GetFingerprint(mol)


def similarity(a: Chem.Mol, b: Chem.Mol) -> float:
    """Tanimoto similarity of Morgan radius-2 fingerprints (JT-VAE/GCPN constrained optimisation)."""
    return DataStructs.TanimotoSimilarity(fingerprint(a), fingerprint(b))


def internal_diversity(mols: list[Chem.Mol], max_mols: int = 1000) -> float:
    """Mean pairwise 1 - Tanimoto over (up to `max_mols`) molecules; 0 for fewer than two."""
    fps = [fingerprint(m) for m in mols[:max_mols]]
    if len(fps) < 2:
        return 0.0
    total, pairs = 0.0, 0
    for i in range(1, len(fps)):
        sims = DataStructs.BulkTanimotoSimilarity(fps[i], fps[:i])
        total += sum(1.0 - s for s in sims)
        pairs += len(sims)
    return total / pairs


def range_distance(value: float, low: float, high: float) -> float:
    """0 inside [low, high], else the distance to the nearer end."""
    return max(low - value, 0.0, value - high)


def target_value(mol: Chem.Mol, task: str) -> float:
    return logp(mol) if task == "target-logp" else mol_weight(mol)


def target_reward(value: float, low: float, high: float, scale: float) -> float:
    """1 inside the range, decaying linearly outside it to -1 at `2 * scale` away (a shaped
    version of GCPN's piecewise-linear `reward_target_new`; see algorithm.py)."""
    d = range_distance(value, low, high)
    return 1.0 if d == 0 else max(1.0 - d / scale, -1.0)


def canonical(mol: Chem.Mol) -> str:
    return Chem.MolToSmiles(mol)


def is_finite(x: float) -> bool:
    return not (math.isnan(x) or math.isinf(x))
