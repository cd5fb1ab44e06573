"""HTTP serving of a run directory's recommender (FastAPI + uvicorn)."""

from plexus.serve.app import create_app, running_server, serve

__all__ = ["create_app", "running_server", "serve"]
