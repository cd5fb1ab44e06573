"""Node classification with a GNN or MLP on fixed features (TF-IDF, frozen LM embeddings, raw):
the baselines of GLEM's table and the GNN that GLEM's M-step trains.

    algorithm.py  config, node splits, full- or mini-batch training, the `gnn` run
"""

from plexus.methods.spec import MethodSpec, lazy_attributes

METHODS = [
    MethodSpec("gnn", "plexus.methods.gnn.algorithm", "Kipf & Welling 2017 (GCN) et al.",
               "node classification (GNN/MLP on fixed features)", ("nodes", "edges"),
               "plexus.methods.glem.bench:bench"),
]

__getattr__ = lazy_attributes({"Config": "plexus.methods.gnn.algorithm", "run": "plexus.methods.gnn.algorithm",
                               "bench": "plexus.methods.glem.bench"})
