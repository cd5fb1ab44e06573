"""Method configs: dataclasses, YAML presets and dotted `key=value` overrides.

Every method's `Config` is a dataclass whose defaults are the paper's setting. A run's
config is built in layers: defaults, then a YAML file (`-c`), then `key=value` overrides
from the command line. Unknown keys are an error naming the key and the closest valid one,
so a typo never silently runs the default.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import types
import typing
from pathlib import Path
from typing import Any

import yaml

from plexus.errors import ConfigError


@dataclasses.dataclass
class BaseConfig:
    """Fields every method shares."""

    dataset: str = ""  # a registered dataset name (the user's own files: see plexus.inputs)
    data_dir: str | None = None  # searched before $PLEXUS_DATA (see plexus.datasets)
    seeds: int = 1  # independent runs; metrics report mean ± std/se over them
    seed: int = 0  # the first seed; run i uses seed + i
    device: str = "cpu"


def to_dict(cfg: Any) -> dict[str, Any]:
    return dataclasses.asdict(cfg)


def field_names(cfg: Any, prefix: str = "") -> list[str]:
    """All dotted keys of a (nested) config, for error suggestions."""
    names = []
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if dataclasses.is_dataclass(value):
            names += field_names(value, f"{prefix}{f.name}.")
        else:
            names.append(prefix + f.name)
    return names


def set_key(cfg: Any, key: str, value: Any, source: str = "override") -> None:
    """Set a dotted key on a (nested) config, coercing `value` to the field's type."""
    parts = key.split(".")
    target = cfg
    for i, part in enumerate(parts):
        fields = {f.name: f for f in dataclasses.fields(target)}
        if part not in fields:
            _unknown_key(cfg, key, source)
        if i < len(parts) - 1:
            target = getattr(target, part)
            if not dataclasses.is_dataclass(target):
                _unknown_key(cfg, key, source)
            continue
        field = fields[part]
        hints = typing.get_type_hints(type(target))
        current = getattr(target, part)
        if dataclasses.is_dataclass(current):
            if not isinstance(value, dict):
                raise ConfigError(f"{source}: {key!r} is a section; give it a mapping of keys.")
            for sub, subval in value.items():
                set_key(cfg, f"{key}.{sub}", subval, source)
            return
        setattr(target, part, _coerce(value, hints[field.name], key, source))


def apply_dict(cfg: Any, values: dict[str, Any], source: str) -> None:
    for key, value in values.items():
        set_key(cfg, str(key), value, source)


def parse_override(text: str) -> tuple[str, Any]:
    """`a.b=3` -> ("a.b", 3). Values are parsed as YAML scalars/lists."""
    if "=" not in text:
        raise ConfigError(f"Override {text!r} is not of the form key=value (e.g. seeds=10).")
    key, raw = text.split("=", 1)
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key.strip(), value


def load_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"Config file {path} does not exist.")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"Config file {path} is not valid YAML: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"Config file {path} must hold a mapping of keys, not {type(data).__name__}.")
    return data


# Keys a run's config.yaml carries besides the settings: what wrote it, and a hash of the
# settings so a resumed run can tell a torn or edited file from the one it started with.
META_KEYS = ("method", "plexus_version", "config_hash")


