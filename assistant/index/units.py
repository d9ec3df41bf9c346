"""Answer-unit vectors of a generation (``units.npy`` + ``units.json`` beside BM25 in the generation folder).

For every distinct chunk text the units of :func:`assistant.units.split_units` are embedded as passages with
:func:`assistant.units.unit_embedding_text`; every distinct section heading path is embedded *as a query*: the
headings are the librarians' questions, so question ↔ heading is a symmetric question-to-question match (E5's
``query:`` on both sides), used by retrieval (a heading ranking fused with dense and BM25) and by the answer's
choice of lead section. Rows are keyed by the sha256 of the embedded text (headings with a ``query:`` tag), so

* a unit shared by several chunks (or a re-ingest that keeps it) is stored and embedded once;
* a new generation reuses every row of the previous committed generation whose key it still needs and embeds
  only new texts (re-ingest, crash repair and rebuild-with-reuse all go through :func:`build_unit_store`);
* a reader memory-maps the matrix at open (no Chroma query per answer).

Why files and not a second Chroma collection: the answer needs the vectors of a few known chunks, not a nearest
neighbour search, and a memory-mapped matrix is read in microseconds; a file per generation also commits
atomically with the manifest. ``SPLITTER_VERSION`` is stored; a different splitter recomputes every unit.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assistant.units import SPLITTER_VERSION, split_units, unit_embedding_text

UNITS_MATRIX = "units.npy"
UNITS_INDEX = "units.json"
EMBED_BATCH = 256


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def heading_key(heading: str) -> str:
    """Row key of a heading path's query vector (distinct from a passage vector of the same text)."""
    return text_key(f"query: {heading}")


def content_hash(text: str) -> str:
    """The chunk text's sha256 (the chunks' ``content_hash`` metadata)."""
    return text_key(text)


@dataclass
class UnitStore:
    """Vectors by embedded-text key, and for every chunk text (by content hash) its units' keys in order."""

    version: str
    keys: list[str]
    matrix: np.ndarray
    chunk_units: dict[str, list[str]]  # content_hash -> unit keys (aligned with split_units(text))

    def __post_init__(self) -> None:
        self._row = {k: i for i, k in enumerate(self.keys)}

    @classmethod
    def empty(cls) -> UnitStore:
        return cls(SPLITTER_VERSION, [], np.zeros((0, 0), dtype=np.float32), {})

    def __len__(self) -> int:
        return len(self.keys)

    def vector(self, key: str) -> np.ndarray | None:
        row = self._row.get(key)
        return None if row is None else self.matrix[row]

    def vectors_for_texts(self, texts: Sequence[str]) -> list[np.ndarray | None]:
        """Stored passage vectors of embedded texts (units or headings); None where there is none."""
        return [self.vector(text_key(t)) for t in texts]

    def heading_vectors(self, headings: Sequence[str]) -> list[np.ndarray | None]:
        """Stored query vectors of heading paths; None where there is none."""
        return [self.vector(heading_key(h)) for h in headings]

    def chunk_matrix(self, content_hash_: str) -> np.ndarray | None:
        """The unit vectors of one chunk text, rows aligned with ``split_units(text)``."""
        keys = self.chunk_units.get(content_hash_)
        if keys is None:
            return None
        if not keys:
            return np.zeros((0, self.matrix.shape[1] if self.matrix.ndim == 2 else 0), dtype=np.float32)
        return np.stack([self.matrix[self._row[k]] for k in keys])

    # --- persistence --------------------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        np.save(folder / UNITS_MATRIX, np.ascontiguousarray(self.matrix, dtype=np.float32))
        (folder / UNITS_INDEX).write_text(json.dumps(
            {"version": self.version, "keys": self.keys, "chunks": self.chunk_units}), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> UnitStore:
        """The store of a generation folder (memory-mapped); an empty store when it has none."""
        index = folder / UNITS_INDEX
        if not index.is_file():
            return cls.empty()
        data = json.loads(index.read_text(encoding="utf-8"))
        matrix = np.load(folder / UNITS_MATRIX, mmap_mode="r") if data["keys"] else np.zeros((0, 0), np.float32)
        return cls(str(data["version"]), list(data["keys"]), matrix, dict(data["chunks"]))


@dataclass
class UnitBuild:
    store: UnitStore
    embedded: int
    reused: int


def build_unit_store(chunks: Iterable[tuple[str, dict[str, Any]]], previous: UnitStore,
                     embed: Callable[[list[str]], Any], embed_queries: Callable[[list[str]], Any]) -> UnitBuild:
    """Units (passages) and heading paths (queries) of ``(text, metadata)`` chunks; rows of ``previous`` are
    reused by key."""
    reuse = previous if previous.version == SPLITTER_VERSION else UnitStore.empty()
    chunk_units: dict[str, list[str]] = {}
    wanted: dict[str, str] = {}  # key -> embedded text, in first-seen order
    queries: set[str] = set()  # keys embedded as queries (headings)
    for text, meta in chunks:
        digest = str(meta.get("content_hash") or content_hash(text))
        if digest not in chunk_units:
            units = split_units(text)
            texts = [unit_embedding_text(text, units, i) for i in range(len(units))]
            chunk_units[digest] = [text_key(t) for t in texts]
            wanted.update((text_key(t), t) for t in texts)
        heading = str(meta.get("section", ""))
        if heading:
            wanted.setdefault(heading_key(heading), heading)
            queries.add(heading_key(heading))
    keys = list(wanted)
    rows: list[np.ndarray | None] = [reuse.vector(k) for k in keys]
    missing = [i for i, v in enumerate(rows) if v is None]
    for as_query, embedder in ((False, embed), (True, embed_queries)):
        todo = [i for i in missing if (keys[i] in queries) == as_query]
        for start in range(0, len(todo), EMBED_BATCH):
            batch = todo[start:start + EMBED_BATCH]
            for i, vec in zip(batch, embedder([wanted[keys[i]] for i in batch]), strict=True):
                rows[i] = np.asarray(vec, dtype=np.float32)
    matrix = np.stack(rows) if rows else np.zeros((0, 0), dtype=np.float32)  # type: ignore[arg-type]
    store = UnitStore(SPLITTER_VERSION, keys, matrix.astype(np.float32, copy=False), chunk_units)
    return UnitBuild(store, embedded=len(missing), reused=len(keys) - len(missing))
