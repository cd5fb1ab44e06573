"""GCPN's molecule-building environment (You et al., NeurIPS 2018, section 3.2).

A state is a partial molecule (heavy atoms, formal charges, a bond-order matrix) plus the
9 ZINC atom types C N O S P F I Cl Br as candidate ("scaffold") nodes. In every observation
the scaffold nodes come first (positions 0..8) and the molecule's atoms follow (positions
9..9+n-1), so one index space names both:

    action = (first, second, bond, stop)
      first   an atom of the molecule (position >= 9)
      second  another atom (position >= 9) -> a ring-closing bond, or a scaffold node
              k < 9 -> a new atom of type k bonded to `first`
      bond    0/1/2 = single/double/triple (Kekule form: no aromatic bonds while building)
      stop    1 ends the episode without an edit

Masks (`masks_first`, `masks_second`, `masks_bond`) allow only edits that keep every atom
within its maximum valence, never duplicate a bond, and keep at most `max_atoms` heavy atoms
(38 for ZINC), so with masking every finished molecule sanitises. With `mask_actions=False`
an edit that violates valence is rejected and penalised, as in GCPN's gym-molecule.

States are small numpy arrays: stepping needs no RDKit; RDKit builds the molecule only at
the end of an episode (`to_mol`). `MoleculeEnv` is one episode; the policy batches many.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rdkit import Chem

ATOM_TYPES = ("C", "N", "O", "S", "P", "F", "I", "Cl", "Br")
N_TYPES = len(ATOM_TYPES)
TYPE_INDEX = {s: i for i, s in enumerate(ATOM_TYPES)}
# Highest neutral valence allowed while building: RDKit's valence lists for C N O F Cl Br,
# S up to 6 and P up to 5 (sulfones, phosphates occur in ZINC), I kept at 1 (hypervalent
# iodine does not occur in ZINC250k).
MAX_VALENCE = np.array([4, 3, 2, 6, 5, 1, 1, 1, 1], dtype=np.int64)
BOND_TYPES = (Chem.BondType.SINGLE, Chem.BondType.DOUBLE, Chem.BondType.TRIPLE)
CHARGES = (0, 1, -1)
MAX_ATOMS = 38  # ZINC250k's largest molecule; GCPN's cap


def max_valence(type_idx: np.ndarray, charge: np.ndarray) -> np.ndarray:
    """Maximum total bond order per atom: carbon loses one per charge (C+/C- are trivalent),
    other atoms gain one per positive charge and lose one per negative (N+ 4, O- 1, N- 2)."""
    base = MAX_VALENCE[type_idx]
    return np.where(type_idx == 0, base - np.abs(charge), base + charge)


@dataclass
class MolState:
    types: np.ndarray  # [n] atom type index
    charges: np.ndarray  # [n] formal charge
    adj: np.ndarray  # [n, n] bond order 0..3

    @property
    def n(self) -> int:
        return len(self.types)

    def copy(self) -> "MolState":
        return MolState(self.types.copy(), self.charges.copy(), self.adj.copy())

    def free_valence(self) -> np.ndarray:
        return max_valence(self.types, self.charges) - self.adj.sum(1)

    @classmethod
    def single(cls, type_idx: int = 0) -> "MolState":
        return cls(np.array([type_idx]), np.array([0]), np.zeros((1, 1), dtype=np.int64))


class VocabularyError(ValueError):
    """A molecule the action vocabulary cannot express (atom type, charge, size, aromaticity)."""


def state_from_mol(mol: Chem.Mol, max_atoms: int = MAX_ATOMS) -> MolState:
    """A (sanitised) RDKit molecule as a state, kekulised; hydrogens stay implicit."""
    mol = Chem.Mol(mol)
    Chem.Kekulize(mol, clearAromaticFlags=True)
    n = mol.GetNumAtoms()
    if n > max_atoms:
        raise VocabularyError(f"{n} heavy atoms, above the cap of {max_atoms}")
    types, charges = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    for a in mol.GetAtoms():
        sym = a.GetSymbol()
        if sym not in TYPE_INDEX:
            raise VocabularyError(f"atom {sym} is outside the action vocabulary {', '.join(ATOM_TYPES)}")
        if a.GetFormalCharge() not in CHARGES:
            raise VocabularyError(f"formal charge {a.GetFormalCharge()} on {sym}")
        if a.GetNumRadicalElectrons():
            raise VocabularyError(f"radical on {sym}")
        types[a.GetIdx()], charges[a.GetIdx()] = TYPE_INDEX[sym], a.GetFormalCharge()
    adj = np.zeros((n, n), dtype=np.int64)
    for b in mol.GetBonds():
        order = {Chem.BondType.SINGLE: 1, Chem.BondType.DOUBLE: 2, Chem.BondType.TRIPLE: 3}.get(b.GetBondType())
        if order is None:
            raise VocabularyError(f"bond type {b.GetBondType()}")
        i, j = b.GetBeginAtomIdx(), b.GetEndAtomIdx()
        adj[i, j] = adj[j, i] = order
    state = MolState(types, charges, adj)
    if (state.free_valence() < 0).any():
        raise VocabularyError("an atom exceeds the valence the environment allows")
    return state


def to_mol(state: MolState, sanitize: bool = True) -> Chem.Mol | None:
    """The RDKit molecule of a state (None when sanitisation fails)."""
    rw = Chem.RWMol()
    for t, c in zip(state.types, state.charges):
        atom = Chem.Atom(ATOM_TYPES[int(t)])
        atom.SetFormalCharge(int(c))
        rw.AddAtom(atom)
    ii, jj = np.nonzero(np.triu(state.adj))
    for i, j in zip(ii, jj):
        rw.AddBond(int(i), int(j), BOND_TYPES[int(state.adj[i, j]) - 1])
    mol = rw.GetMol()
    if sanitize:
        try:
            Chem.SanitizeMol(mol)
        except Exception:  # RDKit raises several types (valence, kekulisation)
            return None
    return mol


# ---------------------------------------------------------------- masks

def mask_first(state: MolState, max_atoms: int = MAX_ATOMS) -> np.ndarray:
    """[9 + n] bool: atoms that can take a new bond (scaffold positions are False)."""
    free = state.free_valence()
    ok = free >= 1
    if state.n >= max_atoms:  # no new atom: needs a non-bonded partner with free valence
        partner = (free[None, :] >= 1) & (state.adj == 0) & ~np.eye(state.n, dtype=bool)
        ok &= partner.any(1)
    return np.concatenate([np.zeros(N_TYPES, dtype=bool), ok])


def mask_second(state: MolState, first: int, max_atoms: int = MAX_ATOMS) -> np.ndarray:
    """[9 + n] bool given `first` (an observation position >= 9)."""
    i = first - N_TYPES
    free = state.free_valence()
    atoms = (free >= 1) & (state.adj[i] == 0)
    atoms[i] = False
    new = np.full(N_TYPES, state.n < max_atoms)
    return np.concatenate([new, atoms])


def mask_bond(state: MolState, first: int, second: int) -> np.ndarray:
    """[3] bool: bond orders both ends can take."""
    free = state.free_valence()
    room = free[first - N_TYPES]
    room = min(room, MAX_VALENCE[second] if second < N_TYPES else free[second - N_TYPES])
    return np.arange(1, 4) <= room


def can_edit(state: MolState, max_atoms: int = MAX_ATOMS) -> bool:
    return bool(mask_first(state, max_atoms).any())


def apply_edit(state: MolState, first: int, second: int, bond: int) -> MolState:
    """The state after adding bond order `bond + 1` between `first` and `second` (a new atom
    when second < 9). Does not check valence (see `valid_edit`)."""
    s = state.copy()
    i = first - N_TYPES
    if second < N_TYPES:
        n = s.n
        s.types = np.append(s.types, second)
        s.charges = np.append(s.charges, 0)
        adj = np.zeros((n + 1, n + 1), dtype=np.int64)
        adj[:n, :n] = s.adj
        s.adj = adj
        j = n
    else:
        j = second - N_TYPES
    s.adj[i, j] = s.adj[j, i] = bond + 1
    return s


def valid_edit(state: MolState, first: int, second: int, bond: int, max_atoms: int = MAX_ATOMS) -> bool:
    n = state.n
    if not (N_TYPES <= first < N_TYPES + n) or not (0 <= second < N_TYPES + n) or first == second:
        return False
    if not 0 <= bond < 3:
        return False
    if second < N_TYPES and n >= max_atoms:
        return False
    if second >= N_TYPES and state.adj[first - N_TYPES, second - N_TYPES]:
        return False
    return bool(mask_bond(state, first, second)[bond])


# ---------------------------------------------------------------- one episode

@dataclass
class StepResult:
    valid: bool  # the edit was applied (always true for stop or masked actions)
    done: bool


class MoleculeEnv:
    """One episode: reset to a start state, step with actions, `done` on stop, on `max_steps`
    or when no edit is possible. Step rewards are computed by the caller (rewards.py)."""

    def __init__(self, max_atoms: int = MAX_ATOMS, max_steps: int = 64):
        self.max_atoms, self.max_steps = max_atoms, max_steps
        self.state = MolState.single(0)
        self.steps = 0
        self.done = False

    def reset(self, start: MolState | None = None) -> MolState:
        self.state = start.copy() if start is not None else MolState.single(0)  # GCPN starts from one C
        self.steps, self.done = 0, False
        return self.state

    def step(self, first: int, second: int, bond: int, stop: int) -> StepResult:
        assert not self.done, "step() after the episode ended"
        self.steps += 1
        valid = True
        if not stop:
            if valid_edit(self.state, first, second, bond, self.max_atoms):
                self.state = apply_edit(self.state, first, second, bond)
            else:
                valid = False  # GCPN: the molecule is kept and the step penalised
        self.done = bool(stop) or self.steps >= self.max_steps or not can_edit(self.state, self.max_atoms)
        return StepResult(valid, self.done)
