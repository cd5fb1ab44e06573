"""Downstream data for JAKET: UMLS classes, the 20/20/60 entity split, the FewRel relation
split and leakage filter, mention token spans, link-prediction queries and filters."""

from __future__ import annotations

from collections import Counter

import pytest
import torch

from plexus.datasets.fewrel import Instance, Mention, load_fewrel
from plexus.datasets.knowledge_graphs import load_umls
from plexus.graph.node_splits import split_nodes
from plexus.methods.jaket.downstream.categories import GROUP_NAMES, umls_classes
from plexus.methods.jaket.downstream.fewrel_data import (
    EVAL_RELATIONS, TRAIN_RELATIONS, encode, leakage_filter, pools_of, text_ngrams)
from plexus.methods.jaket.downstream.link_prediction import known_answers, queries
from plexus.errors import InputError


@pytest.fixture(scope="module")
def umls(shared_datasets):
    return load_umls(shared_datasets / "umls_text")


def test_umls_semantic_groups(umls):
    y, names = umls_classes(list(umls.entity_id))
    assert len(y) == 135 and names == GROUP_NAMES and len(names) == 15
    group = dict(zip(umls.entity_id, (names[i] for i in y)))
    assert group["virus"] == "LIVB" and group["enzyme"] == "CHEM" and group["finding"] == "DISO"
    assert group["geographic_area"] == "GEOG" and group["diagnostic_procedure"] == "PROC"
    counts = Counter(names[i] for i in y)
    assert counts["CHEM"] == 26 and counts["LIVB"] == 23 and counts["GEOG"] == 1
    with pytest.raises(InputError, match="without a semantic group: unicorn"):
        umls_classes(["virus", "unicorn"])


def test_entity_split_is_20_20_60_without_leakage(umls):
    y, _ = umls_classes(list(umls.entity_id))
    y = torch.tensor(y)
    a = split_nodes(y, "supervised", 0, train_ratio=0.2, val_ratio=0.2)
    assert (a.train.numel(), a.val.numel(), a.test.numel()) == (27, 27, 81)
    parts = [set(p.tolist()) for p in (a.train, a.val, a.test)]
    assert not (parts[0] & parts[1]) and not (parts[0] & parts[2]) and not (parts[1] & parts[2])
    assert set.union(*parts) == set(range(135))
    b = split_nodes(y, "supervised", 1, train_ratio=0.2, val_ratio=0.2)
    assert not torch.equal(a.train, b.train)  # drawn per seed


def test_fewrel_relation_split(shared_datasets):
    fewrel = load_fewrel(shared_datasets / "fewrel")
    assert len(EVAL_RELATIONS) == 10 and len(TRAIN_RELATIONS) == 6
    assert set(EVAL_RELATIONS) | set(TRAIN_RELATIONS) == set(fewrel.relations)
    assert not set(EVAL_RELATIONS) & set(TRAIN_RELATIONS)
    train = pools_of(fewrel, TRAIN_RELATIONS, 50, seed=1)
    dev = pools_of(fewrel, TRAIN_RELATIONS, 20, seed=1, start=50)
    assert len(train) == 300 and len(dev) == 120
    assert not {id(i) for i in train} & {id(i) for i in dev}  # dev sentences are held out


def _inst(words, head, tail, rel="P26"):
    return Instance(tuple(words), Mention(" ".join(words[head[0]:head[1] + 1]), "Q1", (tuple(range(head[0], head[1] + 1)),)),
                    Mention(" ".join(words[tail[0]:tail[1] + 1]), "Q2", (tuple(range(tail[0], tail[1] + 1)),)), rel)


def test_leakage_filter_drops_text_overlap_and_kg_facts():
    corpus = ["Ann Lee, an actress who married the painter Bob Stone in Paris in 1990"]
    grams = text_ngrams(corpus, 8)
    seen = _inst("She married the painter Bob Stone in Paris in 1990 .".split(), (0, 0), (4, 5))
    fact = _inst("Ann and Bob met in Rome .".split(), (0, 0), (2, 2))
    clean = Instance(fact.tokens, Mention("Ann", "Q7", ((0,),)), Mention("Bob", "Q8", ((2,),)), "P26")
    kept, leak = leakage_filter([seen, fact, clean], grams, 8, {("Q1", "Q2"), ("Q2", "Q1")})
    assert (leak.text_overlap, leak.kg_facts, leak.kept) == (1, 1, 1) and kept == [clean]


def test_mention_token_spans_cover_the_mention_words():
    from transformers import AutoTokenizer

    from plexus.text.encoder import resolve_model

    tok = AutoTokenizer.from_pretrained(resolve_model("default"), local_files_only=True)
    words = "The Kurushima - Kaikyō Bridge crosses the Kurushima Strait .".split()
    inst = _inst(words, (1, 4), (7, 8), rel="P177")
    enc = encode([inst], ["P177"], tok, 64, {"Q2": 5})
    ids = enc.input_ids[0].tolist()
    (hs, he), (ts, te) = enc.head[0], enc.tail[0]
    assert tok.decode(ids[hs:he + 1]).replace(" ", "") == "kurushima-kaikyobridge"
    assert tok.decode(ids[ts:te + 1]) == "kurushima strait"
    assert enc.head_entity.tolist() == [-1] and enc.tail_entity.tolist() == [5] and enc.label.tolist() == [0]
    # a mention beyond max_length is brought into view by cutting words from the left
    long = ["word"] * 40 + ["Ann", "married", "Bob"]
    enc = encode([_inst(long, (40, 40), (42, 42))], ["P26"], tok, 16, {})
    s, e = enc.head[0]
    assert tok.decode(enc.input_ids[0][s:e + 1].tolist()) == "ann"


def test_link_queries_and_known_answers_by_hand():
    edge_index = torch.tensor([[0, 0, 1], [1, 2, 2]])
    edge_type = torch.tensor([0, 0, 1])
    q = queries(edge_index, edge_type, num_relations=2)
    # tail queries (h, r, t), then head queries (t, r + 2, h)
    assert q.tolist() == [[0, 0, 1], [0, 0, 2], [1, 1, 2], [1, 2, 0], [2, 2, 0], [2, 3, 1]]
    known = known_answers(q[:2], q)  # query (0, 0, ?) has answers 1 and 2, twice
    assert sorted(map(tuple, known.t().tolist())) == [(0, 1), (0, 2), (1, 1), (1, 2)]
