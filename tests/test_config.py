"""Config building: dataclass defaults, YAML files, options and dotted `key=value` overrides.

The precedence is defaults < YAML file < options (CLI flags / keyword fields) < overrides.
Every user mistake (unknown key, wrong type, malformed override, bad file) is a ConfigError
whose message names the key or file, and for a typo the closest valid key.
"""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from plexus.config import field_names, load_yaml, parse_override, save_yaml, set_key, to_dict
from plexus.errors import ConfigError
from plexus.methods.gae.algorithm import Config
from plexus.registry import get_method, method_names
from plexus.runner import build_config


def config_error(*needles: str, **build) -> str:
    """build_config(**build) must raise a ConfigError whose message holds every needle."""
    with pytest.raises(ConfigError) as info:
        build_config(**build)
    message = str(info.value)
    for needle in needles:
        assert needle in message, f"{needle!r} not in: {message}"
    return message


# ------------------------------------------------------------------------ nested keys


def test_field_names_are_dotted_for_nested_sections():
    names = field_names(Config())
    assert "tables.nodes" in names and "tables.src_col" in names
    assert "tables" not in names  # a section is not itself a settable leaf
    assert {"epochs", "lr", "hits_k", "seeds", "dataset"} <= set(names)


def test_nested_dotted_override_sets_the_inner_field_only():
    cfg = build_config("gae", overrides=["tables.src_col=source", "tables.nodes=my/nodes.csv"])
    assert cfg.tables.src_col == "source"
    assert cfg.tables.nodes == "my/nodes.csv"
    assert cfg.tables.dst_col == "dst"  # untouched sibling keeps its default


def test_section_given_a_mapping_sets_its_keys():
    cfg = Config()
    set_key(cfg, "tables", {"edges": "e.csv", "dst_col": "target"})
    assert (cfg.tables.edges, cfg.tables.dst_col, cfg.tables.src_col) == ("e.csv", "target", "src")


def test_section_given_a_scalar_is_an_error_naming_it():
    config_error("'tables'", "section", method="gae", overrides=["tables=3"])


def test_dotted_key_through_a_scalar_field_is_unknown():
    # `epochs` is an int, not a section: `epochs.x` must not silently pass.
    config_error("'epochs.x'", method="gae", overrides=["epochs.x=1"])


# ------------------------------------------------------------ file + override precedence


def test_precedence_defaults_file_options_overrides(tmp_path):
    path = tmp_path / "cfg.yaml"
    path.write_text(
        yaml.safe_dump(
            {"method": "gae", "dataset": "citeseer", "epochs": 7, "lr": 0.02, "hidden": 64, "seeds": 3,
             "tables": {"id_col": "node"}}
        )
    )
    cfg = build_config("gae", dataset="cora", config_file=path, overrides=["epochs=9", "seeds=5"],
                       hidden=128, seeds=4)
    assert cfg.latent == 16  # default, untouched by every layer
    assert cfg.lr == 0.02  # file beats default
    assert cfg.tables.id_col == "node"  # nested key from the file
    assert cfg.hidden == 128  # option beats file
    assert cfg.dataset == "cora"  # --dataset beats file
    assert cfg.epochs == 9  # override beats file
    assert cfg.seeds == 5  # override beats option beats file
    assert cfg.variational is False  # gae's own default survives


def test_none_valued_option_does_not_clobber_the_file(tmp_path):
    path = tmp_path / "cfg.yaml"
    path.write_text("epochs: 11\n")
    cfg = build_config("gae", config_file=path, epochs=None)
    assert cfg.epochs == 11


def test_file_for_another_method_is_rejected(tmp_path):
    path = tmp_path / "vgae.yaml"
    path.write_text("method: vgae\nepochs: 3\n")
    config_error(str(path), "'vgae'", "'gae'", method="gae", config_file=path)


def test_unknown_key_in_file_names_file_key_and_suggestion(tmp_path):
    path = tmp_path / "typo.yaml"
    path.write_text("tables:\n  node: n.csv\n")
    config_error(str(path), "'tables.node'", "Did you mean 'tables.nodes'?", method="gae", config_file=path)


def test_saved_config_round_trips_through_yaml(tmp_path):
    cfg = build_config("vgae", dataset="citeseer",
                       overrides=["seeds=3", "hits_k=[5,20]", "tables.src_col=a", "data_dir=/x"])
    save_yaml(cfg, tmp_path / "config.yaml")
    again = build_config("vgae", config_file=tmp_path / "config.yaml")
    assert to_dict(again) == to_dict(cfg)
    assert again.variational is True and again.hits_k == [5, 20]


