"""GAE and VGAE (Kipf & Welling, "Variational Graph Auto-Encoders", 2016).

    algorithm.py  the model, the weighted full-adjacency loss and the link-prediction protocol
    bench.py      `plexus bench vgae`: Table 1 of the paper beside ours
"""

from plexus.methods.spec import MethodSpec, lazy_attributes

_PAPER, _TASK, _BENCH = "Kipf & Welling 2016", "link prediction", "plexus.methods.gae.bench:bench"

METHODS = [
    MethodSpec("gae", "plexus.methods.gae.algorithm", _PAPER, _TASK, ("nodes", "edges"), _BENCH,
               config_defaults={"variational": False}),
    MethodSpec("vgae", "plexus.methods.gae.algorithm", _PAPER, _TASK, ("nodes", "edges"), _BENCH,
               config_defaults={"variational": True}),
]

__getattr__ = lazy_attributes({"Config": "plexus.methods.gae.algorithm", "run": "plexus.methods.gae.algorithm",
                               "bench": "plexus.methods.gae.bench"})
