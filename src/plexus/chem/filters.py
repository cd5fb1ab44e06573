"""GCPN's two final-molecule filters (gym-molecule `molecule.py`, You et al. 2018):

- `zinc_filter`: no match in RDKit's ZINC FilterCatalog, i.e. the ZINC "rules_default"
  problematic-group rules (http://blaster.docking.org/filtering/rules_default.txt) that
  GCPN's `zinc_molecule_filter` applies;
- `steric_strain_filter`: embed with hydrogens, MMFF94-minimise (200 iterations), and accept
  when the average angle-bend energy per angle is below 0.82 kcal/mol (GCPN's cutoff).
  The embedding uses a fixed random seed so the filter is deterministic.
"""

from __future__ import annotations

from functools import lru_cache

from rdkit import Chem
from rdkit.Chem import AllChem
from rdkit.Chem.FilterCatalog import FilterCatalog, FilterCatalogParams


@lru_cache(maxsize=1)
def _zinc_catalog() -> FilterCatalog:
    params = FilterCatalogParams()
    params.AddCatalog(FilterCatalogParams.FilterCatalogs.ZINC)
    return FilterCatalog(params)


def zinc_filter(mol: Chem.Mol) -> bool:
    """True when the molecule matches none of the ZINC filter rules."""
    return not _zinc_catalog().HasMatch(mol)


def steric_strain_filter(mol: Chem.Mol, cutoff: float = 0.82, max_attempts: int = 20,
                         max_iters: int = 200, seed: int = 0xF00D) -> bool:
    if mol.GetNumAtoms() <= 2:
        return True
    m = Chem.AddHs(Chem.Mol(mol))
    try:
        if AllChem.EmbedMolecule(m, maxAttempts=max_attempts, randomSeed=seed) == -1:
            return False
        AllChem.MMFFSanitizeMolecule(m)
        if not AllChem.MMFFHasAllMoleculeParams(m):
            return False
        props = AllChem.MMFFGetMoleculeProperties(m)
        ff = AllChem.MMFFGetMoleculeForceField(m, props)
        ff.Minimize(maxIts=max_iters)
        for term in ("Bond", "StretchBend", "Oop", "Torsion", "VdW", "Ele"):
            getattr(props, f"SetMMFF{term}Term")(False)
        props.SetMMFFAngleTerm(True)
        angle_e = AllChem.MMFFGetMoleculeForceField(m, props).CalcEnergy()
    except Exception:  # RDKit raises on exotic bonding; GCPN counts that as a failure
        return False
    # angles = pairs of bonds sharing an atom (GCPN enumerates triplets with MMFF angle params)
    n_angles = sum(a.GetDegree() * (a.GetDegree() - 1) // 2 for a in m.GetAtoms())
    if n_angles == 0:
        return True
    return angle_e / n_angles < cutoff
