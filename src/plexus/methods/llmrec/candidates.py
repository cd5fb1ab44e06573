"""The candidates the LLM chooses from: top-k items per user from a LightGCN trained on the
training split only (the paper's base recommender, "C_u"; the official repo never released
the code that built its candidate lists).

The backbone is the recommendation core's LightGCN at the run's own settings, trained for a
fixed `candidate_epochs` without any model selection, so neither validation nor test
interactions influence which items the LLM sees. A user's training items are excluded (the
LLM picks among items the user has not interacted with in training).
"""

from __future__ import annotations

import torch

from plexus.methods.recommenders.bpr import TripleSampler, train_epoch
from plexus.methods.recommenders.lightgcn import LightGCN, normalized_bipartite
from plexus.train.optim import make_optimizer
from plexus.train.seed import seed_everything


def top_k_unseen(user_emb: torch.Tensor, item_emb: torch.Tensor, train: torch.Tensor, k: int,
                 batch_size: int = 1024) -> torch.Tensor:
    """[num_users, k] item indices by descending score, each user's training items excluded."""
    num_users, num_items = user_emb.size(0), item_emb.size(0)
    if k > num_items:
        raise ValueError(f"k={k} is larger than the number of items ({num_items})")
    out = torch.empty(num_users, k, dtype=torch.long)
    for start in range(0, num_users, batch_size):
        users = torch.arange(start, min(start + batch_size, num_users))
        scores = user_emb[users] @ item_emb.t()
        sel = (train[0] >= start) & (train[0] < start + len(users))
        scores[train[0, sel] - start, train[1, sel]] = -torch.inf
        out[users] = torch.topk(scores, k, dim=1).indices
    return out


def train_backbone(train: torch.Tensor, num_users: int, num_items: int, *, dim: int, layers: int, lr: float,
                   batch_size: int, reg: float, init_std: float, epochs: int, seed: int) -> LightGCN:
    """A LightGCN trained for `epochs` on `train` alone (uniform negatives, official sampler)."""
    gen = seed_everything(seed)
    model = LightGCN(num_users, num_items, dim, layers, normalized_bipartite(train, num_users, num_items), init_std)
    opt = make_optimizer(model.parameters(), lr)
    sampler = TripleSampler(train, num_users, num_items, "uniform", 0.75, "user", gen)
    for _ in range(epochs):
        train_epoch(model, opt, sampler, batch_size, reg, torch.device("cpu"))
    model.eval()
    return model


def candidates_for(train: torch.Tensor, num_users: int, num_items: int, k: int, *, epochs: int, seed: int,
                   dim: int = 64, layers: int = 3, lr: float = 0.001, batch_size: int = 2048, reg: float = 1e-4,
                   init_std: float = 0.1) -> torch.Tensor:
    """[num_users, k] candidates per user (see the module docstring)."""
    model = train_backbone(train, num_users, num_items, dim=dim, layers=layers, lr=lr, batch_size=batch_size,
                           reg=reg, init_std=init_std, epochs=epochs, seed=seed)
    with torch.no_grad():
        user_emb, item_emb = model.final()
    return top_k_unseen(user_emb, item_emb, train, k)
