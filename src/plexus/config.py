"""Method configs: dataclasses, YAML presets and dotted `key=value` overrides.

Every method's `Config` is a dataclass whose defaults are the paper's setting. A run's
config is built in layers: defaults, then a YAML file (`-c`), then `key=value` overrides
from the command line. Unknown keys are an error naming the key and the closest valid one,
so a typo never silently runs the default.
"""

from __future__ import annotations

import dataclasses
import difflib
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


def save_yaml(cfg: Any, path: str | Path) -> None:
    Path(path).write_text(yaml.safe_dump(to_dict(cfg), sort_keys=False))


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
