"""Downloads over real HTTP from a loopback server: checksums, archives, all-or-nothing."""

from __future__ import annotations

import gzip
import hashlib
import socket
import zipfile
from pathlib import Path

import pytest

from plexus.datasets import dataset_names, get_info, load_dataset
from plexus.datasets.fetch import FetchSpec, fetch_dataset, fetch_files, source
from plexus.errors import PlexusError


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


# ogbn-arxiv has no shared copy: test_ogbn_arxiv.py fetches a tiny mirror of it instead.
# decagon (SNAP) has none either: tests/methods/decagon/test_decagon_snap.py fetches a tiny tar.gz mirror.
WITH_SHARED_COPY = [name for name in dataset_names() if name not in ("ogbn-arxiv", "decagon")]


@pytest.mark.parametrize("name", WITH_SHARED_COPY)
def test_every_catalog_entry_fetches_and_loads(shared_datasets, server, build_mirror, tmp_path, name):
    """The catalog's URLs, checksums and file names produce a folder the loader accepts."""
    base, www, _ = server
    build_mirror(shared_datasets, name, www)
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
