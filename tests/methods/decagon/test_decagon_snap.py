"""The SNAP Decagon files: `plexus datasets fetch decagon` from a mirror of SNAP's archives
(small files in the release's format, written here), the loader, and a run on them."""

from __future__ import annotations

import io
import tarfile

import numpy as np
import pytest

from plexus.datasets import load_dataset
from plexus.datasets.fetch import fetch_dataset
from plexus.errors import InputError, PlexusError
from plexus.runner import build_config, execute


def _snap_files(drugs=10, proteins=6, effects=3, pairs=25, seed=0) -> dict[str, str]:
    rng = np.random.default_rng(seed)
    cid = [f"CID{100000 + i:09d}" for i in range(drugs)]
    combo = ["STITCH 1,STITCH 2,Polypharmacy Side Effect,Side Effect Name"]
    for e in range(effects):
        seen = set()
        while len(seen) < pairs:
            i, j = sorted(rng.choice(drugs, 2, replace=False).tolist())
            seen.add((i, j))
        combo += [f"{cid[i]},{cid[j]},C{e:07d},effect number {e}" for i, j in sorted(seen)]
    ppi = ["Gene 1,Gene 2"] + [f"{100 + p},{100 + (p + 1) % proteins}" for p in range(proteins)]
    targets = ["STITCH,Gene"] + [f"{cid[d]},{100 + d % proteins}" for d in range(drugs)]
    mono = ["STITCH,Individual Side Effect,Side Effect Name"] + [
        f"{cid[d]},C9{k:06d},mono {k}" for d in range(drugs) for k in range(5) if (d + k) % 2 == 0]
    return {"bio-decagon-combo.csv": combo, "bio-decagon-ppi.csv": ppi, "bio-decagon-targets.csv": targets,
            "bio-decagon-mono.csv": mono}


def _mirror(tmp_path, files) -> str:
    folder = tmp_path / "mirror" / "decagon"
    folder.mkdir(parents=True)
    for name, lines in files.items():
        data = ("\n".join(lines) + "\n").encode()
        with tarfile.open(folder / name.replace(".csv", ".tar.gz"), "w:gz") as tar:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return f"file://{tmp_path / 'mirror'}"


def test_fetch_load_and_run(tmp_path):
    files = _snap_files()
    root = tmp_path / "data"
    folder = fetch_dataset("decagon", root, base_url_override=_mirror(tmp_path, files), progress=False)
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{n}.gz" for n in files)
    data = load_dataset("decagon", data_dir=root)
    assert data["drug"].num_nodes == 10 and data["protein"].num_nodes == 6
    assert data.relation_id == ["C0000000", "C0000001", "C0000002"] and data.relation_text[1] == "effect number 1"
    assert data["drug", "interacts", "drug"].edge_index.shape == (2, 75)
    assert data["protein", "ppi", "protein"].edge_index.shape == (2, 6)
    assert data.mono_index.size(1) == sum(1 for d in range(10) for k in range(5) if (d + k) % 2 == 0)

    cfg = build_config("decagon", dataset="decagon", overrides=[
        f"data_dir={root}", "epochs=2", "hidden=8", "out=4", "batch_size=32", "min_eval_edges=1", "min_relation_edges=10"])
    res = execute("decagon", cfg, out=tmp_path / "runs", quiet=True)
    assert "mono side effects" in res.protocol and "10 drugs, 6 proteins, 3 drug–drug relations" in res.protocol
    assert 0 <= res.metrics["test_auroc"]["mean"] <= 1


def test_fetch_of_a_missing_member_writes_nothing(tmp_path):
    files = _snap_files()
    mirror = _mirror(tmp_path, files)
    (tmp_path / "mirror" / "decagon" / "bio-decagon-ppi.tar.gz").unlink()
    with pytest.raises(PlexusError, match="bio-decagon-ppi.tar.gz"):
        fetch_dataset("decagon", tmp_path / "data", base_url_override=mirror, progress=False)
    assert not (tmp_path / "data" / "decagon").exists() or not any((tmp_path / "data" / "decagon").iterdir())


def test_malformed_row_names_file_and_line(tmp_path):
    files = _snap_files()
    files["bio-decagon-combo.csv"].insert(4, "CID000100001,,C0000000,effect number 0")
    root = tmp_path / "data"
    fetch_dataset("decagon", root, base_url_override=_mirror(tmp_path, files), progress=False)
    with pytest.raises(InputError, match=r"bio-decagon-combo.csv.gz, line 5, column 'STITCH 2': empty value"):
        load_dataset("decagon", data_dir=root)
