"""Named datasets: where their files are looked up and how they are loaded.

A dataset is a `DatasetInfo`: the folder name its files live in, the files that must be
there, and a loader `(folder: Path) -> graph object`. Folders are searched in order:

1. `--data-dir` (the `data_dir` argument),
2. `$PLEXUS_DATA`,
3. the data bundled inside the package (only datasets whose licence allows it),
4. `~/.cache/plexus` (where `plexus datasets fetch` writes).

The first place holding every required file wins.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from plexus.errors import DatasetNotFound

BUNDLED_DIR = Path(__file__).parent / "bundled"
CACHE_DIR = Path(os.environ.get("PLEXUS_CACHE", Path.home() / ".cache" / "plexus"))


@dataclass(frozen=True)
class DatasetInfo:
    """What Plexus knows about a named dataset."""

    name: str
    task: str  # e.g. "link prediction / node classification"
    dirname: str  # folder under a data root, e.g. "planetoid"
    files: tuple[str, ...]  # paths relative to the folder that must exist
    loader: Callable[[Path], Any]
    size: str  # human summary, e.g. "2708 nodes, 5278 edges"
    source: str  # canonical source (paper / repository)
    licence: str
    bundled: bool = False  # shipped inside the package
    description: str = ""
    fetch_urls: dict[str, str] = field(default_factory=dict)  # relative file -> URL


_DATASETS: dict[str, DatasetInfo] = {}


def register_dataset(info: DatasetInfo) -> DatasetInfo:
    if info.name in _DATASETS:
        raise ValueError(f"dataset {info.name!r} registered twice")
    _DATASETS[info.name] = info
    return info


def dataset_names() -> list[str]:
    _ensure_catalog()
    return sorted(_DATASETS)


def get_info(name: str) -> DatasetInfo:
    _ensure_catalog()
    if name not in _DATASETS:
        import difflib

        close = difflib.get_close_matches(name, _DATASETS, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise DatasetNotFound(
            f"Unknown dataset {name!r}.{hint} Known datasets: {', '.join(sorted(_DATASETS))}."
        )
    return _DATASETS[name]


def search_roots(data_dir: str | Path | None = None) -> list[tuple[str, Path]]:
    """The data roots in lookup order, each with a label saying where it came from."""
    roots: list[tuple[str, Path]] = []
    if data_dir:
        roots.append(("--data-dir", Path(data_dir)))
    env = os.environ.get("PLEXUS_DATA")
    if env:
        roots.append(("$PLEXUS_DATA", Path(env)))
    roots.append(("bundled", BUNDLED_DIR))
    roots.append(("cache", CACHE_DIR))
    return roots


def locate(info: DatasetInfo, data_dir: str | Path | None = None) -> tuple[str, Path] | None:
    """The first (label, folder) holding every file `info` needs, or None."""
    for label, root in search_roots(data_dir):
        folder = root / info.dirname
        if all((folder / f).is_file() for f in info.files):
            return label, folder
    return None


def load_dataset(name: str, data_dir: str | Path | None = None) -> Any:
    """Load a named dataset from the first place that has it."""
    info = get_info(name)
    found = locate(info, data_dir)
    if found is None:
        searched = "; ".join(f"{lab}: {root / info.dirname}" for lab, root in search_roots(data_dir))
        fetch = (
            f" Run `plexus datasets fetch {name}` to download it, or point"
            if info.fetch_urls
            else " Point"
        )
        raise DatasetNotFound(
            f"Dataset {name!r} was not found (needs {', '.join(info.files[:3])}"
            f"{'...' if len(info.files) > 3 else ''} under a folder named {info.dirname!r}). "
            f"Searched {searched}.{fetch} --data-dir or $PLEXUS_DATA at a folder holding "
            f"{info.dirname}/."
        )
    return info.loader(found[1])


def _ensure_catalog() -> None:
    # The catalog module registers every dataset on import; importing it lazily keeps
    # `registry` free of loader imports (and of import cycles).
    import plexus.datasets.catalog  # noqa: F401
