"""Build PyG graphs from tables; node text; splits; save/load."""

from plexus.graph.tables import SUPPORTED_SUFFIXES, read_graph_tables

__all__ = ["SUPPORTED_SUFFIXES", "read_graph_tables"]
