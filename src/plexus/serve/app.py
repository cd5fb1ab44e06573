"""An HTTP API over a run directory's recommender (FastAPI; OpenAPI docs at /docs).

    GET /health                         status, run name (never its path), method, counts
    GET /recommend?user=ID&k=10         the user's top-k unseen items
    GET /similar?item=ID&k=10           the k items most similar to an item

Unknown ids answer 404 with a message; bad parameters (missing, empty, k outside 1..1000)
answer 422. The recommender is loaded once, when the app is created, so a bad run directory
fails before the server starts listening.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from pathlib import Path
from typing import Annotated, Any, Iterator

from fastapi import FastAPI, HTTPException, Query
from pydantic import BaseModel, Field

from plexus.errors import InputError, PlexusError
from plexus.retrieval.artifacts import Recommender, UnknownId, load_recommender

MAX_K = 1000
MAX_ID_LENGTH = 512

# module level: endpoint annotations are strings (future import) resolved in this namespace
UserQ = Annotated[str, Query(min_length=1, max_length=MAX_ID_LENGTH, description="a user id of the run")]
ItemQ = Annotated[str, Query(min_length=1, max_length=MAX_ID_LENGTH, description="an item id of the run")]
KQ = Annotated[int, Query(ge=1, le=MAX_K, description="how many items (1..1000)")]


class ScoredItem(BaseModel):
    rank: int = Field(description="1 = best")
    item_id: str
    score: float | None = Field(description="inner product, or negative squared distance for l2 indexes")
    text: str | None = Field(None, description="the item's text, when the dataset has one")


class RecommendResponse(BaseModel):
    user: str
    k: int
    exclude_seen: bool
    items: list[ScoredItem]


class SimilarResponse(BaseModel):
    item: str
    k: int
    items: list[ScoredItem]


class Health(BaseModel):
    status: str
    run_dir: str
    method: str | None
    dataset: str | None
    num_users: int
    num_items: int
    num_seen: int
    dim: int
    index: str
    metric: str


def _rows(rows: list[dict[str, Any]]) -> list[ScoredItem]:
    return [
        ScoredItem(rank=n, item_id=r["item_id"], score=r["score"] if math.isfinite(r["score"]) else None,
                   text=r.get("text"))
        for n, r in enumerate(rows, 1)
    ]


def _call(fn, *args):
    try:
        return fn(*args)
    except UnknownId as e:
        raise HTTPException(status_code=404, detail=str(e)) from None
    except PlexusError as e:  # validated above, but never let a user error become a 500
        raise HTTPException(status_code=422, detail=str(e)) from None


def create_app(run_dir: str | Path, recommender: Recommender | None = None, *,
               ef_search: int | None = None, nprobe: int | None = None) -> FastAPI:
    """The FastAPI app serving `run_dir` (pass `recommender` to reuse one already loaded;
    `ef_search` / `nprobe` override an approximate index's saved search settings)."""
    rec = recommender if recommender is not None else load_recommender(run_dir, ef_search=ef_search, nprobe=nprobe)
    title = " on ".join(x for x in (rec.method, rec.dataset) if x) or Path(run_dir).name
    app = FastAPI(
        title=f"Plexus recommender: {title}",
        description=f"Recommendations from the run directory `{run_dir}`.",
        version="1",
    )
    app.state.recommender = rec

    @app.get("/health", response_model=Health)
    def health() -> Health:
        """Liveness, and what is being served."""
        return Health(
            status="ok", run_dir=Path(run_dir).resolve().name,  # its name: never the server's paths
            method=rec.method, dataset=rec.dataset,
            num_users=rec.num_users, num_items=rec.num_items, num_seen=int(rec.seen.nnz),
            dim=rec.index.dim, index=rec.index.factory, metric=rec.index.metric,
        )

    @app.get("/recommend", response_model=RecommendResponse,
             responses={404: {"description": "unknown user id"}})
    def recommend(user: UserQ, k: KQ = 10, exclude_seen: bool = True) -> RecommendResponse:
        """The user's top-k items; items the user interacted with in training/validation are excluded."""
        rows = _call(rec.recommend, user, k, exclude_seen)
        return RecommendResponse(user=user, k=k, exclude_seen=exclude_seen, items=_rows(rows))

    @app.get("/similar", response_model=SimilarResponse,
             responses={404: {"description": "unknown item id"}})
    def similar(item: ItemQ, k: KQ = 10) -> SimilarResponse:
        """The k items nearest to `item` in embedding space (the item itself excluded)."""
        rows = _call(rec.similar, item, k)
        return SimilarResponse(item=item, k=k, items=_rows(rows))

    @app.get("/", include_in_schema=False)
    def root() -> dict[str, Any]:
        return {"docs": "/docs", "endpoints": ["/health", "/recommend?user=ID&k=10", "/similar?item=ID&k=10"]}

    return app


def serve(run_dir: str | Path, host: str = "127.0.0.1", port: int = 8000, log_level: str = "info",
          ef_search: int | None = None, nprobe: int | None = None) -> None:
    """Serve `run_dir` with uvicorn until interrupted (`plexus serve`)."""
    import uvicorn

    app = create_app(run_dir, ef_search=ef_search, nprobe=nprobe)  # raises PlexusError for a bad run directory, before binding
    _check_can_listen(host, port)
    uvicorn.run(app, host=host, port=port, log_level=log_level)


def _check_can_listen(host: str, port: int) -> None:
    """A clear PlexusError instead of uvicorn's exit when the address is taken or invalid."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, _, _, _, addr = infos[0]
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
            sock.bind(addr)
    except (OSError, OverflowError) as e:
        reason = getattr(e, "strerror", None) or str(e)
        raise InputError(f"cannot listen on {host}:{port} ({reason}); choose another --host/--port.") from None


@contextlib.contextmanager
def running_server(app: FastAPI, host: str = "127.0.0.1", port: int = 0, timeout: float = 20.0) -> Iterator[str]:
    """Run `app` with uvicorn in a background thread; yields its base URL, stops it on exit.

    `port=0` picks a free port. Used by the tests and handy in notebooks.
    """
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name="plexus-serve", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            thread.join(timeout)
            raise RuntimeError(f"the server on {host}:{port} did not start within {timeout:.0f} s")
        time.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://[{host}]:{bound}" if ":" in host else f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        thread.join(timeout)
