"""GCPN: Graph Convolutional Policy Network for goal-directed molecule generation
(You, Liu, Ying, Pande, Leskovec, NeurIPS 2018).

Read `algorithm.py` first (Config and run, the paper's algorithm top to bottom); the
environment, properties and filters are in `plexus.chem`. This file stays light: torch and
RDKit load only when `Config`, `run` or `bench` is used.
"""

from plexus.methods.spec import MethodSpec

METHODS = [MethodSpec("gcpn", "plexus.methods.gcpn.algorithm", paper="You et al., NeurIPS 2018",
                      task="goal-directed molecule generation (RL)", inputs=("molecules",),
                      bench="plexus.methods.gcpn.bench:bench")]


def __getattr__(name):
    if name in ("Config", "run"):
        from plexus.methods.gcpn import algorithm

        return getattr(algorithm, name)
    if name == "bench":
        from plexus.methods.gcpn.bench import bench

        return bench
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
