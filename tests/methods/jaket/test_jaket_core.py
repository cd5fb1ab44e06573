"""JAKET's parts against hand computations: the relational GAT layer, fusion, the corpus
(mention matching, fallbacks, bad input), neighbourhood sampling and the masked-entity batch."""

import math

import numpy as np
import pytest
import torch

from plexus.errors import InputError
from plexus.methods.jaket.corpus import KGCorpus, build_corpus, entity_categories, read_mentions
from plexus.methods.jaket.fusion import Fusion
from plexus.methods.jaket.knowledge import (EntityMemory, KnowledgeGraph, RelationalGATLayer,
                                            sample_neighbourhood)


# --- relational GAT -------------------------------------------------------------------------

def _layer_norm(v, eps=1e-5):
    mean = sum(v) / len(v)
    var = sum((x - mean) ** 2 for x in v) / len(v)
    return [(x - mean) / math.sqrt(var + eps) for x in v]


def _leaky(x, slope=0.2):
    return x if x > 0 else slope * x


def test_gat_layer_matches_a_hand_computation_on_a_4_node_kg():
    # 4 nodes, 2 relations, hidden 4, 2 heads of 2 dims. Edges (source -> target, relation):
    # 1 -> 0 (r0), 2 -> 0 (r1), 3 -> 1 (r0); nodes 2 and 3 receive nothing.
    x = [[1.0, 0.0, 2.0, -1.0], [0.5, 1.0, 0.0, 1.0], [-1.0, 2.0, 1.0, 0.0], [0.0, -0.5, 1.5, 2.0]]
    rel = [[0.1, 0.2, -0.3, 0.0], [1.0, -1.0, 0.5, 0.5]]
    W = [[1.0, 0.0, 0.5, 0.0], [0.0, 2.0, 0.0, -1.0], [1.0, 0.0, 1.0, 0.0], [0.0, 0.5, 0.0, 1.0]]
    a = [[0.3, -0.2, 0.5, 1.0], [-0.4, 0.1, 0.2, 0.7]]  # per head: a_k = [a_k^v (2) ; a_k^M (2)]
    edges = [(1, 0, 0), (2, 0, 1), (3, 1, 0)]

    layer = RelationalGATLayer(4, 2)
    with torch.no_grad():
        layer.W.weight.copy_(torch.tensor(W))
        layer.a.copy_(torch.tensor(a))
    out = layer(torch.tensor(x), torch.tensor([[s for s, _, _ in edges], [t for _, t, _ in edges]]),
                torch.tensor([r for _, _, r in edges]), torch.tensor(rel))

    def matvec(m, v):  # W as nn.Linear applies it: y = W v
        return [sum(m[i][j] * v[j] for j in range(4)) for i in range(4)]

    expect = []
    for v in range(4):
        incoming = [(s, r) for s, t, r in edges if t == v]
        wv = matvec(W, x[v])
        m = [0.0] * 4
        for k in range(2):
            blk = slice(2 * k, 2 * k + 2)
            scores, msgs = [], []
            for s, r in incoming:
                wm = matvec(W, [x[s][i] + rel[r][i] for i in range(4)])  # W_k (E_u + R_r)
                scores.append(_leaky(sum(p * q for p, q in zip(a[k][:2], wv[blk]))
                                     + sum(p * q for p, q in zip(a[k][2:], wm[blk]))))
                msgs.append(wm[blk])
            if scores:
                z = [math.exp(s) for s in scores]
                alpha = [e / sum(z) for e in z]
                for i in range(2):
                    m[2 * k + i] = sum(al * msg[i] for al, msg in zip(alpha, msgs))
        expect.append(_layer_norm([m[i] + x[v][i] for i in range(4)]))
    assert torch.allclose(out, torch.tensor(expect), atol=1e-5)
    # nodes without neighbours keep LayerNorm(E_v)
    assert torch.allclose(out[3], torch.tensor(_layer_norm(x[3])), atol=1e-6)


# --- fusion ------------------------------------------------------------------------------

def test_fusion_adds_entity_vectors_only_inside_mention_spans():
    torch.manual_seed(0)
    z = torch.randn(2, 6, 4)
    vecs = torch.randn(3, 4)
    spans = torch.tensor([[0, 1, 2, 2], [1, 4, 4, 0]])  # row 0 tokens 1-2 get vecs[2]; row 1 token 4 gets vecs[0]
    out = Fusion(4)(z, spans, vecs)
    inside = {(0, 1): 2, (0, 2): 2, (1, 4): 0}
    for b in range(2):
        for t in range(6):
            if (b, t) in inside:
                v = z[b, t] + vecs[inside[(b, t)]]
                ref = (v - v.mean()) / torch.sqrt(v.var(unbiased=False) + 1e-12)
                assert torch.allclose(out[b, t], ref, atol=1e-5)
            else:
                assert torch.equal(out[b, t], z[b, t])  # untouched, bit for bit
    assert torch.equal(Fusion(4)(z, torch.zeros((0, 4), dtype=torch.long), vecs), z)


# --- corpus -------------------------------------------------------------------------------

def _small_corpus(**kw) -> KGCorpus:
    names = ["Texas", "United States", "El Paso", "Tex", "Paris", "Paris", "Nobody"]
    texts = ["Texas, state of the United States",
             "United States, country; not texas-like Tex-Mex",
             "El Paso, city in texas, United States",
             "Tex, a name",
             "Paris, city",
             "Paris, a Texas town",
             "Nobody"]  # no description
    ei = np.array([[2, 0, 0], [0, 1, 3]])
    et = np.array([0, 1, 0])
    return build_corpus(texts, names, ["/location/location/contains", "/people/person/x"], ["contains", "x"],
                        ei, et)


