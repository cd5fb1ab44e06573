"""Building a run's config from its layers and executing it in a run directory.

Used by the CLI (`plexus run`, `plexus bench`) and by Python callers alike:

    from plexus.runner import build_config, execute
    cfg = build_config("vgae", dataset="cora", overrides=["seeds=10"])
    result = execute("vgae", cfg)
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from plexus.atomic import TEMP_PREFIX
from plexus.config import apply_dict, load_yaml, parse_override, set_key
from plexus.errors import ConfigError, PlexusError
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
            raise ConfigError(f"{config_file} is a config for {file_method!r}, not {method!r}.")
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
    """Run `method` with `cfg` in a new run directory under `out`, or continue `resume`."""
    spec = get_method(method)
    if distributed.requested():
        if not spec.distributed:
            names = ", ".join(n for n in method_names() if get_method(n).distributed)
            raise ConfigError(f"{method!r} does not run under torchrun (multi-process); these do: {names}.")
        distributed.init(getattr(cfg, "device", "cpu"))
    if resume:
        run_dir = RunDir(Path(resume))
        if not (run_dir.path / "config.yaml").is_file():
            raise ConfigError(f"--resume {resume}: not a run directory (no config.yaml).")
        if distributed.is_main():
            for stale in run_dir.checkpoints.glob(f"{TEMP_PREFIX}*"):  # a write the kill interrupted
                stale.unlink()
    elif distributed.is_main():
        run_dir = RunDir.create(out, method, cfg.dataset)
    if distributed.active():  # rank 0 made (or was given) the directory; the others share it
        run_dir = RunDir(distributed.broadcast_object(run_dir.path if distributed.is_main() else None))
    if distributed.is_main():
        run_dir.write_config(cfg)
    try:
        return spec.run(cfg, run_dir, quiet=quiet)
    except PlexusError:
        # Bad input found before any training: leave nothing behind. A run that already
        # checkpointed work keeps it, so --resume can continue once the input is fixed.
        if not resume and distributed.is_main() and not any(run_dir.checkpoints.iterdir()):
            shutil.rmtree(run_dir.path, ignore_errors=True)
        raise


def resume_config(method: str, run_dir: str | Path, overrides: list[str] | None = None) -> Any:
    """The config a run directory was started with (plus overrides, e.g. more seeds)."""
    return build_config(method, config_file=Path(run_dir) / "config.yaml", overrides=overrides)
