"""Every named dataset Plexus knows: registered on import (see `registry.py`).

Each entry says which folder and files a dataset needs, which loader reads them, where the
files come from and under which terms. Download sources pin the repository commit the
shared data README names; checksums are those of the upstream bytes, computed from the
checked copies in `shared/datasets` (byte-identical to upstream after gunzip). Only data
whose licence allows redistribution is bundled in the package (`bundled/`); MovieLens,
DrugBank and the LightGCN sets are read from a data directory or fetched by the user, as is
ogbn-arxiv, which is too large to bundle and has no shared copy (so no pinned checksums).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from torch_geometric.data import HeteroData

from plexus.datasets import (
    citeseer_tag,
    ddi,
    decagon,
    fewrel,
    interactions,
    knowledge_graphs as kg,
    molecules,
    movielens,
    ogbn_arxiv,
    planetoid,
)
from plexus.datasets.fetch import source
from plexus.datasets.registry import DatasetInfo, register_dataset

GITHUB = "https://raw.githubusercontent.com"


def _sources(base: str, files: dict[str, tuple[str, str | None]]) -> dict[str, str]:
    """`{target: (upstream name under base, sha256)}` -> `fetch_urls`."""
    return {target: source(f"{base}/{name}", sha256=sha) for target, (name, sha) in files.items()}


# --- Planetoid -------------------------------------------------------------------------

TKIPF = f"{GITHUB}/tkipf/gcn/39a4089fe72ad9f055ed6fdb9746abdcfebc4d81/gcn/data"
PLANETOID_SHA256 = planetoid.SHA256  # one table: the loader verifies the pickles against it
PLANETOID_SOURCE = (
    "Yang, Cohen & Salakhutdinov, ICML 2016 (Planetoid split); Sen et al., AI Magazine 2008 "
    "(LINQS data); files from github.com/tkipf/gcn @ 39a4089"
)

for _name, _loader, _size, _desc in (
    ("cora", planetoid.load_cora,
     "2,708 papers, 5,278 undirected citations, 1,433 BoW features, 7 classes",
     "Cora citation graph with the standard Planetoid split (140 train / 500 val / 1000 test)."),
    ("citeseer", planetoid.load_citeseer,
     "3,327 papers, 4,552 undirected citations, 3,703 BoW features, 6 classes",
     "CiteSeer citation graph with the standard Planetoid split (120 / 500 / 1000); 15 "
     "isolated test-range nodes have all-zero features, as in GCN."),
):
    _files = planetoid.planetoid_files(_name)
    register_dataset(DatasetInfo(
        name=_name,
        task="node classification / link prediction",
        dirname="planetoid",
        files=_files,
        loader=_loader,
        size=_size,
        source=PLANETOID_SOURCE,
        licence="MIT (tkipf/gcn repository); LINQS data freely available for research",
        bundled=True,
        description=_desc + " Returns Data(x, edge_index, y, train_mask, val_mask, test_mask).",
        fetch_urls=_sources(TKIPF, {f: (f, PLANETOID_SHA256[f]) for f in _files}),
    ))


# --- CiteSeer text-attributed graph ----------------------------------------------------

register_dataset(DatasetInfo(
    name="citeseer-tag",
    task="node classification on a text-attributed graph",
    dirname="citeseer_tag",
    files=citeseer_tag.FILES,
    loader=citeseer_tag.load_citeseer_tag,
    size="3,186 papers with title + abstract, 4,225 undirected citations, 6 classes",
    source="He et al., TAPE, ICLR 2024 (CiteSeer-Orig); Giles et al. 1998; "
           "github.com/XiaoxinHe/TAPE @ 331e616",
    licence="MIT (XiaoxinHe/TAPE repository)",
    bundled=True,
    description="CiteSeer papers with raw text and label; citations restricted to papers "
                "with text (335 of 4,732 lines dropped) and made undirected. No fixed split. "
                "Returns Data(text, y, node_id, label_names, edge_index).",
    fetch_urls=_sources(
        f"{GITHUB}/XiaoxinHe/TAPE/331e61664be928847af439b27de661eb8f182205/dataset/CiteSeer-Orig",
        {
            "citeseer_texts.txt.gz": (
                "citeseer_texts.txt",
                "9070723640766aaa09875ce72397a4325feecac968ed9fb44152820b651f1f17"),
            "citeseer.cites.gz": (
                "citeseer.cites",
                "cd9730630eaaa745058c2cd2cce6b9afb79ca71278a479aebec55f4cf5eb7f30"),
        },
    ),
))


OGB = "https://snap.stanford.edu/ogb/data"
# No sha256 pinned: neither file could be downloaded from the machine this entry was written
# on (no internet there). The loader's count checks still catch truncated or other releases.
register_dataset(DatasetInfo(
    name="ogbn-arxiv",
    task="node classification on a text-attributed graph",
    dirname="ogbn_arxiv",
    files=ogbn_arxiv.FILES,
    loader=ogbn_arxiv.load_ogbn_arxiv,
    size="169,343 papers with title + abstract, 1,166,243 directed citations, 40 classes",
    source="Hu et al., OGB, NeurIPS 2020 (ogbn-arxiv, from the Microsoft Academic Graph); "
           "titles and abstracts from OGB's titleabs.tsv as used by GLEM (Zhao et al., ICLR "
           "2023) and TAPE (He et al., ICLR 2024)",
    licence="ODC-BY (OGB)",
    description="arXiv CS papers labelled with their subject area; citations made undirected; "
                "OGB's time split (train up to 2017 / val 2018 / test 2019: 90,941 / 29,799 / "
                "48,603). Too large to bundle: fetched from OGB (checksums not pinned). Returns "
                "Data(edge_index, y, text, node_id, train_mask, val_mask, test_mask).",
    fetch_urls={
        **{name: source(f"{OGB}/nodeproppred/arxiv.zip", member=f"arxiv/{name}")
           for name in ogbn_arxiv.OGB_FILES},
        ogbn_arxiv.TEXTS: source(f"{OGB}/misc/ogbn_arxiv/titleabs.tsv.gz"),
    },
))

# --- Knowledge graphs ------------------------------------------------------------------

KGBERT = f"{GITHUB}/yao8839836/kg-bert/0b8f625108efcb9b43603b6840f2548ff3d3c973/data"
KG_RETURNS = ("Returns Data(num_nodes, entity_id, text, relation_id, relation_text, "
              "{train,val,test}_edge_index/_edge_type, edge_index/edge_type = train).")


def _kgbert(folder: str, sha256: dict[str, str]) -> dict[str, str]:
    """KG-BERT's plain files (`dev.tsv` ...) fetched into their gzipped names here."""
    return _sources(f"{KGBERT}/{folder}",
                    {f"{name}.gz": (name, sha) for name, sha in sha256.items()})


