"""Downloads over real HTTP from a loopback server: checksums, archives, all-or-nothing."""

from __future__ import annotations

import gzip
import hashlib
import socket
import threading
import zipfile
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from plexus.datasets import dataset_names, get_info, load_dataset
from plexus.datasets.fetch import FetchSpec, fetch_dataset, fetch_files, source
from plexus.errors import PlexusError


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


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def test_fetch_verifies_gzips_and_skips_present_files(server, tmp_path):
    base, www, requests = server
    (www / "a.txt").write_bytes(b"alpha\n")
    (www / "b.txt").write_bytes(b"beta\n" * 100)
    dest = tmp_path / "out" / "ds"
    sources = {"a.txt": source(f"{base}/a.txt", sha256=_sha(b"alpha\n")),
               "sub/b.txt.gz": source(f"{base}/b.txt")}
    fetch_files(sources, dest, progress=True)
    assert (dest / "a.txt").read_bytes() == b"alpha\n"
    assert gzip.decompress((dest / "sub" / "b.txt.gz").read_bytes()) == b"beta\n" * 100
    assert not [p for p in dest.parent.iterdir() if p.name.startswith(".")]  # staging removed
    fetch_files(sources, dest, progress=False)
    assert requests == ["/a.txt", "/b.txt"]  # the second call found both files in place


def test_checksum_mismatch_leaves_nothing(server, tmp_path):
    base, www, _ = server
    (www / "a.txt").write_bytes(b"alpha\n")
    (www / "b.txt").write_bytes(b"tampered\n")
    sources = {"a.txt": source(f"{base}/a.txt", sha256=_sha(b"alpha\n")),
               "b.txt": source(f"{base}/b.txt", sha256=_sha(b"beta\n"))}
    with pytest.raises(PlexusError, match=r"Checksum mismatch for b\.txt .*expected sha256") as err:
        fetch_files(sources, tmp_path / "out" / "ds", progress=False)
    assert "Nothing was written" in str(err.value)
    assert _files_under(tmp_path / "out") == []


def test_http_404_is_a_clear_error(server, tmp_path):
    base, _, _ = server
    with pytest.raises(PlexusError, match=rf"Downloading {base}/missing\.txt failed: HTTP 404"):
        fetch_files({"m.txt": source(f"{base}/missing.txt")}, tmp_path / "out" / "ds", progress=False)
    assert _files_under(tmp_path / "out") == []


def test_truncated_transfer_leaves_nothing(server, tmp_path):
    base, _, _ = server
    with pytest.raises(PlexusError, match=rf"{base}/truncated"):
        fetch_files({"t.bin": source(f"{base}/truncated")}, tmp_path / "out" / "ds", progress=False)
    assert _files_under(tmp_path / "out") == []


def test_unreachable_host_is_a_clear_error(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(PlexusError, match=rf"Could not download http://127\.0\.0\.1:{port}/x"):
        fetch_files({"x": source(f"http://127.0.0.1:{port}/x")}, tmp_path / "ds", progress=False)


def test_zip_members_are_extracted_from_one_download(server, tmp_path):
    base, www, requests = server
    with zipfile.ZipFile(www / "bundle.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("pkg/one.txt", "one\n")
        z.writestr("pkg/two.txt", "two\n")
    url = f"{base}/bundle.zip"
    dest = fetch_files({"one.txt.gz": source(url, member="pkg/one.txt", sha256=_sha(b"one\n")),
                        "two.txt": source(url, member="pkg/two.txt")},
                       tmp_path / "ds", progress=False)
    assert gzip.decompress((dest / "one.txt.gz").read_bytes()) == b"one\n"
    assert (dest / "two.txt").read_text() == "two\n"
    assert requests == ["/bundle.zip"]
    with pytest.raises(PlexusError, match="has no member pkg/three.txt"):
        fetch_files({"three.txt": source(url, member="pkg/three.txt")}, tmp_path / "ds2", progress=False)


def test_source_strings_round_trip():
    spec = FetchSpec("https://h/a.zip", member="dir/u.data", sha256="ab" * 32)
    assert FetchSpec.parse(spec.to_source()) == spec
    assert FetchSpec.parse("https://h/plain.txt") == FetchSpec("https://h/plain.txt")


def _build_mirror(shared: Path, name: str, www: Path) -> None:
    """Lay the shared copy of dataset `name` out as its upstream URLs would serve it."""
    info = get_info(name)
    archives: dict[Path, dict[str, bytes]] = {}
    for rel, src in info.fetch_urls.items():
        spec = FetchSpec.parse(src)
        data = (shared / info.dirname / rel).read_bytes()
        if rel.endswith(".gz") and not (spec.member or spec.url).endswith(".gz"):
            data = gzip.decompress(data)
        path = www / urlsplit(spec.url).path.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        if spec.member:
            archives.setdefault(path, {})[spec.member] = data
        else:
            path.write_bytes(data)
    for path, members in archives.items():
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            for member, data in members.items():
                z.writestr(member, data)


@pytest.mark.parametrize("name", dataset_names())
def test_every_catalog_entry_fetches_and_loads(shared_datasets, server, tmp_path, name):
    """The catalog's URLs, checksums and file names produce a folder the loader accepts."""
    base, www, _ = server
    _build_mirror(shared_datasets, name, www)
    folder = fetch_dataset(name, dest_root=tmp_path / "root", base_url_override=base, progress=False)
    assert folder == tmp_path / "root" / get_info(name).dirname
    assert load_dataset(name, data_dir=tmp_path / "root") is not None


def test_dataset_without_sources_is_explained(monkeypatch, tmp_path):
    from dataclasses import replace

    from plexus.datasets import registry

    info = replace(get_info("umls"), fetch_urls={})
    monkeypatch.setitem(registry._DATASETS, "umls", info)
    with pytest.raises(PlexusError, match="has no download source"):
        fetch_dataset("umls", dest_root=tmp_path)
