"""Collaborative-filtering recommenders on user-item interactions: LightGCN, MF-BPR and the
most-popular baseline, and what they share.

    data.py        RecConfig, the interactions and their split (validation always present)
    bpr.py         BPR loss, triple sampler and the training run of the two BPR models
    lightgcn.py    LightGCN (He et al., SIGIR 2020): propagation and the model
    mf.py          MF-BPR (Rendle et al., UAI 2009)
    popularity.py  most popular items, no training
    evaluation.py  full-ranking metrics with seen items masked
    export.py      the files `plexus recommend / similar / serve` read
    bench.py       `plexus bench lightgcn`: the three side by side at equal budget
"""

from plexus.methods.spec import MethodSpec

_TASK = "recommendation (collaborative filtering)"
_BENCH = "plexus.methods.recommenders.bench:bench"
_INPUTS = ("interactions", "item_text")

METHODS = [
    MethodSpec("lightgcn", "plexus.methods.recommenders.lightgcn", "He et al., SIGIR 2020", _TASK, _INPUTS, _BENCH),
    MethodSpec("mf", "plexus.methods.recommenders.mf", "Rendle et al., UAI 2009 (BPR)", _TASK, _INPUTS, _BENCH),
    MethodSpec("pop", "plexus.methods.recommenders.popularity", "most-popular baseline", _TASK, _INPUTS, _BENCH),
]
