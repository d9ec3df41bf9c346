"""What the index stores per chunk, the snapshot a plan is computed against, and the plan itself.

Vocabulary follows LangChain's ``index()`` API: cleanup ``incremental`` (only the documents given are
touched) or ``full`` (stored documents missing from the sources are deleted); counts ``num_added``,
``num_updated``, ``num_skipped``, ``num_deleted`` as in ``IndexingResult``.

Vectors are keyed by :func:`vector_key` (the hash of the text that is embedded), not by chunk id, so a chunk
that moves, is renumbered or is copied to another document reuses the stored vector.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from langchain_core.documents import Document

from assistant.index.manifest import chunk_fingerprint

Cleanup = Literal["incremental", "full"]
DocStatus = Literal["added", "changed", "unchanged"]


def embedding_text(text: str, metadata: Mapping[str, Any]) -> str:
    """What is embedded for a chunk: its heading path as context, then the passage."""
    section = str(metadata.get("section", ""))
    return f"{section}\n\n{text}" if section else text


def vector_key(text: str, metadata: Mapping[str, Any]) -> str:
    """sha256 of :func:`embedding_text`: two chunks with the same key share one vector."""
    return hashlib.sha256(embedding_text(text, metadata).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class StoredChunk:
    id: str
    text: str
    metadata: dict[str, Any]

    @property
    def doc_id(self) -> str:
        return str(self.metadata.get("doc_id", self.id.split(":", 1)[0]))


@dataclass
class Snapshot:
    """Everything stored in the target collection, from one full read (ids, texts, metadata; no vectors)."""

    collection: str
    chunks: dict[str, StoredChunk]

    @classmethod
    def from_rows(cls, collection: str, ids: Iterable[str], texts: Iterable[Any],
                  metadatas: Iterable[Any]) -> Snapshot:
        rows = {cid: StoredChunk(cid, str(t or ""), dict(m or {}))
                for cid, t, m in zip(ids, texts, metadatas, strict=True)}
        return cls(collection, rows)

    @cached_property
    def by_doc(self) -> dict[str, dict[str, dict[str, Any]]]:
        """doc_id -> {chunk_id: metadata}."""
        out: dict[str, dict[str, dict[str, Any]]] = {}
        for chunk in self.chunks.values():
            out.setdefault(chunk.doc_id, {})[chunk.id] = chunk.metadata
        return out

    @cached_property
    def vector_donors(self) -> dict[str, str]:
        """vector key -> a stored chunk id whose vector has that key."""
        return {vector_key(c.text, c.metadata): c.id for c in self.chunks.values()}

    @property
    def fingerprint(self) -> str:
        return chunk_fingerprint(self.chunks)

    def __len__(self) -> int:
        return len(self.chunks)


@dataclass
class DocChange:
    """The plan for one document of the sources."""

    doc_id: str
    path: str
    status: DocStatus
    chunks: list[Document]
    to_add: list[Document] = field(default_factory=list)  # new ids: upserted (vector reused or embedded)
    to_update: list[Document] = field(default_factory=list)  # same id and text, other metadata
    stale_ids: list[str] = field(default_factory=list)  # stored ids no longer produced

    @property
    def num_skipped(self) -> int:
        return len(self.chunks) - len(self.to_add) - len(self.to_update)


@dataclass
class IndexPlan:
    """A pure description of what an ingest changes; applied by ``IndexWriter.apply``."""

    cleanup: Cleanup
    docs: list[DocChange] = field(default_factory=list)
    deleted: dict[str, list[str]] = field(default_factory=dict)  # doc_id -> stored chunk ids to delete

    @property
    def work(self) -> list[DocChange]:
        return [d for d in self.docs if d.status != "unchanged"]

    @property
    def num_added(self) -> int:
        return sum(len(d.to_add) for d in self.docs)

    @property
    def num_updated(self) -> int:
        return sum(len(d.to_update) for d in self.docs)

    @property
    def num_skipped(self) -> int:
        return sum(d.num_skipped for d in self.docs)

    @property
    def num_deleted(self) -> int:
        return sum(len(d.stale_ids) for d in self.docs) + sum(len(v) for v in self.deleted.values())

    @property
    def changes_anything(self) -> bool:
        return bool(self.num_added or self.num_updated or self.num_deleted)

    def final_rows(self, snapshot: Snapshot) -> list[StoredChunk]:
        """The chunks stored once the plan is applied (documents not in the plan keep theirs)."""
        planned = {d.doc_id for d in self.docs}
        gone = {cid for ids in self.deleted.values() for cid in ids}
        rows = [c for cid, c in snapshot.chunks.items() if c.doc_id not in planned and cid not in gone]
        rows += [StoredChunk(str(c.id), c.page_content, dict(c.metadata)) for d in self.docs for c in d.chunks]
        return rows
