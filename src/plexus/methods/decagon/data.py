"""Decagon's multimodal graph from a named dataset or the user's typed edge table.

Every source becomes one `DecagonGraph`: drugs and proteins, one drug–drug relation per
side effect (or interaction type), drug–protein and protein–protein edges, and drug
features. Sources:

* `drugbank-ddi86`: 86 interaction types with the given train/dev/test split (directed).
  Proteins come from Decagon's drug–target file (`decagon-targets`), joined through the
  TWOSIDES drug table (`twosides-cid-map`: STITCH CID -> DrugBank id), and, for drugs
  without a DrugBank id there, through identical RDKit-canonical SMILES. No PPI file exists
  in the shared data, so protein–protein edges are absent; the protocol says so.
* `decagon` (SNAP): side effects with at least `min_relation_edges` drug pairs (500 in the
  paper, giving 964), PPI, targets, mono side effects as drug features; split per seed.
* a typed edge table (`triples.path`): relation `target_relation` = drug -> protein,
  `ppi_relation` = protein–protein, every other relation a drug–drug side effect; an
  optional node table (`node_table`: id, type, optional smiles) declares ids and types.
  Split per seed.

Drug features (`features=`): `morgan` (RDKit Morgan bits from SMILES; the paper used mono
side effects, which drugbank-ddi86 lacks), `mono` (SNAP), `onehot`, or `auto` (mono >
morgan > onehot). Proteins are always one-hot, as in the paper.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from plexus.datasets.registry import load_dataset, locate, get_info
from plexus.errors import ConfigError, InputError
from plexus.graph.splits import undirected_pairs

SPLITS = ("train", "val", "test")


@dataclass
class DecagonGraph:
    name: str
    drug_ids: list[str]
    protein_ids: list[str]
    relations: list[str]  # kept side effects, index = relation id
    relation_text: list[str]
    edges: dict[str, tuple[torch.Tensor, torch.Tensor]] | None  # given split: split -> (edge_index, edge_type)
    all_edges: tuple[torch.Tensor, torch.Tensor] | None  # no given split: every drug–drug edge
    targets: torch.Tensor  # [2, E] drug -> protein
    ppi: torch.Tensor  # [2, E] protein–protein, each pair once
    symmetric: bool  # side effects are undirected (SNAP, user tables with symmetric=true)
    drug_x: torch.Tensor | None  # [num_drugs, F] (dense or sparse COO) or None (one-hot)
    feature_desc: str
    excluded: list[tuple[str, int, str]] = field(default_factory=list)  # (relation, edges, why)
    notes: list[str] = field(default_factory=list)
    source_path: str = ""

    @property
    def num_drugs(self) -> int:
        return len(self.drug_ids)

    @property
    def num_proteins(self) -> int:
        return len(self.protein_ids)

    @property
    def num_relations(self) -> int:
        return len(self.relations)


# ----------------------------------------------------------------------------- features


def morgan_fingerprints(smiles: list[str], radius: int, bits: int, where) -> tuple[torch.Tensor, int]:
    """[N, bits] sparse 0/1 Morgan fingerprints; "" gives a zero row. `where(i)` names the
    source of SMILES i for the error an unparseable one raises. Returns (x, #empty)."""
    from rdkit import Chem, RDLogger
    from rdkit.Chem import rdFingerprintGenerator

    RDLogger.DisableLog("rdApp.*")
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=bits)
    rows, cols, empty = [], [], 0
    for i, s in enumerate(smiles):
        if not s:
            empty += 1
            continue
        mol = Chem.MolFromSmiles(s)
        if mol is None:
            raise InputError(f"{where(i)}: RDKit cannot parse the SMILES {s!r}. Fix or remove it (an empty "
                             "SMILES gives the drug an all-zero fingerprint).")
        on = list(gen.GetFingerprint(mol).GetOnBits())
        rows += [i] * len(on)
        cols += on
    idx = torch.tensor([rows, cols], dtype=torch.long).reshape(2, -1)
    x = torch.sparse_coo_tensor(idx, torch.ones(idx.size(1)), (len(smiles), bits), check_invariants=False).coalesce()
    return x, empty


