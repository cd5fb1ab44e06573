"""End-to-end JAKET downstream runs ("jaket-entity", "jaket-link", "jaket-fewrel") through the
runner: seconds each with the base LM; (slow) from a real, tiny `jaket` pretraining run."""

from __future__ import annotations

import pytest

from plexus.errors import ConfigError
from plexus.runner import build_config, execute


@pytest.fixture
def data_dir(shared_datasets):
    return str(shared_datasets)


def _run(method, dataset, tmp_path, data_dir, *over):
    cfg = build_config(method, dataset=dataset, overrides=[f"data_dir={data_dir}", "seeds=1", *over])
    return execute(method, cfg, out=tmp_path / "runs", quiet=True)


def test_entity_classification_with_lm1_and_a_fresh_km(tmp_path, data_dir):
    res = _run("jaket-entity", "umls", tmp_path, data_dir, "epochs=2", "eval_every=1", "knowledge=true")
    m = res.metrics
    assert 0.0 <= m["test_acc"]["mean"] <= 1.0 and 0.0 <= m["val_acc"]["mean"] <= 1.0
    assert "27/27/81" in res.protocol and "15 classes" in res.protocol and "LM1 + KM" in res.protocol
    assert "![curve_val_acc.png](curve_val_acc.png)" in (res.run_dir / "report.md").read_text()


def test_link_prediction_with_the_lm_alone(tmp_path, data_dir):
    res = _run("jaket-link", "umls", tmp_path, data_dir, "epochs=1", "eval_every=1", "knowledge=false",
               "batch_size=4096")
    m = res.metrics
    assert 0.0 < m["test_mrr"]["mean"] <= 1.0
    assert m["test_hits@1"]["mean"] <= m["test_hits@3"]["mean"] <= m["test_hits@10"]["mean"]
    assert "filtered ranking over all 135 entities" in res.protocol
    assert "| test_mrr |" in (res.run_dir / "report.md").read_text()


def test_fewrel_without_fine_tuning(tmp_path, data_dir):
    res = _run("jaket-fewrel", "fewrel", tmp_path, data_dir, "steps=0", "knowledge=false", "eval_per_relation=12",
               "episodes=1000")
    m = res.metrics
    for s in ("5w1s", "5w5s", "10w1s", "10w5s"):
        assert 0.0 <= m[f"test_acc_{s}"]["mean"] <= 1.0
    assert m["test_acc_5w5s"]["mean"] > m["test_acc_5w1s"]["mean"] > 0.2  # above chance (0.2), more shots help
    assert m["eval_sentences"] == 120.0 and m["dropped_kg_facts"] == 14.0
    assert "1000 test episodes per setting" in res.protocol


def test_overlapping_relation_lists_are_refused(tmp_path, data_dir):
    with pytest.raises(ConfigError, match="share"):
        _run("jaket-fewrel", "fewrel", tmp_path, data_dir, "steps=0", "train_relations=[P177]")


@pytest.mark.slow
@pytest.mark.timeout(1800)  # a real pretraining run plus three fine-tunings: minutes on a busy CPU
def test_downstream_from_a_pretraining_run(tmp_path, data_dir):
    pre = build_config("jaket", dataset="fb15k237", overrides=[
        f"data_dir={data_dir}", "max_entities=40", "steps=2", "batch_size=4", "max_length=32", "warmup_steps=1",
        "ckpt_every=2", "log_every=1", "memory_batch_size=64"])
    run = execute("jaket", pre, out=tmp_path / "pre", quiet=True).run_dir
    res = _run("jaket-entity", "umls", tmp_path, data_dir, f"pretrained={run}", "epochs=2", "eval_every=1")
    assert "JAKET pretrained in" in res.protocol and "entity memory on" in res.protocol
    res = _run("jaket-link", "umls", tmp_path, data_dir, f"pretrained={run}", "epochs=1", "eval_every=1",
               "batch_size=4096")
    assert 0.0 < res.metrics["test_mrr"]["mean"] <= 1.0
    res = _run("jaket-fewrel", "fewrel", tmp_path, data_dir, f"pretrained={run}", "steps=2", "steps_per_eval=1",
               "train_per_relation=10", "dev_per_relation=10", "eval_per_relation=10", "dev_episodes=5",
               "episodes=1000")
    assert res.metrics["dev_acc"]["n"] == 1 and "fb15k237 (40 entities" in res.protocol
