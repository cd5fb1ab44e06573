"""The typed convolution equals the paper's sum written out with loops, for one-hot, dense
and sparse (embedding-bag) inputs and both normalisations."""

from __future__ import annotations

import math

import pytest
import torch

from plexus.methods.decagon.model import DecagonEncoder, EdgeFamily, SparseFeatures, TypedGraphConv, family_operator


def _graph():
    g = torch.Generator().manual_seed(0)
    nd, np_, r = 6, 4, 3
    dd = torch.randint(nd, (2, 20), generator=g)
    dd = dd[:, dd[0] != dd[1]]
    et = torch.randint(r, (dd.size(1),), generator=g)
    tg = torch.stack([torch.randint(nd, (7,), generator=g), torch.randint(np_, (7,), generator=g)])
    fams = [EdgeFamily("dd", "drug", "drug", r, dd, et),
            EdgeFamily("d2p", "drug", "protein", 1, tg, torch.zeros(7, dtype=torch.long)),
            EdgeFamily("p2d", "protein", "drug", 1, tg.flip(0), torch.zeros(7, dtype=torch.long))]
    return fams, {"drug": nd, "protein": np_}


def _reference(layer, x, fams, num_nodes, norm):
    """h_i' = x_i W_self + sum_r sum_j c_r^ij x_j W_r, by loops."""
    dense = {t: (torch.eye(n) if x[t] is None else (x[t].to_dense() if x[t].is_sparse else x[t]))
             for t, n in num_nodes.items()}
    d = layer.out_dim
    out = {t: dense[t] @ layer.root[t] for t in num_nodes}
    for f in fams:
        w = layer.weight[f.name]
        for rel in range(f.num_relations):
            m = f.edge_type == rel
            src, dst = f.edge_index[0][m].tolist(), f.edge_index[1][m].tolist()
            deg_in = {i: dst.count(i) for i in dst}
            deg_out = {j: src.count(j) for j in src}
            for j, i in zip(src, dst):
                c = 1 / math.sqrt(deg_in[i] * deg_out[j]) if norm == "sym" else 1 / deg_in[i]
                out[f.dst] = out[f.dst].index_add(0, torch.tensor([i]), c * (dense[f.src][j] @ w[:, rel * d:(rel + 1) * d])[None])
    return out


@pytest.mark.parametrize("norm", ["sym", "mean"])
@pytest.mark.parametrize("features", ["onehot", "dense", "sparse"])
def test_typed_conv_equals_the_sum_over_relations(norm, features):
    torch.manual_seed(0)
    fams, num_nodes = _graph()
    raw = {"drug": None, "protein": None}
    if features != "onehot":
        raw["drug"] = (torch.rand(6, 5) < 0.4).float() * torch.rand(6, 5)
    in_dims = {"drug": 6 if raw["drug"] is None else 5, "protein": 4}
    layer = TypedGraphConv(in_dims, 3, fams)
    x = dict(raw)
    if features == "sparse":
        x["drug"] = SparseFeatures(raw["drug"].to_sparse())
    graph = {}
    for f in fams:
        active, op = family_operator(f, num_nodes[f.src], num_nodes[f.dst], norm)
        feats = x.get(f.src)
        graph[f.name] = (active, op, feats.bags(active, f.num_relations) if isinstance(feats, SparseFeatures) else None)
    got = layer(x, graph)
    want = _reference(layer, raw, fams, num_nodes, norm)
    for t in num_nodes:
        assert torch.allclose(got[t], want[t], atol=1e-5), t


def test_encoder_gradients_reach_every_weight():
    fams, num_nodes = _graph()
    enc = DecagonEncoder({"drug": 6, "protein": 4}, fams, num_nodes, hidden=8, out=4, dropout=0.0)
    z = enc({"drug": None, "protein": None})
    assert z["drug"].shape == (6, 4) and z["protein"].shape == (4, 4)
    (z["drug"].sum() + z["protein"].pow(2).sum()).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in enc.parameters())
