"""Read-only access to the committed generation of an index: ``open_index(settings) -> IndexReader``.

A reader never writes, creates or repairs anything. It loads the generation named by the manifest (BM25 and the
chunk table into memory, the Chroma collection by name) and keeps serving it even while a writer works;
:meth:`IndexReader.is_current` tells a long-lived reader (the UI) when a newer generation is committed, so it
can open a new reader between questions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from assistant.embeddings import embedding_model_name
from assistant.index import chroma
from assistant.index.health import IndexHealth, check, current_collection, in_step
from assistant.index.lexical import LexicalIndex
from assistant.index.manifest import chunk_fingerprint, manifest_stamp, read_manifest
from assistant.index.plan import Snapshot
from assistant.index.units import UnitStore
from assistant.settings import Settings

EXACT_SEARCH_LIMIT = 20_000  # up to this many chunks the dense search covers the whole collection (see dense())


@dataclass
class IndexStats:
    """Summary of one index (for the UI and ``python -m ingest --stats``), read from Chroma itself."""

    documents: int
    chunks: int
    last_ingest: str | None
    embedding_model: str
    per_kind: dict[str, int]
    per_kind_chunks: dict[str, int]
    collection: str
    index_dir: str
    lexical_in_sync: bool
    state: str = "missing"
    generation: int = 0


def _where(filters: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Chroma ``where`` clause for equality filters (several keys are AND-ed)."""
    clauses = [{key: value} for key, value in (filters or {}).items() if value is not None]
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


