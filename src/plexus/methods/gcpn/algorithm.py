"""GCPN: Graph Convolutional Policy Network (You, Liu, Ying, Pande, Leskovec, NeurIPS 2018).

A policy builds a molecule bond by bond in an RDKit-checked environment and is trained in
two stages:

1. Expert pretraining (behaviour cloning): random BFS sub-trajectories of ZINC molecules
   (`expert.py`); the loss is -log pi(expert action | partial molecule).
2. PPO with environment + adversarial rewards: each iteration plays `episodes` molecules
   in lockstep (`ppo.run_episodes`), scores the finished ones (`rewards.py`: property,
   validity, the ZINC and steric-strain filters), adds the discriminator's step and final
   rewards (`discriminator.py`), updates the discriminator on ZINC sub-graphs vs the
   iteration's states, then takes the PPO step (clip 0.2, entropy 0.01, gamma 1,
   lambda 0.95, Adam 1e-3).

Tasks: plogp and qed (property optimisation from a single carbon), target-logp /
target-mw (property targeting, `target=low|high` picks the paper's range), constrained
(start from each of the 800 lowest-penalised-logP ZINC molecules, or the user's
`molecules.path`, reward = improvement with a similarity constraint `delta`).

Checkpoints (`checkpoints/seed<k>.pt`, atomic) hold the policy, both optimisers, the
discriminator, the stage and step, the best molecules seen and the history tick, every
`checkpoint_every` iterations (and `pretrain_checkpoint_every` BC steps). All randomness
after initialisation comes from per-(seed, stage, step) generators
(`plexus.train.seed.stream_generator`), so a resumed run repeats the uninterrupted one
exactly. Evaluation: `evaluation.py`. Sampling from a finished run: `generate.py`.
"""

from __future__ import annotations

import csv
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from plexus.config import BaseConfig
from plexus.errors import ConfigError, InputError
from plexus.eval.aggregate import summarize_runs
from plexus.inputs import MoleculesConfig
from plexus.result import Result
from plexus.train.checkpoint import load_checkpoint, save_checkpoint
from plexus.train.rundir import RunDir
from plexus.train.seed import stream_generator

TASKS = ("plogp", "qed", "target-logp", "target-mw", "constrained")


@dataclass
class Config(BaseConfig):
    dataset: str = "zinc250k-subset"
    task: Literal["plogp", "qed", "target-logp", "target-mw", "constrained"] = "plogp"
    target: Literal["low", "high"] = "low"  # targeting: logP [-2.5,-2] | [5,5.5]; MW [150,200] | [500,550]
    molecules: MoleculesConfig = field(default_factory=MoleculesConfig)  # constrained: user start molecules
    # environment
    max_atoms: int = 38
    max_steps: int = 64  # actions per episode (GCPN: 128)
    steric_filter: bool = True  # steric-strain filter in the final reward (costly: MMFF per molecule)
    filter_penalty: float = 1.0
    # policy (3-layer, 128-d GCN)
    hidden: int = 128
    layers: int = 3
    # expert pretraining
    expert_molecules: int = 0  # 0 = every training molecule
    pretrain_steps: int = 3000
    pretrain_batch: int = 64
    pretrain_lr: float = 1e-3
    pretrain_checkpoint_every: int = 250
    # PPO
    iterations: int = 500
    episodes: int = 32  # molecules per iteration
    ppo_epochs: int = 4
    minibatch: int = 256
    lr: float = 1e-3
    clip: float = 0.2
    entropy: float = 0.01
    gamma: float = 1.0
    lam: float = 0.95
    # adversarial reward (0 and 0 = off, as TorchDrug)
    adv_step: float = 1.0
    adv_final: float = 1.0
    disc_hidden: int = 64
    disc_lr: float = 1e-3
    disc_steps: int = 1
    disc_batch: int = 128
    # constrained optimisation
    delta: float = 0.4
    sim_penalty: float = 1.0
    constrained_starts: int = 800
    constrained_max_steps: int = 20
    eval_per_start: int = 4
    # evaluation, budget, execution
    eval_samples: int = 1000
    checkpoint_every: int = 5
    max_minutes: float = 0.0  # 0 = run all iterations; else stop PPO after this wall time (not resume-exact)
    workers: int = 0  # processes scoring molecules with RDKit (0 = in-process)
    threads: int = 1


