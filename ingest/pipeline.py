"""Incremental, exact ingest of the corpus into Chroma (+ BM25), and index statistics.

Design (why it is exact and crash-safe)
---------------------------------------
* **Chroma is the only source of truth.** Every chunk id is ``f"{doc_id}:{chunk_index}:{sha256[:12]}"``, and
  each chunk's metadata carries ``doc_id``. Each run reads the ids + metadata already stored and diffs them with
  the chunks of the files on disk. There is no separate record manager whose state could drift from Chroma
  (LangChain 1.x's ``SQLRecordManager`` moved to ``langchain-classic``; the ``index()`` API would also assign its
  own ids and a second store to keep in step).
* Per document: a chunk whose id and section are already stored is **not embedded again**; a chunk whose id is
  stored but whose other metadata changed (e.g. a new title) gets a metadata-only ``update``; new chunks are
  embedded and upserted; then the document's stale chunks are deleted. *Add before delete*: an interruption
  never loses a document, at worst it leaves extra chunks that the next run removes.
* Derived files come after Chroma: the BM25 index is rebuilt from Chroma's full content, then
  ``manifest.json`` (last ingest time, embedding model, documents) is written atomically. Both store the
  fingerprint of the chunk ids they describe; any run (and ``ensure_default_index``) rebuilds them when the
  fingerprint differs from Chroma's. So a crash at any point leaves a state the next run repairs exactly.
* Cleanup semantics: ``run_ingest(None, ...)`` ingests ``default_sources(settings)`` (the corpus folder and
  ``data_dir/uploads``) with **full cleanup**: stored documents not found there are deleted. With explicit
  ``paths`` nothing is deleted unless ``prune=True`` (CLI ``--prune``), because the index normally holds
  documents from other roots too.
* One writer at a time: a non-dry run holds a file lock (``index_dir/ingest.lock``, via ``filelock``), so the
  CLI and the UI's maintainer page can never write the same index concurrently; a second writer waits up to
  ``lock_timeout`` seconds, then gets ``IngestBusyError`` with a Danish message.
* Bad input never deletes: a file that fails to load is reported in ``IngestReport.skipped`` as
  ``(path, Danish reason)``, and any stored document it may correspond to (same doc_id or same path) keeps its
  old chunks.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout
from langchain_core.documents import Document

from assistant.embeddings import embedding_model_name, get_embeddings
from assistant.lexical import (
    LexicalIndex,
    chunk_fingerprint,
    lexical_dir,
    read_chroma_chunks,
    rebuild_lexical_index,
)
from assistant.settings import Settings
from assistant.store import delete_collection, open_chroma_client, open_collection, read_all
from ingest.chunking import chunk_document, embedding_text
from ingest.loaders import IGNORED_EXTS, IngestError, LoadedDocument, fallback_doc_id, load_file

ProgressCallback = Callable[..., None]
"""Called as ``progress(done, total, message)``."""

MANIFEST_NAME = "manifest.json"
LOCK_NAME = "ingest.lock"
UPSERT_BATCH = 128


class IngestBusyError(RuntimeError):
    """Another process is writing the same index right now."""


# --- results ---------------------------------------------------------------------------------------------
@dataclass
class IngestReport:
    """What an ingest did (or, for a dry run, would do). Doc lists hold doc_ids."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    chunks_added: int = 0
    chunks_updated: int = 0
    chunks_deleted: int = 0
    chunks_total: int = 0
    documents_total: int = 0
    embedded: int = 0
    lexical_rebuilt: bool = False
    dry_run: bool = False
    rebuild: bool = False
    full_cleanup: bool = False
    duration_s: float = 0.0
    messages: list[str] = field(default_factory=list)

    @property
    def changed_anything(self) -> bool:
        return bool(self.added or self.changed or self.deleted or self.chunks_updated)


@dataclass
class IndexStats:
    """Summary of one index (for the UI and ``python -m ingest --stats``)."""

    documents: int
    chunks: int
    last_ingest: str | None
    embedding_model: str
    per_kind: dict[str, int]
    per_kind_chunks: dict[str, int]
    collection: str
    index_dir: str
    lexical_in_sync: bool


@dataclass
class _DocPlan:
    doc: LoadedDocument
    chunks: list[Document]
    status: str  # added | changed | unchanged
    to_embed: list[Document]
    to_update: list[Document]
    stale_ids: list[str]


# --- sources ---------------------------------------------------------------------------------------------
def uploads_dir(settings: Settings) -> Path:
    return settings.data_dir / "uploads"


