"""A trained recommender inside a run directory: write it, read it back, query it.

`save_recommender(run.artifacts, ...)` writes, each file atomically:

    user_embeddings.npy   float32 [num_users, d]
    item_embeddings.npy   float32 [num_items, d]
    user_ids.txt          one external id per line, row i = user i
    item_ids.txt          one external id per line, row i = item i
    item_text.jsonl       optional; line i = {"item_id": ..., "text": ...}
    item_query_embeddings.npy  optional float32 [num_items, d]: item i as a query of `similar`
                          when it differs from its indexed vector (e.g. a bias column: the
                          indexed vector ends in b_i, the query in 1)
    seen.npz              scipy CSR [num_users, num_items]: pairs never recommended (train + val)
    item_index/           the FAISS index over item embeddings (`ItemIndex.save`)
    recommender.json      written last: counts, dimension, index, file list

A reader trusts the folder only when `recommender.json` exists, and it is removed first
when a recommender is saved over an old one, so a save killed half-way is never mixed with
the old files. `load_recommender(run_dir)` returns a `Recommender` whose `recommend` and
`similar` back `plexus recommend`, `plexus similar` and `plexus serve`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import scipy.sparse as sp

from plexus.atomic import atomic_write, atomic_write_text
from plexus.errors import InputError, PlexusError
from plexus.retrieval.index import ItemIndex, Metric, as_float_matrix

MANIFEST = "recommender.json"
INDEX_DIR = "item_index"
FORMAT_VERSION = 1
TEXT_WIDTH = 80  # item text is cut to this many characters in tables


class UnknownId(KeyError, PlexusError):
    """A user or item id that the run does not know (HTTP 404, CLI exit status 2)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:  # KeyError would quote the message
        return self.message


# ---------------------------------------------------------------------------- writing
def save_recommender(
    run_dir_artifacts: str | Path,
    *,
    user_emb: Any,
    item_emb: Any,
    user_ids: Sequence[str],
    item_ids: Sequence[str],
    seen_edge_index: Any,
    item_text: Sequence[str | None] | None = None,
    factory: str = "Flat",
    metric: Metric = "ip",
    item_query_emb: Any = None,
) -> None:
    """Write embeddings, ids, seen pairs, optional item text and a FAISS index into the folder.

    `seen_edge_index` [2, n] holds (user, item) index pairs that `recommend` must exclude
    (training and validation interactions). Scores are inner products (`metric="ip"`) or
    negative squared distances (`"l2"`); `factory` is a FAISS index_factory string.
    """
    folder = Path(run_dir_artifacts)
    users = as_float_matrix(user_emb, "user embeddings")
    items = as_float_matrix(item_emb, "item embeddings")
    if users.shape[1] != items.shape[1]:
        raise InputError(f"user embeddings are {users.shape[1]}-d but item embeddings are {items.shape[1]}-d.")
    user_ids = _check_ids(user_ids, "user", users.shape[0])
    item_ids = _check_ids(item_ids, "item", items.shape[0])
    seen = _seen_matrix(seen_edge_index, users.shape[0], items.shape[0])
    texts = None
    if item_text is not None:
        texts = list(item_text)
        if len(texts) != items.shape[0]:
            raise InputError(f"item_text has {len(texts)} entries but there are {items.shape[0]} items.")
        if not all(t is None or isinstance(t, str) for t in texts):
            raise InputError("item_text entries must be strings (or None for items without text).")
    queries = None
    if item_query_emb is not None:
        queries = as_float_matrix(item_query_emb, "item query embeddings")
        if queries.shape != items.shape:
            raise InputError(f"item query embeddings have shape {queries.shape}, item embeddings {items.shape}.")
    index = ItemIndex.build(items, factory=factory, metric=metric)  # fails before anything is written

    folder.mkdir(parents=True, exist_ok=True)
    (folder / MANIFEST).unlink(missing_ok=True)
    atomic_write(folder / "user_embeddings.npy", lambda f: np.save(f, users))
    atomic_write(folder / "item_embeddings.npy", lambda f: np.save(f, items))
    atomic_write_text(folder / "user_ids.txt", "".join(u + "\n" for u in user_ids))
    atomic_write_text(folder / "item_ids.txt", "".join(i + "\n" for i in item_ids))
    files = ["user_embeddings.npy", "item_embeddings.npy", "user_ids.txt", "item_ids.txt", "seen.npz", INDEX_DIR]
    if texts is not None:
        lines = (json.dumps({"item_id": i, "text": t}, ensure_ascii=False) + "\n" for i, t in zip(item_ids, texts))
        atomic_write_text(folder / "item_text.jsonl", "".join(lines))
        files.append("item_text.jsonl")
    else:
        (folder / "item_text.jsonl").unlink(missing_ok=True)
    if queries is not None:
        atomic_write(folder / "item_query_embeddings.npy", lambda f: np.save(f, queries))
        files.append("item_query_embeddings.npy")
    else:
        (folder / "item_query_embeddings.npy").unlink(missing_ok=True)
    atomic_write(folder / "seen.npz", lambda f: sp.save_npz(f, seen))
    index.save(folder / INDEX_DIR)
    manifest = {
        "format": FORMAT_VERSION, "num_users": users.shape[0], "num_items": items.shape[0],
        "dim": items.shape[1], "num_seen": int(seen.nnz), "factory": factory, "metric": metric,
        "has_text": texts is not None, "files": files,
    }
    atomic_write_text(folder / MANIFEST, json.dumps(manifest, indent=2) + "\n")


