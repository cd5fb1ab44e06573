"""PinSage convolution against a hand computation; layer-wise inference == mini-batch."""

from __future__ import annotations

import pytest
import torch

from plexus.nn.pinsage import PinSageConv, PinSageModel, build_blocks, layerwise_inference


def _tables(num_items=40, t=5, seed=0):
    gen = torch.Generator().manual_seed(seed)
    nbr = torch.randint(0, num_items, (num_items, t), generator=gen)
    w = torch.rand(num_items, t, generator=gen)
    nbr[3, 2:] = -1  # short neighbourhood
    nbr[7] = -1  # no neighbourhood at all
    w = torch.where(nbr >= 0, w, 0.0)
    w = w / w.sum(1, keepdim=True).clamp(min=1e-12)
    return nbr, w


def test_conv_matches_hand_computation():
    torch.manual_seed(0)
    conv = PinSageConv(4, 3, 2)
    h = torch.randn(6, 4)
    nbr = torch.tensor([[1, 2, -1], [0, 5, 4], [-1, -1, -1]])
    w = torch.tensor([[0.7, 0.3, 0.0], [0.2, 0.2, 0.6], [0.0, 0.0, 0.0]])
    dst = torch.tensor([0, 3, 2])
    got = conv(h, h[dst], nbr, w)
    Q, q = conv.Q.weight, conv.Q.bias
    W, b = conv.W.weight, conv.W.bias
    for row in range(3):
        n_u = torch.zeros(3)
        total = 0.0
        for v, a in zip(nbr[row].tolist(), w[row].tolist()):
            if v >= 0:
                n_u = n_u + a * torch.relu(Q @ h[v] + q)
                total += a
        if total > 0:
            n_u = n_u / total
        z = torch.relu(W @ torch.cat([h[dst[row]], n_u]) + b)
        z = z / z.norm() if z.norm() > 0 else z
        assert torch.allclose(got[row], z, atol=1e-6)
    norms = got.norm(dim=1)
    assert torch.all(((norms - 1).abs() < 1e-5) | (norms == 0))


def test_unnormalised_weights_are_a_weighted_mean():
    torch.manual_seed(1)
    conv = PinSageConv(3, 4, 5)
    h = torch.randn(4, 3)
    nbr = torch.tensor([[1, 2, 3]])
    w = torch.tensor([[1.0, 2.0, 3.0]])
    assert torch.allclose(conv(h, h[:1], nbr, w), conv(h, h[:1], nbr, w / 6), atol=1e-6)


@pytest.mark.parametrize("feat_dim,id_dim", [(6, 0), (6, 3), (0, 5)])
def test_layerwise_inference_equals_per_node_computation(feat_dim, id_dim):
    num_items = 40
    nbr, w = _tables(num_items)
    torch.manual_seed(2)
    model = PinSageModel(feat_dim, 8, 4, num_items=num_items, id_dim=id_dim)
    feats = torch.randn(num_items, feat_dim) if feat_dim else None
    full = layerwise_inference(model, feats, nbr, w, chunk_size=7)
    assert full.shape == (num_items, 4)
    with torch.no_grad():
        for item in range(num_items):  # each node alone: its own 2-hop computation tree
            blocks = build_blocks(torch.tensor([item]), nbr, w, model.num_layers)
            assert torch.allclose(model(blocks, feats)[0], full[item], atol=1e-5)
        batch = torch.tensor([5, 7, 3, 5, 30])  # a mini-batch, with a repeat
        out = model(build_blocks(batch, nbr, w, 2), feats)
        assert torch.allclose(out, full[batch], atol=1e-5)


def test_blocks_chain_and_gradients_flow():
    num_items = 30
    nbr, w = _tables(num_items, seed=4)
    blocks = build_blocks(torch.tensor([0, 7, 3]), nbr, w, 2)
    assert torch.equal(blocks[1].dst, torch.tensor([0, 7, 3]))
    assert torch.equal(blocks[0].dst, blocks[1].src)
    for b in blocks:
        valid = b.neighbors >= 0
        assert torch.equal(b.src[b.neighbors[valid]], nbr[b.dst][valid])
    model = PinSageModel(5, 6, 3, num_items=num_items, id_dim=2)
    feats = torch.randn(num_items, 5)
    model(blocks, feats).pow(2).sum().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    assert model.id_emb.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="features"):
        PinSageModel(0, 4, 2)


def test_item_bias_is_a_zero_initialised_parameter_per_item():
    import pytest as _pytest

    model = PinSageModel(8, 16, 4, num_items=5, item_bias=True)
    assert model.item_bias.shape == (5,) and float(model.item_bias.abs().sum()) == 0.0
    assert any(p is model.item_bias for p in model.parameters())  # trained with the rest
    assert PinSageModel(8, 16, 4).item_bias is None
    with _pytest.raises(ValueError, match="num_items"):
        PinSageModel(8, 16, 4, item_bias=True)
