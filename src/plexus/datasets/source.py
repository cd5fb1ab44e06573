"""Where a method's graph comes from: a named dataset or the user's own tables."""

from __future__ import annotations

from typing import Any

from plexus.datasets.registry import load_dataset
from plexus.inputs import TablesConfig


def load_graph(dataset: str, data_dir: str | None, tables: TablesConfig) -> Any:
    """The graph a run works on: from `tables` when given, else the named dataset."""
    if tables.nodes or tables.edges:
        from plexus.errors import ConfigError
        from plexus.graph.tables import read_graph_tables

        if not (tables.nodes and tables.edges):
            raise ConfigError("a node table and an edge table go together: give both --input nodes=FILE and --input edges=FILE (or --nodes/--edges).")
        return read_graph_tables(
            tables.nodes,
            tables.edges,
            id_col=tables.id_col,
            text_col=tables.text_col,
            label_col=tables.label_col,
            src_col=tables.src_col,
            dst_col=tables.dst_col,
        )
    return load_dataset(dataset, data_dir)
