"""The `plexus bench glem` table from run directories made by separate commands.

    python benchmarks/glem_table.py RUN_DIR [RUN_DIR ...]

Give one finished `glem` run per split and the three `gnn` baseline runs per split
(`plexus run gnn features=tfidf|lm model.kind=gcn|mlp split.kind=semi|supervised`).
"""

import sys

from plexus.methods.glem.bench import table_from_run_dirs

if __name__ == "__main__":
    print(table_from_run_dirs(sys.argv[1:]))
