"""What a method package declares about itself, without importing its heavy code.

Every package under `plexus.methods` lists its methods in `METHODS` in its `__init__.py`:

    METHODS = [MethodSpec("pinsage", "plexus.methods.pinsage.algorithm", paper="Ying et al., KDD 2018",
                          task="recommendation (item-to-item retrieval)", inputs=("interactions",),
                          bench="plexus.methods.pinsage.bench:bench")]

The registry (`plexus.registry`) finds these lists by walking the package; the module named
by `module` (which holds `Config` and `run`) is imported only when the method is used, so
`plexus --help` never pays for torch, transformers or RDKit.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass(frozen=True)
class MethodSpec:
    name: str  # the CLI name: `plexus run NAME`
    module: str  # dotted module holding `Config` (a dataclass) and `run(cfg, run_dir, quiet) -> Result`
    paper: str
    task: str
    inputs: tuple[str, ...] = ()  # input kinds it reads (plexus.inputs.INPUT_KINDS), besides --dataset
    bench: str | None = None  # "module:function" of the reproduction suite: bench(quick, quiet, out, jobs) -> str
    config_defaults: dict[str, Any] = field(default_factory=dict)  # e.g. vgae: {"variational": True}
    distributed: bool = False  # runs under torchrun (rank 0 owns the run directory)

    def _module(self):
        return importlib.import_module(self.module)

    def make_config(self) -> Any:
        """A Config with the paper's defaults (and this spec's `config_defaults`)."""
        cfg = self._module().Config()
        for key, value in self.config_defaults.items():
            setattr(cfg, key, value)
        return cfg

    @property
    def run(self) -> Callable[..., Any]:
        return self._module().run

    def bench_fn(self) -> Callable[..., str] | None:
        if self.bench is None:
            return None
        module, name = self.bench.split(":")
        return getattr(importlib.import_module(module), name)


def lazy_attributes(sources: dict[str, str]) -> Callable[[str], Any]:
    """A module `__getattr__` (PEP 562) importing `name` from `sources[name]` on first use, so
    `from plexus.methods.pinsage.algorithm import Config` works while `import plexus.methods.pinsage`
    stays light."""

    def __getattr__(name: str) -> Any:
        if name not in sources:
            raise AttributeError(name)
        return getattr(importlib.import_module(sources[name]), name)

    return __getattr__
