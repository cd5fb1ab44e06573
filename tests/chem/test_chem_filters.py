from rdkit import Chem

from plexus.chem.filters import steric_strain_filter, zinc_filter


def test_zinc_filter_flags_problem_groups_and_long_chains():
    assert zinc_filter(Chem.MolFromSmiles("CC(=O)Oc1ccccc1C(=O)O"))
    assert not zinc_filter(Chem.MolFromSmiles("COOC"))  # peroxide
    assert not zinc_filter(Chem.MolFromSmiles("C" * 20))  # the alkane chains reward hacking produces


def test_steric_strain_filter():
    assert steric_strain_filter(Chem.MolFromSmiles("c1ccccc1CCO"))
    assert not steric_strain_filter(Chem.MolFromSmiles("C1CC#CC1"))  # cyclopentyne
    assert not steric_strain_filter(Chem.MolFromSmiles("C1C#C1"))
