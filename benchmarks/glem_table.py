"""The `plexus bench glem` table from run directories made by separate commands.

    python benchmarks/glem_table.py RUN_DIR [RUN_DIR ...]

Give one finished `glem` run per split and the three `gnn` baseline runs per split, made
with the bench's overrides (`src/plexus/methods/glem/bench.py`):

    plexus run glem --dataset citeseer-tag split.kind=semi seeds=S frozen_start=false \
        lm.pretrain_epochs=10 lm_pl_ratio=8 gnn_pl_ratio=8 [--quick budget: lm.max_length=32 ...]
    plexus run glem --dataset citeseer-tag split.kind=supervised seeds=S frozen_start=false
    plexus run gnn --dataset citeseer-tag seeds=S split.kind=semi|supervised \
        features=tfidf model.kind=gcn | features=lm model.kind=mlp | features=lm model.kind=gcn

A killed bench leaves resumable run directories: `plexus run glem --resume RUN_DIR` finishes
a GLEM row, then this script prints the table. GLEM-LM / GLEM-GNN are read from the runs'
metrics (chosen on validation among EM iterations only).
"""

import sys

from plexus.methods.glem.bench import table_from_run_dirs

if __name__ == "__main__":
    print(table_from_run_dirs(sys.argv[1:]))
