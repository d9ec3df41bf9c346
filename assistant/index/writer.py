"""The only code that writes an index: Chroma, the generation's derived files and the manifest, under the lock.

Apply order (why any interruption is detected and repaired exactly):

1. ``journal.json`` records the ingest (target collection, next generation) before the first Chroma write.
2. Chroma, per document: new chunk ids are upserted (vectors reused by :func:`vector_key` from any stored chunk,
   the rest embedded once per distinct text), metadata-only changes updated, then stale ids deleted
   (*add before delete*); then documents gone from the sources are deleted.
3. The derived files of the new generation (BM25 + chunk table + answer-unit vectors, see
   ``assistant.index.units``) go to a fresh ``generations/NNNNNN/`` folder, built from the snapshot and the plan
   in memory (no second read of the collection); unit vectors of the previous generation are reused by key.
4. The manifest is replaced atomically (commit), then the journal removed, then old generation folders and
   retired collections of generations before the previous one are dropped (readers get one generation of grace).

A run that dies before 4 leaves the journal: readers keep serving the last committed generation, and the next
writer plans against what Chroma really holds, so the repair embeds only what is still missing.
``rebuild`` fills a new collection and switches to it at the commit, so readers never see a missing collection.
A ``rebuild`` that finds the local store damaged (``StoreDamagedError``) moves it aside first, kept under a
timestamped name (``writer.moved_aside``), and builds into a fresh folder.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.documents import Document

from assistant.embeddings import embedding_model_name, get_embeddings
from assistant.index import chroma
from assistant.index.health import IndexHealth, check, current_collection, in_step
from assistant.index.lexical import LexicalIndex
from assistant.index.lock import writer_lock
from assistant.index.manifest import (
    GENERATIONS_DIR,
    DocEntry,
    Journal,
    Manifest,
    chunk_fingerprint,
    clear_journal,
    generation_dir,
    now_iso,
    write_journal,
    write_manifest,
)
from assistant.index.plan import IndexPlan, Snapshot, StoredChunk, embedding_text, vector_key
from assistant.index.units import UnitBuild, UnitStore, build_unit_store
from assistant.settings import Settings

UPSERT_BATCH = 128
ProgressCallback = Callable[..., None]
"""Called as ``progress(done, total, message)``."""


@dataclass
class ApplyResult:
    embedded: int = 0
    vectors_reused: int = 0
    committed: bool = False
    chunks_total: int = 0
    documents_total: int = 0
    generation: int = 0
    units_embedded: int = 0
    units_reused: int = 0


class IndexWriter:
    """Writes one index; only obtained through :func:`open_writer` (which holds the lock)."""

    def __init__(self, settings: Settings, embeddings: Any = None, *, rebuild: bool = False) -> None:
        self.settings = settings
        self.embeddings = embeddings or get_embeddings(settings)
        self.rebuild = rebuild
        self.health: IndexHealth = check(settings, holding_lock=True)
        self.moved_aside: Path | None = None  # where a damaged local store was moved by a rebuild
        try:
            self.client = chroma.writer_client(settings)  # a fresh view: another process may have written
        except chroma.StoreDamagedError:
            if not rebuild:
                raise
            self.moved_aside = chroma.move_damaged_store(settings)
            self.client = chroma.writer_client(settings)
        self.collection_reads = 0
        manifest, journal = self.health.manifest, self.health.journal
        self.generation = max(manifest.generation if manifest else 0, journal.generation if journal else 0) + 1
        if rebuild:
            self.target = f"{settings.collection_name[:52]}-r{self.generation:06d}"
            abandoned = {self.target, journal.collection if journal else self.target}
            for name in abandoned - {manifest.collection if manifest else ""}:
                chroma.delete_collection(settings, name, client=self.client)
        else:  # an interrupted run's collection (resumed where it stopped), else the committed one
            self.target = current_collection(settings, self.health)
        self.collection = chroma.open_collection(settings, self.target, client=self.client,
                                                 embeddings=self.embeddings)

    @property
    def interrupted(self) -> bool:
        """An earlier run died before its commit (found at open)."""
        return self.health.state == "interrupted"

    def snapshot(self) -> Snapshot:
        """The one full read of the target collection (ids, texts, metadata) an ingest makes."""
        self.collection_reads += 1
        got = chroma.read_all(self.collection, ("documents", "metadatas"))
        return Snapshot.from_rows(self.target, got["ids"], got["documents"], got["metadatas"])

    def needs_commit(self, plan: IndexPlan, snapshot: Snapshot) -> bool:
        """Anything to write: changes, or a committed generation that does not describe the collection."""
        return plan.changes_anything or not in_step(self.health, self.target, snapshot.fingerprint)

    # --- apply ------------------------------------------------------------------------------------------
    def apply(self, plan: IndexPlan, snapshot: Snapshot, progress: ProgressCallback | None = None, *,
              sources: list[str] | None = None) -> ApplyResult:
        """Write ``plan`` (computed against ``snapshot``) and commit a new generation. ``sources`` (what the plan
        was made from; None = the default sources) is journaled so an interrupted run is resumed the same way."""
        notify = progress or (lambda *a, **k: None)
        result = ApplyResult(generation=self.generation)
        write_journal(self.settings, Journal(started=now_iso(), generation=self.generation, collection=self.target,
                                             rebuild=self.rebuild, sources=sources, cleanup=plan.cleanup))
        vectors = self._donor_vectors(plan, snapshot)
        work = plan.work
        steps = len(work) + len(plan.deleted) + 1
        for done, change in enumerate(work):
            notify(done, steps, f"Indekserer {change.path}")
            self._upsert(change.to_add, vectors, result)
            if change.to_update:
                self.collection.update(ids=[str(c.id) for c in change.to_update],
                                       metadatas=[dict(c.metadata) for c in change.to_update])
            if change.stale_ids:
                self.collection.delete(ids=change.stale_ids)
        for n, (doc_id, ids) in enumerate(sorted(plan.deleted.items()), start=len(work)):
            notify(n, steps, f"Sletter {doc_id}")
            self.collection.delete(ids=ids)
        notify(steps - 1, steps, "Opdaterer BM25-indeks")
        self._commit(plan.final_rows(snapshot), result)
        notify(steps, steps, "Færdig")
        return result

    def _donor_vectors(self, plan: IndexPlan, snapshot: Snapshot) -> dict[str, Any]:
        """key -> stored vector for every chunk to add whose text is already embedded somewhere (one read)."""
        donors = snapshot.vector_donors
        wanted = {donors[k] for c in (c for d in plan.work for c in d.to_add)
                  if (k := vector_key(c.page_content, c.metadata)) in donors}
        by_id = chroma.get_vectors(self.collection, sorted(wanted)) if wanted else {}
        return {vector_key(snapshot.chunks[cid].text, snapshot.chunks[cid].metadata): vec
                for cid, vec in by_id.items()}

    def _upsert(self, chunks: list[Document], vectors: dict[str, Any], result: ApplyResult) -> None:
        keys = [vector_key(c.page_content, c.metadata) for c in chunks]
        missing = {k: embedding_text(c.page_content, c.metadata) for k, c in zip(keys, chunks, strict=True)
                   if k not in vectors}
        result.vectors_reused += len(chunks) - len(missing)
        if missing:
            fresh = self.embeddings.embed_documents(list(missing.values()))
            vectors.update(zip(missing, fresh, strict=True))
            result.embedded += len(missing)
        for start in range(0, len(chunks), UPSERT_BATCH):
            batch = chunks[start : start + UPSERT_BATCH]
            self.collection.upsert(
                ids=[str(c.id) for c in batch],
                embeddings=[list(map(float, vectors[k])) for k in keys[start : start + UPSERT_BATCH]],
                documents=[c.page_content for c in batch],
                metadatas=[dict(c.metadata) for c in batch],
            )

    def _commit(self, rows: list[StoredChunk], result: ApplyResult) -> None:
        settings = self.settings
        folder = generation_dir(settings, self.generation)
        shutil.rmtree(folder, ignore_errors=True)
        old = self.health.manifest
        previous = UnitStore.empty()
        if old is not None and not self.rebuild:
            previous = UnitStore.load(settings.index_dir / old.artifacts)
        units = build_derived(rows, folder, previous, self.embeddings)
        result.units_embedded, result.units_reused = units.embedded, units.reused
        _fsync_dir(folder)
        # Grace for running readers: the previous generation's collection and folder survive one commit.
        drop = set(old.retired_collections) - {self.target} if old else set()
        retired = [old.collection] if old is not None and old.collection != self.target else []
        manifest = Manifest(
            generation=self.generation, collection=self.target,
            artifacts=folder.relative_to(settings.index_dir).as_posix(),
            fingerprint=chunk_fingerprint(r.id for r in rows), chunks=len(rows), last_ingest=now_iso(),
            embedding_backend=settings.embedding_backend, embedding_model=embedding_model_name(settings),
            embedding_slug=settings.embedding_slug,
            chroma=f"http://{settings.chroma_host}:{settings.chroma_port}" if settings.chroma_host else "embedded",
            retired_collections=retired, units_version=units.store.version,
            documents=_documents(rows),
        )
        write_manifest(settings, manifest)
        clear_journal(settings)
        for name in sorted(drop):
            chroma.delete_collection(settings, name, client=self.client)
        shutil.rmtree(settings.index_dir / "bm25", ignore_errors=True)  # the layout before generations
        keep = {folder.name, generation_dir(settings, old.generation).name if old else ""}
        for stale in (settings.index_dir / GENERATIONS_DIR).iterdir():
            if stale.name not in keep:
                shutil.rmtree(stale, ignore_errors=True)
        result.committed = True
        result.chunks_total = len(rows)
        result.documents_total = len({r.doc_id for r in rows})


def build_derived(rows: list[StoredChunk], folder: Path, previous: UnitStore, embeddings: Any) -> UnitBuild:
    """The derived files of one generation: BM25 + chunk table (document order) and the unit and heading
    vectors (``embeddings``: the index's embedding model)."""
    ordered = sorted(rows, key=lambda r: (r.doc_id, int(r.metadata.get("chunk_index", 0)), r.id))
    LexicalIndex.build((r.id, r.text, r.metadata) for r in ordered).save(folder)
    units = build_unit_store(((r.text, r.metadata) for r in ordered), previous, embeddings.embed_documents,
                             embeddings.embed_queries)
    units.store.save(folder)
    return units


def _documents(rows: list[StoredChunk]) -> dict[str, DocEntry]:
    counts = Counter(r.doc_id for r in rows)
    first = {}
    for r in rows:
        first.setdefault(r.doc_id, r.metadata)
    return {d: DocEntry(title=str(first[d].get("title", "")), kind=str(first[d].get("kind", "")),
                        path=str(first[d].get("path", "")), chunks=counts[d]) for d in sorted(counts)}


def _fsync_dir(folder: Any) -> None:
    with contextlib.suppress(OSError):
        for file in folder.rglob("*"):
            if file.is_file():
                with file.open("rb") as handle:
                    os.fsync(handle.fileno())


@contextlib.contextmanager
def open_writer(settings: Settings, *, embeddings: Any = None, rebuild: bool = False,
                lock_timeout: float = 30.0) -> Iterator[IndexWriter]:
    """The index's writer, with the writer lock held for the block (``IngestBusyError`` after the timeout)."""
    with writer_lock(settings, lock_timeout):
        yield IndexWriter(settings, embeddings, rebuild=rebuild)
