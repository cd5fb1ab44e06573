"""Expert data: ZINC molecules as states and their BFS construction trajectories.

GCPN pre-trains the policy by behaviour cloning on "expert" sub-trajectories: take a
molecule, order its atoms by breadth-first search from a random carbon (random neighbour
order), add its bonds in that order (a new atom always arrives through its BFS parent, then
its ring-closing bonds), cut at a random step t, and the expert action is the next bond (or
stop after the last). The same BFS sub-graphs are the discriminator's real states.

Molecules the action vocabulary cannot express are skipped and counted: charged atoms that
RDKit's Uncharger cannot neutralise (nitro groups, quaternary N), atoms outside C N O S P F
I Cl Br, more than 38 heavy atoms.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
from rdkit import Chem
from rdkit.Chem.MolStandardize import rdMolStandardize

from plexus.chem.env import MAX_ATOMS, N_TYPES, MolState, VocabularyError, state_from_mol


@dataclass
class ExpertSet:
    states: list[MolState]
    smiles: list[str]  # canonical non-stereo SMILES of every parsed training molecule (novelty reference)
    skipped: dict[str, int]


def neutral_state(smiles: str, uncharger=None) -> MolState:
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise VocabularyError("unparsable SMILES")
    uncharger = uncharger or rdMolStandardize.Uncharger()
    mol = uncharger.uncharge(mol)
    if any(a.GetFormalCharge() for a in mol.GetAtoms()):
        raise VocabularyError("charged atoms")
    return state_from_mol(mol, MAX_ATOMS)


def load_expert(smiles: list[str], limit: int | None = None) -> ExpertSet:
    uncharger = rdMolStandardize.Uncharger()
    states, canon, skipped = [], [], {}
    for s in smiles[:limit] if limit else smiles:
        mol = Chem.MolFromSmiles(s)
        if mol is not None:
            canon.append(Chem.MolToSmiles(mol, isomericSmiles=False))  # generated molecules carry no stereo
        try:
            states.append(neutral_state(s, uncharger))
        except VocabularyError as e:
            key = str(e).split(" on ")[0] if "charge" in str(e) else str(e).split(" is ")[0]
            skipped[key] = skipped.get(key, 0) + 1
    return ExpertSet(states, canon, skipped)


def bfs_order(state: MolState, rng: np.random.Generator) -> tuple[list[tuple[int, int]], list[int]]:
    """(bonds (lo, hi) in construction order, atoms in BFS order); `lo` precedes `hi`."""
    n = state.n
    carbons = np.flatnonzero(state.types == 0)
    start = int(rng.choice(carbons)) if len(carbons) else 0
    rank = {start: 0}
    queue = deque([start])
    while queue:
        u = queue.popleft()
        nbrs = np.flatnonzero(state.adj[u])
        for v in rng.permutation(nbrs):
            v = int(v)
            if v not in rank:
                rank[v] = len(rank)
                queue.append(v)
    ii, jj = np.nonzero(np.triu(state.adj))
    edges = []
    for i, j in zip(ii.tolist(), jj.tolist()):
        lo, hi = (i, j) if rank[i] < rank[j] else (j, i)
        edges.append((rank[hi], rank[lo], lo, hi))
    edges.sort()
    order = [start] + [None] * (n - 1)
    for a, r in rank.items():
        order[r] = a
    return [(lo, hi) for _, _, lo, hi in edges], order


def trajectory_step(state: MolState, t: int, rng_edges) -> tuple[MolState, tuple[int, int, int, int]]:
    """The partial state after the first t bonds and the expert action at step t."""
    edges, order = rng_edges
    pos = {a: k for k, a in enumerate(order)}  # atom -> rank = position in the partial state
    added = edges[:t]
    n_present = 1 + max((pos[hi] for _, hi in added), default=0)
    keep = order[:n_present]
    adj = np.zeros((n_present, n_present), dtype=np.int64)
    for lo, hi in added:
        adj[pos[lo], pos[hi]] = adj[pos[hi], pos[lo]] = state.adj[lo, hi]
    part = MolState(state.types[keep].copy(), state.charges[keep].copy(), adj)
    if t >= len(edges):
        return part, (N_TYPES, 0, 0, 1)
    lo, hi = edges[t]
    bond = int(state.adj[lo, hi]) - 1
    if pos[hi] >= n_present:  # a new atom through its BFS parent `lo`
        return part, (N_TYPES + pos[lo], int(state.types[hi]), bond, 0)
    return part, (N_TYPES + pos[hi], N_TYPES + pos[lo], bond, 0)  # ring closure


def sample_expert(expert: ExpertSet, batch: int, rng: np.random.Generator):
    """`batch` (partial state, expert action) pairs; t uniform over 0..#bonds (stop included)."""
    states, actions = [], []
    for k in rng.integers(0, len(expert.states), size=batch):
        s = expert.states[int(k)]
        plan = bfs_order(s, rng)
        t = int(rng.integers(0, len(plan[0]) + 1))
        part, action = trajectory_step(s, t, plan)
        states.append(part)
        actions.append(action)
    return states, np.array(actions, dtype=np.int64)
