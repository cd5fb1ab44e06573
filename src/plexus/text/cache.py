"""On-disk cache of text embeddings, so a graph's texts are run through an LM once.

Layout under the root (`$PLEXUS_CACHE/embeddings`, else `~/.cache/plexus/embeddings`)::

    <namespace>/meta.json                 the encoder settings this folder holds, and d
    <namespace>/shard-<time>-<pid>-<rand>.npz   keys [n, 32] uint8 + vecs [n, d] float32

A *namespace* is one encoder configuration (model identity, pooling, max_length, precision,
normalize); its folder name is a hash of that configuration. Within it a text's key is
sha256 over the configuration and the text, so a key can never be read back under other
settings. Shards are append-only and each is written to a `.tmp-*` file, fsynced, then
renamed into place (`os.replace` is atomic), so a process killed mid-write leaves at most a
temp file, which readers never look at. A shard that is unreadable anyway (disk trouble, a
file copied in by hand) is skipped with a warning and its texts count as misses. There is no
separate index file to keep consistent: a reader builds its key index from the shards' key
arrays (32 bytes per text) and picks up shards other processes add on its next lookup.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import uuid
import warnings
import zipfile
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from plexus.atomic import TEMP_PREFIX, atomic_write
from plexus.errors import PlexusError

CACHE_FORMAT = 1
KEY_BYTES = 32
SHARD_GLOB = "shard-*.npz"
STALE_TEMP_S = 3600.0  # temp files older than this are leftovers of killed writers


def default_cache_root() -> Path:
    """`$PLEXUS_CACHE/embeddings`, else `~/.cache/plexus/embeddings` (read at call time)."""
    base = os.environ.get("PLEXUS_CACHE")
    return (Path(base) if base else Path.home() / ".cache" / "plexus") / "embeddings"


def canonical_json(spec: Mapping[str, Any]) -> str:
    """A stable serialisation of an encoder configuration (sorted keys, no whitespace)."""
    return json.dumps(dict(spec), sort_keys=True, separators=(",", ":"), ensure_ascii=True)


class CacheNamespace:
    """The cached embeddings of one encoder configuration.

    `key(text)` gives a text's 32-byte key; `lookup(keys)` returns the vectors found and a hit
    mask; `store(keys, vecs)` appends new ones as a shard. Safe for several processes
    appending to the same namespace: each writes its own uniquely named shards.
    """

    def __init__(self, root: Path, spec: Mapping[str, Any], shard_rows: int = 50_000):
        self.spec = dict(spec)
        self._spec_json = canonical_json(self.spec)
        self.digest = hashlib.sha256(self._spec_json.encode()).hexdigest()
        self.path = Path(root) / self.digest[:32]
        self.shard_rows = int(shard_rows)
        self._index: dict[bytes, tuple[str, int]] = {}
        self._seen: set[str] = set()
        self._bad: set[str] = set()
        self.dim: int | None = None
        self.path.mkdir(parents=True, exist_ok=True)
        self._read_meta()
        self._remove_stale_temps()

    # -- keys -------------------------------------------------------------------------
    def key(self, text: str) -> bytes:
        """sha256 over this namespace's configuration and the text."""
        h = hashlib.sha256()
        h.update(b"plexus-embedding\0")
        h.update(self._spec_json.encode())
        h.update(b"\0")
        h.update(text.encode("utf-8", "surrogatepass"))
        return h.digest()

    def keys(self, texts: Sequence[str]) -> list[bytes]:
        return [self.key(t) for t in texts]

    # -- metadata ---------------------------------------------------------------------
    def _meta_path(self) -> Path:
        return self.path / "meta.json"

    def _read_meta(self) -> None:
        try:
            meta = json.loads(self._meta_path().read_text())
        except (FileNotFoundError, ValueError):
            return
        if isinstance(meta, dict) and isinstance(meta.get("dim"), int):
            self.dim = meta["dim"]

    def _write_meta(self) -> None:
        meta = {"format": CACHE_FORMAT, "spec": self.spec, "dim": self.dim}
        data = (json.dumps(meta, indent=2, sort_keys=True) + "\n").encode()
        atomic_write(self._meta_path(), lambda f: f.write(data))

    def _remove_stale_temps(self) -> None:
        now = time.time()
        for p in self.path.glob(f"{TEMP_PREFIX}*"):
            try:
                if now - p.stat().st_mtime > STALE_TEMP_S:
                    p.unlink()
            except OSError:
                pass

    # -- index ------------------------------------------------------------------------
    def _shard_names(self) -> list[str]:
        return sorted(p.name for p in self.path.glob(SHARD_GLOB))

    def _mark_bad(self, name: str, err: BaseException) -> None:
        if name not in self._bad:
            self._bad.add(name)
            warnings.warn(
                f"Embedding cache: skipping unreadable shard {self.path / name} "
                f"({type(err).__name__}: {err}); its texts will be re-encoded.",
                RuntimeWarning,
                stacklevel=3,
            )

    def _load(self, name: str, member: str) -> np.ndarray:
        with np.load(self.path / name, allow_pickle=False) as z:
            return z[member]

    def refresh(self) -> None:
        """Index shards that appeared since the last look (written by us or others)."""
        for name in self._shard_names():
            if name in self._seen or name in self._bad:
                continue
            try:
                keys = self._load(name, "keys")
                if keys.ndim != 2 or keys.shape[1] != KEY_BYTES or keys.dtype != np.uint8:
                    raise ValueError(f"keys array has shape {keys.shape} dtype {keys.dtype}")
            except FileNotFoundError:
                continue  # removed by a concurrent compact()
            except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
                self._mark_bad(name, err)
                continue
            self._seen.add(name)
            flat = keys.tobytes()
            for row in range(keys.shape[0]):
                k = flat[row * KEY_BYTES : (row + 1) * KEY_BYTES]
                self._index.setdefault(k, (name, row))

    def _reset_index(self) -> None:
        self._index.clear()
        self._seen.clear()

    def __len__(self) -> int:
        self.refresh()
        return len(self._index)

    def __contains__(self, key: bytes) -> bool:
        self.refresh()
        return key in self._index

    # -- read -------------------------------------------------------------------------
    def lookup(self, keys: Sequence[bytes]) -> tuple[np.ndarray | None, np.ndarray]:
        """Vectors for `keys` ([n, d] float32, zero rows for misses) and the hit mask [n].

        Returns `(None, all-False)` when none of the keys is cached.
        """
        out: np.ndarray | None = None
        hit = np.zeros(len(keys), dtype=bool)
        for _attempt in range(2):
            self.refresh()
            hit = np.zeros(len(keys), dtype=bool)
            if not self._index:
                return None, hit
            if self.dim is None:
                self._read_meta()  # another process may have written it since we opened
            out = None
            by_shard: dict[str, tuple[list[int], list[int]]] = {}
            for i, k in enumerate(keys):
                loc = self._index.get(k)
                if loc is not None:
                    dst, src = by_shard.setdefault(loc[0], ([], []))
                    dst.append(i)
                    src.append(loc[1])
            vanished = False
            for name, (dst, src) in by_shard.items():
                try:
                    vecs = self._load(name, "vecs")
                    if vecs.ndim != 2 or (self.dim is not None and vecs.shape[1] != self.dim):
                        raise ValueError(f"vecs array has shape {vecs.shape}, expected d={self.dim}")
                    if max(src) >= vecs.shape[0]:
                        raise ValueError(f"{vecs.shape[0]} vectors for more keys")
                except FileNotFoundError:
                    vanished = True  # compacted away under us: re-index and retry
                    break
                except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
                    self._mark_bad(name, err)
                    self._drop_shard(name)
                    continue
                if self.dim is None:
                    self.dim = int(vecs.shape[1])  # meta.json lost: the shards still say
                if out is None:
                    out = np.zeros((len(keys), self.dim), dtype=np.float32)
                out[dst] = vecs[src]
                hit[dst] = True
            if not vanished:
                break
            self._reset_index()
        if out is None:
            return None, np.zeros(len(keys), dtype=bool)
        return out, hit

    def _drop_shard(self, name: str) -> None:
        self._seen.discard(name)
        for k in [k for k, (n, _) in self._index.items() if n == name]:
            del self._index[k]

    # -- write ------------------------------------------------------------------------
    def store(self, keys: Sequence[bytes], vecs: np.ndarray) -> int:
        """Append vectors for keys not cached yet; returns how many rows were written."""
        vecs = np.ascontiguousarray(np.asarray(vecs, dtype=np.float32))
        if vecs.ndim != 2 or vecs.shape[0] != len(keys):
            raise ValueError(f"store(): {len(keys)} keys but vectors of shape {vecs.shape}")
        if len(keys) == 0:
            return 0
        if self.dim is None:
            self._read_meta()  # written by another process since we opened?
        if self.dim is None:
            self.dim = int(vecs.shape[1])
            self._write_meta()
        elif vecs.shape[1] != self.dim:
            raise PlexusError(
                f"Embedding cache {self.path} holds {self.dim}-d vectors but was given "
                f"{vecs.shape[1]}-d ones for the same encoder settings; delete that folder."
            )
        self.refresh()
        fresh: dict[bytes, int] = {}
        for i, k in enumerate(keys):
            if len(k) != KEY_BYTES:
                raise ValueError(f"cache keys are {KEY_BYTES} bytes; got {len(k)}")
            if k not in self._index and k not in fresh:
                fresh[k] = i
        if not fresh:
            return 0
        rows = np.fromiter(fresh.values(), dtype=np.int64, count=len(fresh))
        key_arr = np.frombuffer(b"".join(fresh), dtype=np.uint8).reshape(-1, KEY_BYTES)
        for start in range(0, len(rows), self.shard_rows):
            sl = slice(start, start + self.shard_rows)
            self._write_shard(key_arr[sl], vecs[rows[sl]])
        return len(rows)

    def _write_shard(self, key_arr: np.ndarray, vecs: np.ndarray) -> None:
        name = f"shard-{time.time_ns():020d}-{os.getpid()}-{uuid.uuid4().hex[:8]}.npz"
        atomic_write(self.path / name, lambda f: np.savez(f, keys=key_arr, vecs=vecs))
        self._seen.add(name)
        flat = key_arr.tobytes()
        for row in range(key_arr.shape[0]):
            self._index.setdefault(flat[row * KEY_BYTES : (row + 1) * KEY_BYTES], (name, row))

    def compact(self) -> None:
        """Merge this namespace's shards into as few as possible (drops unreadable ones)."""
        self._reset_index()
        self.refresh()
        old = sorted(self._seen) + sorted(self._bad)
        if len(self._seen) <= 1 and not self._bad:
            return
        keys = list(self._index)
        vecs, hit = self.lookup(keys)
        keep = [k for k, h in zip(keys, hit) if h]
        self._reset_index()
        self._bad.clear()
        if keep and vecs is not None:
            key_arr = np.frombuffer(b"".join(keep), dtype=np.uint8).reshape(-1, KEY_BYTES)
            v = vecs[hit]
            for start in range(0, len(keep), self.shard_rows):
                sl = slice(start, start + self.shard_rows)
                self._write_shard(key_arr[sl], v[sl])
        for name in old:
            try:
                (self.path / name).unlink()
            except FileNotFoundError:
                pass
            self._seen.discard(name)

    def __repr__(self) -> str:
        return f"CacheNamespace({self.path}, dim={self.dim})"


