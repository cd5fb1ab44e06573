import numpy as np
import torch
from rdkit import Chem

from plexus.chem import env as E
from plexus.methods.gcpn.discriminator import Discriminator
from plexus.methods.gcpn.expert import bfs_order, load_expert, sample_expert, trajectory_step
from plexus.methods.gcpn.policy import Policy, batch_obs
from plexus.methods.gcpn.ppo import RewardSettings, compute_rewards, run_episodes
from plexus.methods.gcpn.rewards import Scorer

ZINC = ["CCN(Cc1ccc(OC)c(OC)c1)C(=O)c1ccsc1", "Cc1ccc(CNc2ncnc(N3CCCC3)c2N)cc1", "O=C(O)C1CC1", "C#CCOc1ccc(Br)cc1",
        "CC(C)(C)OC(=O)N1CCC2(CC1)CC(=O)N2"]


def test_expert_trajectories_rebuild_the_molecule_within_the_masks():
    expert = load_expert(ZINC)
    rng = np.random.default_rng(0)
    for s, smi in zip(expert.states, ZINC):
        plan = bfs_order(s, rng)
        state, _ = trajectory_step(s, 0, plan)
        for t in range(len(plan[0]) + 1):
            part, (first, second, bond, stop) = trajectory_step(s, t, plan)
            assert Chem.MolToSmiles(E.to_mol(part, sanitize=False)) == Chem.MolToSmiles(E.to_mol(state, sanitize=False))
            if stop:
                break
            assert E.mask_first(state)[first] and E.mask_second(state, first)[second]
            assert E.mask_bond(state, first, second)[bond]
            state = E.apply_edit(state, first, second, bond)
        assert stop and Chem.MolToSmiles(E.to_mol(state)) == Chem.MolToSmiles(Chem.MolFromSmiles(smi))


def test_scored_log_probs_equal_sampled_ones_and_are_finite():
    torch.manual_seed(0)
    pol = Policy(hidden=32)
    ro = run_episodes(pol, [E.MolState.single(0)] * 6, torch.Generator().manual_seed(1), 12, 20)
    a = torch.tensor(ro.actions)
    step, ent = pol.distribution(batch_obs(ro.states), a[:, 0], a[:, 1], a[:, 2], a[:, 3])
    assert torch.allclose(step.logp, torch.tensor(ro.logp), atol=1e-5)
    assert torch.isfinite(ent).all() and (ent >= 0).all()
    for s in ro.finals:
        assert E.to_mol(s) is not None and s.n <= 12


def test_expert_batch_scores_finite():
    expert = load_expert(ZINC)
    states, actions = sample_expert(expert, 32, np.random.default_rng(0))
    pol = Policy(hidden=16)
    a = torch.from_numpy(actions)
    step, _ = pol.distribution(batch_obs(states), a[:, 0], a[:, 1], a[:, 2], a[:, 3])
    assert torch.isfinite(step.logp).all() and (step.logp > -100).all()


def test_discriminator_reward_is_wired_in():
    torch.manual_seed(0)
    pol, disc = Policy(hidden=16), Discriminator(hidden=16)
    ro = run_episodes(pol, [E.MolState.single(0)] * 4, torch.Generator().manual_seed(0), 10, 15)
    scorer = Scorer(0)
    off = RewardSettings(task="qed", steric_filter=False, adv_step=0.0, adv_final=0.0)
    on = RewardSettings(task="qed", steric_filter=False, adv_step=1.0, adv_final=1.0)
    compute_rewards(ro, scorer, disc, off)
    r_off = ro.rewards.copy()
    compute_rewards(ro, scorer, None, on)  # no discriminator: environment reward only
    assert np.allclose(ro.rewards, r_off)
    compute_rewards(ro, scorer, disc, on)
    assert not np.allclose(ro.rewards, r_off)
    assert ro.stats["adv_final"] != 0.0