register_dataset(DatasetInfo(
    name="wn18rr",
    task="link prediction on a knowledge graph with entity text",
    dirname="wn18rr_text",
    files=kg.TSV_FILES,
    loader=kg.load_wn18rr,
    size="40,943 entities, 11 relations, 86,835 / 3,034 / 3,134 triples",
    source="Dettmers et al., AAAI 2018 (WN18RR); Yao et al., KG-BERT 2019 (texts); "
           "github.com/yao8839836/kg-bert @ 0b8f625",
    licence="Apache-2.0 (kg-bert repository); WordNet licence (Princeton) for the glosses",
    description="WordNet relations; entity text is 'lemma, gloss'. " + KG_RETURNS,
    fetch_urls=_kgbert("WN18RR", {
        "train.tsv": "038612e783c215ee5f3ca9fbfca27b8d0739be1028fe4ee7c174aecf0b83d5df",
        "dev.tsv": "453ce7202afa58094a04d2b1560ee2b02660f1c260b32ce6651c8ccedd1028ab",
        "test.tsv": "0383bceaaa1096cf3c03ec021ed0048068e2355dbfc0239b292cefdac821cec5",
        "entities.txt": "178f3020f4a4dd7a2b51a93d8f4e95b38f7b431b0eadb5d317a2ce2f0b3097f0",
        "relations.txt": "53e8790103375e198e418ba55fc52118789dab8ffe55a848a150dfb630cbd3ad",
        "entity2text.txt": "8f5c6f11753dafa879917b9bdf73d398ceb3bd4bed8d5553177e1e0f2c37521f",
        "relation2text.txt": "91b1de5585d686ed31498d50f1c4eed44ba9486dffbbcc0c28927ac884184918",
    }),
))