def default_sources(settings: Settings) -> list[Path]:
    """The roots ingested by default: ``settings.corpus_dir`` and ``settings.data_dir / "uploads"``."""
    return [settings.corpus_dir, uploads_dir(settings)]


def discover_files(
    paths: Sequence[Path], *, optional: Iterable[Path] = ()
) -> tuple[list[tuple[Path, Path]], list[tuple[str, str]]]:
    """Files under ``paths`` as ``(file, root)``, plus missing paths as skipped entries.

    Hidden files/folders, ``README`` files and data files (``.yaml``, ``.json``, ...) inside folders are
    ignored; unsupported documents are
    returned so the loader can report them. Paths in ``optional`` may be missing without a message.
    """
    optional_set = {Path(p).resolve() for p in optional}
    files: list[tuple[Path, Path]] = []
    missing: list[tuple[str, str]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for file in sorted(path.rglob("*")):
                rel_parts = file.relative_to(path).parts
                if not file.is_file() or any(part.startswith(".") for part in rel_parts):
                    continue
                if file.suffix.lower() in IGNORED_EXTS or file.name.endswith("~") or file.stem.upper() == "README":
                    continue
                files.append((file, path))
        elif path.is_file():
            files.append((path, path.parent))
        elif path.resolve() not in optional_set:
            missing.append((str(path), "filen eller mappen findes ikke"))
    return files, missing


# --- manifest --------------------------------------------------------------------------------------------
def manifest_path(settings: Settings) -> Path:
    return settings.index_dir / MANIFEST_NAME


def read_manifest(settings: Settings) -> dict[str, Any]:
    try:
        return json.loads(manifest_path(settings).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _write_manifest(settings: Settings, data: dict[str, Any]) -> None:
    path = manifest_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def _manifest_from_chroma(
    settings: Settings, ids: list[str], metas: list[dict[str, Any]], last_ingest: str
) -> dict[str, Any]:
    docs: dict[str, dict[str, Any]] = {}
    for meta in metas:
        doc_id = str(meta.get("doc_id", ""))
        entry = docs.setdefault(doc_id, {"title": meta.get("title", ""), "kind": meta.get("kind", ""),
                                         "path": meta.get("path", ""), "chunks": 0})
        entry["chunks"] += 1
    return {
        "version": 1,
        "last_ingest": last_ingest,
        "embedding_backend": settings.embedding_backend,
        "embedding_model": embedding_model_name(settings),
        "embedding_slug": settings.embedding_slug,
        "collection": settings.collection_name,
        "chroma": f"http://{settings.chroma_host}:{settings.chroma_port}" if settings.chroma_host else "embedded",
        "fingerprint": chunk_fingerprint(ids),
        "documents": dict(sorted(docs.items())),
    }


# --- the ingest ------------------------------------------------------------------------------------------
def _stored(collection: Any) -> dict[str, dict[str, dict[str, Any]]]:
    """doc_id -> {chunk_id: metadata} of everything stored."""
    got = read_all(collection, ("metadatas",))
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for cid, meta in zip(got["ids"], got["metadatas"] or [], strict=False):
        meta = dict(meta or {})
        out.setdefault(str(meta.get("doc_id", cid.split(":", 1)[0])), {})[cid] = meta
    return out


def _plan(doc: LoadedDocument, chunks: list[Document], stored: dict[str, dict[str, Any]]) -> _DocPlan:
    to_embed: list[Document] = []
    to_update: list[Document] = []
    for chunk in chunks:
        old = stored.get(str(chunk.id))
        if old is None or old.get("section") != chunk.metadata["section"]:
            to_embed.append(chunk)
        elif old != chunk.metadata:
            to_update.append(chunk)
    new_ids = {c.id for c in chunks}
    stale = sorted(cid for cid in stored if cid not in new_ids)
    if not stored:
        status = "added"
    elif to_embed or to_update or stale:
        status = "changed"
    else:
        status = "unchanged"
    return _DocPlan(doc, chunks, status, to_embed, to_update, stale)


def _protected_ids(file: Path, root: Path, stored: dict[str, dict[str, dict[str, Any]]]) -> set[str]:
    """doc_ids a skipped file may stand for; their stored chunks are kept."""
    ids = {fallback_doc_id(file)}
    try:
        head = file.read_bytes()[:4096].decode("utf-8", "ignore")
        match = re.search(r"^id:\s*['\"]?([A-Za-z0-9_-]+)", head, re.MULTILINE)
        if match:
            ids.add(match.group(1))
    except OSError:
        pass
    try:
        rel = file.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        rel = file.name
    for doc_id, chunks in stored.items():
        if any(meta.get("path") == rel for meta in chunks.values()):
            ids.add(doc_id)
    return ids


def run_ingest(
    paths: Sequence[str | os.PathLike[str]] | None,
    settings: Settings,
    *,
    dry_run: bool = False,
    rebuild: bool = False,
    progress: ProgressCallback | None = None,
    prune: bool | None = None,
    lock_timeout: float = 30.0,
) -> IngestReport:
    """Ingest ``paths`` (files or folders; ``None`` = ``default_sources``) into the configured index.

    ``dry_run`` computes the diff without writing anything; ``rebuild`` drops the collection first;
    ``prune`` (default: True only for ``paths=None``) deletes stored documents not found in the sources.
    Writers are serialised by a file lock; raises ``IngestBusyError`` after ``lock_timeout`` seconds.
    """
    if dry_run:
        return _run_ingest(paths, settings, dry_run=True, rebuild=rebuild, progress=progress, prune=prune)
    settings.index_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(settings.index_dir / LOCK_NAME), timeout=lock_timeout)
    try:
        with lock:
            return _run_ingest(paths, settings, dry_run=False, rebuild=rebuild, progress=progress, prune=prune)
    except Timeout as exc:
        raise IngestBusyError(
            "En anden indeksering af det samme indeks kører allerede. Prøv igen, når den er færdig."
        ) from exc


def _run_ingest(
    paths: Sequence[str | os.PathLike[str]] | None,
    settings: Settings,
    *,
    dry_run: bool,
    rebuild: bool,
    progress: ProgressCallback | None,
    prune: bool | None,
) -> IngestReport:
    started = time.perf_counter()
    notify = progress or (lambda *a, **k: None)
    full_cleanup = paths is None if prune is None else prune
    report = IngestReport(dry_run=dry_run, rebuild=rebuild, full_cleanup=full_cleanup)
    if paths is None:
        sources = default_sources(settings)
        optional = [uploads_dir(settings)]
    else:
        sources = [Path(p) for p in paths]
        optional = []
    files, missing = discover_files(sources, optional=optional)
    report.skipped.extend(missing)

    embeddings = get_embeddings(settings)
    client = open_chroma_client(settings)
    if rebuild and not dry_run:
        delete_collection(settings, client=client)
        shutil.rmtree(lexical_dir(settings), ignore_errors=True)
        manifest_path(settings).unlink(missing_ok=True)
    collection = open_collection(settings, client=client, embeddings=embeddings)
    stored = {} if rebuild else _stored(collection)

    # 1. load + chunk + diff (no writes)
    plans: list[_DocPlan] = []
    seen: dict[str, str] = {}
    protected: set[str] = set()
    total = len(files)
    for n, (file, root) in enumerate(files, start=1):
        display = _display(file, root)
        notify(n - 1, total * 2 if not dry_run else total, f"Læser {display}")
        try:
            doc = load_file(file, settings, root=root)
            if doc.doc_id in seen:
                raise IngestError(f"doc_id '{doc.doc_id}' bruges allerede af {seen[doc.doc_id]}")
            chunks = chunk_document(doc, settings)
            if not chunks:
                raise IngestError("filen gav ingen tekststykker")
        except IngestError as exc:
            report.skipped.append((display, str(exc)))
            protected |= _protected_ids(file, root, stored)
            continue
        except Exception as exc:
            report.skipped.append((display, f"uventet fejl ved indlæsning ({type(exc).__name__}: {exc})"))
            protected |= _protected_ids(file, root, stored)
            continue
        seen[doc.doc_id] = display
        plans.append(_plan(doc, chunks, stored.get(doc.doc_id, {})))

    deleted = sorted(d for d in stored if d not in seen and d not in protected) if full_cleanup else []
    for plan in plans:
        getattr(report, plan.status).append(plan.doc.doc_id)
        if plan.status != "unchanged":
            report.chunks_added += len(plan.to_embed)
            report.chunks_updated += len(plan.to_update)
            report.chunks_deleted += len(plan.stale_ids)
    report.deleted = deleted
    report.chunks_deleted += sum(len(stored[d]) for d in deleted)
    for path, reason in report.skipped:
        report.messages.append(f"Sprunget over: {path}: {reason}")

    if dry_run:
        kept = sum(len(v) for d, v in stored.items() if d not in seen and d not in deleted)
        report.chunks_total = sum(len(p.chunks) for p in plans) + kept
        report.documents_total = len(plans) + sum(1 for d in stored if d not in seen and d not in deleted)
        fp = LexicalIndex.saved_fingerprint(lexical_dir(settings))
        if stored and fp != chunk_fingerprint(cid for v in stored.values() for cid in v):
            report.messages.append("BM25-indekset er ikke i takt med Chroma og ville blive genopbygget.")
        notify(total, total, "Prøvekørsel færdig")
        report.duration_s = time.perf_counter() - started
        return report

    # 2. write Chroma: per document add/update first, then delete stale chunks
    embedded_before = embeddings.documents_embedded
    work = [p for p in plans if p.status != "unchanged"]
    steps = total + len(work) + len(deleted) + 1
    done = total
    for plan in work:
        notify(done, steps, f"Indekserer {plan.doc.path}")
        _write_plan(collection, embeddings, plan)
        done += 1
    for doc_id in deleted:
        notify(done, steps, f"Sletter {doc_id}")
        collection.delete(ids=sorted(stored[doc_id]))
        done += 1
    report.embedded = embeddings.documents_embedded - embedded_before

    # 3. derived files: BM25 from Chroma's full content, then the manifest
    notify(done, steps, "Opdaterer BM25-indeks")
    ids, _texts, metas = read_chroma_chunks(collection)
    fingerprint = chunk_fingerprint(ids)
    if LexicalIndex.saved_fingerprint(lexical_dir(settings)) != fingerprint or report.changed_anything:
        rebuild_lexical_index(settings, collection=collection)
        report.lexical_rebuilt = True
    now = dt.datetime.now(dt.UTC).astimezone().isoformat(timespec="seconds")
    _write_manifest(settings, _manifest_from_chroma(settings, ids, metas, now))
    report.chunks_total = len(ids)
    report.documents_total = len({m.get("doc_id") for m in metas})
    notify(steps, steps, "Færdig")
    report.duration_s = time.perf_counter() - started
    return report


def _write_plan(collection: Any, embeddings: Any, plan: _DocPlan) -> None:
    for start in range(0, len(plan.to_embed), UPSERT_BATCH):
        batch = plan.to_embed[start : start + UPSERT_BATCH]
        vectors = embeddings.embed_documents([embedding_text(c) for c in batch])
        collection.upsert(
            ids=[str(c.id) for c in batch],
            embeddings=vectors,
            documents=[c.page_content for c in batch],
            metadatas=[dict(c.metadata) for c in batch],
        )
    if plan.to_update:
        collection.update(
            ids=[str(c.id) for c in plan.to_update], metadatas=[dict(c.metadata) for c in plan.to_update]
        )
    if plan.stale_ids:
        collection.delete(ids=plan.stale_ids)


def _display(file: Path, root: Path) -> str:
    try:
        return file.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(file)


# --- stats and first start ---------------------------------------------------------------------------------
def index_stats(settings: Settings) -> IndexStats:
    """Documents, chunks, per-kind counts (from Chroma), last ingest and embedding model (from the manifest)."""
    collection = open_collection(settings)
    got = read_all(collection, ("metadatas",))
    metas = [dict(m or {}) for m in (got["metadatas"] or [])]
    docs: dict[str, str] = {str(m.get("doc_id")): str(m.get("kind", "")) for m in metas}
    manifest = read_manifest(settings)
    fingerprint = chunk_fingerprint(got["ids"])
    return IndexStats(
        documents=len(docs),
        chunks=len(metas),
        last_ingest=manifest.get("last_ingest"),
        embedding_model=str(manifest.get("embedding_model") or embedding_model_name(settings)),
        per_kind=dict(sorted(Counter(docs.values()).items())),
        per_kind_chunks=dict(sorted(Counter(str(m.get("kind", "")) for m in metas).items())),
        collection=settings.collection_name,
        index_dir=str(settings.index_dir),
        lexical_in_sync=LexicalIndex.saved_fingerprint(lexical_dir(settings)) == fingerprint,
    )


def ensure_default_index(settings: Settings, progress: ProgressCallback | None = None) -> IngestReport | None:
    """Build the index from the default sources if it is empty; otherwise only repair a stale BM25 index.

    Returns the ingest report when it built something, else ``None``.
    """
    collection = open_collection(settings)
    if collection.count() == 0:
        return run_ingest(None, settings, progress=progress)
    ids = read_all(collection, ())["ids"]
    if LexicalIndex.saved_fingerprint(lexical_dir(settings)) != chunk_fingerprint(ids):
        with FileLock(str(settings.index_dir / LOCK_NAME), timeout=60):
            ids, _, metas = read_chroma_chunks(collection)
            rebuild_lexical_index(settings, collection=collection)
            now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            last = read_manifest(settings).get("last_ingest") or now
            _write_manifest(settings, _manifest_from_chroma(settings, ids, metas, last))
    return None