def _check_ids(ids: Sequence[str], kind: str, n: int) -> list[str]:
    ids = [str(i) for i in ids]
    if len(ids) != n:
        raise InputError(f"{len(ids)} {kind} ids for {n} {kind} embeddings; they must match row for row.")
    for i, x in enumerate(ids):
        if not x or "\n" in x or "\r" in x:
            raise InputError(f"{kind} id #{i} ({x!r}) is empty or contains a line break.")
    if len(set(ids)) != n:
        seen: set[str] = set()
        dup = next(x for x in ids if x in seen or seen.add(x))
        raise InputError(f"{kind} id {dup!r} occurs more than once; ids must be unique.")
    return ids


def _seen_matrix(edge_index: Any, num_users: int, num_items: int) -> sp.csr_matrix:
    if hasattr(edge_index, "detach"):
        edge_index = edge_index.detach().cpu().numpy()
    ei = np.asarray(edge_index if edge_index is not None else np.zeros((2, 0)), dtype=np.int64)
    if ei.ndim != 2 or ei.shape[0] != 2:
        raise InputError(f"seen_edge_index must have shape [2, n]; got {tuple(ei.shape)}.")
    u, i = ei
    if ei.size and (u.min() < 0 or u.max() >= num_users or i.min() < 0 or i.max() >= num_items):
        raise InputError(f"seen_edge_index has pairs outside {num_users} users x {num_items} items.")
    m = sp.csr_matrix((np.ones(u.size, np.int8), (u, i)), shape=(num_users, num_items))
    m.sum_duplicates()
    m.data[:] = 1
    m.sort_indices()
    return m


# ---------------------------------------------------------------------------- reading
def _artifacts_folder(run_dir: Path) -> Path:
    for folder in (run_dir / "artifacts", run_dir):
        if (folder / MANIFEST).is_file():
            return folder
    if not run_dir.exists():
        raise InputError(f"run directory {run_dir} does not exist.")
    raise InputError(
        f"{run_dir} holds no recommender ({run_dir / 'artifacts' / MANIFEST} is missing). Pass the "
        "run directory of a finished recommendation run (e.g. `plexus run lightgcn --dataset ml-1m`)."
    )


def _read_ids(path: Path, n: int) -> list[str]:
    ids = path.read_text(encoding="utf-8").split("\n")
    if ids and ids[-1] == "":
        ids.pop()
    if len(ids) != n:
        raise InputError(f"{path} has {len(ids)} ids but {n} were saved; the run directory is damaged.")
    return ids


def _run_info(run_dir: Path) -> tuple[str | None, str | None]:
    """(method, dataset) from metrics.json, else from the run folder name <stamp>-<method>-<dataset>."""
    try:
        payload = json.loads((run_dir / "metrics.json").read_text())
        return payload.get("method"), payload.get("dataset")
    except (OSError, ValueError, AttributeError):
        pass
    m = re.fullmatch(r"\d{8}-\d{6}-([^-]+)-(.+?)(?:-\d+)?", run_dir.name)
    return (m.group(1), m.group(2)) if m else (None, None)