register_dataset(DatasetInfo(
    name="umls",
    task="link prediction on a knowledge graph with entity text",
    dirname="umls_text",
    files=kg.UMLS_FILES,
    loader=kg.load_umls,
    size="135 entities, 46 relations, 5,216 / 652 / 661 triples",
    source="Kok & Domingos, ICML 2007 (UMLS); Yao et al., KG-BERT 2019 (texts); "
           "github.com/yao8839836/kg-bert @ 0b8f625",
    licence="Apache-2.0 (kg-bert repository)",
    bundled=True,
    description="Small biomedical KG for fast tests; entity text is 'name, long "
                "description'. " + KG_RETURNS,
    fetch_urls=_kgbert("umls", {
        "train.tsv": "873ef4925516b83e7f6f8cc02b4be51d848828710a7f65a956f0ac4a9e452f35",
        "dev.tsv": "025c98f8a4891e2a6582ec5b40ee0d904031edad9c52554522f4b7904820c98e",
        "test.tsv": "a7eb529a3d2810fcc96341ccc97c625a5e202f8389673aa6bd317eeebbb79014",
        "entities.txt": "c3090e4df683379d0fb47fe229859b5bfddb8d0e7802f8b3c506bb2290c5ff39",
        "relations.txt": "aa4a63754c991824210568dc83e8e4a74d7c0ee0ff6af2c5605fde84e55d82f9",
        "entity2text.txt": "c6438aafd894917cefe73ea75fc20743d18f4226ebc85a2f43758ff3f77330b9",
        "entity2textlong.txt": "cb4eccdebf5bfc73adc2db0fc582d215256aa11d789d3a16a6c0649f338f5fe3",
        "relation2text.txt": "f5c5eddf696c52fc3c435ac031a4a0b06e00cc09116613db6a835d02d610123c",
    }),
))

OPENKE = f"{GITHUB}/thunlp/OpenKE/64c4ec8157abfc39112772e9825a349091da45f1/benchmarks/FB15K237"
OFA = f"{GITHUB}/LechengKong/OneForAll/351c0af1ec0e825567d25ea08b75bc1010faef2a/data/KG/FB15K237"
register_dataset(DatasetInfo(
    name="fb15k237",
    task="link prediction on a knowledge graph with entity text",
    dirname="fb15k237_text",
    files=kg.FB_FILES,
    loader=kg.load_fb15k237,
    size="14,541 entities, 237 relations, 272,115 / 17,535 / 20,466 triples",
    source="Toutanova & Chen, CVSC 2015 (FB15k-237); triples from github.com/thunlp/OpenKE "
           "@ 64c4ec8, names from yao8839836/kg-bert @ 0b8f625, Wikidata descriptions from "
           "LechengKong/OneForAll @ 351c0af",
    licence="Freebase data CC-BY, Wikidata descriptions CC0; kg-bert Apache-2.0, OneForAll "
            "MIT, OpenKE without a licence file",
    description="Freebase relations in OpenKE's id order; entity text is 'name, Wikidata "
                "description' (875 entities have no description and use the name). " + KG_RETURNS,
    fetch_urls={
        **_sources(OPENKE, {
            "openke_train2id.txt.gz": (
                "train2id.txt", "5f44223a02b39b8e398e77a787feb4f06e9ffccf1ae87047bbf38fcc8cc08bd2"),
            "openke_valid2id.txt.gz": (
                "valid2id.txt", "7d21e778de4369d5348f5cff23a08dc847ab5fce4b5f07c80113297d2dc60a86"),
            "openke_test2id.txt.gz": (
                "test2id.txt", "6027e649c1716ac9c1ef2f24672a416aa277aff3e14850ef915ac5a21df70417"),
            "openke_entity2id.txt.gz": (
                "entity2id.txt", "e4546cfdcd0b9bd0151cc0f6ef2edee29eb2bb55a3d47e668194999c036fba0d"),
            "openke_relation2id.txt.gz": (
                "relation2id.txt", "fefd26d6cd5ff9d360efe5360c11bf112d019f42b3acf165a5c04aa2b66a42d9"),
        }),
        **_kgbert("FB15k-237", {
            "entity2text.txt": "16beedcfad3d32696e8b0b98cfa0f5eeb144f5142225f227a64fd9ce37447da5",
            "relation2text.txt": "4bf7cb6ea0ac09b17ad210889f723be5e079669f6ae5d507787e1320bbaa0f72",
        }),
        **_sources(OFA, {
            "entity2wikidata.json.gz": (
                "entity2wikidata.json",
                "80e74bb002fb9ca0ecd3d63879a3a51121db855d312a101917a1ffb6aed2fea9"),
        }),
    },
))


