"""FewRel 1.0 val_wiki loader: the README's counts, mention spans that match their words, and
clear errors for a broken file."""

from __future__ import annotations

import gzip
import json

import pytest

from plexus.datasets import get_info
from plexus.datasets.fewrel import load_fewrel, parse_fewrel
from plexus.errors import InputError


@pytest.fixture(scope="module")
def fewrel(shared_datasets):
    return load_fewrel(shared_datasets / "fewrel")


def test_counts_from_the_readme(fewrel):
    assert len(fewrel.relations) == 16
    assert all(len(v) == 700 for v in fewrel.instances.values())
    assert len(fewrel) == 11200
    assert len(fewrel.entity_ids()) == 15611
    assert fewrel.names["P177"] == "crosses"
    assert get_info("fewrel").files == ("val_wiki.json.gz", "pid2name.json.gz")


def test_mention_spans_match_their_words(fewrel):
    first = fewrel.instances["P177"][0]  # the README's example relation, first sentence
    assert first.head.text == "cape girardeau bridge" and first.head.qid == "Q5034838"
    assert first.head.span == (26, 28)
    assert " ".join(first.tokens[26:29]) == "Cape Girardeau Bridge"
    assert first.tail.span == (19, 20) and first.tokens[19:21] == ("Mississippi", "River")
    for rel in fewrel.relations:
        for inst in fewrel.instances[rel][:50]:
            for m in (inst.head, inst.tail):
                a, b = m.span
                assert "".join(inst.tokens[a:b + 1]).lower() == m.text.lower().replace(" ", "")




def test_a_span_that_does_not_match_names_relation_and_instance(tmp_path):
    row = {"tokens": ["Ann", "married", "Bob", "."], "h": ["ann", "Q1", [[0]]], "t": ["bob", "Q2", [[1]]]}
    with pytest.raises(InputError, match=r"relation P26, instance 0 \(tail\).*'bob' does not match"):
        parse_fewrel({"P26": [row]}, {"P26": ["spouse", "the spouse"]}, tmp_path / "val_wiki.json")


def test_a_relation_without_a_name_is_an_error(tmp_path):
    row = {"tokens": ["Ann", "married", "Bob"], "h": ["ann", "Q1", [[0]]], "t": ["bob", "Q2", [[2]]]}
    with pytest.raises(InputError, match="P26.*pid2name"):
        parse_fewrel({"P26": [row]}, {"P40": ["child", "a child"]}, tmp_path / "val_wiki.json")


def test_a_truncated_file_fails_on_the_readme_counts(shared_datasets, tmp_path):
    folder = tmp_path / "fewrel"
    folder.mkdir()
    (folder / "pid2name.json.gz").write_bytes((shared_datasets / "fewrel" / "pid2name.json.gz").read_bytes())
    with gzip.open(shared_datasets / "fewrel" / "val_wiki.json.gz", "rt") as f:
        data = json.load(f)
    data["P177"] = data["P177"][:699]
    with gzip.open(folder / "val_wiki.json.gz", "wt") as f:
        json.dump(data, f)
    with pytest.raises(InputError, match="expected 700 instances of P177, found 699"):
        load_fewrel(folder)
