"""Retrieval over item embeddings: a FAISS index and the recommender saved in a run directory."""

from plexus.retrieval.artifacts import (
    Recommender,
    UnknownId,
    format_table,
    load_recommender,
    recommend_cli,
    save_recommender,
    similar_cli,
)
from plexus.retrieval.index import ItemIndex

__all__ = [
    "ItemIndex",
    "Recommender",
    "UnknownId",
    "format_table",
    "load_recommender",
    "recommend_cli",
    "save_recommender",
    "similar_cli",
]
