"""GLEM (Zhao et al., "Learning on Large-scale Text-attributed Graphs via Variational
Inference", ICLR 2023): an LM and a GNN trained in turns by variational EM.

    algorithm.py  Config (defaults: the official EM recipe), the stage sequence, resume, run
    stages.py     what an E-step (LM) and an M-step (GNN) train on; every rank trains the GNN
    selection.py  GLEM-LM / GLEM-GNN: best validation among the EM iterations only
    bench.py      `plexus bench glem`: GLEM beside the baselines it builds on
"""

from plexus.methods.spec import MethodSpec, lazy_attributes

METHODS = [
    MethodSpec("glem", "plexus.methods.glem.algorithm", "Zhao et al., ICLR 2023",
               "node classification (LM + GNN variational EM)", ("nodes", "edges"),
               "plexus.methods.glem.bench:bench", distributed=True),
]

__getattr__ = lazy_attributes({"Config": "plexus.methods.glem.algorithm", "run": "plexus.methods.glem.algorithm",
                               "bench": "plexus.methods.glem.bench"})
