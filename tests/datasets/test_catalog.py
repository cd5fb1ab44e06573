"""The catalog: every dataset registered with complete, consistent metadata."""

from __future__ import annotations

import re

import pytest

from plexus.datasets import dataset_names, get_info
from plexus.datasets.fetch import FetchSpec
from plexus.datasets.registry import BUNDLED_DIR

NAMES = ["citeseer", "citeseer-tag", "cora", "decagon", "decagon-targets", "drugbank-ddi86", "fb15k237", "fewrel", "gowalla",
         "lastfm", "ml-1m", "movielens-100k", "ogbn-arxiv", "twosides-cid-map", "umls", "wn18rr", "zinc250k-subset"]
# Licences that forbid redistribution, or sources without a licence: never in the package.
NOT_REDISTRIBUTABLE = ["movielens-100k", "ml-1m", "gowalla", "lastfm", "drugbank-ddi86"]


def test_every_dataset_is_registered():
    assert dataset_names() == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_metadata_is_complete_and_fetchable(name):
    info = get_info(name)
    for field in ("task", "size", "source", "licence", "description"):
        assert getattr(info, field).strip(), field
    assert set(info.files) <= set(info.fetch_urls), "every required file has a download source"
    for src in info.fetch_urls.values():
        spec = FetchSpec.parse(src)
        assert spec.url.startswith("https://")
        assert spec.sha256 is None or re.fullmatch(r"[0-9a-f]{64}", spec.sha256)


@pytest.mark.parametrize("name", NAMES)
def test_bundled_flag_matches_the_package(name):
    info = get_info(name)
    folder = BUNDLED_DIR / info.dirname
    assert info.bundled == all((folder / f).is_file() for f in info.files)
    if info.bundled:
        assert (folder / "README.md").is_file(), "bundled data carries its licence attribution"


def test_restricted_data_is_not_bundled():
    for name in NOT_REDISTRIBUTABLE:
        info = get_info(name)
        assert not info.bundled
        assert not (BUNDLED_DIR / info.dirname).exists()
    assert not (BUNDLED_DIR / "lightgcn").exists()