# --- Recommendation --------------------------------------------------------------------

REC_RETURNS = ("Returns HeteroData: user/item num_nodes; ('user','interacts','item') "
               "edge_index = train, {val,test}_edge_index held out.")
ML100K_ZIP = "https://files.grouplens.org/datasets/movielens/ml-100k.zip"
ML100K_SHA256 = {
    "u.item": "6dd287831559152bea892eb27694a492ff14926ac5f7a16e5f8c4968e6fe13c3",
    "u.genre": "9757e0d3e6b298159a80dd48eaf938114690e911e39af97a76949ef1663610bb",
    "u.user": "f120e114da2e8cf314fd28f99417c94ae9ddf1cb6db8ce0e4b5995d40e90e62c",
    "ua.base": "67b5bcdb380c29f85d56a012ecd88612ae020f30a6730d117a334ee8203b91f2",
    "ua.test": "d0497e202417720f57a184ec8c66be2d1afa4ff41bb53787c57b28d6bf79bc42",
    "ub.base": "237254d253b6ad7de84f919d041055428646254f34ed8f562703c899430cd881",
    "ub.test": "d54a72d05730d5892062734b2bec73e976f9b713d18c828a18b968d6cce442da",
}
register_dataset(DatasetInfo(
    name="movielens-100k",
    task="recommendation (explicit ratings as implicit feedback) with item text",
    dirname="movielens-100k",
    files=movielens.FILES,
    loader=movielens.load_movielens_100k,
    size="943 users, 1,682 movies, 90,570 train / 9,430 test ratings (ua split)",
    source="Harper & Konstan, ACM TiiS 2015; GroupLens ml-100k release",
    licence="GroupLens research terms: no redistribution without permission, no commercial "
            "use (not bundled)",
    description="MovieLens 100K with the release's ua split (10 test ratings per user, no "
                "validation); ratings/timestamps kept as edge_rating/edge_time (and test_...), "
                "item text 'Title (year) | genres', user age/gender/occupation. " + REC_RETURNS,
    fetch_urls={f"{name}.gz": source(ML100K_ZIP, member=f"ml-100k/{name}", sha256=sha)
                for name, sha in ML100K_SHA256.items()},
))

LIGHTGCN = f"{GITHUB}/kuandeng/LightGCN/b067ec05f16a24e0e1efe63cd82385f0c469af20/Data"
LIGHTGCNPP = f"{GITHUB}/geon0325/LightGCNpp/a394f79a7aceb8f485f6bcb549b4865fe83f1d49/data"
LIGHTGCN_LICENCE = "no licence file in the source repositories; upstream terms: "


def _lightgcn_info(name: str, loader: Callable[[Path], HeteroData], upstream: str, size: str,
                   source_: str, licence: str, description: str,
                   sha256: dict[str, str | None]) -> DatasetInfo:
    spec = interactions.LIGHTGCN_SETS[name]
    return DatasetInfo(
        name=name,
        task="recommendation (implicit feedback, collaborative filtering)",
        dirname=f"lightgcn/{name}",
        files=tuple(spec.files.values()),
        loader=loader,
        size=size,
        source=source_,
        licence=LIGHTGCN_LICENCE + licence,
        description=description + " " + REC_RETURNS,
        fetch_urls=_sources(upstream, {f"{f}.gz": (f, sha) for f, sha in sha256.items()}),
    )


