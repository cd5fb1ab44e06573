"""Hub access: the CLI does not force the hub offline; the bundled model never reaches it; a
named hub model that cannot be fetched is a PlexusError saying how to pre-download it.
Everything here stays offline (from_pretrained is replaced where the hub would be asked)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from plexus.errors import PlexusError
from plexus.text import encoder


def test_the_cli_does_not_force_the_hub_offline():
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    code = "import os, plexus.cli; print(os.environ.get('HF_HUB_OFFLINE'))"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "None"


def _record_calls(monkeypatch, fail: Exception | None = None):
    import transformers

    calls = []

    def fake(name, **kwargs):
        calls.append((name, kwargs.get("local_files_only")))
        if fail is not None:
            raise fail
        raise RuntimeError("stop here")  # the call is what the test checks

    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", fake)
    monkeypatch.setattr(transformers.AutoModel, "from_pretrained", fake)
    return calls


def test_bundled_model_loads_local_only_and_hub_ids_are_not_forced_offline(monkeypatch):
    calls = _record_calls(monkeypatch)
    with pytest.raises(PlexusError):
        encoder.load_lm("default")
    assert calls[-1] == (str(encoder.default_model_path()), True)
    with pytest.raises(PlexusError):
        encoder.load_lm("bert-base-uncased")
    assert calls[-1] == ("bert-base-uncased", False)


@pytest.mark.parametrize("offline", [True, False])
def test_an_unreachable_hub_model_says_how_to_pre_download(monkeypatch, offline):
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    if offline:
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    _record_calls(monkeypatch, OSError("We couldn't connect to 'https://huggingface.co' to load this model"))
    with pytest.raises(PlexusError) as info:
        encoder.load_lm("bert-base-uncased")
    msg = str(info.value)
    assert "bert-base-uncased" in msg and "hf download bert-base-uncased" in msg and "model=DIR" in msg
