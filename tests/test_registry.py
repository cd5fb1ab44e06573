"""Every registered method ships complete, and the package imports in one direction.

The PyKEEN habit: a method cannot be registered without a Config, a run function, a test
module that names it and a preset under configs/<method>/ that loads."""

from __future__ import annotations

import ast
import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from plexus.config import load_yaml
from plexus.registry import get_method, method_names
from plexus.runner import build_config

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src" / "plexus"
METHODS = method_names()


def test_the_known_methods_are_registered():
    assert {"gae", "vgae", "glem", "gnn", "lightgcn", "mf", "pop", "pinsage"} <= set(METHODS)


@pytest.mark.parametrize("name", METHODS)
def test_method_has_config_run_tests_and_a_preset(name):
    spec = get_method(name)
    cfg = spec.make_config()
    assert dataclasses.is_dataclass(cfg), f"{name}: Config must be a dataclass"
    assert callable(spec.run), f"{name}: no run()"
    # a test module under tests/methods/<package>/ that names the method
    package = spec.module.split(".")[2]
    tests = list((REPO / "tests" / "methods" / package).glob("test_*.py"))
    assert tests, f"{name}: no tests/methods/{package}/test_*.py"
    assert any(f'"{name}"' in t.read_text() or spec.module in t.read_text() for t in tests), \
        f"{name}: no test module under tests/methods/{package}/ names it"
    presets = sorted((REPO / "configs" / name).glob("*.yaml"))
    assert presets, f"{name}: no preset under configs/{name}/"
    for preset in presets:
        assert load_yaml(preset).get("method", name) == name, preset
        build_config(name, config_file=preset)  # every key is a valid config key
    for kind in spec.inputs:  # each declared input kind is settable on its Config
        from plexus.inputs import INPUT_KINDS

        section, field = INPUT_KINDS[kind].key.split(".")
        assert hasattr(getattr(cfg, section, None), field), f"{name} declares {kind} but has no {section}.{field}"
    if spec.bench is not None:
        assert callable(spec.bench_fn())


def _top_level_imports(path: Path) -> set[str]:
    """plexus modules a file imports at module level (not inside functions)."""
    tree = ast.parse(path.read_text())
    found = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("plexus"):
            found.add(node.module)
            for alias in node.names:  # `from plexus.methods import gae` imports a submodule
                found.add(f"{node.module}.{alias.name}")
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("plexus")}
    return found


def _module_graph() -> dict[str, set[str]]:
    modules = {}
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC.parent).with_suffix("")
        name = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        modules[name] = path
    graph = {}
    for name, path in modules.items():
        deps = {d for d in _top_level_imports(path) if d in modules and d != name}
        # importing a.b.c runs a/__init__ and a/b/__init__ first (a module's own packages are
        # initialised before it, so those edges are no cycle)
        own = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}
        deps |= {".".join(d.split(".")[:i]) for d in set(deps) for i in range(2, d.count(".") + 1)} & set(modules)
        graph[name] = deps - {name} - own
    return graph


def test_module_level_imports_have_no_cycle():
    graph = _module_graph()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                cycle = stack[stack.index(dep):] + [dep]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if dep not in state:
                visit(dep)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_registry_runner_and_bench_import_one_way():
    graph = _module_graph()
    assert "plexus.runner" not in graph["plexus.registry"]
    assert not {"plexus.runner", "plexus.registry"} & graph["plexus.bench"]
    for name, deps in graph.items():
        if name.startswith("plexus.methods"):
            assert "plexus.runner" not in deps and "plexus.registry" not in deps, name


def test_cli_and_registry_start_without_torch():
    """`plexus --help` and method discovery never import torch (lazy method modules)."""
    code = ("import sys, plexus.cli; from plexus.registry import method_names; method_names(); "
            "print(sorted(m for m in ('torch', 'transformers', 'torch_geometric', 'rdkit') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