register_dataset(_lightgcn_info(
    "gowalla", interactions.load_gowalla, f"{LIGHTGCN}/gowalla",
    "29,858 users, 40,981 items, 810,128 train / 217,242 test interactions",
    "He et al., LightGCN, SIGIR 2020; Wang et al., NGCF, SIGIR 2019 (split); "
    "github.com/kuandeng/LightGCN @ b067ec0",
    "SNAP loc-gowalla",
    "Gowalla check-ins, the standard LightGCN split (no validation split). The shared copy's "
    "train.txt was rebuilt from LightGCN-PyTorch's training adjacency (same pairs, items "
    "sorted per user), so its bytes differ from upstream and carry no checksum here.",
    {"train.txt": None,
     "test.txt": "099a2a73924e4b754dc6efd730d764f492321b53c38eb93298850c83acf57be3"},
))
register_dataset(_lightgcn_info(
    "ml-1m", interactions.load_ml_1m, f"{LIGHTGCNPP}/ml-1m",
    "6,039 users, 3,628 items, 590,733 / 80,897 / 164,848 interactions",
    "Lee et al., LightGCN++, RecSys 2024 (preprocessing and split); Harper & Konstan 2015 "
    "(MovieLens-1M); github.com/geon0325/LightGCNpp @ a394f79",
    "MovieLens-1M under GroupLens terms (no redistribution without permission)",
    "Implicit MovieLens-1M as prepared by LightGCN++ (not comparable with other ML-1M "
    "preprocessings); 45 items occur only in validation/test.",
    {"train.txt": "dfa3a7a866feade29ca5722ac0423c1b0317ac1f6ad38a55fc1a7ceeb9cee3bb",
     "valid.txt": "429fe0d750b304677898d7eeb1080764bbf06550b94c9508b8cc8cd0573e3dfc",
     "test.txt": "0d58f78bbf606f401aec2efe3f519b945c458c8398955f986e03b880fbbd16a6"},
))
register_dataset(_lightgcn_info(
    "lastfm", interactions.load_lastfm, f"{LIGHTGCNPP}/lastfm",
    "1,885 users, 17,388 items, 64,315 / 9,143 / 18,321 interactions",
    "Lee et al., LightGCN++, RecSys 2024 (preprocessing and split); HetRec 2011 Last.fm; "
    "github.com/geon0325/LightGCNpp @ a394f79",
    "HetRec 2011 Last.fm (research use)",
    "Last.fm user-artist listening as prepared by LightGCN++; 3,415 items occur only in "
    "validation/test.",
    {"train.txt": "1845769cb1a9834692d3cf884de523d23aa126fa6b58eb5f49e9628e8c317705",
     "valid.txt": "9ae3440becfcbba19d5a5a8298b7933126f89424a468de5765bf1c6f08a9e3eb",
     "test.txt": "0f0a15e3de2f868554ee1e32190c51db3e0ad0c4138e1428c66ba6de86102755"},
))


# --- Drug–drug interactions ------------------------------------------------------------

