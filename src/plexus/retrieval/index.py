"""A FAISS index over item embeddings: build from an `index_factory` string, search, save.

`ItemIndex.build(items, "Flat")` is exact: its top-k equals brute force `q @ items.T`
(the scores agree to float32 rounding; FAISS and NumPy sum in different orders).
Approximate options are any FAISS factory string, e.g. `HNSW32` (graph search, tuned by
`ef_search`) or `IVF1024,Flat` (inverted lists, tuned by `nprobe`; training needs at least
`nlist` items and works best with ~39 x nlist or more).

Scores are always "higher is better": the inner product for `metric="ip"`, the negative
squared Euclidean distance for `metric="l2"`.

Item ids are row positions 0..n-1 of the embedding matrix; callers map them to their own ids.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Sequence

import faiss
import numpy as np

from plexus.atomic import atomic_write, atomic_write_text
from plexus.errors import ConfigError, InputError

Metric = Literal["ip", "l2"]
_METRICS = {"ip": faiss.METRIC_INNER_PRODUCT, "l2": faiss.METRIC_L2}
INDEX_FILE = "index.faiss"
META_FILE = "index.json"
DEFAULT_EF_SEARCH = 128  # HNSW candidate list at query time (FAISS's own default, 16, is low)
DEFAULT_NPROBE = 32  # IVF lists visited per query (capped at nlist)


def as_float_matrix(x: Any, name: str, dim: int | None = None) -> np.ndarray:
    """A C-contiguous float32 [n, d] array from a NumPy array or torch tensor; checks finiteness."""
    if hasattr(x, "detach"):  # torch.Tensor, without importing torch here
        x = x.detach().cpu().float().numpy()
    arr = np.asarray(x)
    if arr.ndim == 1 and dim is not None:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise InputError(f"{name} must be a 2-D array [n, d]; got shape {tuple(arr.shape)}.")
    if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise InputError(f"{name} must be real numbers; got dtype {arr.dtype}.")
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    if dim is not None and arr.shape[1] != dim:
        raise InputError(f"{name} have dimension {arr.shape[1]}, but the index holds {dim}-d vectors.")
    if not np.isfinite(arr).all():
        bad = int(np.argwhere(~np.isfinite(arr))[0, 0])
        raise InputError(f"{name} contain NaN or infinite values (first in row {bad}).")
    return arr


@dataclass
class ItemIndex:
    """A FAISS index plus what is needed to rebuild, reload and query it correctly."""

    index: faiss.Index
    factory: str
    metric: Metric
    params: dict[str, int] = field(default_factory=dict)  # search parameters applied (efSearch, nprobe)

    # ------------------------------------------------------------------ construction
    @classmethod
    def build(
        cls,
        item_emb: Any,
        factory: str = "Flat",
        metric: Metric = "ip",
        *,
        ef_search: int | None = None,
        nprobe: int | None = None,
    ) -> "ItemIndex":
        """Index `item_emb` [n, d]: create from `factory`, train if the index needs it, add.

        `ef_search` (HNSW) and `nprobe` (IVF) set the query-time accuracy/speed trade-off;
        by default 128 and min(32, nlist).
        """
        if metric not in _METRICS:
            raise ConfigError(f"metric must be 'ip' or 'l2'; got {metric!r}.")
        items = as_float_matrix(item_emb, "item embeddings")
        n, d = items.shape
        if n == 0 or d == 0:
            raise InputError(f"cannot index an empty item embedding matrix (shape {items.shape}).")
        try:
            index = faiss.index_factory(d, factory, _METRICS[metric])
        except RuntimeError as e:
            raise ConfigError(
                f"FAISS cannot build index {factory!r} for {d}-d vectors: {_faiss_message(e)} "
                "Examples of valid strings: 'Flat', 'HNSW32', 'IVF1024,Flat', 'IVF256,PQ16'."
            ) from None
        nlist = _nlist(index)
        if nlist is not None and n < nlist:
            raise InputError(
                f"index {factory!r} has {nlist} inverted lists but there are only {n} items to "
                f"train it; use fewer lists (e.g. 'IVF{max(1, min(n // 39, nlist) or 1)},Flat') "
                "or the exact 'Flat' index."
            )
        if not index.is_trained:
            try:
                index.train(items)
            except RuntimeError as e:
                raise InputError(
                    f"training FAISS index {factory!r} on {n} items failed: {_faiss_message(e)}"
                ) from None
        try:
            index.add(items)
        except RuntimeError as e:  # e.g. 'IDMap,...': ids here are row positions, not given ids
            raise ConfigError(f"FAISS index {factory!r} cannot add the items: {_faiss_message(e)}") from None
        out = cls(index=index, factory=factory, metric=metric)
        out.set_search_params(ef_search=ef_search, nprobe=nprobe)
        return out

    def set_search_params(self, *, ef_search: int | None = None, nprobe: int | None = None) -> None:
        """Set HNSW `efSearch` / IVF `nprobe` (defaults where None); ignored by indexes without them."""
        params: dict[str, int] = {}
        if _has_hnsw(self.index):
            params["efSearch"] = int(ef_search if ef_search is not None else DEFAULT_EF_SEARCH)
        nlist = _nlist(self.index)
        if nlist is not None:
            params["nprobe"] = int(min(nprobe if nprobe is not None else DEFAULT_NPROBE, nlist))
        space = faiss.ParameterSpace()
        for name, value in params.items():
            if value < 1:
                raise ConfigError(f"{name} must be >= 1; got {value}.")
            space.set_index_parameter(self.index, name, value)
        self.params = params

    # ------------------------------------------------------------------ properties
    @property
    def dim(self) -> int:
        return int(self.index.d)

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    def __len__(self) -> int:
        return self.ntotal

    # ------------------------------------------------------------------ search
    def search(
        self, queries: Any, k: int, exclude: Sequence[np.ndarray | Sequence[int] | None] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-`k` items per query: (scores [Q, k] float32, ids [Q, k] int64), best first.

        `exclude[q]` lists item ids query q must never get (e.g. items a user has seen). The
        search over-fetches k + max(len(exclude[q])) (capped at the index size) and filters,
        so each row holds exactly k items whenever k items remain. Rows with fewer (small
        index, many exclusions, or an approximate index that found fewer) are padded with
        id -1 and score -inf.
        """
        q = as_float_matrix(queries, "queries", dim=self.dim)
        k = _positive_int(k, "k")
        nq, n = q.shape[0], self.ntotal
        excl_keys = None
        extra = 0
        if exclude is not None:
            if len(exclude) != nq:
                raise InputError(f"exclude has {len(exclude)} entries but there are {nq} queries.")
            lists = [np.asarray(e if e is not None else [], dtype=np.int64).ravel() for e in exclude]
            for i, e in enumerate(lists):
                if e.size and (e.min() < 0 or e.max() >= n):
                    raise InputError(f"exclude[{i}] has item ids outside [0, {n}).")
            lens = np.fromiter((e.size for e in lists), dtype=np.int64, count=nq)
            extra = int(lens.max(initial=0))
            if extra:
                rows = np.repeat(np.arange(nq, dtype=np.int64), lens)
                excl_keys = np.unique(rows * n + np.concatenate(lists))
        fetch = min(k + extra, n)
        if nq == 0 or fetch == 0:
            return np.full((nq, k), -np.inf, np.float32), np.full((nq, k), -1, np.int64)
        dist, ids = self.index.search(q, fetch)
        scores = dist if self.metric == "ip" else -dist
        valid = ids >= 0
        if excl_keys is not None:
            keys = np.arange(nq, dtype=np.int64)[:, None] * n + ids
            valid &= ~np.isin(keys, excl_keys)
        # keep the first k valid columns of each row, in score order (stable sort of ~valid)
        order = np.argsort(~valid, axis=1, kind="stable")[:, :k]
        keep = np.take_along_axis(valid, order, axis=1)
        out_ids = np.where(keep, np.take_along_axis(ids, order, axis=1), -1).astype(np.int64)
        out_scores = np.where(keep, np.take_along_axis(scores, order, axis=1), -np.inf).astype(np.float32)
        if out_ids.shape[1] < k:  # fewer items than k in the whole index
            pad = k - out_ids.shape[1]
            out_ids = np.pad(out_ids, ((0, 0), (0, pad)), constant_values=-1)
            out_scores = np.pad(out_scores, ((0, 0), (0, pad)), constant_values=-np.inf)
        return out_scores, out_ids

    # ------------------------------------------------------------------ persistence
    def save(self, folder: str | Path) -> None:
        """Write `index.faiss` then `index.json` into `folder`, each atomically (temp + rename)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / META_FILE).unlink(missing_ok=True)  # no metadata => no half-replaced index

        def write(f) -> None:
            writer = faiss.PyCallbackIOWriter(f.write)
            faiss.write_index(self.index, writer)
            del writer  # flushes FAISS's buffer into f

        atomic_write(folder / INDEX_FILE, write)
        meta = {"factory": self.factory, "metric": self.metric, "dim": self.dim,
                "ntotal": self.ntotal, "params": self.params, "faiss_version": faiss.__version__}
        atomic_write_text(folder / META_FILE, json.dumps(meta, indent=2) + "\n")

    @classmethod
    def load(cls, folder: str | Path, *, ef_search: int | None = None, nprobe: int | None = None) -> "ItemIndex":
        """Read an index written by `save`; `ef_search`/`nprobe` override the saved ones."""
        folder = Path(folder)
        meta_path, index_path = folder / META_FILE, folder / INDEX_FILE
        if not meta_path.is_file() or not index_path.is_file():
            raise InputError(f"{folder} holds no saved item index ({META_FILE} and {INDEX_FILE} expected).")
        try:
            meta = json.loads(meta_path.read_text())
            factory, metric, dim, ntotal = meta["factory"], meta["metric"], int(meta["dim"]), int(meta["ntotal"])
        except (ValueError, KeyError, TypeError) as e:
            raise InputError(f"{meta_path} is not a valid index description ({e}).") from None
        if metric not in _METRICS:
            raise InputError(f"{meta_path}: unknown metric {metric!r}.")
        try:
            index = faiss.read_index(os.fspath(index_path))
        except RuntimeError as e:
            raise InputError(f"{index_path} is not a readable FAISS index: {_faiss_message(e)}") from None
        if int(index.d) != dim or int(index.ntotal) != ntotal:
            raise InputError(
                f"{index_path} holds {index.ntotal} vectors of dimension {index.d}, but {meta_path} "
                f"says {ntotal} of dimension {dim}; the folder is inconsistent, rebuild the index."
            )
        out = cls(index=index, factory=factory, metric=metric)
        saved = meta.get("params") or {}
        out.set_search_params(
            ef_search=ef_search if ef_search is not None else saved.get("efSearch"),
            nprobe=nprobe if nprobe is not None else saved.get("nprobe"),
        )
        return out


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InputError(f"{name} must be a positive integer; got {value!r}.")
    if value < 1:
        raise InputError(f"{name} must be >= 1; got {value}.")
    return int(value)


def _nlist(index: faiss.Index) -> int | None:
    try:
        return int(faiss.extract_index_ivf(index).nlist)
    except (RuntimeError, AttributeError):
        return None


def _has_hnsw(index: faiss.Index) -> bool:
    while True:
        index = faiss.downcast_index(index)
        if hasattr(index, "hnsw"):
            return True
        inner = getattr(index, "index", None)  # IndexPreTransform, IndexIDMap, refine wrappers
        if inner is None:
            return False
        index = inner


def _faiss_message(e: Exception) -> str:
    """The readable tail of a FAISS C++ error ('Error in <signature> at file:line: msg')."""
    text = str(e).strip()
    tail = text.rsplit(": ", 1)[-1] if "Error in" in text else text
    tail = tail.removeprefix("Error: ").strip()
    return tail if tail.endswith(".") else tail + "."


def index_recall(folder: str | Path, items: Any, queries: Any, k: int = 10, max_queries: int = 2000,
                 seed: int = 0) -> float:
    """Recall@k of the index saved in `folder` (as served, with its saved search parameters)
    against exact inner-product search: the mean share of each query's true top-k it returns.

    Up to `max_queries` rows of `queries` (drawn with `seed`) are searched, each excluding
    itself, as `plexus similar` does. 1.0 for a Flat index (up to float ties).
    """
    index = ItemIndex.load(folder)
    items = as_float_matrix(items, "item embeddings")
    queries = as_float_matrix(queries, "queries", dim=items.shape[1])
    n = items.shape[0]
    rows = np.arange(n)
    if n > max_queries:
        rows = np.sort(np.random.default_rng(seed).choice(n, max_queries, replace=False))
    k = min(k, n - 1)
    if k < 1:
        return 1.0
    exclude = [np.array([r]) for r in rows]
    _, got = index.search(queries[rows], k, exclude=exclude)
    exact = ItemIndex.build(items, "Flat", index.metric)
    _, want = exact.search(queries[rows], k, exclude=exclude)
    hits = [len(set(g[g >= 0].tolist()) & set(w.tolist())) for g, w in zip(got, want)]
    return float(np.sum(hits) / (k * len(rows)))