class IndexReader:
    """One committed generation: chunk table + BM25 in memory, dense search in its Chroma collection."""

    def __init__(self, settings: Settings, health: IndexHealth, lexical: LexicalIndex, collection: Any,
                 units: UnitStore | None = None) -> None:
        self.settings = settings
        self.health = health
        self.manifest = health.manifest if health.servable else None
        self.lexical = lexical
        self.collection = collection
        self.units = units or UnitStore.empty()
        self._stamp = manifest_stamp(settings)
        self._sections: dict[tuple[str, str], list[str]] | None = None  # (doc_id, section) -> chunk ids

    # --- identity ---------------------------------------------------------------------------------------
    @property
    def generation(self) -> int:
        """The committed generation served (0 = none)."""
        return self.manifest.generation if self.manifest else 0

    @property
    def fingerprint(self) -> str | None:
        return self.manifest.fingerprint if self.manifest else None

    @property
    def is_complete(self) -> bool:
        """A committed, complete generation is served (False for a missing or interrupted index)."""
        return self.manifest is not None and self.collection is not None and self.health.state == "complete"

    def is_current(self) -> bool:
        """False once a newer generation is committed (cheap: a ``stat`` of the manifest, parsed only if it
        changed). Poll it between questions and open a new reader when it turns False."""
        stamp = manifest_stamp(self.settings)
        if stamp == self._stamp:
            return True
        latest = read_manifest(self.settings)
        same = (latest.generation, latest.fingerprint) == (self.generation, self.fingerprint) if latest else (
            self.manifest is None)
        if same:
            self._stamp = stamp
        return same

    def __len__(self) -> int:
        return len(self.lexical)

    # --- reads ------------------------------------------------------------------------------------------
    def get(self, chunk_id: str) -> tuple[str, dict[str, Any]] | None:
        """Text and metadata of one chunk of this generation."""
        return self.lexical.get(chunk_id)

    def section(self, chunk_id: str) -> list[tuple[str, str, dict[str, Any]]]:
        """``(chunk_id, text, metadata)`` of every chunk of the section ``chunk_id`` belongs to (same document
        and heading path), in document order; empty when the chunk is not in this generation."""
        record = self.lexical.get(chunk_id)
        if record is None:
            return []
        if self._sections is None:
            groups: dict[tuple[str, str], list[str]] = {}
            for cid, meta in zip(self.lexical.chunk_ids, self.lexical.metadatas, strict=True):
                groups.setdefault((str(meta.get("doc_id", "")), str(meta.get("section", ""))), []).append(cid)
            self._sections = groups
        meta = record[1]
        ids = self._sections.get((str(meta.get("doc_id", "")), str(meta.get("section", ""))), [chunk_id])
        rows = [(cid, *self.lexical.get(cid)) for cid in ids]  # type: ignore[misc]
        return sorted(rows, key=lambda row: int(row[2].get("chunk_index", 0)))

    def dense(self, query_vec: np.ndarray, n: int, filters: Mapping[str, Any] | None = None
              ) -> list[tuple[str, float]]:
        """``(chunk_id, cosine similarity)`` best first; only chunks of this generation."""
        n = min(n, len(self.lexical))
        if n <= 0 or self.collection is None:
            return []
        # HNSW is approximate: in some processes Chroma's loaded graph missed the true nearest chunk even with
        # 100 results asked (1 start in 3 on the real corpus). Asking for every chunk makes the search beam
        # (ef = max(ef_search, n_results)) cover the whole collection, so a corpus of guide size is searched
        # exactly; a very large index keeps the approximate search.
        beam = len(self.lexical) if len(self.lexical) <= EXACT_SEARCH_LIMIT else n
        got = self.collection.query(query_embeddings=[np.asarray(query_vec).tolist()], n_results=beam,
                                    where=_where(filters), include=["distances"])
        hits = [(cid, 1.0 - float(d)) for cid, d in zip(got["ids"][0], got["distances"][0], strict=True)
                if cid in self.lexical]
        return hits[:n]

    def vectors(self, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored chunk vectors (a targeted read)."""
        if not chunk_ids or self.collection is None:
            return {}
        got = chroma.get_vectors(self.collection, list(chunk_ids))
        return {cid: np.asarray(v, dtype=np.float32) for cid, v in got.items()}

    def unit_vectors(self, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Passage vectors of each chunk's answer units, rows aligned with ``split_units(chunk text)``
        (from the memory-mapped unit store; chunks without stored units are left out)."""
        out: dict[str, np.ndarray] = {}
        for cid in chunk_ids:
            record = self.lexical.get(cid)
            if record is None:
                continue
            matrix = self.units.chunk_matrix(str(record[1].get("content_hash", "")))
            if matrix is not None:
                out[cid] = matrix
        return out

    def passage_vectors(self, texts: Sequence[str]) -> list[np.ndarray | None]:
        """Stored passage vectors of embedded texts (unit texts); None where not stored."""
        return self.units.vectors_for_texts(texts)

    def heading_vectors(self, headings: Sequence[str]) -> list[np.ndarray | None]:
        """Stored query vectors of section heading paths; None where not stored."""
        return self.units.heading_vectors(headings)

    def stats(self) -> IndexStats:
        return index_stats(self.settings)


def open_index(settings: Settings) -> IndexReader:
    """The committed generation of ``settings``' index (an empty reader when there is none). Never writes."""
    health = check(settings)
    manifest = health.manifest if health.servable else None
    if manifest is None:
        return IndexReader(settings, health, LexicalIndex.empty(), None)
    folder = settings.index_dir / manifest.artifacts
    lexical = LexicalIndex.load(folder)
    client = chroma.reader_client(settings, manifest.generation, manifest.collection)
    collection = chroma.get_collection(settings, manifest.collection, client=client)
    return IndexReader(settings, health, lexical, collection, UnitStore.load(folder))


def index_stats(settings: Settings) -> IndexStats:
    """Documents, chunks and per-kind counts from Chroma itself; ``lexical_in_sync`` only when the committed
    generation describes exactly what the collection holds and no ingest was interrupted."""
    health = check(settings)
    name = health.manifest.collection if health.manifest else settings.collection_name
    collection = chroma.get_collection(settings, name)
    got = chroma.read_all(collection, ("metadatas",)) if collection is not None else {"ids": [], "metadatas": []}
    metas = [dict(m or {}) for m in got["metadatas"]]
    docs = {str(m.get("doc_id")): str(m.get("kind", "")) for m in metas}
    manifest = health.manifest
    return IndexStats(
        documents=len(docs),
        chunks=len(metas),
        last_ingest=manifest.last_ingest if manifest else None,
        embedding_model=manifest.embedding_model if manifest else embedding_model_name(settings),
        per_kind=dict(sorted(Counter(docs.values()).items())),
        per_kind_chunks=dict(sorted(Counter(str(m.get("kind", "")) for m in metas).items())),
        collection=name,
        index_dir=str(settings.index_dir),
        lexical_in_sync=in_step(health, name, chunk_fingerprint(got["ids"])),
        state=health.state,
        generation=manifest.generation if manifest else 0,
    )


def read_snapshot(settings: Settings) -> Snapshot:
    """What the next incremental write would start from, read without the lock (dry runs). Never writes."""
    name = current_collection(settings, check(settings))
    collection = chroma.get_collection(settings, name)
    if collection is None:
        return Snapshot(name, {})
    got = chroma.read_all(collection, ("documents", "metadatas"))
    return Snapshot.from_rows(name, got["ids"], got["documents"], got["metadatas"])


def current_generation(settings: Settings) -> tuple[int, str] | None:
    """``(generation, fingerprint)`` of the committed index, or None: a cache key for long-lived readers
    (e.g. the UI's shared assistant), read from the manifest only."""
    manifest = read_manifest(settings)
    return (manifest.generation, manifest.fingerprint) if manifest else None