def feature_operator(x: torch.Tensor | None):
    """Sparse features as `SparseFeatures` (CSR x @ W, embedding bags), dense ones as they are."""
    from plexus.methods.decagon.model import SparseFeatures

    if x is None:
        return None
    return SparseFeatures(x) if x.is_sparse else x


def _drug_features(cfg, smiles: list[str] | None, mono: tuple[torch.Tensor, int] | None, where) -> tuple:
    kind = cfg.features
    if kind == "auto":
        kind = "mono" if mono is not None else "morgan" if smiles is not None else "onehot"
    if kind == "mono":
        if mono is None:
            raise ConfigError("features=mono: only the SNAP decagon dataset has mono side effects; use "
                              "features=morgan (SMILES) or features=onehot.")
        index, n, num_drugs = mono
        x = torch.sparse_coo_tensor(index, torch.ones(index.size(1)), (num_drugs, n), check_invariants=False).coalesce()
        return x, f"drug features: {n:,} mono side effects (multi-hot), as the paper"
    if kind == "morgan":
        if smiles is None:
            raise ConfigError("features=morgan needs SMILES: this dataset has none (a node table with a "
                              "'smiles' column gives them); use features=onehot.")
        x, empty = morgan_fingerprints(smiles, cfg.morgan_radius, cfg.morgan_bits, where)
        return x, (f"drug features: Morgan fingerprints (radius {cfg.morgan_radius}, {cfg.morgan_bits} bits, RDKit) "
                   f"from SMILES ({empty} drugs without SMILES get zeros); the paper used mono side effects, "
                   "which this data does not have")
    return None, "drug features: one-hot (featureless)"


# ----------------------------------------------------------------------------- sources


