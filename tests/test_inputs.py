"""One way to describe input data: --input KIND=PATH sets the same config keys as the old flags."""

from __future__ import annotations

import pytest

from plexus.config import to_dict
from plexus.errors import ConfigError
from plexus.inputs import INPUT_KINDS, dataset_label, input_settings
from plexus.registry import get_method, method_names
from plexus.runner import build_config


def test_input_sets_the_section_key_and_names_the_dataset_after_the_file():
    cfg = build_config("gae", inputs=["nodes=data/papers.csv", "edges=data/cites.csv"],
                       overrides=["tables.text_col=abstract"])
    assert (cfg.tables.nodes, cfg.tables.edges, cfg.tables.text_col) == ("data/papers.csv", "data/cites.csv",
                                                                         "abstract")
    assert cfg.dataset == "papers"
    old = build_config("gae", **{"tables.nodes": "data/papers.csv", "tables.edges": "data/cites.csv"},
                       overrides=["tables.text_col=abstract"])
    assert to_dict(old) == to_dict(cfg)


def test_interactions_input_for_recommenders():
    cfg = build_config("lightgcn", inputs=["interactions=logs/clicks.parquet"], overrides=["interactions.user_col=uid"])
    assert cfg.interactions.path == "logs/clicks.parquet" and cfg.interactions.user_col == "uid"
    assert dataset_label(cfg, get_method("lightgcn").inputs) == "clicks"


@pytest.mark.parametrize("given, message", [
    (["nodes"], "not of the form KIND=PATH"),
    (["nodes="], "not of the form KIND=PATH"),
    (["edgez=x.csv"], "Did you mean 'edges'?"),
    (["interactions=x.csv"], "gae does not read interactions; it reads nodes, edges"),
])
def test_bad_input_arguments_are_config_errors(given, message):
    with pytest.raises(ConfigError, match=message):
        input_settings("gae", get_method("gae").inputs, given)


def test_every_declared_input_kind_exists():
    for name in method_names():
        assert set(get_method(name).inputs) <= set(INPUT_KINDS), name
