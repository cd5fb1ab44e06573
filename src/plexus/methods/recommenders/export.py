"""The files `plexus recommend / similar / serve` read from a recommender's run directory."""

from __future__ import annotations

import torch

from plexus.methods.recommenders.data import InteractionSplit, seen_pairs
from plexus.train.rundir import RunDir


def export_recommender(run: RunDir, split: InteractionSplit, user_emb: torch.Tensor,
                       item_emb: torch.Tensor) -> dict:
    """User and item vectors, ids, seen pairs and item text (see plexus.retrieval.artifacts)."""
    from plexus.retrieval.artifacts import save_recommender

    save_recommender(run.artifacts, user_emb=user_emb, item_emb=item_emb, user_ids=split.user_ids,
                     item_ids=split.item_ids, seen_edge_index=seen_pairs(split), item_text=split.item_text)
    return {"user_embeddings": run.artifacts / "user_embeddings.npy",
            "item_embeddings": run.artifacts / "item_embeddings.npy"}