def _check(cfg: Config) -> None:
    if cfg.max_atoms < 2 or cfg.max_atoms > 38:
        raise ConfigError(f"max_atoms={cfg.max_atoms}: GCPN's ZINC setting caps molecules at 38 heavy atoms (2..38).")
    for key in ("iterations", "episodes", "pretrain_steps", "eval_samples", "checkpoint_every"):
        if getattr(cfg, key) < (1 if key in ("episodes", "checkpoint_every") else 0):
            raise ConfigError(f"{key}={getattr(cfg, key)} must be positive.")
    if cfg.molecules.path and cfg.task != "constrained":
        raise ConfigError("molecules.path gives start molecules, which only task=constrained uses.")


# ---------------------------------------------------------------- start molecules

def read_start_molecules(cfg: Config, max_atoms: int) -> tuple[list[str], list[str], dict[str, int]]:
    """(SMILES, ids, skipped counts). A user's file must be clean: any bad line is an
    InputError naming it; the bundled 800 molecules are all expressible (checked)."""
    from rdkit import Chem

    from plexus.chem.env import VocabularyError, state_from_mol

    if cfg.molecules.path:
        path = Path(cfg.molecules.path)
        rows = _read_smiles_table(path, cfg.molecules.smiles_col, cfg.molecules.id_col)
        smiles, ids = [], []
        for lineno, smi, mid in rows:
            mol = Chem.MolFromSmiles(smi)
            if mol is None:
                raise InputError(f"{path}, line {lineno}: SMILES {smi!r} cannot be parsed by RDKit.")
            try:
                state_from_mol(mol, max_atoms)
            except VocabularyError as e:
                raise InputError(f"{path}, line {lineno}: molecule {smi!r} cannot be a GCPN start: {e}.") from None
            smiles.append(smi)
            ids.append(mid)
        if not smiles:
            raise InputError(f"{path}: no molecules.")
        return smiles, ids, {}
    from plexus.datasets import load_dataset

    ds = load_dataset(cfg.dataset, cfg.data_dir)
    smiles, ids, skipped = [], [], {}
    for k, (smi, _) in enumerate(ds.opt_test[:cfg.constrained_starts]):
        try:
            state_from_mol(Chem.MolFromSmiles(smi), max_atoms)
        except VocabularyError as e:
            skipped[str(e)] = skipped.get(str(e), 0) + 1
            continue
        smiles.append(smi)
        ids.append(str(k))
    return smiles, ids, skipped


def _read_smiles_table(path: Path, smiles_col: str, id_col: str | None) -> list[tuple[int, str, str]]:
    if not path.is_file():
        raise InputError(f"Start-molecule file {path} does not exist.")
    text = path.read_text(errors="replace").splitlines()
    if path.suffix.lower() in (".csv", ".tsv"):
        delim = "\t" if path.suffix.lower() == ".tsv" else ","
        reader = csv.reader(text, delimiter=delim)
        header = next(reader, None)
        if header is None or smiles_col not in header:
            raise InputError(f"{path}, line 1: no column {smiles_col!r} in the header {header!r} "
                             f"(set molecules.smiles_col).")
        si = header.index(smiles_col)
        ii = header.index(id_col) if id_col and id_col in header else None
        if id_col and ii is None:
            raise InputError(f"{path}, line 1: no column {id_col!r} (molecules.id_col) in the header {header!r}.")
        out = []
        for lineno, row in enumerate(reader, 2):
            if not row or not "".join(row).strip():
                continue
            if len(row) <= si:
                raise InputError(f"{path}, line {lineno}: {len(row)} fields, no {smiles_col!r} value.")
            out.append((lineno, row[si].strip(), row[ii] if ii is not None else str(lineno)))
        return out
    out = []  # .smi / .txt: one SMILES (first whitespace-separated token) per line
    for lineno, line in enumerate(text, 1):
        parts = line.split()
        if parts and not parts[0].startswith("#"):
            out.append((lineno, parts[0], parts[1] if len(parts) > 1 else str(lineno)))
    return out


