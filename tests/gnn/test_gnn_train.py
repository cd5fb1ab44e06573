"""GNN training helpers: mini-batch and full-batch steps reduce the caller's loss."""

from __future__ import annotations

import torch

from plexus.gnn import full_batch_step, make_gnn, mini_batch_epoch, predict
from plexus.sampling.neighbors import NeighborSampler, neighbor_batches


def _planted_graph(num_nodes=400, classes=4, seed=0):
    # Homophilous graph: 90% of edges inside a class; features are weak class signals.
    gen = torch.Generator().manual_seed(seed)
    y = torch.randint(classes, (num_nodes,), generator=gen)
    src = torch.randint(num_nodes, (4000,), generator=gen)
    same = torch.rand(4000, generator=gen) < 0.9
    pool = [torch.nonzero(y == c).flatten() for c in range(classes)]
    dst = torch.randint(num_nodes, (4000,), generator=gen)
    for c in range(classes):
        pick = same & (y[src] == c)
        dst[pick] = pool[c][torch.randint(len(pool[c]), (int(pick.sum()),), generator=gen)]
    x = torch.randn(num_nodes, 8, generator=gen) + 0.5 * torch.nn.functional.one_hot(y, 8)
    return x, torch.stack([src, dst]), y


def _ce(y, seen):
    def loss_fn(logits, node_ids):
        seen.append(node_ids)
        return torch.nn.functional.cross_entropy(logits, y[node_ids])
    return loss_fn


def test_mini_batch_training_reduces_the_loss():
    x, edge_index, y = _planted_graph()
    torch.manual_seed(0)
    model = make_gnn("sage", 8, 32, 4, num_layers=2, dropout=0.1)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    sampler = NeighborSampler(edge_index, x.size(0), [5, 5])
    train = torch.arange(0, 300)
    gen = torch.Generator().manual_seed(0)
    seen: list[torch.Tensor] = []
    losses = [mini_batch_epoch(model, opt, x, neighbor_batches(sampler, train, 64, True, gen),
                               _ce(y, seen)) for _ in range(15)]
    assert losses[-1] < 0.5 * losses[0]
    # The loss callback got exactly the training nodes, each once per epoch.
    assert sorted(torch.cat(seen[:5]).tolist()) == train.tolist()
    acc = (predict(model, x, edge_index, mode="layerwise").argmax(1) == y)[300:].float().mean()
    assert acc > 0.8


def test_full_batch_training_reduces_the_loss():
    x, edge_index, y = _planted_graph()
    torch.manual_seed(0)
    model = make_gnn("gcn", 8, 32, 4, num_layers=2, dropout=0.1)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    seen: list[torch.Tensor] = []
    nodes = torch.arange(0, 300)
    losses = [full_batch_step(model, opt, x, edge_index, nodes, _ce(y, seen))
              for _ in range(40)]
    assert losses[-1] < 0.5 * losses[0]
    assert torch.equal(seen[0], nodes)