def config_hash(values: Any) -> str:
    """sha256 of the settings (a config or its dict), independent of key order."""
    if dataclasses.is_dataclass(values):
        values = to_dict(values)
    canonical = json.dumps(values, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def save_yaml(cfg: Any, path: str | Path, method: str | None = None) -> None:
    """Write `cfg` atomically; with `method`, headed by META_KEYS (a run's config.yaml)."""
    from plexus import __version__
    from plexus.atomic import atomic_write_text

    values = to_dict(cfg)
    head = {"method": method, "plexus_version": __version__, "config_hash": config_hash(values)} if method else {}
    atomic_write_text(path, yaml.safe_dump({**head, **values}, sort_keys=False))


# Range checks by a key's last dotted component, applied to every method's config before a
# run starts (runner.execute), so a nonsensical number is a ConfigError naming the key
# rather than a traceback deep in training or a run that "succeeds" untrained.
_AT_LEAST_1 = {"seeds", "epochs", "ckpt_every", "checkpoint_every", "eval_every", "batch_size",
               "eval_batch_size", "infer_batch_size", "hidden", "hidden_dim", "latent", "dim", "heads",
               "iterations", "em_iters", "max_length"}
_AT_LEAST_0 = {"seed", "threads", "num_workers", "workers", "patience", "max_minutes", "layers",
               "weight_decay", "reg", "lora_rank", "temperature"}
# (a temperature may be 0 — greedy LLM decoding; where one divides, the method checks > 0)
_POSITIVE = {"lr", "disc_lr", "pretrain_lr"}
_SPLIT_RATIOS = ("train_ratio", "val_ratio", "test_ratio")


def validate(cfg: Any, prefix: str = "") -> None:
    """Raise a ConfigError naming the first key whose value is out of range (see above):
    counts and sizes at least 1, learning rates positive, dropout in [0, 1), split ratios in
    (0, 1) with the ratios of one section summing to less than 1."""
    ratios = {}
    for f in dataclasses.fields(cfg):
        key, value = prefix + f.name, getattr(cfg, f.name)
        if dataclasses.is_dataclass(value):
            validate(value, key + ".")
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        name = f.name
        if name in _AT_LEAST_1 and value < 1:
            raise ConfigError(f"{key} must be at least 1, got {value!r}.")
        if name in _AT_LEAST_0 and value < 0:
            raise ConfigError(f"{key} must be at least 0, got {value!r}.")
        if (name in _POSITIVE or name.endswith("_lr")) and not value > 0:
            raise ConfigError(f"{key} must be positive, got {value!r}.")
        if name == "dropout" and not 0 <= value < 1:
            raise ConfigError(f"{key} must be in [0, 1), got {value!r}.")
        if name in _SPLIT_RATIOS:
            if not 0 < value < 1:
                raise ConfigError(f"{key} must be between 0 and 1 (exclusive), got {value!r}.")
            ratios[key] = value
    if len(ratios) > 1 and sum(ratios.values()) >= 1:
        given = ", ".join(f"{k}={v}" for k, v in ratios.items())
        raise ConfigError(f"{' + '.join(ratios)} must be less than 1 (something must be left to train on), "
                          f"got {given}.")


def _unknown_key(cfg: Any, key: str, source: str) -> typing.NoReturn:
    valid = field_names(cfg)
    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.5)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ConfigError(
        f"{source}: unknown config key {key!r}.{hint} Valid keys: {', '.join(valid)}."
    )


def _coerce(value: Any, hint: Any, key: str, source: str) -> Any:
    """Coerce a YAML/CLI value to the annotated type, or raise a ConfigError naming the key."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, key, source)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(errors[0] if errors else f"{source}: bad value for {key!r}")
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(
                f"{source}: {key}={value!r} is not one of {', '.join(map(repr, args))}."
            )
        return value
    if origin in (list, tuple):
        if isinstance(value, (str, int, float)):
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{source}: {key} must be a list, got {value!r}.")
        inner = args[0] if args else Any
        items = [_coerce(v, inner, key, source) for v in value]
        return tuple(items) if origin is tuple else items
    if hint is Any:
        return value
    if hint is bool:
        if isinstance(value, bool):
            return value
        if value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
            return value.lower() in ("true", "yes", "1")
        raise ConfigError(f"{source}: {key} must be true or false, got {value!r}.")
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
            raise ConfigError(f"{source}: {key} must be an integer, got {value!r}.")
        return int(value)
    if hint is float:
        if isinstance(value, str):  # YAML 1.1 reads "1e-3" (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{source}: {key} must be a number, got {value!r}.")
        return float(value)
    if hint is str:
        if isinstance(value, (dict, list)):
            raise ConfigError(f"{source}: {key} must be a string, got {value!r}.")
        return str(value)
    return value
