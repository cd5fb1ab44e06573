"""TextEncoder on the real all-MiniLM-L6-v2 weights (bundled, offline)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from plexus.errors import ConfigError, PlexusError
from plexus.text import (
    EmbeddingCache,
    TextEncoder,
    cpu_has_native_bf16,
    default_model_path,
    encode_texts,
    load_lm,
    resolve_model,
    resolve_precision,
)

TEXTS = [
    "Graph neural networks aggregate features from neighbouring nodes.",
    "Short one.",
    "A considerably longer sentence about citation networks whose nodes are papers, "
    "with titles and abstracts that a language model turns into vectors.",
]


@pytest.fixture(scope="module")
def encoder() -> TextEncoder:
    return TextEncoder("default", precision="fp32", progress=False)


def _sharing(enc: TextEncoder, **kw) -> TextEncoder:
    """Another encoder over the same loaded weights (saves loading them again)."""
    return TextEncoder(enc.model, tokenizer=enc.tokenizer, progress=False, **kw)


def _raw_hidden(enc: TextEncoder, text: str) -> torch.Tensor:
    """Token states of one unpadded text straight from the model: [T, d]."""
    batch = enc.tokenizer([text], truncation=True, max_length=enc.max_length, return_tensors="pt")
    with torch.inference_mode():
        return enc.model(**batch).last_hidden_state[0]


def test_default_model_is_minilm_384(encoder: TextEncoder) -> None:
    assert encoder.dim == 384
    assert encoder.max_length == 256  # from the model's sentence_bert_config.json
    x = encoder.encode(TEXTS)
    assert x.shape == (3, 384) and x.dtype == torch.float32
    assert torch.isfinite(x).all()


def test_mean_pooling_equals_masked_mean_of_raw_output(encoder: TextEncoder) -> None:
    # The three texts have different lengths, so the batch is padded; padding must not count.
    x = encoder.encode(TEXTS)
    for i, text in enumerate(TEXTS):
        manual = _raw_hidden(encoder, text).mean(dim=0)
        torch.testing.assert_close(x[i], manual, atol=1e-5, rtol=1e-4)
    # and the padded batch itself, masked by hand
    batch = encoder.tokenizer(TEXTS, padding=True, return_tensors="pt")
    with torch.inference_mode():
        h = encoder.model(**batch).last_hidden_state
    m = batch["attention_mask"].unsqueeze(-1).float()
    torch.testing.assert_close(x, (h * m).sum(1) / m.sum(1), atol=1e-5, rtol=1e-4)


def test_cls_pooling_returns_first_token(encoder: TextEncoder) -> None:
    cls = _sharing(encoder, pooling="cls", precision="fp32")
    x = cls.encode(TEXTS)
    for i, text in enumerate(TEXTS):
        torch.testing.assert_close(x[i], _raw_hidden(encoder, text)[0], atol=1e-5, rtol=1e-4)
    assert not torch.allclose(x, encoder.encode(TEXTS), atol=1e-3)


def test_order_is_preserved_across_length_sorted_batches(encoder: TextEncoder) -> None:
    texts = ["x " * n + f"item {n}" for n in (3, 40, 1, 17, 0, 25, 8)]
    small = _sharing(encoder, batch_size=2, precision="fp32")
    x = small.encode(texts)
    assert small.stats["batches"] == 4
    one_by_one = torch.stack([encoder.encode([t])[0] for t in texts])
    torch.testing.assert_close(x, one_by_one, atol=1e-5, rtol=1e-4)
    perm = [6, 2, 0, 5, 1, 4, 3]
    torch.testing.assert_close(small.encode([texts[i] for i in perm]), x[perm], atol=1e-5, rtol=1e-4)


def test_duplicates_are_encoded_once(encoder: TextEncoder) -> None:
    before = encoder.stats["encoded"]
    x = encoder.encode(["a", "b", "a", "a", "b"])
    assert encoder.stats["encoded"] - before == 2
    assert torch.equal(x[0], x[2]) and torch.equal(x[1], x[4])
    assert not torch.equal(x[0], x[1])


def test_empty_string_and_empty_list(encoder: TextEncoder) -> None:
    x = encoder.encode(["", "text"])
    torch.testing.assert_close(x[0], _raw_hidden(encoder, "").mean(0), atol=1e-5, rtol=1e-4)
    assert encoder.encode([]).shape == (0, 384)


def test_non_str_input_names_the_index(encoder: TextEncoder) -> None:
    with pytest.raises(PlexusError, match=r"texts\[1\] is None"):
        encoder.encode(["fine", None, "also fine"])
    with pytest.raises(PlexusError, match=r"texts\[2\]"):
        encoder.encode(["a", "b", 3.5])
    with pytest.raises(PlexusError, match="wrap it in a list"):
        encoder.encode("a single string")


def test_normalize_gives_unit_vectors(encoder: TextEncoder) -> None:
    enc = _sharing(encoder, normalize=True, precision="fp32")
    norms = enc.encode(TEXTS).norm(dim=1)
    torch.testing.assert_close(norms, torch.ones(3), atol=1e-5, rtol=0)


def test_bf16_is_close_to_fp32_and_auto_follows_cpu_support(encoder: TextEncoder) -> None:
    auto = resolve_precision("auto", torch.device("cpu"))
    assert auto == ("bf16" if cpu_has_native_bf16() else "fp32")
    assert resolve_precision("fp32", torch.device("cpu")) == "fp32"
    with pytest.raises(ConfigError):
        resolve_precision("fp8", torch.device("cpu"))
    bf = _sharing(encoder, precision="bf16")
    x, y = encoder.encode(TEXTS), bf.encode(TEXTS)
    assert y.dtype == torch.float32
    assert torch.nn.functional.cosine_similarity(x, y, dim=1).min() > 0.999
    assert bf.cache_spec()["precision"] == "bf16" != encoder.cache_spec()["precision"]


def test_resolve_model_aliases_and_paths(tmp_path: Path) -> None:
    local = str(default_model_path())
    for alias in ("default", "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"):
        assert resolve_model(alias) == local
    assert (Path(local) / "model.safetensors").is_file()
    assert resolve_model(local) == local
    assert resolve_model("some-org/some-model") == "some-org/some-model"  # a hub id, untouched
    with pytest.raises(PlexusError, match="does not exist"):
        resolve_model(str(tmp_path / "missing"))
    with pytest.raises(PlexusError, match="config.json"):
        resolve_model(str(tmp_path))


def test_unavailable_hub_model_offline_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(PlexusError) as info:
        load_lm("plexus-test/no-such-model-xyz")
    msg = str(info.value)
    assert "plexus-test/no-such-model-xyz" in msg and "local folder" in msg


def test_load_lm_returns_eval_model_and_tokenizer() -> None:
    tok, model = load_lm("default")
    assert not model.training
    assert model.config.hidden_size == 384
    assert tok("hello")["input_ids"][0] == tok.cls_token_id


def test_in_memory_model_needs_tokenizer_and_uses_weights_version(encoder: TextEncoder) -> None:
    with pytest.raises(ConfigError, match="tokenizer"):
        TextEncoder(encoder.model, progress=False)
    mem = TextEncoder(encoder.model, tokenizer=encoder.tokenizer, precision="fp32",
                      progress=False, weights_version="epoch-1")
    assert mem.max_length == 256  # the limit of the folder it was loaded from
    assert mem.model_identity().endswith("#epoch-1")
    torch.testing.assert_close(mem.encode(TEXTS[:1]), encoder.encode(TEXTS[:1]))


def test_bad_settings_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="pooling"):
        TextEncoder("default", pooling="max")
    with pytest.raises(ConfigError, match="max_length"):
        TextEncoder("default", max_length=4096)


def test_encode_texts_convenience(encoder: TextEncoder, tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path)
    x = encode_texts(TEXTS, cache=cache, progress=False, precision="fp32")
    torch.testing.assert_close(x, encoder.encode(TEXTS))
    assert torch.equal(encode_texts(TEXTS, cache=cache, progress=False, precision="fp32"), x)
    y = encode_texts(TEXTS, cache=False, progress=False, precision="fp32")
    torch.testing.assert_close(y, x)
