"""Rollouts and the PPO update (Schulman et al. 2017), as GCPN trains its policy.

A rollout runs a batch of episodes in lockstep: at every step one batched policy forward
over all unfinished molecules, then the numpy environments step. Finished molecules are
scored together (`rewards.Scorer`, optionally in worker processes), the discriminator
scores every visited state in one batched pass, and the per-step rewards are

    r_t = step reward (+1/38 valid edit) + adv_step * r_adv(s_{t+1}) / 38
    r_T += final reward (property, validity, filters) + adv_final * r_adv(s_final)

Advantages are GAE(gamma=1, lambda=0.95) per episode (terminal value 0); the update is
the clipped surrogate (clip 0.2) + value MSE - 0.01 * entropy, Adam (lr 1e-3), minibatches
drawn from the iteration's own generator, so an iteration is reproducible on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from plexus.chem.env import MAX_ATOMS, MolState, MoleculeEnv
from plexus.methods.gcpn.discriminator import Discriminator, adversarial_reward
from plexus.methods.gcpn.policy import Policy, batch_obs
from plexus.methods.gcpn.rewards import Scorer, final_reward


@dataclass
class RewardSettings:
    task: str = "plogp"
    target: str = "low"
    delta: float = 0.4
    sim_penalty: float = 1.0
    filter_penalty: float = 1.0
    steric_filter: bool = True
    adv_step: float = 1.0
    adv_final: float = 1.0
    max_atoms: int = MAX_ATOMS
    max_steps: int = 64


@dataclass
class Rollout:
    states: list[MolState] = field(default_factory=list)  # state before each action
    next_states: list[MolState] = field(default_factory=list)
    actions: list[tuple[int, int, int, int]] = field(default_factory=list)
    logp: list[float] = field(default_factory=list)
    value: list[float] = field(default_factory=list)
    episode: list[int] = field(default_factory=list)
    valid: list[bool] = field(default_factory=list)
    finals: list[MolState] = field(default_factory=list)
    scores: list[dict[str, Any]] = field(default_factory=list)
    rewards: np.ndarray | None = None
    advantages: np.ndarray | None = None
    returns: np.ndarray | None = None
    stats: dict[str, float] = field(default_factory=dict)


def chunks(n: int, size: int):
    for i in range(0, n, size):
        yield slice(i, min(i + size, n))


def forward_chunked(fn, states: list[MolState], size: int = 256) -> torch.Tensor:
    return torch.cat([fn(batch_obs(states[s])) for s in chunks(len(states), size)])


def run_episodes(policy: Policy, starts: list[MolState], gen: torch.Generator, max_atoms: int,
                 max_steps: int, greedy: bool = False) -> Rollout:
    """Play one episode per start state with the policy, batched over unfinished episodes."""
    envs = [MoleculeEnv(max_atoms, max_steps) for _ in starts]
    for env, s in zip(envs, starts):
        env.reset(s)
    ro = Rollout()
    active = list(range(len(envs)))
    policy.eval()
    while active:
        obs = batch_obs([envs[i].state for i in active])
        with torch.no_grad():
            step, _ = policy.distribution(obs, generator=gen, greedy=greedy)
        acts = torch.stack([step.first, step.second, step.bond, step.stop], 1).tolist()
        for k, i in enumerate(active):
            before = envs[i].state
            res = envs[i].step(*acts[k])
            ro.states.append(before)
            ro.next_states.append(envs[i].state)
            ro.actions.append(tuple(acts[k]))
            ro.logp.append(float(step.logp[k]))
            ro.value.append(float(step.value[k]))
            ro.episode.append(i)
            ro.valid.append(res.valid)
        active = [i for i in active if not envs[i].done]
    ro.finals = [env.state for env in envs]
    return ro


def compute_rewards(ro: Rollout, scorer: Scorer, disc: Discriminator | None, rs: RewardSettings,
                    start_smiles: list[str | None] | None = None, start_plogp: list[float] | None = None,
                    gamma: float = 1.0, lam: float = 0.95) -> None:
    n_ep = len(ro.finals)
    ro.scores = scorer(ro.finals, start_smiles if rs.task == "constrained" else None, steric=rs.steric_filter)
    T = len(ro.states)
    acts = np.array(ro.actions)
    valid = np.array(ro.valid)
    stop = acts[:, 3] == 1
    r = np.where(stop, 0.0, np.where(valid, 1.0, -1.0) / rs.max_atoms)
    adv_step = np.zeros(T)
    adv_final = np.zeros(n_ep)
    if disc is not None and (rs.adv_step or rs.adv_final):
        if rs.adv_step:
            adv_step = forward_chunked(lambda o: adversarial_reward(disc, o), ro.next_states).numpy()
            r = r + np.where(stop, 0.0, rs.adv_step * adv_step / rs.max_atoms)
        if rs.adv_final:
            adv_final = forward_chunked(lambda o: adversarial_reward(disc, o), ro.finals).numpy()
    episode = np.array(ro.episode)
    last = {}
    for t, e in enumerate(ro.episode):
        last[e] = t
    finals = np.zeros(n_ep)
    for e in range(n_ep):
        kw = {}
        if rs.task == "constrained":
            kw = dict(start_plogp=start_plogp[e], delta=rs.delta, sim_penalty=rs.sim_penalty)
        elif rs.task.startswith("target"):
            kw = dict(target=rs.target)
        finals[e] = final_reward(ro.scores[e], rs.task, rs.filter_penalty, **kw) + rs.adv_final * adv_final[e]
        r[last[e]] += finals[e]
    values = np.array(ro.value)
    adv = np.zeros(T)
    for e in range(n_ep):
        idx = np.flatnonzero(episode == e)
        gae, next_v = 0.0, 0.0
        for t in idx[::-1]:
            delta = r[t] + gamma * next_v - values[t]
            gae = delta + gamma * lam * gae
            adv[t] = gae
            next_v = values[t]
    ro.rewards, ro.advantages, ro.returns = r, adv, adv + values
    valid_scores = [s for s in ro.scores if s["valid"]]
    ro.stats = {
        "episode_reward": float(r.sum() / n_ep),
        "final_reward": float(finals.mean()),
        "adv_final": float(adv_final.mean()),
        "adv_step": float(adv_step.mean()) if T else 0.0,
        "episode_len": T / n_ep,
        "validity": len(valid_scores) / n_ep,
        "zinc_ok": float(np.mean([s["zinc_ok"] for s in valid_scores])) if valid_scores else 0.0,
    }
    for key in ("plogp", "qed", "n_atoms"):
        if valid_scores:
            ro.stats[f"mean_{key}"] = float(np.mean([s[key] for s in valid_scores]))


def ppo_update(policy: Policy, opt: torch.optim.Optimizer, ro: Rollout, gen: torch.Generator, epochs: int = 4,
               minibatch: int = 256, clip: float = 0.2, ent_coef: float = 0.01, vf_coef: float = 0.5,
               max_grad_norm: float = 1.0) -> dict[str, float]:
    policy.train()
    T = len(ro.states)
    acts = torch.tensor(ro.actions)
    old_logp = torch.tensor(ro.logp)
    adv = torch.tensor(ro.advantages, dtype=torch.float32)
    adv = (adv - adv.mean()) / (adv.std() + 1e-8)
    ret = torch.tensor(ro.returns, dtype=torch.float32)
    stats = {"loss_pi": 0.0, "loss_v": 0.0, "entropy": 0.0, "clip_frac": 0.0}
    n = 0
    for _ in range(epochs):
        perm = torch.randperm(T, generator=gen)
        for s in chunks(T, minibatch):
            idx = perm[s]
            obs = batch_obs([ro.states[i] for i in idx.tolist()])
            a = acts[idx]
            step, ent = policy.distribution(obs, a[:, 0], a[:, 1], a[:, 2], a[:, 3])
            ratio = (step.logp - old_logp[idx]).exp()
            surr = torch.minimum(ratio * adv[idx], ratio.clamp(1 - clip, 1 + clip) * adv[idx])
            loss_pi = -surr.mean()
            loss_v = (step.value - ret[idx]).pow(2).mean()
            entropy = ent.mean()
            loss = loss_pi + vf_coef * loss_v - ent_coef * entropy
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(policy.parameters(), max_grad_norm)
            opt.step()
            stats["loss_pi"] += loss_pi.item()
            stats["loss_v"] += loss_v.item()
            stats["entropy"] += entropy.item()
            stats["clip_frac"] += ((ratio - 1).abs() > clip).float().mean().item()
            n += 1
    return {k: v / max(n, 1) for k, v in stats.items()}


def bc_step(policy: Policy, opt: torch.optim.Optimizer, states: list[MolState], actions: np.ndarray) -> float:
    """Behaviour cloning: minimise -log pi(expert action | state)."""
    policy.train()
    a = torch.from_numpy(actions)
    step, _ = policy.distribution(batch_obs(states), a[:, 0], a[:, 1], a[:, 2], a[:, 3])
    loss = -step.logp.mean()
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
    opt.step()
    return loss.item()

