"""Method name -> `MethodSpec`, found by walking the `plexus.methods` packages.

Each package lists its methods in `METHODS` in its light `__init__.py`; nothing heavy is
imported until a method is run (`spec.make_config()`, `spec.run`), so `plexus --help` and
`plexus datasets list` start fast. Imports go one way: cli -> runner -> registry -> methods.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import pkgutil

import plexus.methods
from plexus.errors import ConfigError
from plexus.methods.spec import MethodSpec

__all__ = ["MethodSpec", "get_method", "method_names", "all_methods"]


@functools.cache
def all_methods() -> dict[str, MethodSpec]:
    found: dict[str, MethodSpec] = {}
    for info in pkgutil.iter_modules(plexus.methods.__path__):
        if not info.ispkg:
            continue
        package = importlib.import_module(f"plexus.methods.{info.name}")
        for spec in getattr(package, "METHODS", []):
            if spec.name in found:
                raise RuntimeError(f"method {spec.name!r} is declared twice ({found[spec.name].module}, {spec.module})")
            found[spec.name] = spec
    return found


def method_names() -> list[str]:
    return sorted(all_methods())


def get_method(name: str) -> MethodSpec:
    methods = all_methods()
    if name not in methods:
        close = difflib.get_close_matches(name, methods, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"Unknown method {name!r}.{hint} Available: {', '.join(sorted(methods))}.")
    return methods[name]
