import pytest
import torch
import torch.nn.functional as F

from plexus.train.pseudo_labels import (PseudoPool, build_targets, gold_input_features, mixed_loss,
                                        select_pseudo_nodes, soft_pseudo_labels)


def test_soft_pseudo_labels_are_tempered_softmax():
    logits = torch.tensor([[2.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    p = soft_pseudo_labels(logits, 0.2)
    expected = torch.exp(logits / 0.2) / torch.exp(logits / 0.2).sum(1, keepdim=True)
    assert torch.allclose(p, expected)
    assert torch.allclose(p.sum(1), torch.ones(2))
    # a low temperature sharpens towards the argmax, but stays soft
    assert p[0, 0] > torch.softmax(logits[0], 0)[0] and p[0, 0] < 1
    assert torch.allclose(p[1], torch.full((3,), 1 / 3))
    with pytest.raises(ValueError):
        soft_pseudo_labels(logits, 0.0)


def test_select_keeps_the_most_confident_fraction():
    # confidence of node i = probs[i].max(); candidates are nodes 0..9
    conf = torch.tensor([0.9, 0.3, 0.8, 0.35, 0.7, 0.4, 0.6, 0.5, 0.95, 0.45])
    rest = ((1 - conf) / 3)[:, None].expand(10, 3)
    probs = torch.cat([conf[:, None], rest], 1)  # top probability = conf
    cands = torch.arange(10)
    gen = torch.Generator().manual_seed(0)
    # 50% filter -> the five most confident: 8, 0, 2, 4, 6; ask for all of them
    picked = select_pseudo_nodes(probs, cands, 0.5, 100, gen)
    assert picked.tolist() == [0, 2, 4, 6, 8]
    # a sample of 3 comes only from those five, without repeats
    for s in range(20):
        few = select_pseudo_nodes(probs, cands, 0.5, 3, torch.Generator().manual_seed(s))
        assert few.numel() == 3 and len(set(few.tolist())) == 3
        assert set(few.tolist()) <= {0, 2, 4, 6, 8}


def test_select_only_from_candidates_and_is_seeded():
    probs = torch.softmax(torch.randn(50, 4, generator=torch.Generator().manual_seed(1)), 1)
    cands = torch.arange(20, 50)
    a = select_pseudo_nodes(probs, cands, 0.8, 10, torch.Generator().manual_seed(3))
    b = select_pseudo_nodes(probs, cands, 0.8, 10, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    assert (a >= 20).all()
    assert select_pseudo_nodes(probs, cands[:0], 0.8, 10, torch.Generator()).numel() == 0


def test_gold_labels_overwrite_pseudo_labels():
    probs = torch.softmax(torch.randn(6, 3), 1)
    t = build_targets(torch.tensor([0, 2]), torch.tensor([1, 0]), 3,
                      pseudo_nodes=torch.tensor([2, 4, 5]), pseudo_probs=probs)
    # node 2 is gold and pseudo: kept once, as gold, with its one-hot label
    assert t.nodes.tolist() == [0, 2, 4, 5]
    assert t.is_gold.tolist() == [True, True, False, False]
    assert torch.equal(t.dist[1], torch.tensor([1.0, 0.0, 0.0]))
    assert torch.equal(t.dist[0], torch.tensor([0.0, 1.0, 0.0]))
    assert torch.allclose(t.dist[2], probs[4]) and torch.allclose(t.dist[3], probs[5])


def test_mixed_loss_weights_gold_and_pseudo_means():
    logits = torch.randn(5, 3, generator=torch.Generator().manual_seed(0))
    dist = torch.softmax(torch.randn(5, 3), 1)
    dist[:2] = F.one_hot(torch.tensor([2, 1]), 3).float()
    is_gold = torch.tensor([True, True, False, False, False])
    gold_ce = F.cross_entropy(logits[:2], torch.tensor([2, 1]))
    pseudo_ce = -(dist[2:] * F.log_softmax(logits[2:], 1)).sum(1).mean()
    for w in (0.0, 0.3, 0.8, 1.0):
        assert torch.allclose(mixed_loss(logits, dist, is_gold, w), (1 - w) * gold_ce + w * pseudo_ce)
    # a batch without pseudo rows, at w = 0, is plain cross-entropy
    assert torch.allclose(mixed_loss(logits[:2], dist[:2], is_gold[:2], 0.0), gold_ce)
    # a part absent from the batch contributes nothing
    assert torch.allclose(mixed_loss(logits[2:], dist[2:], is_gold[2:], 0.8), 0.8 * pseudo_ce)


def test_pseudo_pool_draws_only_the_confident_and_varies_per_draw():
    conf = torch.tensor([0.9, 0.3, 0.8, 0.35, 0.7, 0.4, 0.6, 0.5, 0.95, 0.45])
    probs = torch.cat([conf[:, None], ((1 - conf) / 3)[:, None].expand(10, 3)], 1)
    pool = PseudoPool(probs, torch.arange(10), 0.5)
    assert sorted(pool.eligible.tolist()) == [0, 2, 4, 6, 8]
    gen = torch.Generator().manual_seed(0)
    draws = {tuple(pool.draw(2, gen).tolist()) for _ in range(20)}
    assert len(draws) > 1 and all(set(d) <= {0, 2, 4, 6, 8} for d in draws)
    assert pool.draw(0, gen).numel() == 0 and pool.draw(99, gen).tolist() == [0, 2, 4, 6, 8]
    # select_pseudo_nodes is one draw from a pool
    assert torch.equal(select_pseudo_nodes(probs, torch.arange(10), 0.5, 3, torch.Generator().manual_seed(4)),
                       PseudoPool(probs, torch.arange(10), 0.5).draw(3, torch.Generator().manual_seed(4)))


def test_gold_input_features_overwrite_gold_rows_only():
    probs = torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4], [0.5, 0.25, 0.25]])
    x = gold_input_features(probs, torch.tensor([2, 0]), torch.tensor([1, 2]))
    assert x.tolist() == [[0.0, 0.0, 1.0], probs[1].tolist(), [0.0, 1.0, 0.0], probs[3].tolist()]
    assert probs[0, 0] == 0.7  # the caller's tensor is untouched


def test_mixed_loss_over_rank_slices_averages_to_the_whole_batch_loss():
    """DDP averages the ranks' gradients: with global counts the slices' losses average to the
    one-process loss, whereas per-slice means do not (the slices hold different gold/pseudo mixes)."""
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(7, 3, generator=gen, requires_grad=True)
    dist = torch.softmax(torch.randn(7, 3, generator=gen), 1)
    is_gold = torch.tensor([True, True, True, False, True, False, False])
    whole = mixed_loss(logits, dist, is_gold, 0.8)
    counts = (int(is_gold.sum()), int((~is_gold).sum()))
    slices = [torch.arange(r, 7, 2) for r in range(2)]  # rank r takes rows r, r + 2, ...
    avg = sum(mixed_loss(logits[s], dist[s], is_gold[s], 0.8, counts, 2) for s in slices) / 2
    assert torch.allclose(avg, whole)
    g_whole, = torch.autograd.grad(whole, logits)
    g_avg, = torch.autograd.grad(avg, logits)
    assert torch.allclose(g_avg, g_whole)
    naive = sum(mixed_loss(logits[s], dist[s], is_gold[s], 0.8) for s in slices) / 2
    assert not torch.allclose(naive, whole)
