"""PinSage training is bit-reproducible: two 1-epoch runs from the same seed give the same loss
and weights, with two torch threads (where atomic float adds in the backward of indexing
used to differ run to run); the export's index choice; the cold-item split."""

from __future__ import annotations

import torch

from plexus.methods.pinsage.algorithm import (Config, TrainingData, build_model, cold_item_mask, index_factory,
                                              prepare, train_epoch)
from plexus.methods.pinsage.pairs import moment_pairs
from plexus.methods.recommenders.data import InteractionSplit
from plexus.sampling.random_walk import bipartite_csr
from plexus.train.optim import make_optimizer
from plexus.train.seed import seed_everything
from plexus.train.threads import torch_threads


def _synthetic(num_users=300, num_items=400, per_user=40):
    """Interactions in bursts (repeated timestamps), id embeddings only: no dataset, no LM."""
    gen = torch.Generator().manual_seed(0)
    users = torch.arange(num_users).repeat_interleave(per_user)
    items = torch.randint(0, num_items, (users.numel(),), generator=gen)
    times = torch.randint(0, 20, (users.numel(),), generator=gen) * 600
    train = torch.stack([users, items])
    split = InteractionSplit(train, train[:, :0], train[:, :0], num_users, num_items, "synthetic", [], [], None)
    cfg = Config(pairs_per_epoch=1536, num_random_walks=20, hidden_dim=256, dim=128, num_negatives=200,
                 num_workers=0, item_bias=True, batch_size=512)
    data = TrainingData(split, bipartite_csr(train, num_users, num_items), None, True,
                        moment_pairs(train, times, 3600.0), None, None, "synthetic")
    return cfg, data


def _one_epoch(cfg, data):
    seed_everything(0)
    model = build_model(cfg, 0, data.split.num_items, data.with_ids)
    opt = make_optimizer(model.parameters(), cfg.lr)
    loss = train_epoch(model, opt, data, None, cfg, 0, 1)["loss"]
    return loss, torch.cat([p.detach().flatten() for p in model.parameters()])


def test_two_one_epoch_runs_give_identical_loss_and_weights():
    cfg, data = _synthetic()
    with torch_threads(2):
        runs = [_one_epoch(cfg, data) for _ in range(3)]
    for loss, weights in runs[1:]:
        assert loss == runs[0][0]  # bit-identical, not approximately equal
        assert torch.equal(weights, runs[0][1])
    assert not torch.are_deterministic_algorithms_enabled()  # the setting is restored after training


def test_index_factory_from_config():
    cfg = Config()
    assert index_factory(cfg, 1682) == "Flat"
    assert index_factory(cfg, cfg.hnsw_above) == "HNSW32"
    cfg.index = "IVF256,PQ16"
    assert index_factory(cfg, 10) == "IVF256,PQ16"


def test_cold_items_are_a_fixed_share_and_leave_training(shared_datasets):
    a, b = cold_item_mask(1000, 0.2, 0), cold_item_mask(1000, 0.2, 0)
    assert torch.equal(a, b) and int(a.sum()) == 200
    assert not torch.equal(a, cold_item_mask(1000, 0.2, 1))
    data = prepare(Config(dataset="movielens-100k", data_dir=str(shared_datasets), cold_items=0.2))
    cold = data.cold
    assert not cold[data.split.train[1]].any()  # no training interaction of a cold item
    assert cold[data.full_train[1]].any()  # but they exist, and arrive after training
    assert not cold[data.pairs].any()  # nor a training pair
    ev = data.evaluation.pairs
    assert cold[ev["test_cold"][1]].all() and ev["test_cold"].size(1) > 0
    assert not cold[ev["val"]].any() and not cold[ev["test"]].any()
