"""Helpers for dataset tests: editable copies of shared dataset folders, a loopback HTTP
server, and mirrors laid out as a dataset's upstream URLs serve it."""

from __future__ import annotations

import gzip
import shutil
import threading
import io
import tarfile
import zipfile
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

import pytest

from plexus.datasets import get_info
from plexus.datasets.fetch import FetchSpec


@pytest.fixture
def copy_dataset(shared_datasets: Path, tmp_path: Path) -> Callable[[str], Path]:
    """`copy_dataset(dirname)` copies shared/<dirname> to tmp_path/root/<dirname> (writable)."""

    def copy(dirname: str) -> Path:
        dest = tmp_path / "root" / dirname
        shutil.copytree(shared_datasets / dirname, dest)
        for f in dest.rglob("*"):
            f.chmod(0o644 if f.is_file() else 0o755)
        return dest

    return copy


@pytest.fixture
def edit_gz() -> Callable[[Path, Callable[[list[str]], list[str]]], None]:
    """`edit_gz(path, edit)` rewrites a gzipped text file through `edit(lines) -> lines`."""

    def rewrite(path: Path, edit: Callable[[list[str]], list[str]]) -> None:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            lines = f.readlines()  # each keeps its newline
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.writelines(edit(lines))

    return rewrite


class _Handler(SimpleHTTPRequestHandler):
    requests: list[str]

    def do_GET(self):  # noqa: N802 - http.server's naming
        self.requests.append(self.path)
        if self.path == "/truncated":  # promises 1000 bytes, sends 10, hangs up
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"0123456789")
            self.wfile.flush()
            self.close_connection = True
            return
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    """(base URL, served folder, list of requested paths) of a loopback HTTP server."""
    root = tmp_path / "www"
    root.mkdir()
    requests: list[str] = []
    handler = type("Handler", (_Handler,), {"requests": requests})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", root, requests
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def build_mirror() -> Callable[[Path, str, Path], None]:
    """`build_mirror(data_root, name, www)` lays `data_root/<dirname>` of dataset `name` out
    under `www` as its upstream URLs serve it (archives zipped, plain files un-gzipped)."""

    def build(data_root: Path, name: str, www: Path) -> None:
        info = get_info(name)
        archives: dict[Path, dict[str, bytes]] = {}
        for rel, src in info.fetch_urls.items():
            spec = FetchSpec.parse(src)
            data = (data_root / info.dirname / rel).read_bytes()
            if rel.endswith(".gz") and not (spec.member or spec.url).endswith(".gz"):
                data = gzip.decompress(data)
            path = www / urlsplit(spec.url).path.lstrip("/")
            path.parent.mkdir(parents=True, exist_ok=True)
            if spec.member:
                archives.setdefault(path, {})[spec.member] = data
            else:
                path.write_bytes(data)
        for path, members in archives.items():
            if path.name.endswith((".tar.gz", ".tgz")):  # e.g. SNAP's Decagon archives
                with tarfile.open(path, "w:gz") as tar:
                    for member, data in members.items():
                        entry = tarfile.TarInfo(member)
                        entry.size = len(data)
                        tar.addfile(entry, io.BytesIO(data))
                continue
            with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
                for member, data in members.items():
                    z.writestr(member, data)

    return build