class EmbeddingCache:
    """Text embeddings on disk, one namespace folder per encoder configuration.

    Pass it to `TextEncoder.encode(texts, cache=...)`; only texts not cached yet are encoded.
    """

    def __init__(self, root: str | Path | None = None, shard_rows: int = 50_000):
        self.root = Path(root).expanduser() if root is not None else default_cache_root()
        self.shard_rows = int(shard_rows)
        self._namespaces: dict[str, CacheNamespace] = {}
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise PlexusError(
                f"Cannot create the embedding cache folder {self.root} ({err}); set "
                "PLEXUS_CACHE to a writable folder or pass cache=False."
            ) from err

    def namespace(self, spec: Mapping[str, Any]) -> CacheNamespace:
        """The namespace for an encoder configuration (created on first use)."""
        digest = hashlib.sha256(canonical_json(spec).encode()).hexdigest()
        ns = self._namespaces.get(digest)
        if ns is None:
            ns = CacheNamespace(self.root, spec, shard_rows=self.shard_rows)
            self._namespaces[digest] = ns
        return ns

    def namespaces(self) -> list[Path]:
        """The namespace folders present on disk."""
        return sorted(p for p in self.root.iterdir() if p.is_dir())

    def clear(self) -> None:
        """Delete every cached embedding under the root."""
        for p in self.namespaces():
            shutil.rmtree(p, ignore_errors=True)
        self._namespaces.clear()

    def __repr__(self) -> str:
        return f"EmbeddingCache({str(self.root)!r})"