def test_mentions_are_exact_case_insensitive_word_matches_of_other_entities():
    c = _small_corpus()
    found = [[(c.texts[e][s:t], ent) for s, t, ent in m] for e, m in enumerate(c.mentions)]
    assert found[0] == [("United States", 1)]  # own name "Texas" excluded
    # "texas" matches case-insensitively; "Tex-Mex" has "Tex" at a word boundary ("-" is not a word char)
    assert found[1] == [("texas", 0), ("Tex", 3)]
    assert found[2] == [("texas", 0), ("United States", 1)]
    assert found[5] == [("Texas", 0)]  # "Paris" is ambiguous (two entities): never matched
    assert c.counts["ambiguous_names"] == 1
    assert c.own_span[2] == (0, 7) and c.texts[2][:7] == "El Paso"


def test_missing_descriptions_and_names_are_counted_fallbacks():
    names = ["Alpha", "Beta"]
    c = build_corpus(["Alpha", "a letter after alpha's sibling"], names, ["/a/b_c", "r2"], ["", "rel"],
                     np.array([[0], [1]]), np.array([0]))
    assert c.relation_texts == ["a b c", "rel"] and c.counts["relation_no_text"] == 1
    assert c.counts["no_description"] == 1 and c.texts[0] == "Alpha"
    assert c.counts["name_prepended"] == 1 and c.texts[1].startswith("Beta: ")
    assert c.own_span[1] == (0, 4)


def test_categories_from_the_subject_type_of_freebase_relation_paths():
    rel_ids = ["/film/film/genre", "/film/film/country", "/people/person/nationality"]
    ei = np.array([[0, 0, 0, 1, 2], [3, 4, 5, 5, 5]])
    et = np.array([0, 1, 2, 2, 2])
    cats, names = entity_categories(6, rel_ids, ei, et)
    assert names == ["film/film", "people/person"]
    assert cats.tolist() == [0, 1, 1, -1, -1, -1]  # entity 0: two film/film triples vs one people/person


def test_mention_file_errors_name_file_and_line(tmp_path):
    c = _small_corpus()
    ids = [f"e{i}" for i in range(c.num_entities)]
    good = tmp_path / "ok.tsv"
    good.write_text("e3\t0\t3\te3\n")
    assert read_mentions(good, ids, c) == 1
    bad = tmp_path / "bad.tsv"
    bad.write_text("e0\t20\t33\te1\ne0\t0\t5\te1\n")  # line 2: "Texas" is not "United States"
    with pytest.raises(InputError, match=r"bad.tsv:2: span \[0, 5\).*'Texas'.*'United States'"):
        read_mentions(bad, ids, c)
    dangling = tmp_path / "dangling.tsv"
    dangling.write_text("e0\t0\t5\tq99\n")
    with pytest.raises(InputError, match=r"dangling.tsv:1: entity 'q99'.*dangling"):
        read_mentions(dangling, ids, c)
    with pytest.raises(InputError, match="not found"):
        read_mentions(tmp_path / "missing.tsv", ids, c)


# --- knowledge graph and sampling ---------------------------------------------------------

def test_dangling_triple_ids_are_input_errors():
    with pytest.raises(InputError, match="dangling"):
        KnowledgeGraph(3, 2, torch.tensor([[0, 1], [1, 3]]), torch.tensor([0, 1]))
    with pytest.raises(InputError, match="dangling"):
        KnowledgeGraph(3, 2, torch.tensor([[0], [1]]), torch.tensor([2]))


def test_random_walk_neighbourhood_holds_real_edges_towards_the_roots():
    # a path 0 - 1 - 2 - 3 plus 0 - 4, relations 0..3
    ei = torch.tensor([[0, 1, 2, 0], [1, 2, 3, 4]])
    et = torch.tensor([0, 1, 2, 3])
    mem = EntityMemory(torch.arange(10.0).view(5, 2))
    kg = KnowledgeGraph(5, 4, ei, et, entity_memory=mem, relation_memory=EntityMemory(torch.zeros(4, 2)))
    g = sample_neighbourhood(kg, torch.tensor([0]), hops=2, fanout=20, generator=torch.Generator().manual_seed(0))
    assert g.nodes[0] == 0 and len(set(g.nodes.tolist())) == len(g.nodes)
    triples = {(0, 1, 0), (1, 2, 1), (2, 3, 2), (0, 4, 3)}
    for (s, t), r in zip(g.edge_index.T.tolist(), g.edge_type.tolist()):
        u, v = int(g.nodes[s]), int(g.nodes[t])
        assert (u, v, r) in triples or (v, u, r) in triples
    assert 3 not in g.nodes.tolist()  # three hops away
    assert set(g.nodes.tolist()) == {0, 1, 2, 4}  # 20 walks of 2 steps reach every 2-hop node
    assert torch.equal(g.node_init, mem.vectors[g.nodes])
    # the pair (0, 1) is excluded: no edge between them survives
    g2 = sample_neighbourhood(kg, torch.tensor([0]), 2, 20, torch.Generator().manual_seed(0),
                              exclude_pairs=torch.tensor([[1, 0]]))
    pairs = {frozenset((int(g2.nodes[s]), int(g2.nodes[t]))) for s, t in g2.edge_index.T.tolist()}
    assert frozenset((0, 1)) not in pairs and frozenset((0, 4)) in pairs
