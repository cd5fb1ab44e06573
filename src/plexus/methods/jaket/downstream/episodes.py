"""N-way K-shot episodes and the prototypical-network classifier (Snell et al., NeurIPS 2017).

An episode draws N classes, then K support and Q query items of each class, support and
query disjoint; every draw comes from one `torch.Generator`, so a seed fixes the whole list
of episodes. The classifier scores a query by the negative squared Euclidean distance to
each class prototype (the mean of its K support vectors), as prototypical networks do.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class Episode:
    classes: Tensor  # [N] class ids, in the episode's label order
    support: Tensor  # [N, K] item ids
    query: Tensor  # [N, Q] item ids; the label of query[i, j] is i


def sample_episode(pools: dict[int, Tensor], n_way: int, k_shot: int, q_query: int,
                   gen: torch.Generator) -> Episode:
    """One episode over `pools` (class id -> the item ids of that class)."""
    classes = sorted(pools)
    if n_way > len(classes):
        raise ValueError(f"{n_way}-way episodes need {n_way} classes; only {len(classes)} are available.")
    picked = torch.tensor(classes)[torch.randperm(len(classes), generator=gen)[:n_way]]
    support, query = [], []
    for c in picked.tolist():
        pool = pools[c]
        if pool.numel() < k_shot + q_query:
            raise ValueError(f"class {c} has {pool.numel()} items; an episode takes {k_shot} + {q_query}.")
        order = pool[torch.randperm(pool.numel(), generator=gen)[:k_shot + q_query]]
        support.append(order[:k_shot])
        query.append(order[k_shot:])
    return Episode(picked, torch.stack(support), torch.stack(query))


def sample_episodes(pools: dict[int, Tensor], n_way: int, k_shot: int, q_query: int, count: int,
                    seed: int) -> list[Episode]:
    gen = torch.Generator().manual_seed(int(seed))
    return [sample_episode(pools, n_way, k_shot, q_query, gen) for _ in range(count)]


def prototype_logits(support: Tensor, query: Tensor, temperature: float = 1.0) -> Tensor:
    """support [N, K, D], query [M, D] -> logits [M, N] = -||q - mean_k s_k||^2 / temperature.

    The temperature only scales the training loss (the argmax is unchanged): raw squared
    distances between LM vectors are in the hundreds, which saturates the softmax."""
    prototypes = support.mean(1)
    return -torch.cdist(query, prototypes).pow(2) / temperature


def episode_accuracy(vectors: Tensor, episodes: list[Episode]) -> float:
    """Mean query accuracy over episodes, with every item's vector precomputed ([items, D])."""
    correct = total = 0
    for ep in episodes:
        n, q = ep.query.shape
        logits = prototype_logits(vectors[ep.support], vectors[ep.query.reshape(-1)])
        labels = torch.arange(n).repeat_interleave(q)
        correct += int((logits.argmax(1) == labels).sum())
        total += n * q
    return correct / total
