"""Method name -> (config factory, run function, reproduction suite)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Callable

from plexus.errors import ConfigError


@dataclass(frozen=True)
class MethodSpec:
    name: str
    make_config: Callable[[], Any]  # a Config with the paper's defaults
    run: Callable[..., Any]  # run(cfg, run_dir, quiet=False) -> Result
    paper: str
    task: str
    bench: Callable[..., Any] | None = None  # bench(quick, quiet, out, jobs) -> markdown table
    distributed: bool = False  # runs under torchrun (rank 0 owns the run directory)


def _methods() -> dict[str, MethodSpec]:
    from plexus.methods import gae, glem, glem_bench, lightgcn, mf, node_classifier, pinsage, pinsage_bench, popularity

    return {
        "gae": MethodSpec("gae", lambda: gae.Config(variational=False), gae.run,
                          "Kipf & Welling 2016", "link prediction", gae.bench),
        "vgae": MethodSpec("vgae", lambda: gae.Config(variational=True), gae.run,
                           "Kipf & Welling 2016", "link prediction", gae.bench),
        "glem": MethodSpec("glem", glem.Config, glem.run, "Zhao et al., ICLR 2023",
                           "node classification (LM + GNN variational EM)", glem_bench.bench, distributed=True),
        "gnn": MethodSpec("gnn", node_classifier.Config, node_classifier.run, "Kipf & Welling 2017 (GCN) et al.",
                          "node classification (GNN/MLP on fixed features)", glem_bench.bench),
        "lightgcn": MethodSpec("lightgcn", lightgcn.Config, lightgcn.run, "He et al., SIGIR 2020",
                               "recommendation (collaborative filtering)", lightgcn.bench),
        "mf": MethodSpec("mf", mf.Config, mf.run, "Rendle et al., UAI 2009 (BPR)",
                         "recommendation (collaborative filtering)", lightgcn.bench),
        "pinsage": MethodSpec("pinsage", pinsage.Config, pinsage.run, "Ying et al., KDD 2018",
                              "recommendation (item-to-item retrieval)", pinsage_bench.bench),
        "pop": MethodSpec("pop", popularity.Config, popularity.run, "most-popular baseline",
                          "recommendation (collaborative filtering)", lightgcn.bench),
    }


def method_names() -> list[str]:
    return sorted(_methods())


def get_method(name: str) -> MethodSpec:
    methods = _methods()
    if name not in methods:
        close = difflib.get_close_matches(name, methods, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"Unknown method {name!r}.{hint} Available: {', '.join(sorted(methods))}.")
    return methods[name]
