"""Language-model text encoders (Hugging Face), pooling, and an on-disk embedding cache.

    from plexus.text import TextEncoder, EmbeddingCache, encode_texts
    x = encode_texts(data.text)                      # all-MiniLM-L6-v2, mean pooling, cached
    enc = TextEncoder("default", pooling="cls")
    x = enc.encode(texts, cache=EmbeddingCache())
"""

from plexus.text.cache import CacheNamespace, EmbeddingCache, default_cache_root
from plexus.text.encoder import (
    DEFAULT_MODEL,
    TextEncoder,
    cpu_has_native_bf16,
    default_model_path,
    encode_texts,
    folder_fingerprint,
    load_lm,
    resolve_model,
    resolve_precision,
    state_fingerprint,
)
from plexus.text.pooling import POOLINGS, cls_pool, mean_pool, pool

__all__ = [
    "DEFAULT_MODEL",
    "POOLINGS",
    "CacheNamespace",
    "EmbeddingCache",
    "TextEncoder",
    "cls_pool",
    "cpu_has_native_bf16",
    "default_cache_root",
    "default_model_path",
    "encode_texts",
    "folder_fingerprint",
    "load_lm",
    "mean_pool",
    "pool",
    "resolve_model",
    "resolve_precision",
    "state_fingerprint",
]
