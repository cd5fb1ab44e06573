"""MF-BPR and the shared BPR loop: the loss and its regulariser by hand, the official
per-user triple sampler, config checks, and a short real run on MovieLens-100K."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
import torch

from plexus.errors import ConfigError
from plexus.methods.recommenders.bpr import BPRConfig, TripleSampler, bpr_loss, check_config
from plexus.methods.recommenders.mf import MF, Config
from plexus.train.rundir import RunDir


def test_bpr_loss_and_reg_equal_a_hand_computation():
    eu = [[1.0, 0.0], [0.5, -1.0]]
    ep = [[2.0, 1.0], [0.0, 1.0]]
    en = [[-1.0, 3.0], [1.0, 1.0]]
    final = torch.tensor(eu + ep + en)
    layer0 = 2 * final  # any layer-0 rows: the reg uses these, not the final ones
    bpr, reg = bpr_loss(final, layer0, reg=1e-3)
    # s_pos = (2, -1), s_neg = (-1, -0.5): softplus(s_neg - s_pos) = softplus(-3), softplus(0.5)
    expected = (math.log1p(math.exp(-3.0)) + math.log1p(math.exp(0.5))) / 2
    assert bpr.item() == pytest.approx(expected, rel=1e-6)
    sq = sum(v * v for row in eu + ep + en for v in row) * 4  # ||2x||^2
    assert reg.item() == pytest.approx(1e-3 * 0.5 * sq / 2, rel=1e-6)


def test_bpr_loss_gradient_pushes_positive_above_negative():
    final = torch.tensor([[1.0, 1.0], [0.0, 0.0], [0.0, 0.0]], requires_grad=True)
    bpr, _ = bpr_loss(final, final.detach(), 0.0)
    bpr.backward()
    grad = final.grad
    assert (grad[1] < 0).all() and (grad[2] > 0).all()  # descent raises s_pos, lowers s_neg


def test_mf_rows_are_the_embeddings():
    torch.manual_seed(0)
    model = MF(3, 4, 8)
    final, layer0 = model.batch_rows(torch.tensor([0, 2]), torch.tensor([1, 3]), torch.tensor([0, 0]))
    e = model.embedding
    assert torch.equal(final, torch.stack([e[0], e[2], e[4], e[6], e[3], e[3]]))
    assert final is layer0
    u, i = model.final()
    assert u.shape == (3, 8) and i.shape == (4, 8)


def test_official_sampler_draws_true_positives_and_true_negatives():
    train = torch.tensor([[0, 0, 0, 1, 3, 3], [0, 2, 5, 1, 4, 0]])  # user 2 has no positive
    gen = torch.Generator().manual_seed(0)
    s = TripleSampler(train, 4, 6, "uniform", 0.75, "user", gen)
    users, pos = s.epoch()
    assert users.numel() == 6  # as many samples as training interactions
    positives = {(int(u), int(i)) for u, i in train.t()}
    for _ in range(30):
        users, pos = s.epoch()
        assert all((int(u), int(i)) in positives for u, i in zip(users, pos))
        assert 2 not in users.tolist()
        neg = s.negatives_for(users, pos)
        assert all((int(u), int(j)) not in positives for u, j in zip(users, neg))
    # users uniformly (not by activity): user 1 (one interaction) as often as user 0 (three)
    many = torch.cat([s.epoch()[0] for _ in range(2000)])
    counts = torch.bincount(many, minlength=4).double() / many.numel()
    assert counts[[0, 1, 3]].tolist() == pytest.approx([1 / 3] * 3, abs=0.02)


def test_interaction_sampler_visits_every_interaction_once():
    train = torch.tensor([[0, 0, 1, 2], [1, 2, 0, 3]])
    s = TripleSampler(train, 3, 4, "uniform", 0.75, "interaction", torch.Generator().manual_seed(0))
    users, pos = s.epoch()
    assert sorted(zip(users.tolist(), pos.tolist())) == sorted(zip(*train.tolist()))


@pytest.mark.parametrize("override, needle", [
    ({"select": "recall@50"}, "select"), ({"batch_size": 0}, "batch_size"), ({"ks": []}, "ks"),
    ({"max_minutes": 0}, "max_minutes"),
])
def test_config_errors_name_the_key(override, needle):
    cfg = BPRConfig(**override)
    with pytest.raises(ConfigError, match=needle):
        check_config(cfg)


@pytest.fixture(scope="module")
def mf_run(tmp_path_factory, shared_datasets):
    os.environ.setdefault("PLEXUS_DATA", str(shared_datasets))
    from plexus.methods.recommenders import mf

    out = tmp_path_factory.mktemp("mf")
    cfg = Config(dataset="movielens-100k", epochs=4, eval_every=2, lr=0.01, seeds=2, threads=1)
    run = RunDir.create(out, "mf", cfg.dataset)
    run.write_config(cfg)
    return mf.run(cfg, run, quiet=True)


def test_mf_run_over_two_seeds(mf_run):
    m = mf_run.metrics
    for key in ("val_recall@20", "test_recall@20", "test_ndcg@20", "test_mrr@10", "test_hit_rate@10"):
        assert m[key]["n"] == 2 and 0.0 <= m[key]["mean"] <= 1.0, key
    assert m["test_recall@20"]["mean"] > 0.0
    assert "MF-BPR" in mf_run.protocol and "2 seeds" in mf_run.protocol
    assert sorted(p.name for p in (mf_run.run_dir / "checkpoints").iterdir()) == ["seed0.pt", "seed1.pt"]
    emb = np.load(mf_run.run_dir / "artifacts" / "item_embeddings.npy")
    assert emb.shape == (1682, 64) and np.isfinite(emb).all()


def test_a_graph_without_interactions_is_a_config_error(tmp_path, shared_datasets):
    os.environ.setdefault("PLEXUS_DATA", str(shared_datasets))
    from plexus.methods.recommenders import mf

    cfg = Config(dataset="cora", epochs=1)
    with pytest.raises(ConfigError, match="interaction"):
        mf.run(cfg, RunDir.create(tmp_path, "mf", "cora"), quiet=True)


def test_mf_on_the_users_own_interaction_table(tmp_path):
    from plexus.methods.recommenders import mf

    rows = [(u, i) for u in range(12) for i in range(10) if (u * 7 + i * 3) % 4 != 0]
    path = tmp_path / "log.csv"
    path.write_text("user,item\n" + "".join(f"u{u},item{i}\n" for u, i in rows))
    cfg = Config(epochs=2, eval_every=1, ks=[2, 5], select="recall@5", batch_size=16, threads=1)
    cfg.interactions.path = str(path)
    result = mf.run(cfg, RunDir.create(tmp_path, "mf", "log"), quiet=True)
    assert result.dataset == "log"  # named after the file, not the default dataset
    assert "Per-user random split" in result.protocol  # no test split in the file: split=auto -> ratio
    assert 0.0 <= result.metrics["test_recall@5"]["mean"] <= 1.0
    ids = (result.run_dir / "artifacts" / "item_ids.txt").read_text().split()
    assert sorted(ids) == sorted(f"item{i}" for i in range(10))