def load_graph(cfg) -> DecagonGraph:
    if cfg.triples.path:
        return _from_triples(cfg)
    if cfg.dataset == "drugbank-ddi86":
        return _from_ddi86(cfg)
    if cfg.dataset == "decagon":
        return _from_snap(cfg)
    known = ["drugbank-ddi86", "decagon"]
    close = difflib.get_close_matches(cfg.dataset, known, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ConfigError(f"decagon reads dataset drugbank-ddi86 or decagon, or a typed edge table (--input "
                      f"triples=FILE); not {cfg.dataset!r}.{hint}")


def _from_ddi86(cfg) -> DecagonGraph:
    data = load_dataset("drugbank-ddi86", cfg.data_dir)
    edges = {s: (data[f"{s}_edge_index"], data[f"{s}_edge_type"]) for s in SPLITS}
    folder = locate(get_info("drugbank-ddi86"), cfg.data_dir)[1]
    smiles_file = folder / "drug_smiles.csv.gz"
    x, desc = _drug_features(cfg, list(data.smiles), None,
                             lambda i: f"{smiles_file}, drug {data.drug_id[i]}")
    graph = DecagonGraph("drugbank-ddi86", list(data.drug_id), [], [f"type {r + 1}" for r in range(86)],
                         list(data.relation_text), edges, None, torch.empty(2, 0, dtype=torch.long),
                         torch.empty(2, 0, dtype=torch.long), False, x, desc)
    if cfg.proteins != "none":
        _attach_decagon_targets(cfg, graph, list(data.smiles))
    else:
        graph.notes.append("no protein nodes (proteins=none)")
    return graph


def _canonical(smiles: str | None) -> str | None:
    if not smiles:
        return None
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    mol = Chem.MolFromSmiles(smiles)
    return Chem.MolToSmiles(mol) if mol is not None else None


def map_targets(drug_ids: list[str], smiles: list[str], cid_map, stitch: list[str], genes: list[str]):
    """Decagon drug–target edges for DrugBank-keyed drugs: STITCH CID -> DrugBank id through
    the TWOSIDES table, else identical canonical SMILES. Returns (targets [2, E] over the
    returned protein list, proteins, #drugs by id, #drugs by SMILES)."""
    db_index = {d: i for i, d in enumerate(drug_ids)}
    by_smiles: dict[str, int] = {}
    for i, s in enumerate(smiles):
        c = _canonical(s)
        if c is not None:
            by_smiles.setdefault(c, i)
    cid_to_drug: dict[str, int] = {}
    via_id, via_smiles = set(), set()
    for cid, db, smi in zip(cid_map.cid, cid_map.drugbank, cid_map.smiles):
        if db in db_index:
            cid_to_drug[cid] = db_index[db]
            via_id.add(cid)
    for cid, db, smi in zip(cid_map.cid, cid_map.drugbank, cid_map.smiles):
        if cid not in cid_to_drug:
            c = _canonical(smi)
            if c in by_smiles:
                cid_to_drug[cid] = by_smiles[c]
                via_smiles.add(cid)
    pairs = sorted({(cid_to_drug[s], g) for s, g in zip(stitch, genes) if s in cid_to_drug})
    proteins = sorted({g for _, g in pairs}, key=lambda g: (len(g), g))
    p_index = {g: i for i, g in enumerate(proteins)}
    targets = torch.tensor([[d for d, _ in pairs], [p_index[g] for _, g in pairs]], dtype=torch.long).reshape(2, -1)
    drugs_with = {d for d, _ in pairs}
    n_id = len({cid_to_drug[c] for c in via_id} & drugs_with)
    n_smi = len({cid_to_drug[c] for c in via_smiles} & drugs_with)
    return targets, proteins, n_id, n_smi


def _attach_decagon_targets(cfg, graph: DecagonGraph, smiles: list[str]) -> None:
    have = all(locate(get_info(n), cfg.data_dir) for n in ("decagon-targets", "twosides-cid-map"))
    if not have:
        if cfg.proteins == "decagon-targets":
            raise ConfigError("proteins=decagon-targets: the Decagon drug–target file (decagon_partial/) or the "
                              "TWOSIDES drug table (twosides_decagon200_valid/) was not found; `plexus datasets fetch "
                              "decagon-targets` and `... twosides-cid-map` download them, or set proteins=none.")
        graph.notes.append("no protein nodes: the Decagon target files were not found (proteins=auto)")
        return
    stitch, genes = load_dataset("decagon-targets", cfg.data_dir)
    cid_map = load_dataset("twosides-cid-map", cfg.data_dir)
    targets, proteins, n_id, n_smi = map_targets(graph.drug_ids, smiles, cid_map, stitch, genes)
    graph.targets, graph.protein_ids = targets, proteins
    graph.notes.append(
        f"{n_id + n_smi} of {graph.num_drugs} drugs get Decagon targets ({n_id} via the TWOSIDES CID->DrugBank "
        f"table, {n_smi} more via identical canonical SMILES): {targets.size(1):,} drug–protein edges to "
        f"{len(proteins):,} proteins; no protein–protein edges (the PPI file is not in the shared data)")


def _from_snap(cfg) -> DecagonGraph:
    data = load_dataset("decagon", cfg.data_dir)
    ei = data["drug", "interacts", "drug"].edge_index
    et = data["drug", "interacts", "drug"].edge_type
    counts = np.bincount(et.numpy(), minlength=len(data.relation_id))
    mono = (data.mono_index, len(data.mono_id), data["drug"].num_nodes)
    x, desc = _drug_features(cfg, None, mono, lambda i: "")
    graph = DecagonGraph("decagon", list(data["drug"].node_id), list(data["protein"].node_id), [], [], None,
                         None, data["drug", "targets", "protein"].edge_index,
                         undirected_pairs(data["protein", "ppi", "protein"].edge_index), True, x, desc)
    _keep_relations(cfg, graph, ei, et, counts, list(data.relation_id), list(data.relation_text))
    graph.notes.append("SNAP counts found: " + ", ".join(f"{v:,} {k}" for k, v in data.counts.items()))
    return graph


def _keep_relations(cfg, graph: DecagonGraph, ei, et, counts, names, texts) -> None:
    """Keep side effects with at least `min_relation_edges` pairs; exclusions are recorded."""
    floor = max(cfg.min_relation_edges, 10)  # 10: at least one val and one test edge at 80/10/10
    keep = np.flatnonzero(counts >= floor)
    for r in np.flatnonzero(counts < floor):
        graph.excluded.append((names[r], int(counts[r]), f"fewer than {floor} edges"))
    if keep.size == 0:
        raise InputError(f"{graph.source_path or graph.name}: no drug–drug relation has at least {floor} edges "
                         f"(the largest has {int(counts.max()) if counts.size else 0}); nothing to train or "
                         "evaluate. Lower min_relation_edges (10 at least) or add edges.")
    remap = torch.full((len(names),), -1, dtype=torch.long)
    remap[torch.from_numpy(keep)] = torch.arange(keep.size)
    mask = remap[et] >= 0
    graph.all_edges = (ei[:, mask], remap[et[mask]])
    graph.relations = [names[r] for r in keep]
    graph.relation_text = [texts[r] for r in keep]


def _from_triples(cfg) -> DecagonGraph:
    from plexus.graph.triples import read_id_table, read_triples

    tc = cfg.triples
    path = Path(tc.path)
    specials = {cfg.target_relation, cfg.ppi_relation}
    relations = None
    if cfg.relations:
        relations = [*cfg.relations, *sorted(specials)]
    node_types: dict[str, str] = {}
    smiles_by_id: dict[str, str] = {}
    entities = None
    if cfg.node_table:
        ids, cols, table = read_id_table(cfg.node_table, cfg.node_id_col, (cfg.node_type_col, cfg.smiles_col))
        if cfg.node_type_col not in cols:
            raise InputError(f"{cfg.node_table}: no column '{cfg.node_type_col}' (node_type_col) in line 1 (the "
                             f"header); it says whether each id is a drug or a protein.")
        for row, (i, t) in enumerate(zip(ids, cols[cfg.node_type_col])):
            t = (t or "").lower()
            if t not in ("drug", "protein"):
                raise InputError(f"{cfg.node_table}, {table.where(row)}, column '{cfg.node_type_col}': type {t!r} "
                                 f"of node '{i}' is neither 'drug' nor 'protein'.")
            node_types[i] = t
        for i, s in zip(ids, cols.get(cfg.smiles_col, [None] * len(ids))):
            if s:
                smiles_by_id[i] = s
        entities = ids
    tt = read_triples(path, tc.head_col, tc.relation_col, tc.tail_col, relations=relations, entities=entities)
    rel_name = np.array(tt.relations, dtype=object)[tt.relation]
    is_target = rel_name == cfg.target_relation
    is_ppi = rel_name == cfg.ppi_relation
    is_dd = ~(is_target | is_ppi)
    # the type each row implies for its head and tail, checked against the node table or each other
    want_head = np.where(is_ppi, "protein", "drug")
    want_tail = np.where(is_dd, "drug", "protein")
    ent = np.array(tt.entities, dtype=object)
    for ids_idx, want, col in ((tt.head, want_head, tc.head_col), (tt.tail, want_tail, tc.tail_col)):
        if node_types:
            have = np.array([node_types[e] for e in ent[ids_idx]], dtype=object)
            bad = np.flatnonzero(have != want)
            if bad.size:
                k = int(bad[0])
                raise tt.fail(k, f"column '{col}': '{ent[ids_idx[k]]}' is a {have[k]} in {cfg.node_table}, but "
                                 f"relation '{rel_name[k]}' needs a {want[k]} there.")
    inferred: dict[str, tuple[str, int]] = {}
    for k in range(len(tt)):
        for e, want in ((ent[tt.head[k]], want_head[k]), (ent[tt.tail[k]], want_tail[k])):
            prev = inferred.get(e)
            if prev is None:
                inferred[e] = (want, k)
            elif prev[0] != want and not node_types:
                raise tt.fail(k, f"id '{e}' is used as a {want} here but as a {prev[0]} at {tt.where(prev[1])} "
                                 f"(relation '{cfg.target_relation}' links drug -> protein, '{cfg.ppi_relation}' "
                                 "protein–protein, every other relation drug–drug). Give a node table "
                                 "(node_table=FILE with id and type) or fix the id.")
    types = node_types or {e: t for e, (t, _) in inferred.items()}
    drugs = [e for e in (entities or tt.entities) if types.get(e) == "drug"]
    proteins = [e for e in (entities or tt.entities) if types.get(e) == "protein"]
    d_idx = {e: i for i, e in enumerate(drugs)}
    p_idx = {e: i for i, e in enumerate(proteins)}
    heads, tails = ent[tt.head], ent[tt.tail]

    def idx(names, table, rows):
        return torch.tensor([table[n] for n in names[rows]], dtype=torch.long)

    dd_rows = np.flatnonzero(is_dd)
    dd_rel_names = list(dict.fromkeys(rel_name[dd_rows].tolist())) if relations is None else \
        [r for r in cfg.relations]
    rel_of = {r: i for i, r in enumerate(dd_rel_names)}
    ei = torch.stack([idx(heads, d_idx, dd_rows), idx(tails, d_idx, dd_rows)]) if dd_rows.size else \
        torch.empty(2, 0, dtype=torch.long)
    et = torch.tensor([rel_of[r] for r in rel_name[dd_rows]], dtype=torch.long)
    counts = np.bincount(et.numpy(), minlength=len(dd_rel_names))
    t_rows, p_rows = np.flatnonzero(is_target), np.flatnonzero(is_ppi)
    targets = torch.stack([idx(heads, d_idx, t_rows), idx(tails, p_idx, t_rows)]) if t_rows.size else \
        torch.empty(2, 0, dtype=torch.long)
    ppi = torch.stack([idx(heads, p_idx, p_rows), idx(tails, p_idx, p_rows)]) if p_rows.size else \
        torch.empty(2, 0, dtype=torch.long)
    smiles = [smiles_by_id.get(d, "") for d in drugs] if smiles_by_id else None
    node_file = cfg.node_table
    x, desc = _drug_features(cfg, smiles, None, lambda i: f"{node_file}, node '{drugs[i]}'")
    graph = DecagonGraph(path.stem, drugs, proteins, [], [], None, None, targets,
                         undirected_pairs(ppi) if ppi.numel() else ppi, cfg.symmetric, x, desc,
                         source_path=str(path))
    _keep_relations(cfg, graph, ei, et, counts, dd_rel_names, dd_rel_names)
    return graph


# ----------------------------------------------------------------------------- splits


def split_edges(graph: DecagonGraph, val_ratio: float, test_ratio: float, gen: torch.Generator
                ) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """The given split, or per relation: shuffled, `test_ratio`/`val_ratio` of its edges
    held out (at least one each), the rest train. A symmetric relation's pairs are unique
    unordered pairs."""
    if graph.edges is not None:
        return graph.edges
    ei, et = graph.all_edges
    if graph.symmetric:
        key = torch.minimum(ei[0], ei[1]) * graph.num_drugs + torch.maximum(ei[0], ei[1])
        key = torch.unique(et * graph.num_drugs ** 2 + key)
        et = key // graph.num_drugs ** 2
        rest = key % graph.num_drugs ** 2
        ei = torch.stack([rest // graph.num_drugs, rest % graph.num_drugs])
    perm = torch.randperm(et.numel(), generator=gen)
    ei, et = ei[:, perm], et[perm]
    order = torch.argsort(et, stable=True)
    ei, et = ei[:, order], et[order]
    counts = torch.bincount(et, minlength=graph.num_relations)
    start = torch.cumsum(counts, 0) - counts
    rank = torch.arange(et.numel()) - start[et]
    n_test = torch.clamp((counts.double() * test_ratio).floor().long(), min=1)
    n_val = torch.clamp((counts.double() * val_ratio).floor().long(), min=1)
    is_test = rank < n_test[et]
    is_val = ~is_test & (rank < (n_test + n_val)[et])
    is_train = ~(is_test | is_val)
    return {s: (ei[:, m], et[m]) for s, m in (("train", is_train), ("val", is_val), ("test", is_test))}
