"""One way to describe a method's input data: config sections and input kinds.

A run reads either a named dataset (`--dataset`) or the user's own files. Each kind of file
is a config section, so it lives in `config.yaml` and in presets like any other key:

    tables.nodes / tables.edges       node and edge tables (graph methods)
    interactions.path                 a user-item interaction table (recommenders)
    interactions.item_text            a table of item text
    triples.path                      typed edges / knowledge-graph triples (head, relation, tail)
    molecules.path                    a table of SMILES

A method includes the sections it reads in its `Config` and lists the kinds in its
`MethodSpec.inputs`; the CLI sets them with `--input KIND=PATH` (the older `--nodes`,
`--edges`, `--interactions` flags are aliases) and column names with ordinary overrides
(`tables.text_col=abstract`). The readers (`plexus.graph.tables`, `plexus.graph.interactions`,
...) name the file, line and column of any problem.

Adding a kind: a section dataclass here, an `InputKind` row in `INPUT_KINDS`, a reader.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plexus.errors import ConfigError


@dataclass
class TablesConfig:
    """The user's own node and edge tables; see plexus.graph.tables."""

    nodes: str | None = None
    edges: str | None = None
    id_col: str = "id"
    text_col: str = "text"
    label_col: str = "label"
    src_col: str = "src"
    dst_col: str = "dst"


@dataclass
class InteractionsConfig:
    """The user's own interaction table; see plexus.graph.interactions."""

    path: str | None = None
    user_col: str = "user"
    item_col: str = "item"
    rating_col: str | None = None
    time_col: str | None = None
    min_rating: float | None = None
    item_text: str | None = None  # a table of item text (item id, text)
    item_text_col: str = "text"


@dataclass
class TriplesConfig:
    """Typed edges (head, relation, tail): knowledge-graph triples, multi-relational edge tables."""

    path: str | None = None
    head_col: str = "head"
    relation_col: str = "relation"
    tail_col: str = "tail"


@dataclass
class MoleculesConfig:
    """A table of molecules as SMILES (e.g. start molecules of constrained optimisation)."""

    path: str | None = None
    smiles_col: str = "smiles"
    id_col: str | None = None


@dataclass(frozen=True)
class InputKind:
    name: str  # what --input calls it
    key: str  # the config key its path goes to
    help: str


INPUT_KINDS: dict[str, InputKind] = {k.name: k for k in (
    InputKind("nodes", "tables.nodes", "node table: id, text, label (tables.id_col, tables.text_col, tables.label_col)"),
    InputKind("edges", "tables.edges", "edge table: source, target (tables.src_col, tables.dst_col)"),
    InputKind("interactions", "interactions.path",
              "user-item interactions: user, item, optional rating and time (interactions.*_col)"),
    InputKind("item_text", "interactions.item_text", "item text: item, text (interactions.item_text_col)"),
    InputKind("triples", "triples.path", "typed edges: head, relation, tail (triples.*_col)"),
    InputKind("molecules", "molecules.path", "molecules: smiles, optional id (molecules.smiles_col, molecules.id_col)"),
)}


def input_settings(method: str, reads: tuple[str, ...], given: list[str]) -> dict[str, str]:
    """`["nodes=papers.csv", ...]` -> `{"tables.nodes": "papers.csv", ...}`, checked against
    the kinds `method` reads."""
    settings = {}
    for text in given:
        kind, sep, path = text.partition("=")
        kind = kind.strip()
        if not sep or not path.strip():
            raise ConfigError(f"--input {text!r} is not of the form KIND=PATH (e.g. --input nodes=papers.csv).")
        if kind not in INPUT_KINDS:
            close = difflib.get_close_matches(kind, INPUT_KINDS, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"--input {text!r}: unknown input kind {kind!r}.{hint} Kinds: {', '.join(INPUT_KINDS)}.")
        if kind not in reads:
            what = ", ".join(reads) if reads else "only named datasets (--dataset)"
            raise ConfigError(f"--input {kind}=...: {method} does not read {kind}; it reads {what}.")
        settings[INPUT_KINDS[kind].key] = path.strip()
    return settings


def given_input(cfg: Any, reads: tuple[str, ...]) -> str | None:
    """The path of the first input the config sets, among `reads` (names the user's dataset)."""
    for kind in reads:
        section, name = INPUT_KINDS[kind].key.split(".")
        path = getattr(getattr(cfg, section, None), name, None)
        if path:
            return str(path)
    return None


def dataset_label(cfg: Any, reads: tuple[str, ...]) -> str:
    """The dataset a result is about: the stem of the user's first input file, else the named dataset."""
    path = given_input(cfg, reads)
    return Path(path).stem if path else cfg.dataset
