"""GCPN environment throughput (steps/s) on this machine, one thread.

- env (numpy): MoleculeEnv.step with masked random actions, one molecule at a time;
- env + policy, single: one policy forward per step for one molecule (batch 1);
- env + policy, vectorised: one batched forward over B molecules per step (run_episodes);
- scoring: finished molecules per second with RDKit (properties + ZINC filter), with and
  without the MMFF steric-strain filter, in-process and with worker processes.

Usage: python benchmarks/gcpn_env_speed.py [--quick]
"""

from __future__ import annotations

import sys
import time

import numpy as np
import torch

from plexus.chem import env as E
from plexus.methods.gcpn.policy import Policy
from plexus.methods.gcpn.ppo import run_episodes
from plexus.methods.gcpn.rewards import Scorer


def random_env_steps(n_steps: int, rng) -> float:
    envr = E.MoleculeEnv(38, 64)
    envr.reset()
    done, t0 = 0, time.perf_counter()
    while done < n_steps:
        s = envr.state
        m1 = E.mask_first(s)
        stop = int(rng.random() < 0.03) or not m1.any()
        first = int(rng.choice(np.flatnonzero(m1))) if m1.any() else 0
        second = int(rng.choice(np.flatnonzero(E.mask_second(s, first)))) if not stop else 0
        bond = int(rng.choice(np.flatnonzero(E.mask_bond(s, first, second)))) if not stop else 0
        envr.step(first, second, bond, stop)
        done += 1
        if envr.done:
            envr.reset()
    return n_steps / (time.perf_counter() - t0)


def policy_steps(policy, batch: int, episodes: int) -> tuple[float, list]:
    gen = torch.Generator().manual_seed(0)
    t0, steps, finals = time.perf_counter(), 0, []
    for _ in range(max(1, episodes // batch)):
        ro = run_episodes(policy, [E.MolState.single(0)] * batch, gen, 38, 64)
        steps += len(ro.states)
        finals += ro.finals
    return steps / (time.perf_counter() - t0), finals


def main(quick: bool = False) -> str:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    policy = Policy()
    rng = np.random.default_rng(0)
    rows = [("env step (numpy, masked random actions)", f"{random_env_steps(2000 if quick else 20000, rng):,.0f} steps/s")]
    single, _ = policy_steps(policy, 1, 4 if quick else 16)
    rows.append(("env + policy, single molecule (batch 1)", f"{single:,.0f} steps/s"))
    for b in (16, 64) if quick else (16, 64, 256):
        vec, finals = policy_steps(policy, b, b)
        rows.append((f"env + policy, vectorised (batch {b})", f"{vec:,.0f} steps/s"))
    finals = finals[:64 if quick else 256]
    for steric in (False, True):
        for workers in (0, 2):
            scorer = Scorer(workers)
            scorer(finals[:4], steric=steric)  # warm-up (worker start-up)
            t0 = time.perf_counter()
            scorer(finals, steric=steric)
            rate = len(finals) / (time.perf_counter() - t0)
            scorer.close()
            rows.append((f"final scoring, steric filter {'on' if steric else 'off'}, workers {workers}",
                         f"{rate:,.1f} molecules/s"))
    text = "| GCPN environment (1 thread, untrained 128-d policy) | throughput |\n|---|---|\n"
    text += "\n".join(f"| {a} | {b} |" for a, b in rows)
    print(text)
    return text


if __name__ == "__main__":
    main("--quick" in sys.argv)
