"""The one training loop: selection on validation, early stopping, resume, history."""

from __future__ import annotations

import pytest
import torch

from plexus.train.loop import LoopSettings, SeedParts, finished_seed, train_seed
from plexus.train.rundir import RunDir


class Killed(Exception):
    pass


def _setup(val_scores: dict[int, float] | None = None, kill_at: int | None = None, calls: dict | None = None):
    """A linear model fitted by SGD with noisy batches drawn from the seed's generator; the
    validation score is scripted per epoch when `val_scores` is given."""
    calls = calls if calls is not None else {}

    def setup(gen: torch.Generator) -> SeedParts:
        model = torch.nn.Linear(3, 1)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        state = {"epoch": 0}

        def train_epoch(epoch: int) -> dict[str, float]:
            if kill_at is not None and epoch == kill_at:
                raise Killed
            state["epoch"] = epoch
            x = torch.randn(16, 3, generator=gen)
            noise = torch.rand(1).item()  # the global RNG too: restored on resume
            loss = ((model(x).squeeze(-1) - x.sum(-1) - noise) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            return {"loss": loss.item()}

        def validate() -> dict[str, float]:
            if val_scores is not None:
                return {"score": val_scores[state["epoch"]]}
            return {"score": -float(model.weight.sum().sub(3).abs())}

        def test() -> dict[str, float]:
            calls["test"] = calls.get("test", 0) + 1
            return {"weight_sum": float(model.weight.sum()), "epoch_of_state": float(calls.get("epoch", -1))}

        return SeedParts(model, opt, train_epoch, validate, test, generators=[gen])

    return setup


def _finish(fitted, test):
    return {"metrics": {**test, "best_epoch": fitted.best_epoch}, "stop": fitted.stop_reason,
            "epochs_run": fitted.epochs_run}


def test_best_validation_state_is_tested_once_and_early_stopping_stops(tmp_path):
    scores = {1: 0.1, 2: 0.5, 3: 0.4, 4: 0.3, 5: 0.2, 6: 0.9}
    calls: dict = {}
    run = RunDir.create(tmp_path, "m", "d")
    rec = train_seed(run, 0, 0, _setup(scores, calls=calls), LoopSettings(epochs=6, select="score", patience=2),
                     _finish, quiet=True)
    assert rec["metrics"]["best_epoch"] == 2
    assert rec["epochs_run"] == 4 and rec["stop"].startswith("early stop")
    assert calls["test"] == 1
    history = run.history()
    assert [r["epoch"] for r in history] == [1, 2, 3, 4]
    assert [r["val_score"] for r in history] == [0.1, 0.5, 0.4, 0.3]
    assert finished_seed(run, 0) == rec


def test_best_state_is_the_selected_epochs_weights(tmp_path):
    """The tested weights are those of the best epoch, not the last one."""
    scores = {1: 0.0, 2: 1.0, 3: 0.0, 4: 0.0}
    a = train_seed(RunDir.create(tmp_path / "a", "m", "d"), 0, 0, _setup(scores), LoopSettings(4, select="score"),
                   _finish, quiet=True)
    b = train_seed(RunDir.create(tmp_path / "b", "m", "d"), 0, 0, _setup(), LoopSettings(2), _finish, quiet=True)
    assert a["metrics"]["weight_sum"] == pytest.approx(b["metrics"]["weight_sum"])  # epoch 2 of both
    c = train_seed(RunDir.create(tmp_path / "c", "m", "d"), 0, 0, _setup(), LoopSettings(4), _finish, quiet=True)
    assert c["metrics"]["weight_sum"] != pytest.approx(a["metrics"]["weight_sum"])  # select=None: last epoch


@pytest.mark.parametrize("ckpt_every", [None, 2])
def test_a_killed_seed_resumes_to_the_uninterrupted_result(tmp_path, ckpt_every):
    settings = LoopSettings(epochs=7, eval_every=1, select="score", ckpt_every=ckpt_every)
    ref = train_seed(RunDir.create(tmp_path / "ref", "m", "d"), 0, 3, _setup(), settings, _finish, quiet=True)
    run = RunDir.create(tmp_path / "run", "m", "d")
    with pytest.raises(Killed):
        train_seed(run, 0, 3, _setup(kill_at=5), settings, _finish, quiet=True)
    assert finished_seed(run, 0) is None
    resumed = train_seed(run, 0, 3, _setup(), settings, _finish, quiet=True)
    assert resumed["metrics"] == ref["metrics"]
    assert [r["epoch"] for r in run.history()] == list(range(1, 8))  # no epoch logged twice


def test_evaluation_every_k_epochs_and_at_the_last(tmp_path):
    run = RunDir.create(tmp_path, "m", "d")
    train_seed(run, 0, 0, _setup(), LoopSettings(epochs=7, eval_every=3, select="score"), _finish, quiet=True)
    assert [r["epoch"] for r in run.history() if "val_score" in r] == [3, 6, 7]


def test_time_budget_stops_after_an_evaluation(tmp_path):
    rec = train_seed(RunDir.create(tmp_path, "m", "d"), 0, 0, _setup(),
                     LoopSettings(epochs=50, eval_every=10, select="score", max_minutes=1e-9), _finish, quiet=True)
    assert rec["epochs_run"] == 1 and rec["stop"].startswith("time budget")
