"""`plexus embed RUN_DIR --new-items items.csv [--new-interactions inter.csv]`: embed items a
trained PinSage run never saw, from their text and their interactions, without retraining.

PinSage is inductive (Ying et al., KDD 2018): an item's embedding is a function of its own
features and of its importance neighbourhood. A new item gets

* its features: the LM embedding of its text (id-only runs have no text model input);
* its neighbourhood: random walks from it over the training graph extended with the new
  interactions (new users are added as nodes; a new item without interactions has an empty
  neighbourhood and is embedded from its text alone);
* for runs with id embeddings (or an item bias), the mean of the trained id vectors
  (biases): its own is unknown.

The trained items keep the neighbourhood tables of the export, which only reference
trained items, so their embeddings are exactly the exported ones and old and new items
share one space. The result is a recommender folder (`--out`, default RUN_DIR/inductive)
holding every item, so `plexus similar OUT --item NEW_ID` works on it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from plexus.errors import InputError
from plexus.graph.interactions import _item_text, read_interactions
from plexus.graph.tables import _check_unique_ids, _id_column, _read_table, _require_column
from plexus.methods.pinsage.algorithm import (EVAL_STREAM, MODEL_FILE, build_model, item_embeddings, query_vectors,
                                              walk_config)
from plexus.retrieval.artifacts import load_recommender, save_recommender
from plexus.sampling.random_walk import bipartite_csr, importance_neighbors
from plexus.train.checkpoint import load_checkpoint
from plexus.train.seed import stream_generator


def inductive_tables(graph, cfg, tables: tuple[torch.Tensor, torch.Tensor], items: torch.Tensor,
                     generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Neighbourhood tables over `graph.num_items` rows: the trained ones, with the rows of
    `items` (new or cold) from walks over `graph` (which holds their interactions)."""
    neighbors, weights = tables
    n = graph.num_items
    if neighbors.size(0) < n:  # rows for items appended after the run
        pad = n - neighbors.size(0)
        neighbors = torch.cat([neighbors, torch.full((pad, neighbors.size(1)), -1, dtype=neighbors.dtype)])
        weights = torch.cat([weights, torch.zeros(pad, weights.size(1), dtype=weights.dtype)])
    else:
        neighbors, weights = neighbors.clone(), weights.clone()
    nbr, w = importance_neighbors(graph, walk_config(cfg), queries=items, generator=generator)
    neighbors[items], weights[items] = nbr, w
    return neighbors, weights


def _index(ids: list[str], known: dict[str, int], path, what: str) -> torch.Tensor:
    missing = [x for x in ids if x not in known]
    if missing:
        raise InputError(f"{path}: {what} {missing[0]!r} is neither in the run nor among the new items "
                         f"({len(missing)} such {what}s).")
    return torch.tensor([known[x] for x in ids], dtype=torch.long)


def embed_new_items(run_dir: str | Path, items_path: str | Path, interactions_path: str | Path | None = None, *,
                    item_col: str = "item", text_col: str = "text", user_col: str = "user",
                    out: str | Path | None = None) -> dict:
    """Embed the items of `items_path` into the run's space; returns a summary (see module docstring)."""
    from plexus.runner import resume_config

    run_dir = Path(run_dir)
    rec = load_recommender(run_dir)
    bundle = load_checkpoint(rec.folder / MODEL_FILE)
    if bundle is None:
        raise InputError(f"{run_dir} is not a PinSage run ({rec.folder / MODEL_FILE} is missing); only PinSage "
                         f"embeds new items inductively.")
    cfg = resume_config("pinsage", run_dir)

    table = _read_table(items_path)
    _require_column(table, item_col, "item_col")
    ids = _id_column(table, item_col)
    _check_unique_ids(table, item_col, ids)
    new_ids = [str(x) for x in ids]
    old_ids = set(rec.item_ids)
    clash = [x for x in new_ids if x in old_ids]
    if clash:
        raise InputError(f"{items_path}: item {clash[0]!r} is already in the run; new items need new ids.")
    n_old, n_new = rec.num_items, len(new_ids)
    item_pos = {x: i for i, x in enumerate(rec.item_ids + new_ids)}

    features = bundle["features"]
    texts = None
    if features is not None:
        from plexus.text import encode_texts

        texts, _ = _item_text(items_path, item_col, text_col, new_ids)
        features = torch.cat([features, encode_texts(texts, model=cfg.text_model, progress=False).float()])

    edges, num_users = bundle["train"], bundle["num_users"]
    if interactions_path is not None:
        data = read_interactions(interactions_path, user_col=user_col, item_col=item_col)
        user_pos = {u: i for i, u in enumerate(rec.user_ids)}
        for u in data["user"].node_id:  # users the run never saw join the graph
            user_pos.setdefault(u, len(user_pos))
        ei = data["user", "interacts", "item"].edge_index
        users = _index(data["user"].node_id, user_pos, interactions_path, "user")[ei[0]]
        items = _index(data["item"].node_id, item_pos, interactions_path, "item")[ei[1]]
        edges, num_users = torch.cat([edges, torch.stack([users, items])], 1), len(user_pos)
    graph = bipartite_csr(edges, num_users, n_old + n_new)
    new_rows = torch.arange(n_old, n_old + n_new)
    neighbors, weights = inductive_tables(graph, cfg, (bundle["neighbors"], bundle["weights"]), new_rows,
                                          stream_generator(cfg.seed, EVAL_STREAM + 1))
    nbr = neighbors[new_rows]

    state = dict(bundle["model"])
    for key in ("id_emb.weight", "item_bias"):
        if key in state:  # unknown for new items: the trained items' mean
            old = state[key]
            state[key] = torch.cat([old, old.mean(0, keepdim=True).expand(n_new, *old.shape[1:])])
    model = build_model(cfg, 0 if features is None else features.size(1), n_old + n_new, bundle["with_ids"])
    model.load_state_dict(state)
    emb = item_embeddings(model, features, (neighbors, weights), cfg.inference_chunk, cfg.normalize)
    with_bias = model.item_bias is not None

    folder = Path(out) if out is not None else run_dir / "inductive"
    seen = rec.seen.tocoo()
    item_text = None
    if rec.item_text is not None:
        item_text = list(rec.item_text) + (texts if texts is not None else [None] * n_new)
    save_recommender(folder, user_emb=rec.user_emb, item_emb=emb, user_ids=rec.user_ids,
                     item_ids=rec.item_ids + new_ids, seen_edge_index=np.stack([seen.row, seen.col]),
                     item_text=item_text, factory=rec.index.factory,
                     item_query_emb=query_vectors(emb, True) if with_bias else None)
    return {"run_dir": str(run_dir), "out": str(folder), "new_items": n_new,
            "new_items_without_interactions": int((nbr[:, 0] < 0).sum()),
            "new_interactions": int(edges.size(1) - bundle["train"].size(1)), "dim": int(emb.size(1))}
