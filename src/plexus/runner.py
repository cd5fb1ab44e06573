"""Building a run's config from its layers and executing it in a run directory.

Used by the CLI (`plexus run`, `plexus bench`) and by Python callers alike:

    from plexus.runner import build_config, execute
    cfg = build_config("vgae", dataset="cora", overrides=["seeds=10"])
    result = execute("vgae", cfg)
"""

from __future__ import annotations

import contextlib
import copy
import shutil
import sys
from pathlib import Path
from typing import Any

from plexus.atomic import TEMP_PREFIX
from plexus.config import (META_KEYS, apply_dict, config_hash, load_yaml, parse_override, set_key, to_dict,
                           validate)
from plexus.errors import ConfigError
from plexus.inputs import given_input, input_settings
from plexus.registry import get_method, method_names
from plexus.train import distributed
from plexus.result import Result
from plexus.train.rundir import RunDir


def build_config(
    method: str,
    dataset: str | None = None,
    config_file: str | Path | None = None,
    overrides: list[str] | None = None,
    inputs: list[str] | None = None,
    **fields: Any,
) -> Any:
    """Defaults, then the YAML file, then `inputs` (`KIND=PATH`, see plexus.inputs) and `fields`
    (CLI options), then `key=value` overrides."""
    spec = get_method(method)
    cfg = spec.make_config()
    if config_file:
        values = load_yaml(config_file)
        file_method = values.pop("method", method)
        if file_method != method:
            raise ConfigError(f"{config_file} is a config for {file_method!r}, not {method!r}: "
                              f"use `plexus run {file_method}`.")
        for key in META_KEYS:
            values.pop(key, None)
        apply_dict(cfg, values, source=str(config_file))
    if dataset:
        cfg.dataset = dataset
    for key, value in input_settings(method, spec.inputs, inputs or []).items():
        set_key(cfg, key, value, source="--input")
    for key, value in fields.items():
        if value is not None:
            set_key(cfg, key, value, source="option")
    for text in overrides or []:
        key, value = parse_override(text)
        set_key(cfg, key, value, source=f"override {text!r}")
    user_file = given_input(cfg, spec.inputs)
    if user_file and not dataset and cfg.dataset == spec.make_config().dataset:
        cfg.dataset = Path(user_file).stem  # the user's own data is named after its file
    return cfg


def execute(method: str, cfg: Any, out: str | Path = "runs", resume: str | Path | None = None,
            quiet: bool = False) -> Result:
    """Run `method` with `cfg` in a new run directory under `out`, or continue `resume`.

    The method's progress goes to stderr (stdout is left for results, e.g. `--json`)."""
    spec = get_method(method)
    validate(cfg)
    if distributed.requested():
        if not spec.distributed:
            names = ", ".join(n for n in method_names() if get_method(n).distributed)
            raise ConfigError(f"{method!r} does not run under torchrun (multi-process); these do: {names}.")
        distributed.init(getattr(cfg, "device", "cpu"))
    if resume:
        run_dir = RunDir(Path(resume))
        check_resume(resume_config(method, resume), cfg, run_dir.config_path)
        if distributed.is_main():
            for stale in run_dir.checkpoints.glob(f"{TEMP_PREFIX}*"):  # a write the kill interrupted
                stale.unlink()
            run_dir.repair_history()  # a line torn by the kill
    elif distributed.is_main():
        run_dir = RunDir.create(out, method, cfg.dataset)
    if distributed.active():  # rank 0 made (or was given) the directory; the others share it
        run_dir = RunDir(distributed.broadcast_object(run_dir.path if distributed.is_main() else None))
    try:
        if distributed.is_main():
            run_dir.write_config(cfg, method=method)
        with contextlib.redirect_stdout(sys.stderr):
            return spec.run(cfg, run_dir, quiet=quiet)
    except BaseException:
        # Bad input (or a bug, or Ctrl-C) before any training was saved: leave nothing behind;
        # the error itself propagates (a bug keeps its traceback). A run that already
        # checkpointed work keeps it, so --resume can continue once the input is fixed.
        if not resume and distributed.is_main() and not _has_checkpoint(run_dir):
            shutil.rmtree(run_dir.path, ignore_errors=True)
        raise


def _has_checkpoint(run_dir: RunDir) -> bool:
    return run_dir.checkpoints.is_dir() and any(run_dir.checkpoints.iterdir())


# Settings a resumed run may change (by their last dotted component): where and how fast it
# runs, and how many seeds (only more). Everything else would mix two configs in one run.
RESUMABLE_KEYS = ("seeds", "device", "threads", "num_workers", "max_minutes", "eval_batch_size")


def resume_config(method: str, run_dir: str | Path, overrides: list[str] | None = None) -> Any:
    """The config a run directory was started with, plus `overrides` that only change what
    RESUMABLE_KEYS allows (e.g. more seeds). config.yaml must be the intact file the run
    wrote: missing, empty, of another method or not matching its recorded hash is a ConfigError."""
    path = Path(run_dir) / "config.yaml"
    if not path.is_file():
        raise ConfigError(f"--resume {run_dir}: not a run directory (no config.yaml).")
    values = load_yaml(path)
    if not values:
        raise ConfigError(f"{path} is empty, so the settings run {run_dir} was started with are lost; "
                          f"it cannot be resumed (start a new run).")
    file_method = values.pop("method", method)
    if file_method != method:
        raise ConfigError(f"{path} is a config for {file_method!r}, not {method!r}: "
                          f"resume it with `plexus run {file_method} --resume {run_dir}`.")
    recorded = values.pop("config_hash", None)
    values.pop("plexus_version", None)
    if recorded is not None and config_hash(values) != recorded:
        raise ConfigError(f"{path} does not match the config hash recorded in it: it was cut short or "
                          f"edited after the run started, so it cannot be resumed safely (start a new run).")
    stored = get_method(method).make_config()
    apply_dict(stored, values, source=str(path))
    cfg = copy.deepcopy(stored)
    for text in overrides or []:
        key, value = parse_override(text)
        set_key(cfg, key, value, source=f"override {text!r}")
    check_resume(stored, cfg, path)
    return cfg


def check_resume(stored: Any, cfg: Any, path: str | Path) -> None:
    """ConfigError naming the first key where `cfg` changes what the run in `path` trained."""
    old, new = _flat(to_dict(stored)), _flat(to_dict(cfg))
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        leaf = key.rsplit(".", 1)[-1]
        if leaf not in RESUMABLE_KEYS:
            raise ConfigError(
                f"--resume: {key} was {before!r} in {path}, not {after!r}; a resumed run keeps the settings it "
                f"was trained with (only {', '.join(RESUMABLE_KEYS)} may change). Start a new run for {key}={after!r}.")
        if leaf == "seeds" and after < before:
            raise ConfigError(f"--resume: {key}={after} is fewer than the {before} seeds in {path}; "
                              f"seeds may only grow.")


def _flat(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out = {}
    for key, value in values.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = value
    return out
