"""Download a named dataset into a data root (what `plexus datasets fetch` runs).

A dataset's `fetch_urls` maps each file the loader needs to a *source*: a URL, optionally
with a fragment (never sent to the server) saying what to do with it, in the style of pip's
`#sha256=`:

    https://raw.githubusercontent.com/org/repo/<commit>/data/train.tsv#sha256=<hex>
    https://files.grouplens.org/datasets/movielens/ml-100k.zip#member=ml-100k/u.data&sha256=<hex>

* `member`: take this member of the zip archive (or, for a URL ending in `.tar.gz`/`.tgz`,
  the gzipped tar archive) at the URL (an archive is downloaded once however many members
  are taken from it);
* `sha256`: checksum of the upstream bytes (the file, or the archive member uncompressed),
  verified before anything is written;
* a target ending in `.gz` whose source does not is gzipped on the way, because the loaders
  read the gzipped form the shared data folder uses.

Everything is staged in a temporary folder beside the destination and moved into place only
once every file has arrived and verified, so a failed fetch leaves no file behind. Files
already present are kept and not downloaded again (they were verified when written).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import http.client
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Iterator
from urllib.parse import parse_qsl, urlencode, urlsplit

from plexus import __version__
from plexus.datasets import registry
from plexus.errors import PlexusError

CHUNK = 1 << 20
TIMEOUT_S = 60


@dataclass(frozen=True)
class FetchSpec:
    """Where one dataset file comes from (parsed from, and written as, a source string)."""

    url: str
    member: str | None = None  # member of the zip archive at `url`
    sha256: str | None = None  # of the upstream bytes

    def to_source(self) -> str:
        extras = {k: v for k, v in (("member", self.member), ("sha256", self.sha256)) if v}
        return self.url + ("#" + urlencode(extras, safe="/") if extras else "")

    @classmethod
    def parse(cls, source: str) -> FetchSpec:
        url, _, fragment = source.partition("#")
        opts = dict(parse_qsl(fragment))
        unknown = set(opts) - {"member", "sha256"}
        if unknown:
            raise ValueError(f"unknown fetch option(s) {sorted(unknown)} in {source!r}")
        return cls(url, opts.get("member"), opts.get("sha256"))


def source(url: str, *, member: str | None = None, sha256: str | None = None) -> str:
    """A `fetch_urls` value: `url` plus what to extract and the checksum to expect."""
    return FetchSpec(url, member, sha256).to_source()


def fetch_dataset(
    name: str,
    dest_root: str | Path | None = None,
    base_url_override: str | None = None,
    progress: bool = True,
) -> Path:
    """Download dataset `name` into `dest_root/<dirname>` (default: the Plexus cache).

    `base_url_override` replaces the scheme and host of every URL, keeping its path — point
    it at a mirror that copies the upstream layout (`http://mirror/org/repo/<commit>/...`,
    or `file:///path/to/mirror`). Returns the dataset folder.
    """
    info = registry.get_info(name)
    if not info.fetch_urls:
        raise PlexusError(
            f"Dataset {name!r} has no download source. Put its files ({', '.join(info.files)}) "
            f"in a folder named {info.dirname!r} under --data-dir or $PLEXUS_DATA."
        )
    root = Path(dest_root) if dest_root is not None else registry.CACHE_DIR
    dest = root / info.dirname
    fetch_files(info.fetch_urls, dest, base_url_override=base_url_override, progress=progress)
    missing = [f for f in info.files if not (dest / f).is_file()]
    if missing:  # a catalog entry whose sources do not cover its required files
        raise PlexusError(f"Dataset {name!r} has no download source for {', '.join(missing)}.")
    return dest


def fetch_files(
    sources: dict[str, str],
    dest: Path,
    base_url_override: str | None = None,
    progress: bool = True,
) -> Path:
    """Fetch each `relative path -> source` into `dest`, all or nothing (see module doc)."""
    dest = Path(dest)
    todo = {rel: FetchSpec.parse(src) for rel, src in sources.items() if not (dest / rel).is_file()}
    if not todo:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.partial-", dir=dest.parent))
    try:
        downloads: dict[str, Path] = {}
        for rel, spec in todo.items():
            url = _rewrite(spec.url, base_url_override)
            if url not in downloads:
                downloads[url] = _download(url, staging / f"download-{len(downloads)}", progress)
            _materialise(downloads[url], spec, url, staging / "files" / rel)
        for rel in todo:
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / "files" / rel, dest / rel)
    except PlexusError as e:
        raise PlexusError(f"{e} Nothing was written to {dest}.") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return dest


def _rewrite(url: str, base_url_override: str | None) -> str:
    if not base_url_override:
        return url
    return base_url_override.rstrip("/") + urlsplit(url).path


def _download(url: str, path: Path, progress: bool) -> Path:
    """Stream `url` to `path`; any failure becomes a `PlexusError` naming the URL."""
    from tqdm.auto import tqdm

    request = urllib.request.Request(url, headers={"User-Agent": f"plexus/{__version__}"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response, open(path, "wb") as out:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            name = PurePosixPath(urlsplit(url).path).name
            received = 0
            with tqdm(total=total, desc=name, unit="B", unit_scale=True, unit_divisor=1024,
                      disable=not progress, leave=False) as bar:
                while chunk := response.read(CHUNK):
                    out.write(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
    except urllib.error.HTTPError as e:
        raise PlexusError(f"Downloading {url} failed: HTTP {e.code} {e.reason}.") from None
    except (urllib.error.URLError, http.client.HTTPException, OSError) as e:
        reason = getattr(e, "reason", None) or e
        raise PlexusError(
            f"Could not download {url}: {reason}. Check the network connection (or proxy "
            "settings), or copy the files in by hand."
        ) from None
    if total is not None and received != total:
        raise PlexusError(f"Downloading {url} stopped after {received:,} of {total:,} bytes.")
    return path


def _materialise(raw: Path, spec: FetchSpec, url: str, target: Path) -> None:
    """Write `target` from the downloaded file (or one archive member), checking sha256."""
    upstream_name = spec.member or PurePosixPath(urlsplit(spec.url).path).name
    compress = target.name.endswith(".gz") and not upstream_name.endswith(".gz")
    if upstream_name.endswith(".gz") and not target.name.endswith(".gz"):
        raise PlexusError(f"Cannot write {target.name} from the gzipped {upstream_name}.")
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    try:
        with _open_upstream(raw, spec.member, url) as src, _open_target(target, compress) as out:
            while chunk := src.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError) as e:  # e.g. a bad CRC inside the archive
        raise PlexusError(f"The archive {url} is corrupt ({e}).") from None
    if spec.sha256 and digest.hexdigest() != spec.sha256.lower():
        raise PlexusError(
            f"Checksum mismatch for {target.name} from {url}"
            f"{f' (member {spec.member})' if spec.member else ''}: expected sha256 "
            f"{spec.sha256}, got {digest.hexdigest()}. The upstream file changed or the "
            "download was corrupted."
        )


@contextlib.contextmanager
def _open_upstream(raw: Path, member: str | None, url: str) -> Iterator[IO[bytes]]:
    if member is None:
        with open(raw, "rb") as f:
            yield f
        return
    if urlsplit(url).path.endswith((".tar.gz", ".tgz")):
        try:
            archive = tarfile.open(raw, "r:gz")
        except (tarfile.TarError, OSError, EOFError):
            raise PlexusError(f"{url} is not a gzipped tar archive (wanted its member {member}).") from None
        with archive:
            try:
                f = archive.extractfile(member)
            except KeyError:
                f = None
            if f is None:
                raise PlexusError(f"The archive {url} has no file member {member}.") from None
            with f:
                yield f
        return
    try:
        archive = zipfile.ZipFile(raw)
    except zipfile.BadZipFile:
        raise PlexusError(f"{url} is not a zip archive (wanted its member {member}).") from None
    with archive:
        try:
            f = archive.open(member)
        except KeyError:
            raise PlexusError(f"The archive {url} has no member {member}.") from None
        with f:
            yield f


@contextlib.contextmanager
def _open_target(target: Path, compress: bool) -> Iterator[IO[bytes]]:
    with open(target, "wb") as raw:
        if not compress:
            yield raw
            return
        # mtime=0 and no file name in the header: the same input gives the same bytes.
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as gz:
            yield gz
