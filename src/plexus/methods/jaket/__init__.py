"""JAKET (Yu, Zhu, Yang, Zeng, "JAKET: Joint Pre-training of Knowledge Graph and Language
Understanding", AAAI 2022, arXiv 2010.00796) — the first public implementation.

    algorithm.py  pretraining: Config, run (the four tasks, entity context memory, checkpoints)
    model.py      JaketModel (LM1 / fusion / LM2, knowledge module, heads), load_pretrained, from_base_lm
    knowledge.py  relational GAT knowledge module, KGBatch, random-walk neighbourhood sampling
    fusion.py     Z_merge = LayerNorm(Z + E^KM inside mention spans)
    corpus.py     KG text corpus: descriptions with mention spans, entity categories, relation texts
    tasks.py      the four pretraining losses
"""

from plexus.methods.spec import MethodSpec, lazy_attributes

_PAPER = "Yu et al., AAAI 2022 (arXiv 2010.00796)"

METHODS = [
    MethodSpec("jaket", "plexus.methods.jaket.algorithm", _PAPER,
               "joint KG + LM pretraining (entity category, relation, masked token, masked entity)",
               bench="plexus.methods.jaket.bench:bench"),
    # downstream methods (jaket-down adds its entries below)
    MethodSpec("jaket-fewrel", "plexus.methods.jaket.downstream.fewrel", _PAPER,
               "few-shot relation classification (FewRel 1.0, N-way K-shot episodes) from a JAKET run"),
    MethodSpec("jaket-entity", "plexus.methods.jaket.downstream.entity_classification", _PAPER,
               "entity classification on an unseen KG (LM1 + KM, memory recomputed)"),
    MethodSpec("jaket-link", "plexus.methods.jaket.downstream.link_prediction", _PAPER,
               "link prediction on an unseen KG (LM1 + KM, filtered MRR / Hits@K)"),
]

__getattr__ = lazy_attributes({"Config": "plexus.methods.jaket.algorithm", "run": "plexus.methods.jaket.algorithm"})
