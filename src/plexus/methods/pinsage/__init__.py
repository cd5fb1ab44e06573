"""PinSage (Ying et al., "Graph Convolutional Neural Networks for Web-Scale Recommender
Systems", KDD 2018).

    algorithm.py  the paper's training: neighbourhoods, convolutions, max-margin loss, curriculum
    pairs.py      positive pairs: consecutive interactions in a time window, or co-engagement
    batches.py    DataLoader batches with shared and PPR hard negatives
    evaluation.py item-to-item and user-level evaluation on the same queries
    inductive.py  embedding items the run never saw (`plexus embed RUN --new-items`)
    bench.py      `plexus bench pinsage`: PinSage vs Annot., Pixie-style walks, LightGCN
"""

from plexus.methods.spec import MethodSpec, lazy_attributes

METHODS = [
    MethodSpec("pinsage", "plexus.methods.pinsage.algorithm", "Ying et al., KDD 2018",
               "recommendation (item-to-item retrieval)", ("interactions", "item_text"),
               "plexus.methods.pinsage.bench:bench"),
]

__getattr__ = lazy_attributes({"Config": "plexus.methods.pinsage.algorithm", "run": "plexus.methods.pinsage.algorithm",
                               "bench": "plexus.methods.pinsage.bench"})
