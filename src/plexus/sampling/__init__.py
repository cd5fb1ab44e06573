"""Samplers: negative items for recommendation training (more to come: walks, neighbourhoods)."""

from plexus.sampling.negatives import (
    InBatchSampler,
    NegativeSampler,
    PopularitySampler,
    UniformSampler,
    make_sampler,
)

__all__ = ["InBatchSampler", "NegativeSampler", "PopularitySampler", "UniformSampler",
           "make_sampler"]