@dataclass
class Recommender:
    """Embeddings, ids, seen pairs and the FAISS index of one run, ready to query."""

    run_dir: Path
    folder: Path  # where the artifacts live
    user_emb: np.ndarray
    item_emb: np.ndarray
    user_ids: list[str]
    item_ids: list[str]
    item_text: list[str | None] | None
    seen: sp.csr_matrix
    index: ItemIndex
    method: str | None = None
    dataset: str | None = None
    item_query_emb: np.ndarray | None = None  # items as queries, when not their indexed vectors

    def __post_init__(self) -> None:
        self._user_pos = {u: i for i, u in enumerate(self.user_ids)}
        self._item_pos = {x: i for i, x in enumerate(self.item_ids)}
        self._folded: dict[str, dict[str, str]] = {}

    @property
    def num_users(self) -> int:
        return len(self.user_ids)

    @property
    def num_items(self) -> int:
        return len(self.item_ids)

    def user_index(self, user_id: str) -> int:
        return self._lookup(user_id, "user", self._user_pos, self.user_ids)

    def item_index(self, item_id: str) -> int:
        return self._lookup(item_id, "item", self._item_pos, self.item_ids)

    def recommend(self, user_id: str, k: int = 10, exclude_seen: bool = True) -> list[dict[str, Any]]:
        """The user's top-k items, best first, as dicts (item_id, score[, text]).

        With `exclude_seen`, items in the user's training/validation interactions are never
        returned; the list is shorter than k only when fewer than k items remain.
        """
        u = self.user_index(user_id)
        exclude = [self.seen.indices[self.seen.indptr[u]:self.seen.indptr[u + 1]]] if exclude_seen else None
        return self._search(self.user_emb[u], k, exclude)

    def similar(self, item_id: str, k: int = 10) -> list[dict[str, Any]]:
        """The k items closest to `item_id` under the index metric (never the item itself)."""
        i = self.item_index(item_id)
        query = self.item_emb if self.item_query_emb is None else self.item_query_emb
        return self._search(query[i], k, [np.array([i])])

    def _search(self, query: np.ndarray, k: int, exclude) -> list[dict[str, Any]]:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise InputError(f"k must be a positive integer; got {k!r}.")
        scores, ids = self.index.search(query[None, :], min(int(k), self.num_items), exclude=exclude)
        out = []
        for s, i in zip(scores[0].tolist(), ids[0].tolist()):
            if i < 0:
                break
            row: dict[str, Any] = {"item_id": self.item_ids[i], "score": s}
            if self.item_text is not None and self.item_text[i] is not None:
                row["text"] = self.item_text[i]
            out.append(row)
        return out

    def _lookup(self, key: Any, kind: str, positions: dict[str, int], ids: list[str]) -> int:
        key = str(key)
        pos = positions.get(key)
        if pos is not None:
            return pos
        shown = key if len(key) <= 60 else key[:57] + "..."
        examples = ", ".join(repr(x) for x in ids[:3]) + (", …" if len(ids) > 3 else "")
        msg = f"{kind} {shown!r} is not in this run ({len(ids)} {kind}s; ids look like {examples})."
        hint = self._near_miss(key, kind, positions)
        if hint is not None:
            msg += f" Did you mean {hint!r}?"
        raise UnknownId(msg)

    def _near_miss(self, key: str, kind: str, positions: dict[str, int]) -> str | None:
        if key.strip() in positions:
            return key.strip()
        if kind not in self._folded:  # built once, only when a lookup fails
            self._folded[kind] = {x.casefold(): x for x in positions}
        return self._folded[kind].get(key.strip().casefold())