SUMGNN = f"{GITHUB}/yueyu1030/SumGNN/6331f16e19d68536d9c2dae7ae7f518fb8e881ae/data/drugbank"
SSIDDI = f"{GITHUB}/kanz76/SSI-DDI/23e958f65f59f689edea8d68a38f944c6d18dc96/data"
register_dataset(DatasetInfo(
    name="drugbank-ddi86",
    task="multi-relational link prediction (drug–drug interactions)",
    dirname="drugbank_ddi86",
    files=ddi.FILES,
    loader=ddi.load_drugbank_ddi,
    size="1,710 drugs, 86 interaction types, 134,641 / 19,224 / 38,419 interactions",
    source="Ryu et al., DeepDDI, PNAS 2018 (from DrugBank); Yu et al., SumGNN, Bioinformatics "
           "2021 (split, github.com/yueyu1030/SumGNN @ 6331f16); Nyamabo et al., SSI-DDI 2021 "
           "(SMILES and type texts, github.com/kanz76/SSI-DDI @ 23e958f)",
    licence="DrugBank terms, CC BY-NC 4.0 (non-commercial; not bundled); no licence file in "
            "SumGNN or SSI-DDI",
    description="Directed typed interactions between DrugBank drugs, one relation per type; "
                "SMILES for 1,704 drugs ('' for 6). Returns Data(num_nodes, drug_id, smiles, "
                "relation_text, {train,val,test}_edge_index/_edge_type, edge_index/edge_type "
                "= train).",
    fetch_urls={
        **_sources(SUMGNN, {
            "train.txt.gz": (
                "train.txt", "03f8914ee1ea96ad7af87802937b6e65458698c149ec0b2bdc5bd4ee2d6295c1"),
            "dev.txt.gz": (
                "dev.txt", "c1d8abeddf437ab925a7cb4a3399da53e2098270f56178104469665c704432a9"),
            "test.txt.gz": (
                "test.txt", "cdac65c3a32f821f4f29fea24937e76cf12c1eda99e50c690a82548cf2b1a4d7"),
            "node2id.json.gz": (
                "node2id.json", "453f7db90ae87b7ddbd31c94f8d40820d9e0242a0093d27d8898c224adca4208"),
        }),
        **_sources(SSIDDI, {
            "drug_smiles.csv.gz": (
                "drug_smiles.csv",
                "85e5e33ec5a49ceb1bf097ccb50129e4808fd9574dbd8626e70ea7e47d009fd3"),
            "Interaction_information.csv.gz": (
                "Interaction_information.csv",
                "b2257cc4a528a1d270ba7288067524ac37dc691ee7f5fb5b1a2f86558825d6d9"),
        }),
    },
))


SNAP_DECAGON = "https://snap.stanford.edu/decagon"
# No sha256 pinned: the SNAP archives could not be downloaded where this entry was written
# (no internet; the shared folder holds only the targets file, with an edited header).
register_dataset(DatasetInfo(
    name="decagon",
    task="multi-relational link prediction (polypharmacy side effects)",
    dirname="decagon",
    files=decagon.FILES,
    loader=decagon.load_snap_decagon,
    size="645 drugs, 19,081 proteins, 1,317 side effects, 4,649,441 drug–drug–side-effect rows, "
         "715,612 PPI, 18,690 drug–target edges (SNAP's counts; not verified here)",
    source="Zitnik, Agrawal & Leskovec, Bioinformatics 2018 (Decagon); SNAP BioData "
           "(snap.stanford.edu/decagon), from TWOSIDES/OFFSIDES/SIDER, BioGRID/STRING, STITCH",
    licence="SNAP BioData terms (research use; cite the paper)",
    description="Drug–drug combinations with polypharmacy side effects, protein–protein and "
                "drug–target edges, single-drug side effects. Returns HeteroData (drug, protein; "
                "('drug','interacts','drug') edge_index/edge_type, ppi, targets, mono_index).",
    fetch_urls={name: source(f"{SNAP_DECAGON}/{name[:-len('.csv.gz')]}.tar.gz", member=name[:-3])
                for name in decagon.FILES},
))
register_dataset(DatasetInfo(
    name="decagon-targets",
    task="drug–target edges (side information for drug–drug models)",
    dirname="decagon_partial",
    files=decagon.TARGETS_ONLY_FILES,
    loader=decagon.load_decagon_targets,
    size="18,690 drug–protein pairs, 284 STITCH drugs, 3,648 genes",
    source="Zitnik, Agrawal & Leskovec, Bioinformatics 2018; SNAP BioData (shared copy from "
           "github.com/HuaYy1/DecagonGraph @ 25a5045, header restored)",
    licence="MIT (HuaYy1/DecagonGraph, from mims-harvard/decagon); SNAP BioData terms",
    description="Decagon's drug–target file alone. Returns (STITCH ids, Entrez gene ids).",
    fetch_urls={decagon.TARGETS_ONLY_FILES[0]: source(f"{SNAP_DECAGON}/bio-decagon-targets.tar.gz",
                                                      member="bio-decagon-targets.csv")},
))
KNOWDDI = f"{GITHUB}/LARS-research/KnowDDI/bcd04dfcec750bd2acc30b42685e64550b050c69/raw_data/BioSNAP"
register_dataset(DatasetInfo(
    name="twosides-cid-map",
    task="drug id mapping (STITCH CID -> DrugBank id, SMILES)",
    dirname="twosides_decagon200_valid",
    files=decagon.CID_MAP_FILES,
    loader=decagon.load_cid_map,
    size="604 Decagon/TWOSIDES drugs (335 with a DrugBank id)",
    source="Yu et al., SumGNN 2021; Wang et al., KnowDDI 2024 (github.com/LARS-research/KnowDDI @ bcd04df)",
    licence="no licence file in SumGNN or KnowDDI",
    description="id2drug.json of the TWOSIDES-200 preprocessing. Returns CidMap(cid, drugbank, smiles).",
    fetch_urls={"id2drug.json.gz": source(f"{KNOWDDI}/id2drug.json")},
))


