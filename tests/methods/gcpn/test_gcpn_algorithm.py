import csv
import subprocess
import sys

import pytest
import torch

from plexus.errors import ConfigError, InputError
from plexus.methods.gcpn import algorithm
from plexus.methods.gcpn import ppo as ppo_mod
from plexus.methods.gcpn.algorithm import Config, run
from plexus.train.rundir import RunDir

TINY = dict(expert_molecules=120, pretrain_steps=12, pretrain_batch=16, pretrain_checkpoint_every=5, iterations=4,
            episodes=4, eval_samples=12, steric_filter=False, hidden=16, disc_hidden=16, checkpoint_every=2,
            max_steps=20, max_atoms=15, minibatch=64, ppo_epochs=2, disc_batch=16)


def tiny(**kw) -> Config:
    cfg = Config(**{**TINY, **kw})
    return cfg


def test_package_init_is_light():
    code = ("import sys, plexus.methods.gcpn as g; assert 'torch' not in sys.modules and 'rdkit' not in sys.modules; "
            "print(g.METHODS[0].name, g.METHODS[0].module)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["gcpn", "plexus.methods.gcpn.algorithm"]


def test_resume_after_kill_equals_uninterrupted(tmp_path, monkeypatch):
    full = run(tiny(), RunDir.create(tmp_path / "a", "gcpn", "x"), quiet=True)
    weights_full = torch.load(full.run_dir / "artifacts" / "policy.pt", weights_only=False)["policy"]

    calls = {"n": 0}
    real_update = ppo_mod.ppo_update

    def dying_update(*a, **k):
        calls["n"] += 1
        if calls["n"] == 4:  # iteration 3: after the checkpoint of iteration 2, mid-iteration
            raise KeyboardInterrupt
        return real_update(*a, **k)

    run_dir = RunDir.create(tmp_path / "b", "gcpn", "x")
    monkeypatch.setattr(ppo_mod, "ppo_update", dying_update)
    with pytest.raises(KeyboardInterrupt):
        run(tiny(), run_dir, quiet=True)
    monkeypatch.setattr(ppo_mod, "ppo_update", real_update)
    resumed = run(tiny(), run_dir, quiet=True)
    weights = torch.load(resumed.run_dir / "artifacts" / "policy.pt", weights_only=False)["policy"]
    for k in weights_full:
        assert torch.equal(weights[k], weights_full[k]), k
    timing = {"ppo_minutes", "seed_minutes"}
    assert {k: v for k, v in resumed.metrics.items() if k not in timing} == \
        {k: v for k, v in full.metrics.items() if k not in timing}
    hist = [r for r in run_dir.history() if r.get("stage") == "ppo"]
    assert [r["iteration"] for r in hist] == [0, 1, 2, 3]


def test_result_and_artifacts(tmp_path):
    from plexus.methods.gcpn.generate import generate_cli

    res = run(tiny(task="qed", iterations=2), RunDir.create(tmp_path, "gcpn", "x"), quiet=True)
    m = res.metrics
    assert m["validity"] == 1.0 and m["within_atom_cap"] == 1.0 and m["max_heavy_atoms"] <= 15
    for key in ("top1_qed", "top3_qed", "uniqueness", "novelty", "int_diversity", "zinc_filter_pass",
                "top10_zinc_filter_pass"):
        assert key in m
    assert (res.run_dir / "report.md").read_text().count("Top generated molecules") == 1
    text = generate_cli(res.run_dir, 9, None)
    rows = list(csv.DictReader(open(res.run_dir / "artifacts" / "generated_9.csv")))
    assert len(rows) == 9 and all(r["valid"] == "True" for r in rows) and "steric_ok" in rows[0]
    assert (res.run_dir / "top_molecules.png").stat().st_size > 1000
    assert (res.run_dir / "report.md").read_text().count("Top generated molecules") == 1
    assert "9 molecules" in text


def test_constrained_from_a_user_file(tmp_path):
    f = tmp_path / "starts.csv"
    f.write_text("smiles,id\nCCOc1ccccc1,a\nCC(=O)NC1CCCC1,b\n")
    cfg = tiny(task="constrained", iterations=1, eval_per_start=2, constrained_max_steps=4)
    cfg.molecules.path = str(f)
    cfg.molecules.id_col = "id"
    m = run(cfg, RunDir.create(tmp_path, "gcpn", "x"), quiet=True).metrics
    assert m["n_starts"] == 2
    for d in ("0.0", "0.2", "0.4", "0.6"):
        assert 0 <= m[f"success_d{d}"] <= 1


@pytest.mark.parametrize("content, reason", [
    ("smiles\nCCO\nC1CC(\n", "line 3: SMILES 'C1CC(' cannot be parsed"),
    ("smiles\nCCO\nC[Si](C)(C)C\n", "line 3: molecule 'C[Si](C)(C)C' cannot be a GCPN start: atom Si is outside"),
    ("smiles\n" + "C" * 40 + "\n", "line 2: molecule 'CCCC"),
    ("name\nCCO\n", "line 1: no column 'smiles'"),
])
def test_bad_start_file_names_line_and_reason(tmp_path, content, reason):
    f = tmp_path / "starts.csv"
    f.write_text(content)
    cfg = tiny(task="constrained")
    cfg.molecules.path = str(f)
    with pytest.raises(InputError) as e:
        algorithm.read_start_molecules(cfg, 38)
    assert str(f) in str(e.value) and reason in str(e.value)
    if "C" * 40 in content:
        assert "40 heavy atoms, above the cap of 38" in str(e.value)


def test_bad_config():
    with pytest.raises(ConfigError, match="38"):
        algorithm._check(tiny(max_atoms=50))
    with pytest.raises(ConfigError, match="constrained"):
        cfg = tiny()
        cfg.molecules.path = "x.csv"
        algorithm._check(cfg)


def test_targeting_reports_success_rate(tmp_path):
    from plexus.methods.gcpn.rewards import property_reward

    m = run(tiny(task="target-mw", target="low", iterations=1), RunDir.create(tmp_path, "gcpn", "x"), quiet=True).metrics
    assert 0 <= m["success_rate"] <= 1 and "success_diversity" in m
    inside = {"valid": True, "mw": 175.0, "logp": 0.0}
    assert property_reward(inside, "target-mw", target="low") == 2.0
    assert property_reward(inside, "target-mw", target="high") == -2.0


def test_generate_refuses_a_policy_file_that_would_run_code(tmp_path):
    """`plexus generate` reads artifacts/policy.pt with weights_only: a crafted pickle is refused."""
    import torch

    from plexus.errors import InputError
    from plexus.methods.gcpn.generate import load_policy

    class RunsCode:
        def __reduce__(self):
            return (print, ("code ran while loading",))

    (tmp_path / "artifacts").mkdir()
    torch.save({"policy": {}, "config": {}, "payload": RunsCode()}, tmp_path / "artifacts" / "policy.pt")
    with pytest.raises(InputError, match="refused to load"):
        load_policy(tmp_path)
