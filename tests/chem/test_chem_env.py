import numpy as np
import pytest
import torch
from rdkit import Chem

from plexus.chem import env as E
from plexus.datasets import load_dataset
from plexus.methods.gcpn import policy as Pol


def random_rollout(rng, max_atoms, steps=60, start=None):
    envr = E.MoleculeEnv(max_atoms=max_atoms, max_steps=steps)
    envr.reset(start)
    while not envr.done:
        s = envr.state
        m1 = E.mask_first(s, max_atoms)
        assert (s.free_valence() >= 0).all()
        if not m1.any():
            envr.step(0, 0, 0, 1)
            break
        first = int(rng.choice(np.flatnonzero(m1)))
        m2 = E.mask_second(s, first, max_atoms)
        second = int(rng.choice(np.flatnonzero(m2)))
        mb = E.mask_bond(s, first, second)
        bond = int(rng.choice(np.flatnonzero(mb)))
        assert E.valid_edit(s, first, second, bond, max_atoms)
        stop = int(rng.random() < 0.03)
        res = envr.step(first, second, bond, stop)
        assert res.valid
    return envr.state


@pytest.mark.parametrize("max_atoms", [6, 38])
def test_masks_never_allow_a_valence_violation_and_molecules_sanitise(max_atoms):
    rng = np.random.default_rng(0)
    for _ in range(150):
        s = random_rollout(rng, max_atoms)
        assert (s.free_valence() >= 0).all()
        assert s.n <= max_atoms
        mol = E.to_mol(s)
        assert mol is not None
        assert Chem.MolFromSmiles(Chem.MolToSmiles(mol)) is not None


def test_torch_masks_equal_numpy_masks():
    rng = np.random.default_rng(1)
    states = [random_rollout(rng, 8, steps=int(rng.integers(1, 12))) for _ in range(40)]
    obs = Pol.batch_obs(states)
    m1 = Pol.first_mask(obs, 8)
    for b, s in enumerate(states):
        N = E.N_TYPES + s.n
        assert m1[b, :N].tolist() == E.mask_first(s, 8).tolist()
        assert not m1[b, N:].any()
        for first in np.flatnonzero(E.mask_first(s, 8)):
            m2 = Pol.second_mask(obs.index(torch.tensor([b])), torch.tensor([int(first)]), 8)[0]
            assert m2[:N].tolist() == E.mask_second(s, int(first), 8).tolist()
            for second in np.flatnonzero(E.mask_second(s, int(first), 8)):
                mb = Pol.bond_mask(obs.index(torch.tensor([b])), torch.tensor([int(first)]), torch.tensor([int(second)]))
                assert mb[0].tolist() == E.mask_bond(s, int(first), int(second)).tolist()


def test_invalid_action_without_mask_is_rejected():
    envr = E.MoleculeEnv(max_atoms=38)
    envr.reset(E.MolState.single(E.TYPE_INDEX["F"]))
    assert envr.step(E.N_TYPES, 0, 0, 0).valid  # F-C
    before = envr.state.copy()
    res = envr.step(E.N_TYPES, 0, 0, 0)  # fluorine already has its one bond
    assert not res.valid
    assert np.array_equal(envr.state.adj, before.adj)
    res = envr.step(E.N_TYPES + 1, 2, 2, 0)  # triple bond C#O: O has valence 2
    assert not res.valid


def test_states_round_trip_zinc_molecules():
    ds = load_dataset("zinc250k-subset")
    n = 0
    for smi in ds.splits["test"][:300]:
        mol = Chem.MolFromSmiles(smi)
        Chem.RemoveStereochemistry(mol)
        try:
            state = E.state_from_mol(mol)
        except E.VocabularyError:
            continue
        n += 1
        assert Chem.MolToSmiles(E.to_mol(state)) == Chem.MolToSmiles(mol)
    assert n > 250


def test_vocabulary_errors():
    with pytest.raises(E.VocabularyError, match="Si"):
        E.state_from_mol(Chem.MolFromSmiles("C[Si](C)(C)C"))
    with pytest.raises(E.VocabularyError, match="cap"):
        E.state_from_mol(Chem.MolFromSmiles("C" * 39))
