"""Decoders checked by hand, and the KGE ones against PyG's torch_geometric.nn.kge."""

from __future__ import annotations

import torch
from torch_geometric.nn.kge import ComplEx as PyGComplEx, DistMult as PyGDistMult

from plexus.methods.decagon.decoders import ComplEx, Dedicom, DistMult, Rescal, make_decoder


def test_dedicom_matches_a_hand_computation():
    dec = Dedicom(2, 2)
    with torch.no_grad():
        dec.global_r.copy_(torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
        dec.diag.copy_(torch.tensor([[1.0, 0.5], [2.0, -1.0]]))
    zi, zj = torch.tensor([[1.0, 2.0]]), torch.tensor([[3.0, -1.0]])
    # relation 1: D = diag(2, -1); D zi = (2, -2), D zj = (6, 1); R D zj = (6 + 2, 18 + 4) = (8, 22)
    # score = (2, -2) . (8, 22) = 16 - 44 = -28
    assert dec(zi, zj, torch.tensor([1])).item() == -28.0
    # relation 0: D = diag(1, .5); D zi = (1, 1), D zj = (3, -.5); R D zj = (2, 7); score = 9
    assert dec(zi, zj, torch.tensor([0])).item() == 9.0


def test_dedicom_is_not_symmetric_and_bilinear_matches_by_hand():
    dec = Dedicom(2, 1)
    zi, zj, r = torch.tensor([[1.0, 2.0]]), torch.tensor([[3.0, -1.0]]), torch.tensor([0])
    assert not torch.isclose(dec(zi, zj, r), dec(zj, zi, r))
    bil = make_decoder("bilinear", 2, 1)
    with torch.no_grad():
        bil.mat.copy_(torch.tensor([[[0.0, 1.0], [2.0, 0.5]]]))
    # zi^T M zj = (1, 2) . (M zj) with M zj = (-1, 6 - .5) = (-1, 5.5): -1 + 11 = 10
    assert bil(zi, zj, r).item() == 10.0
    assert isinstance(bil, Rescal)


def test_distmult_and_complex_equal_pyg_kge_scores():
    torch.manual_seed(0)
    n, r, d = 7, 3, 6
    h, t, rel = torch.tensor([0, 3, 6, 2]), torch.tensor([1, 1, 5, 2]), torch.tensor([0, 2, 1, 1])
    pyg = PyGDistMult(n, r, d)
    ours = DistMult(d, r)
    with torch.no_grad():
        ours.rel.copy_(pyg.rel_emb.weight)
    z = pyg.node_emb.weight
    assert torch.allclose(ours(z[h], z[t], rel), pyg(h, rel, t), atol=1e-6)

    pyg = PyGComplEx(n, r, d // 2)
    ours = ComplEx(d, r)
    with torch.no_grad():
        ours.rel.copy_(torch.cat([pyg.rel_emb.weight, pyg.rel_emb_im.weight], 1))
    z = torch.cat([pyg.node_emb.weight, pyg.node_emb_im.weight], 1)
    assert torch.allclose(ours(z[h], z[t], rel), pyg(h, rel, t), atol=1e-6)


def test_losses_by_hand():
    import math

    from plexus.methods.decagon.algorithm import pair_loss

    pos, neg = torch.tensor([2.0, -1.0]), torch.tensor([0.5, 0.0])
    ce = pair_loss(pos, neg, "ce", 0.1).item()
    want = (math.log1p(math.exp(-2)) + math.log1p(math.exp(1))) / 2 + (math.log1p(math.exp(0.5)) + math.log(2)) / 2
    assert abs(ce - want) < 1e-6
    # hinge: max(0, 0.1 - pos + neg) = max(0, -1.4) = 0 and max(0, 1.1) = 1.1
    assert abs(pair_loss(pos, neg, "hinge", 0.1).item() - 0.55) < 1e-6


def test_multiclass_view_is_the_argmax_relation():
    from plexus.methods.decagon.algorithm import multiclass_view

    truth = torch.tensor([0, 1, 2, 2, 1])

    class Stub:  # scores 1 for relation (truth + shift) % 3, 0 otherwise
        shift = 0

        def score(self, z, kind, h, t, rel):
            return (rel == (truth + self.shift) % 3).float()

    pairs = torch.zeros(2, 5, dtype=torch.long)
    stub = Stub()
    assert multiclass_view(stub, {}, pairs, truth, 3) == {"mc_accuracy": 1.0, "mc_macro_f1": 1.0, "mc_kappa": 1.0}
    stub.shift = 1
    assert multiclass_view(stub, {}, pairs, truth, 3)["mc_accuracy"] == 0.0