# ---------------------------------------------------------------- one seed

def _reward_settings(cfg: Config):
    from plexus.methods.gcpn.ppo import RewardSettings

    return RewardSettings(task=cfg.task, target=cfg.target, delta=cfg.delta, sim_penalty=cfg.sim_penalty,
                          filter_penalty=cfg.filter_penalty, steric_filter=cfg.steric_filter,
                          adv_step=cfg.adv_step, adv_final=cfg.adv_final, max_atoms=cfg.max_atoms,
                          max_steps=cfg.constrained_max_steps if cfg.task == "constrained" else cfg.max_steps)


def build_models(cfg: Config, seed: int):
    from plexus.methods.gcpn.discriminator import Discriminator
    from plexus.methods.gcpn.policy import Policy

    torch.manual_seed(seed)
    policy = Policy(cfg.hidden, cfg.layers, cfg.max_atoms)
    disc = Discriminator(cfg.disc_hidden, cfg.layers)
    return policy, disc


def train_seed(cfg: Config, seed: int, run_dir: RunDir, expert, starts, quiet: bool, scorer) -> dict[str, Any]:
    """Pretrain + PPO for one seed, resuming from `checkpoints/seed<seed>.pt`. Returns the
    final checkpoint state (policy weights, best molecules)."""
    from plexus.methods.gcpn.discriminator import discriminator_step
    from plexus.methods.gcpn.expert import sample_expert
    from plexus.methods.gcpn.policy import batch_obs
    from plexus.methods.gcpn.ppo import bc_step, compute_rewards, ppo_update, run_episodes

    ckpt_path = run_dir.checkpoints / f"seed{seed}.pt"
    policy, disc = build_models(cfg, seed)
    opt = torch.optim.Adam(policy.parameters(), lr=cfg.pretrain_lr)
    dopt = torch.optim.Adam(disc.parameters(), lr=cfg.disc_lr)
    state = {"stage": "pretrain", "step": 0, "tick": 0, "best": [], "ppo_seconds": 0.0}
    ckpt = load_checkpoint(ckpt_path)
    if ckpt is not None:
        policy.load_state_dict(ckpt["policy"])
        disc.load_state_dict(ckpt["disc"])
        if ckpt["stage"] == "ppo":
            opt = torch.optim.Adam(policy.parameters(), lr=cfg.lr)
        opt.load_state_dict(ckpt["opt"])
        dopt.load_state_dict(ckpt["dopt"])
        state = {k: ckpt[k] for k in state}
    tick0 = state["tick"]
    run_dir.keep_history(lambda r: r.get("seed") != seed or r.get("tick", -1) < tick0)

    def save():
        save_checkpoint(ckpt_path, {"policy": policy.state_dict(), "disc": disc.state_dict(), "opt": opt.state_dict(),
                                    "dopt": dopt.state_dict(), **state})

    def log(**rec):
        run_dir.log(seed=seed, tick=state["tick"], **rec)
        state["tick"] += 1

    rs = _reward_settings(cfg)
    # ---- stage 1: expert pretraining (behaviour cloning on BFS sub-trajectories)
    if state["stage"] == "pretrain":
        losses = []
        while state["step"] < cfg.pretrain_steps:
            rng = np.random.default_rng([seed, 0, state["step"]])
            states, actions = sample_expert(expert, cfg.pretrain_batch, rng)
            losses.append(bc_step(policy, opt, states, actions))
            state["step"] += 1
            if state["step"] % 50 == 0 or state["step"] == cfg.pretrain_steps:
                log(stage="pretrain", epoch=state["step"], pretrain_step=state["step"], bc_loss=float(np.mean(losses)))
                if not quiet:
                    print(f"[gcpn seed {seed}] pretrain {state['step']}/{cfg.pretrain_steps} "
                          f"bc_loss {np.mean(losses):.3f}", file=sys.stderr, flush=True)
                losses = []
            if state["step"] % cfg.pretrain_checkpoint_every == 0:
                save()
        state.update(stage="ppo", step=0)
        opt = torch.optim.Adam(policy.parameters(), lr=cfg.lr)  # fresh Adam for PPO
        save()
    # ---- stage 2: PPO with environment + adversarial rewards
    start_states, start_smiles, start_plogp = starts
    t_budget = time.perf_counter() - state["ppo_seconds"]
    while state["step"] < cfg.iterations:
        it = state["step"]
        if cfg.max_minutes and (time.perf_counter() - t_budget) > cfg.max_minutes * 60:
            if not quiet:
                print(f"[gcpn seed {seed}] budget of {cfg.max_minutes} min reached at iteration {it}", file=sys.stderr, flush=True)
            break
        t0 = time.perf_counter()
        gen = stream_generator(seed, 1, it)
        rng = np.random.default_rng([seed, 1, it])
        if cfg.task == "constrained":
            pick = rng.integers(0, len(start_states), size=cfg.episodes)
            ep_starts = [start_states[i] for i in pick]
            ep_smiles = [start_smiles[i] for i in pick]
            ep_plogp = [start_plogp[i] for i in pick]
        else:
            from plexus.chem.env import MolState

            ep_starts, ep_smiles, ep_plogp = [MolState.single(0)] * cfg.episodes, None, None
        ro = run_episodes(policy, ep_starts, gen, cfg.max_atoms, rs.max_steps)
        use_disc = disc if (cfg.adv_step or cfg.adv_final) else None
        compute_rewards(ro, scorer, use_disc, rs, ep_smiles, ep_plogp, cfg.gamma, cfg.lam)
        d_loss = float("nan")
        if use_disc is not None:
            for k in range(cfg.disc_steps):
                drng = np.random.default_rng([seed, 2, it, k])
                real, _ = sample_expert(expert, cfg.disc_batch // 2, drng)
                real += [expert.states[int(i)] for i in drng.integers(0, len(expert.states), cfg.disc_batch // 2)]
                pool = ro.next_states + ro.finals
                fake = [pool[int(i)] for i in drng.integers(0, len(pool), cfg.disc_batch)]
                d_loss = discriminator_step(disc, dopt, batch_obs(real), batch_obs(fake))
        upd = ppo_update(policy, opt, ro, gen, cfg.ppo_epochs, cfg.minibatch, cfg.clip, cfg.entropy)
        _update_best(state["best"], ro.scores, cfg.task)
        state["step"] += 1
        state["ppo_seconds"] = time.perf_counter() - t_budget
        rec = {k: round(v, 5) for k, v in {**ro.stats, **upd}.items()}
        best = state["best"][0]["value"] if state["best"] else float("nan")
        log(stage="ppo", epoch=it, iteration=it, disc_loss=round(d_loss, 5), best_so_far=best,
            seconds=round(time.perf_counter() - t0, 3), **rec)
        if not quiet and (it % 5 == 0 or it == cfg.iterations - 1):
            print(f"[gcpn seed {seed}] iter {it} reward {ro.stats['episode_reward']:.3f} "
                  f"mean_plogp {ro.stats.get('mean_plogp', float('nan')):.2f} "
                  f"mean_qed {ro.stats.get('mean_qed', float('nan')):.3f} best {best:.3f} "
                  f"d_loss {d_loss:.3f} ({time.perf_counter() - t0:.1f}s)", file=sys.stderr, flush=True)
        if state["step"] % cfg.checkpoint_every == 0 or state["step"] == cfg.iterations:
            save()
    save()
    return {"policy": policy, "best": state["best"], "iterations_done": state["step"],
            "ppo_seconds": state["ppo_seconds"]}


def _task_value(score: dict[str, Any], task: str) -> float:
    if task in ("plogp", "qed"):
        return score[task]
    if task == "constrained":
        return score["plogp"]
    return -abs(score["logp" if task == "target-logp" else "mw"])  # unused ordering for targeting


def _update_best(best: list[dict], scores: list[dict], task: str, k: int = 10) -> None:
    """Top-k unique molecules by the task's property seen during training (in place)."""
    seen = {b["smiles"] for b in best}
    for s in scores:
        if s["valid"] and s["smiles"] not in seen and task in ("plogp", "qed"):
            best.append({"smiles": s["smiles"], "value": float(s[task]), "zinc_ok": bool(s["zinc_ok"])})
            seen.add(s["smiles"])
    best.sort(key=lambda b: -b["value"])
    del best[k:]


# ---------------------------------------------------------------- run

def run(cfg: Config, run_dir: RunDir, quiet: bool = False) -> Result:
    from rdkit import Chem

    from plexus.chem import properties
    from plexus.chem.env import state_from_mol
    from plexus.datasets import load_dataset
    from plexus.methods.gcpn import evaluation
    from plexus.methods.gcpn.expert import load_expert
    from plexus.methods.gcpn.rewards import Scorer

    _check(cfg)
    torch.set_num_threads(cfg.threads)
    starts = (None, None, None)
    skipped_starts: dict[str, int] = {}
    if cfg.task == "constrained":
        smiles, _, skipped_starts = read_start_molecules(cfg, cfg.max_atoms)
        mols = [Chem.MolFromSmiles(s) for s in smiles]
        starts = ([state_from_mol(m, cfg.max_atoms) for m in mols], smiles,
                  [properties.penalized_logp(m) for m in mols])
    ds = load_dataset(cfg.dataset, cfg.data_dir)
    train_smiles = ds.splits["valid"] + ds.splits["test"]
    expert = load_expert(train_smiles, cfg.expert_molecules or None)
    if not expert.states:
        raise InputError(f"No usable expert molecules in {cfg.dataset}.")
    reference = set(expert.smiles)
    scorer = Scorer(cfg.workers)
    per_seed, artifacts = [], {}
    try:
        for k in range(cfg.seeds):
            seed = cfg.seed + k
            t0 = time.perf_counter()
            out = train_seed(cfg, seed, run_dir, expert, starts, quiet, scorer)
            gen = stream_generator(seed, 3, 0)
            if cfg.task == "constrained":
                m, scores = evaluation.constrained_metrics(out["policy"], starts[0], starts[1], cfg.eval_per_start,
                                                           gen, cfg.max_atoms, cfg.constrained_max_steps, scorer)
            else:
                scores = evaluation.sample(out["policy"], cfg.eval_samples, gen, cfg.max_atoms, cfg.max_steps, scorer)
                m = evaluation.property_metrics(scores, cfg.task, reference, cfg.max_atoms, cfg.target)
            for j, b in enumerate(out["best"][:3]):
                m[f"train_top{j + 1}_{cfg.task}"] = b["value"]
            m["ppo_iterations"] = float(out["iterations_done"])
            m["ppo_minutes"] = out["ppo_seconds"] / 60
            m["seed_minutes"] = (time.perf_counter() - t0) / 60
            per_seed.append(m)
            if k == 0:
                artifacts = _write_artifacts(cfg, run_dir, out, scores)
    finally:
        scorer.close()
    metrics = per_seed[0] if len(per_seed) == 1 else summarize_runs(per_seed)
    metrics["expert_molecules"] = float(len(expert.states))
    metrics["expert_skipped"] = float(sum(expert.skipped.values()))
    if skipped_starts:
        metrics["start_molecules_skipped"] = float(sum(skipped_starts.values()))
    result = Result("gcpn", cfg.dataset if not cfg.molecules.path else Path(cfg.molecules.path).stem,
                    _protocol(cfg, expert, skipped_starts), metrics, run_dir.path, artifacts)
    run_dir.write_metrics(result.to_json())
    _report(cfg, run_dir, result, artifacts)
    return result


def _protocol(cfg: Config, expert, skipped_starts) -> str:
    what = {
        "plogp": f"top-3 penalised logP (normalised as GCPN/TorchDrug) of {cfg.eval_samples} molecules sampled "
                 "from the final policy, validity, uniqueness, novelty vs the training molecules, internal "
                 "diversity, ZINC-filter pass rate (all and top-10), atom cap",
        "qed": f"top-3 QED of {cfg.eval_samples} sampled molecules, validity, uniqueness, novelty, diversity, "
               "ZINC-filter pass rate",
        "target-logp": f"success rate (logP in the {cfg.target} range) and diversity of {cfg.eval_samples} samples",
        "target-mw": f"success rate (MW in the {cfg.target} range) and diversity of {cfg.eval_samples} samples",
        "constrained": f"{cfg.eval_per_start} samples from each start molecule; improvement (unnormalised "
                       "logP-SA-cycle), similarity and success at delta 0/0.2/0.4/0.6",
    }[cfg.task]
    adv = "with" if (cfg.adv_step or cfg.adv_final) else "without"
    return (f"GCPN: {cfg.pretrain_steps} expert-pretraining steps on {len(expert.states)} ZINC molecules "
            f"({sum(expert.skipped.values())} inexpressible ones skipped), then up to {cfg.iterations} PPO "
            f"iterations of {cfg.episodes} molecules {adv} the adversarial reward"
            f"{f', budget {cfg.max_minutes} min' if cfg.max_minutes else ''}; max {cfg.max_atoms} heavy atoms; "
            f"{what}; {cfg.seeds} seed(s)."
            + (f" Start molecules skipped: {skipped_starts}." if skipped_starts else ""))


def _write_artifacts(cfg: Config, run_dir: RunDir, out, scores) -> dict[str, Path]:
    run_dir.artifacts.mkdir(parents=True, exist_ok=True)
    policy_path = run_dir.artifacts / "policy.pt"
    save_checkpoint(policy_path, {"policy": out["policy"].state_dict(), "config": asdict(cfg)})
    csv_path = run_dir.artifacts / "generated.csv"
    write_scores_csv(csv_path, scores)
    return {"policy": policy_path, "generated": csv_path}


CSV_FIELDS = ("smiles", "valid", "n_atoms", "plogp", "plogp_raw", "logp", "sa", "qed", "mw", "zinc_ok",
              "steric_ok", "sim", "start")


def write_scores_csv(path: Path, scores: list[dict[str, Any]]) -> None:
    from plexus.atomic import atomic_write_text
    import io

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=[f for f in CSV_FIELDS if any(f in s for s in scores) or f in CSV_FIELDS[:2]],
                       extrasaction="ignore")
    w.writeheader()
    for s in scores:
        w.writerow({k: (round(v, 5) if isinstance(v, float) else v) for k, v in s.items()})
    atomic_write_text(path, buf.getvalue())


def _report(cfg: Config, run_dir: RunDir, result: Result, artifacts) -> None:
    from plexus.methods.gcpn.generate import top_grid
    from plexus.train.report import write_report

    curves = ["bc_loss", "episode_reward", "final_reward", "mean_plogp", "mean_qed", "best_so_far",
              "adv_final", "disc_loss", "zinc_ok"]
    write_report(run_dir, result, curves)
    if cfg.task in ("plogp", "qed") and "generated" in artifacts:
        section = top_grid(run_dir, artifacts["generated"], cfg.task)
        with open(run_dir.path / "report.md", "a") as f:
            f.write(section)
