"""Property-based fuzzing of the config parser: any `key=value` override, any YAML preset
file and any `--input` argument gives a config or a `PlexusError` naming the problem —
never a traceback. Keys are drawn both at random and from the method's real keys (so
type coercion of valid keys with hostile values is exercised too)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plexus import config
from plexus.errors import PlexusError
from plexus.runner import build_config

FUZZ = settings(max_examples=80, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

METHODS = ["vgae", "lightgcn", "pinsage", "glem", "decagon", "gcpn", "gnn"]
_REAL_KEYS = sorted({k for m in ("vgae", "lightgcn", "glem", "decagon")
                     for k in config.field_names(build_config(m))})
_KEY = st.one_of(st.sampled_from(_REAL_KEYS), st.text(max_size=20),
                 st.sampled_from(_REAL_KEYS).map(lambda k: k + ".x"),
                 st.sampled_from(_REAL_KEYS).map(lambda k: k.split(".")[0]))
_VALUE = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["-1", "0", "1e999", "nan", "-inf", "[1, 2]", "{a: 1}", "null", "true",
                     "0.9", "1.5", "'", "[", "{", "!!python/object:os.system", "*a", "&a [*a]",
                     "2147483648000", "0x10", "~"]),
)


def _expect_config_or_plexus_error(build) -> None:
    try:
        config.validate(build())  # a built config must also pass or fail validation cleanly
    except PlexusError as e:
        assert str(e).strip()


def _validated(method, **kw):
    return lambda: build_config(method, **kw)


@FUZZ
@given(method=st.sampled_from(METHODS), key=_KEY, value=_VALUE)
def test_any_override_is_a_config_or_a_plexus_error(method, key, value):
    _expect_config_or_plexus_error(_validated(method, overrides=[f"{key}={value}"]))


@FUZZ
@given(method=st.sampled_from(METHODS), text=st.text(max_size=40))
def test_any_override_string_is_a_config_or_a_plexus_error(method, text):
    _expect_config_or_plexus_error(_validated(method, overrides=[text]))


@FUZZ
@given(method=st.sampled_from(METHODS),
       body=st.one_of(st.text(max_size=200),
                      st.dictionaries(_KEY, _VALUE, max_size=4).map(
                          lambda d: "\n".join(f"{k}: {v}" for k, v in d.items()))))
def test_any_yaml_preset_is_a_config_or_a_plexus_error(tmp_path_factory, method, body):
    path = tmp_path_factory.mktemp("cfg") / "preset.yaml"
    try:
        path.write_text(body, encoding="utf-8")
    except UnicodeEncodeError:
        return  # a lone surrogate cannot be written: nothing for the parser to read
    _expect_config_or_plexus_error(_validated(method, config_file=path))


@FUZZ
@given(method=st.sampled_from(METHODS), arg=st.text(max_size=30))
def test_any_input_argument_is_a_config_or_a_plexus_error(method, arg):
    _expect_config_or_plexus_error(_validated(method, inputs=[arg]))