@pytest.mark.parametrize(
    "content, needle",
    [(None, "does not exist"), ("- a\n- b\n", "mapping"), ("epochs: [1, 2\n", "not valid YAML")],
)
def test_bad_config_files(tmp_path, content, needle):
    path = tmp_path / "c.yaml"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError) as info:
        load_yaml(path)
    assert str(path) in str(info.value) and needle in str(info.value)


# ------------------------------------------------------------------------- coercion


@pytest.mark.parametrize(
    "override, key, expected",
    [
        ("epochs=5", "epochs", 5),
        ("epochs=5.0", "epochs", 5),  # an integral float is an int
        ("lr=0.5", "lr", 0.5),
        ("lr=1", "lr", 1.0),
        ("variational=true", "variational", True),
        ("variational=no", "variational", False),
        ("features=none", "features", "none"),
        ("select=best_val", "select", "best_val"),
        ("hits_k=[1, 3]", "hits_k", [1, 3]),
        ("hits_k=7", "hits_k", [7]),  # a scalar becomes a one-item list
        ("data_dir=null", "data_dir", None),
        ("data_dir=/some/where", "data_dir", "/some/where"),
        ("text_model=123", "text_model", "123"),
        ("dataset=", "dataset", ""),
    ],
)
def test_override_coercion(override, key, expected):
    cfg = build_config("gae", overrides=[override])
    value = getattr(cfg, key)
    assert value == expected
    assert type(value) is type(expected)


def test_bool_accepts_strings_from_files():
    cfg = Config()
    for text, expected in [("yes", True), ("False", False), ("1", True), ("0", False)]:
        set_key(cfg, "variational", text)
        assert cfg.variational is expected


@pytest.mark.parametrize(
    "override, needles",
    [
        ("epochs=5.5", ["epochs", "integer", "5.5"]),
        ("epochs=true", ["epochs", "integer"]),
        ("epochs=many", ["epochs", "integer", "many"]),
        ("lr=fast", ["lr", "number", "fast"]),
        ("variational=maybe", ["variational", "true or false", "maybe"]),
        ("features=foo", ["features", "'foo'", "'raw'", "'none'"]),
        ("hits_k=[1, x]", ["hits_k", "integer"]),
        ("hits_k={a: 1}", ["hits_k", "list"]),
        ("text_model=[a, b]", ["text_model", "string"]),
    ],
)
def test_bad_values_name_the_key(override, needles):
    config_error(repr(override), *needles, method="gae", overrides=[override])


def test_scientific_notation_float():
    cfg = build_config("gae", overrides=["lr=1e-3"])
    assert cfg.lr == pytest.approx(0.001)


# --------------------------------------------------------------------- unknown keys


@pytest.mark.parametrize(
    "override, key, suggestion",
    [("epoch=5", "epoch", "epochs"), ("tables.node=x", "tables.node", "tables.nodes"),
     ("sed=1", "sed", "seed"), ("hidden_dim=8", "hidden_dim", "hidden")],
)
def test_unknown_key_suggests_the_closest(override, key, suggestion):
    message = config_error(f"unknown config key {key!r}", f"Did you mean {suggestion!r}?",
                           method="gae", overrides=[override])
    assert message.startswith(f"override {override!r}")  # says where the bad key came from


def test_unknown_key_without_close_match_has_no_suggestion():
    message = config_error("'zzzzqqq'", "Valid keys:", method="gae", overrides=["zzzzqqq=1"])
    assert "Did you mean" not in message


def test_unknown_key_leaves_no_partial_state():
    cfg = Config()
    before = dataclasses.asdict(cfg)
    with pytest.raises(ConfigError):
        set_key(cfg, "tables.nodes_typo", "x")
    assert dataclasses.asdict(cfg) == before


# ------------------------------------------------------------------ override syntax


def test_malformed_override_without_equals():
    config_error("'seeds'", "key=value", method="gae", overrides=["seeds"])


def test_parse_override_splits_at_the_first_equals_and_parses_yaml():
    assert parse_override("a.b=c=d") == ("a.b", "c=d")
    assert parse_override(" epochs = 12") == ("epochs", 12)
    assert parse_override("hits_k=[1,2]") == ("hits_k", [1, 2])
    assert parse_override("x=") == ("x", "")
    assert parse_override("x={unclosed") == ("x", "{unclosed")  # invalid YAML stays text


# ------------------------------------------------------------------------ registry


def test_methods_have_paper_defaults():
    assert {"gae", "vgae"} <= set(method_names())
    assert get_method("vgae").make_config().variational is True
    gae = get_method("gae").make_config()
    assert (gae.variational, gae.hidden, gae.latent, gae.lr, gae.epochs) == (False, 32, 16, 0.01, 200)


def test_unknown_method_suggests_the_closest():
    config_error("'vgea'", "Did you mean 'vgae'?", method="vgea")
