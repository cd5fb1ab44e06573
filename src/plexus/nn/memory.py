"""An embedding memory: one vector per item, refreshed on a growing schedule with momentum.

Methods that encode many texts with a language model that is itself being trained (JAKET's
entity context memory; GLEM's and PinSage's text features can adopt it) cannot afford to
re-encode every text at every step. The memory keeps the last vectors, serves rows by id,
and is refreshed every T(i) steps (JAKET, Section "Entity Context Embedding Memory"):

    T(i) = min(I_init * a^floor(i / r), I_max)      i = number of refreshes done so far
    E   <- m * E + (1 - m) * E_new                   (momentum m; the first fill is E_new)

With the paper's (I_init, a, r, I_max) = (10, 2, 3, 500) the gaps are 10, 10, 10, 20, 20, 20,
40, ... capped at 500. The memory is a tensor of plain vectors (no autograd history), so it
can be saved in a `weights_only` checkpoint through `state_dict`.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from plexus.errors import ConfigError


@dataclass(frozen=True)
class RefreshSchedule:
    """T(i) = min(init * growth^floor(i / every), cap): the gap after the i-th refresh."""

    init: int = 10
    growth: float = 2.0
    every: int = 3
    cap: int = 500

    def __post_init__(self) -> None:
        if self.init < 1 or self.every < 1 or self.cap < 1 or self.growth < 1:
            raise ConfigError(f"memory refresh schedule needs init, every, cap >= 1 and growth >= 1; got {self}.")

    def interval(self, i: int) -> int:
        # integer arithmetic while below the cap, so huge i never overflows a float
        k = i // self.every
        gap = self.init
        for _ in range(k):
            gap = int(gap * self.growth)
            if gap >= self.cap:
                return self.cap
        return min(gap, self.cap)

    def gaps(self, n: int) -> list[int]:
        return [self.interval(i) for i in range(n)]


class EmbeddingMemory:
    """`vectors[num_items, dim]`, looked up by id, refreshed by `RefreshSchedule` with momentum.

    `refresh_due(step)` says whether a refresh is due at training step `step` (steps count
    from 0; the first refresh after the initial fill is due at step T(0)); after computing
    new vectors call `update(ids, new)` for every chunk, then `mark_refreshed(step)`.
    """

    def __init__(self, vectors: Tensor, momentum: float = 0.8, schedule: RefreshSchedule | None = None):
        if vectors.dim() != 2:
            raise ValueError(f"memory vectors must be [items, dim]; got shape {tuple(vectors.shape)}")
        if not 0.0 <= momentum < 1.0:
            raise ConfigError(f"memory momentum must be in [0, 1); got {momentum}.")
        self.vectors = vectors.detach().clone()
        self.momentum = float(momentum)
        self.schedule = schedule or RefreshSchedule()
        self.refreshes = 0  # refreshes since the initial fill: the current gap is T(refreshes)
        self.next_refresh = self.schedule.interval(0)

    @property
    def num_items(self) -> int:
        return self.vectors.shape[0]

    def __getitem__(self, ids: Tensor) -> Tensor:
        return self.vectors[ids]

    def refresh_due(self, step: int) -> bool:
        return step >= self.next_refresh

    def update(self, ids: Tensor, new: Tensor) -> None:
        """E[ids] <- m * E[ids] + (1 - m) * new (ids unique within one call)."""
        new = new.detach().to(self.vectors.dtype)
        m = self.momentum
        self.vectors[ids] = m * self.vectors[ids] + (1.0 - m) * new

    def mark_refreshed(self, step: int) -> None:
        """Record a refresh at `step`: the next is due T(i) steps later, i = refreshes so far
        (the initial fill was followed by the gap T(0))."""
        self.refreshes += 1
        self.next_refresh = step + self.schedule.interval(self.refreshes)

    def state_dict(self) -> dict:
        return {"vectors": self.vectors, "momentum": self.momentum, "refreshes": self.refreshes,
                "next_refresh": self.next_refresh,
                "schedule": [self.schedule.init, self.schedule.growth, self.schedule.every, self.schedule.cap]}

    @classmethod
    def from_state_dict(cls, state: dict) -> "EmbeddingMemory":
        init, growth, every, cap = state["schedule"]
        mem = cls(state["vectors"], state["momentum"], RefreshSchedule(int(init), float(growth), int(every), int(cap)))
        mem.refreshes = int(state["refreshes"])
        mem.next_refresh = int(state["next_refresh"])
        return mem
