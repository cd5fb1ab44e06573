"""Decagon (Zitnik, Agrawal & Leskovec, "Modeling polypharmacy side effects with graph
convolutional networks", Bioinformatics 2018): multi-relational link prediction over drugs
and proteins, one drug–drug relation per side effect.

    algorithm.py   the paper's method top to bottom: Config, model assembly, loss, training, run
    data.py        the multimodal graph: drugbank-ddi86 (+ Decagon targets), SNAP decagon, typed edge tables
    model.py       relation-typed graph convolution encoder (Decagon / R-GCN), feature MLP, free embeddings
    decoders.py    DEDICOM, DistMult, RESCAL, ComplEx, inner product, concatenation MLP; bilinear
    negatives.py   degree^0.75 training negatives; fixed evaluation negatives per seed
    evaluation.py  per-relation AUROC / AUPRC / AP@50, mean and median, CSV and plot
    bench.py       `plexus bench decagon`: Decagon beside RESCAL, DistMult, ComplEx, fingerprint MLP, R-GCN
"""

from plexus.methods.spec import MethodSpec, lazy_attributes

METHODS = [
    MethodSpec("decagon", "plexus.methods.decagon.algorithm", paper="Zitnik, Agrawal & Leskovec, Bioinformatics 2018",
               task="multi-relational link prediction (polypharmacy side effects)", inputs=("triples",),
               bench="plexus.methods.decagon.bench:bench"),
]

__getattr__ = lazy_attributes({"Config": "plexus.methods.decagon.algorithm", "run": "plexus.methods.decagon.algorithm",
                               "bench": "plexus.methods.decagon.bench"})
