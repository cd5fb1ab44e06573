"""GNN models: sampled subgraphs with every neighbour reproduce the full graph for the
seeds, hop trimming changes nothing, layer-wise inference equals the full forward."""

from __future__ import annotations

import pytest
import torch

from plexus.gnn import make_gnn, predict
from plexus.sampling.neighbors import NeighborSampler


def _graph(num_nodes=120, num_edges=700, dim=12, seed=0):
    gen = torch.Generator().manual_seed(seed)
    src = torch.randint(num_nodes, (num_edges,), generator=gen)
    dst = torch.randint(num_nodes, (num_edges,), generator=gen)
    # A few self-loops and one isolated node (119) exercise the conv edge cases.
    src[:5] = dst[:5]
    keep = (src != 119) & (dst != 119)
    edge_index = torch.stack([src[keep], dst[keep]])
    return torch.randn(num_nodes, dim, generator=gen), edge_index


def _model(kind, num_layers=2):
    torch.manual_seed(0)
    return make_gnn(kind, 12, 16, 5, num_layers=num_layers, dropout=0.5, heads=4).eval()


@pytest.mark.parametrize("kind", ["gcn", "sage", "gat"])
def test_full_fanout_subgraph_gives_the_full_graph_output(kind):
    x, edge_index = _graph()
    model = _model(kind)
    with torch.no_grad():
        full = model(x, edge_index)
    # GCN weights an edge by its source's degree too, so the sources of the last hop
    # need their in-edges as well: one hop more than layers.
    fanouts = [-1, -1, -1] if kind == "gcn" else [-1, -1]
    sampler = NeighborSampler(edge_index, x.size(0), fanouts)
    seeds = torch.tensor([3, 50, 119, 7, 88])
    sub = sampler.sample(seeds)
    with torch.no_grad():
        plain = model(x[sub.n_id], sub.edge_index)[: sub.batch_size]
        trimmed = model(x[sub.n_id], sub.edge_index, sub.num_sampled_nodes)
    assert trimmed.size(0) < sub.n_id.numel() or kind == "gcn"
    torch.testing.assert_close(plain, full[seeds], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(trimmed[: sub.batch_size], full[seeds], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("kind", ["gcn", "sage", "gat"])
def test_trimming_is_exact_on_a_sampled_subgraph(kind):
    x, edge_index = _graph()
    model = _model(kind, num_layers=3)
    sub = NeighborSampler(edge_index, x.size(0), [3, 2, 2]).sample(
        torch.arange(0, 40, 4), torch.Generator().manual_seed(0))
    with torch.no_grad():
        plain = model(x[sub.n_id], sub.edge_index)[: sub.batch_size]
        trimmed = model(x[sub.n_id], sub.edge_index, sub.num_sampled_nodes)
    assert trimmed.size(0) == sub.batch_size
    torch.testing.assert_close(trimmed, plain, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("kind", ["gcn", "sage", "gat"])
def test_layerwise_inference_equals_full_batch(kind):
    x, edge_index = _graph()
    model = _model(kind, num_layers=3).train()
    with torch.no_grad():
        full = model.eval()(x, edge_index)
    model.train()
    # Chunks of 17 nodes: targets and sources straddle chunk boundaries.
    out = predict(model, x, edge_index, mode="layerwise", chunk_size=17)
    assert model.training  # predict restores the mode
    torch.testing.assert_close(out, full, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(predict(model, x, edge_index), full)  # auto -> full here


def test_make_gnn_rejects_bad_arguments():
    with pytest.raises(ValueError, match="unknown"):
        make_gnn("gin", 4, 8, 2)
    with pytest.raises(ValueError, match="divisible"):
        make_gnn("gat", 4, 10, 2, heads=4)
