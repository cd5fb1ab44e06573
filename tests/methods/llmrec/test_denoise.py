"""LLMRec's pruning and MAE/SCE losses against values worked out by hand."""

from __future__ import annotations

import math

import torch

from plexus.methods.llmrec.denoise import apply_mask, bpr_losses, mask_nodes, prune_keep, pruned_bpr, sce_loss


def test_bpr_losses_are_minus_log_sigmoid_of_the_margin():
    pos, neg = torch.tensor([2.0, 0.0, -1.0]), torch.tensor([0.0, 0.0, 1.0])
    expected = [math.log(1 + math.exp(-2.0)), math.log(2.0), math.log(1 + math.exp(2.0))]
    assert torch.allclose(bpr_losses(pos, neg), torch.tensor(expected))


def test_pruning_drops_the_largest_losses():
    # margins s_pos - s_neg: 3, -2, 0, 1, -4 -> losses ascending: idx 0 (3), 3 (1), 2 (0), 1 (-2), 4 (-4)
    pos = torch.tensor([3.0, -2.0, 0.0, 1.0, -4.0])
    neg = torch.zeros(5)
    total, keep = pruned_bpr(pos, neg, drop_rate=0.4)  # floor(0.4 * 5) = 2 dropped: triples 1 and 4
    assert keep.tolist() == [0, 3, 2]
    expected = sum(math.log(1 + math.exp(-m)) for m in (3.0, 1.0, 0.0))
    assert abs(total.item() - expected) < 1e-6


def test_pruning_edge_cases():
    losses = torch.tensor([0.5, 0.1, 0.9])
    assert prune_keep(losses, 0.0).tolist() == [0, 1, 2]  # no pruning keeps every sample, in order
    assert prune_keep(losses, 0.99).tolist() == [1]  # at least one sample survives
    assert prune_keep(torch.empty(0), 0.4).numel() == 0
    assert prune_keep(torch.tensor([0.2, 0.2, 0.7]), 0.5).tolist() == [0, 1]  # floor(1.5)=1 dropped; ties stable


def test_pruning_gradient_reaches_only_kept_triples():
    pos = torch.tensor([3.0, -2.0, 0.0], requires_grad=True)
    total, keep = pruned_bpr(pos, torch.zeros(3), drop_rate=0.34)  # floor(1.02) = 1 dropped: triple 1
    total.backward()
    assert keep.tolist() == [0, 2]
    assert pos.grad[1].item() == 0.0
    assert pos.grad[0].item() == -torch.sigmoid(torch.tensor(-3.0)).item()
    assert abs(pos.grad[2].item() + 0.5) < 1e-7


def test_sce_by_hand():
    recon = torch.tensor([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    target = torch.tensor([[2.0, 0.0], [1.0, 0.0], [-1.0, -1.0]])
    # cosines 1, 0, -1 -> (1 - cos)^2 = 0, 1, 4 -> mean 5/3
    assert abs(sce_loss(recon, target, gamma=2).item() - 5 / 3) < 1e-6
    assert abs(sce_loss(recon, target, gamma=1).item() - 1.0) < 1e-6  # (0 + 1 + 2) / 3
    assert sce_loss(torch.empty(0, 2), torch.empty(0, 2)).item() == 0.0


def test_mask_replaces_exactly_the_drawn_rows():
    g = torch.Generator().manual_seed(0)
    nodes = mask_nodes(10, 0.3, g)
    assert nodes.numel() == 3 and nodes.unique().numel() == 3
    x = torch.arange(20.0).view(10, 2)
    token = torch.tensor([-1.0, -2.0])
    y = apply_mask(x, nodes, token)
    for r in range(10):
        expected = token if r in nodes.tolist() else x[r]
        assert torch.equal(y[r], expected)
    assert torch.equal(x, torch.arange(20.0).view(10, 2))  # input untouched
    assert mask_nodes(10, 0.05, g).numel() == 0