# --- FewRel (entity-linked sentences for few-shot relation classification) -------------

FEWREL = f"{GITHUB}/thunlp/FewRel/278a2315d2138810a379cd8d5718914dc56e2582/data"
register_dataset(DatasetInfo(
    name="fewrel",
    task="few-shot relation classification (entity-linked sentences)",
    dirname="fewrel",
    files=fewrel.FILES,
    loader=fewrel.load_fewrel,
    size="FewRel 1.0 val_wiki: 16 Wikidata relations x 700 sentences, 15,611 Wikidata entities",
    source="Han et al., EMNLP 2018 (FewRel); github.com/thunlp/FewRel @ 278a231",
    licence="MIT (thunlp/FewRel repository); FewRel data CC BY-SA 4.0 per the FewRel website",
    description="Sentences with Wikidata-linked head/tail mentions (word positions checked against "
                "the mention text) and pid2name relation names. Only val_wiki (train_wiki is not "
                "available here). Returns FewRel(relations, names, descriptions, instances), not a graph.",
    fetch_urls=_sources(FEWREL, {
        "val_wiki.json.gz": ("val_wiki.json", "76bb44c2485b6faed358a3ce040eadafcc8a8835245cd7e6afc1bef672d4a0bf"),
        "pid2name.json.gz": ("pid2name.json", "eeedd25512a8e4c2bc06b78009836d27de81807bcba6ed929debd5cd713c07ea"),
    }),
))


# --- Molecules -------------------------------------------------------------------------

JTVAE = f"{GITHUB}/vjspranav/temp_jt_vae/454d0cb38f23aa9f68b70e0795d44586c398879c/model/data/zinc"
register_dataset(DatasetInfo(
    name="zinc250k-subset",
    task="molecule generation / property optimisation",
    dirname="zinc250k_subset",
    files=molecules.FILES,
    loader=molecules.load_zinc250k_subset,
    size="29,445 ZINC250k SMILES (24,445 valid + 5,000 test) and 800 optimisation starts",
    source="Irwin et al., ZINC 2012; Jin et al., JT-VAE, ICML 2018 (split and opt set; copy "
           "at github.com/vjspranav/temp_jt_vae @ 454d0cb); You et al., GCPN, NeurIPS 2018",
    licence="MIT (JT-VAE, wengong-jin/icml18-jtnn)",
    bundled=True,
    description="Not the full ZINC250k: JT-VAE's valid/test SMILES plus the 800 lowest "
                "penalised-logP test molecules. Returns SmilesDataset(splits, opt_test), not "
                "a PyG graph.",
    fetch_urls=_sources(JTVAE, {
        "zinc250k_jtvae_valid.txt.gz": (
            "valid.txt", "9007d27b68426b9b826946895fdaacca6094e4e1e1f4bc014ed476e6dac39f19"),
        "zinc250k_jtvae_test.txt.gz": (
            "test.txt", "9da34c7d12972fbd95fa4fef5a60084a852fff8e0bc075f9486b9c82901bbb45"),
        "opt.test.logP-SA.gz": (
            "opt.test.logP-SA", "fa842646b98fbfeedb494f0b8f05ffe73412d087e61b456fd631ac7bf9c56a62"),
    }),
))