def load_recommender(run_dir: str | Path, *, ef_search: int | None = None, nprobe: int | None = None) -> Recommender:
    """Read what `save_recommender` wrote in `run_dir/artifacts` (or in `run_dir` itself)."""
    run_dir = Path(run_dir)
    folder = _artifacts_folder(run_dir)
    manifest_path = folder / MANIFEST
    try:
        man = json.loads(manifest_path.read_text())
        nu, ni, dim = int(man["num_users"]), int(man["num_items"]), int(man["dim"])
    except (ValueError, KeyError, TypeError) as e:
        raise InputError(f"{manifest_path} is not a valid recommender manifest ({e}).") from None
    if man.get("format", 0) > FORMAT_VERSION:
        raise InputError(f"{manifest_path} was written by a newer Plexus (format {man['format']}); upgrade.")
    try:
        users = np.load(folder / "user_embeddings.npy")
        items = np.load(folder / "item_embeddings.npy")
        user_ids = _read_ids(folder / "user_ids.txt", nu)
        item_ids = _read_ids(folder / "item_ids.txt", ni)
        seen = sp.load_npz(folder / "seen.npz").tocsr()
        texts = None
        if man.get("has_text"):
            lines = (folder / "item_text.jsonl").read_text(encoding="utf-8").split("\n")
            texts = [json.loads(line)["text"] for line in lines if line.strip()]
        queries = None
        if "item_query_embeddings.npy" in man.get("files", []):
            queries = np.load(folder / "item_query_embeddings.npy").astype(np.float32, copy=False)
    except (OSError, ValueError, KeyError) as e:
        raise InputError(f"cannot read the recommender in {folder}: {e}") from None
    if users.shape != (nu, dim) or items.shape != (ni, dim) or seen.shape != (nu, ni) or (
        texts is not None and len(texts) != ni
    ) or (queries is not None and queries.shape != (ni, dim)):
        raise InputError(
            f"the recommender files in {folder} do not match {manifest_path} "
            f"({nu} users, {ni} items, {dim}-d); the run directory is damaged, re-save it."
        )
    index = ItemIndex.load(folder / INDEX_DIR, ef_search=ef_search, nprobe=nprobe)
    if index.ntotal != ni or index.dim != dim:
        raise InputError(f"{folder / INDEX_DIR} indexes {index.ntotal} items, not the {ni} saved; re-save it.")
    method, dataset = _run_info(folder.parent if folder.name == "artifacts" else folder)
    return Recommender(
        run_dir=run_dir, folder=folder, user_emb=users.astype(np.float32, copy=False),
        item_emb=items.astype(np.float32, copy=False), user_ids=user_ids, item_ids=item_ids,
        item_text=texts, seen=seen, index=index, method=method, dataset=dataset, item_query_emb=queries,
    )


# ---------------------------------------------------------------------------- CLI text
def _clip(text: str, width: int = TEXT_WIDTH) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def format_table(rows: list[dict[str, Any]]) -> str:
    """rank / item_id / score / text as an aligned plain-text table (no colours, no box drawing)."""
    has_text = any("text" in r for r in rows)
    header = ["rank", "item_id", "score"] + (["text"] if has_text else [])
    body = [[str(n), r["item_id"], f"{r['score']:.4f}"] + ([_clip(r.get("text") or "")] if has_text else [])
            for n, r in enumerate(rows, 1)]
    widths = [max(len(h), *(len(row[c]) for row in body)) if body else len(h) for c, h in enumerate(header)]
    right = {0, 2}  # numbers right-aligned

    def line(cells: list[str]) -> str:
        parts = [c.rjust(w) if j in right else c.ljust(w) for j, (c, w) in enumerate(zip(cells, widths))]
        return "  ".join(parts).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in body])


def _describe(rec: Recommender) -> str:
    who = " on ".join(x for x in (rec.method, rec.dataset) if x) or "recommender"
    return f"{who}; {rec.index.factory} index, {rec.index.metric} scores"


def recommend_cli(run_dir: str | Path, user: str, k: int = 10, **search: int | None) -> str:
    """`plexus recommend`: the user's top-k unseen items as a plain-text table (`search`:
    ef_search / nprobe for an approximate index; None keeps what the run saved)."""
    rec = load_recommender(run_dir, **search)
    rows = rec.recommend(user, k)
    u = rec.user_index(user)
    n_seen = int(rec.seen.indptr[u + 1] - rec.seen.indptr[u])
    title = f"top {k} items for user {user!r} ({n_seen} seen items excluded; {_describe(rec)})"
    if not rows:
        return f"{title}\n(no items left: the user has interacted with all {rec.num_items} items)"
    return f"{title}\n{format_table(rows)}"


def similar_cli(run_dir: str | Path, item: str, k: int = 10, **search: int | None) -> str:
    """`plexus similar`: the k items most similar to `item` as a plain-text table."""
    rec = load_recommender(run_dir, **search)
    rows = rec.similar(item, k)
    i = rec.item_index(item)
    title = f"top {k} items similar to item {item!r} ({_describe(rec)})"
    if rec.item_text is not None and rec.item_text[i]:
        title += f"\nitem {item!r}: {_clip(rec.item_text[i])}"
    if not rows:
        return f"{title}\n(no other items in this run)"
    return f"{title}\n{format_table(rows)}"
