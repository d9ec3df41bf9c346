"""Ingest: files → load → chunk → plan → apply, and the first-start ``ensure_default_index``.

* **load** (``ingest.loaders``) and **chunk** (``ingest.chunking``) each file; a file that fails is reported in
  ``IngestReport.skipped`` as ``(path, Danish reason)`` and the stored document it may stand for (same doc_id or
  same path, ``ingest.loaders.claimed_doc_ids``: a bounded read of its head) keeps its chunks. All files are
  loaded before anything is chunked, so ``resolve_duplicates`` sees every candidate: of two files with the same
  doc_id (or a "… - Kopi.md" beside its original) one is kept by an explicit rule (corpus before upload, then
  newer modification time, then the name that is not a copy name, then alphabetical order) and the other is
  reported in ``skipped`` with both paths. Loader warnings (ignored front matter, redacted sentences) go to
  ``IngestReport.messages``.
* **plan** (``ingest.plan``, pure) against one snapshot of the index (the only full read of the collection).
* **apply** through the index package (``assistant.index.open_writer``), which owns Chroma, BM25, the
  manifest and the lock, embeds only texts whose vector is not stored yet and commits a new generation.

Cleanup semantics (LangChain ``index()`` vocabulary): ``run_ingest(None, ...)`` ingests ``default_sources``
(the corpus folder and ``data_dir/uploads``) with ``full`` cleanup: stored documents not found there are
deleted. With explicit ``paths`` the cleanup is ``incremental`` unless ``prune=True`` (CLI ``--prune``).
One writer at a time: a second one waits up to ``lock_timeout`` seconds, then gets ``IngestBusyError``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from langchain_core.documents import Document

from assistant.embeddings import get_embeddings
from assistant.index import (
    LOCK_NAME,
    IndexPlan,
    IndexStats,
    IngestBusyError,
    ProgressCallback,
    Snapshot,
    check,
    index_stats,
    open_writer,
    read_snapshot,
)
from assistant.settings import Settings
from ingest.chunking import chunk_document
from ingest.loaders import (
    IGNORED_EXTS,
    IngestError,
    LoadedDocument,
    claimed_doc_ids,
    load_file,
    resolve_duplicates,
)
from ingest.plan import plan_changes


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
    embedded: int = 0  # chunk texts embedded
    vectors_reused: int = 0  # chunks upserted with a stored vector (same text elsewhere)
    units_embedded: int = 0  # answer-unit and heading texts embedded for the new generation
    units_reused: int = 0
    collection_reads: int = 0
    generation: int = 0
    lexical_rebuilt: bool = False
    dry_run: bool = False
    rebuild: bool = False
    full_cleanup: bool = False
    duration_s: float = 0.0
    messages: list[str] = field(default_factory=list)

    @property
    def changed_anything(self) -> bool:
        return bool(self.added or self.changed or self.deleted or self.chunks_updated)

    @property
    def cleanup(self) -> str:
        return "full" if self.full_cleanup else "incremental"


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


# --- the ingest ------------------------------------------------------------------------------------------
@dataclass
class _Loaded:
    docs: list[tuple[str, str, list[Document]]] = field(default_factory=list)  # (doc_id, display path, chunks)
    failed: list[tuple[Path, Path]] = field(default_factory=list)  # (file, root) that failed to load


def _load_all(files: Sequence[tuple[Path, Path]], settings: Settings, report: IngestReport,
              notify: ProgressCallback, total: int) -> _Loaded:
    """Load every file, drop duplicates (``resolve_duplicates``: same doc_id or an OS copy name), then chunk.

    Failures are reported (Danish reason) and remembered for protection; each dropped duplicate is reported
    with both paths; loader warnings (overridden front matter, redacted sentences) go to ``report.messages``.
    """
    out = _Loaded()
    loaded: list[LoadedDocument] = []
    origin: dict[int, tuple[Path, Path, str]] = {}  # id(doc) -> (file, root, display path)
    for n, (file, root) in enumerate(files):
        display = _display(file, root)
        notify(n, total, f"Læser {display}")
        try:
            doc = load_file(file, settings, root=root)
        except IngestError as exc:
            report.skipped.append((display, str(exc)))
            out.failed.append((file, root))
            continue
        except Exception as exc:
            report.skipped.append((display, f"uventet fejl ved indlæsning ({type(exc).__name__}: {exc})"))
            out.failed.append((file, root))
            continue
        origin[id(doc)] = (file, root, display)
        loaded.append(doc)
    kept, duplicates = resolve_duplicates(loaded)
    report.skipped.extend(duplicates)
    for doc in kept:
        file, root, display = origin[id(doc)]
        report.messages.extend(f"{display}: {warning}" for warning in doc.warnings)
        try:
            chunks = chunk_document(doc, settings)
            if not chunks:
                raise IngestError("filen gav ingen tekststykker")
        except Exception as exc:
            reason = str(exc) if isinstance(exc, IngestError) else (
                f"uventet fejl ved opdeling ({type(exc).__name__}: {exc})")
            report.skipped.append((display, reason))
            out.failed.append((file, root))
            continue
        out.docs.append((doc.doc_id, doc.path, chunks))
    return out


def _protected_ids(file: Path, root: Path, snapshot: Snapshot, settings: Settings) -> set[str]:
    """doc_ids a skipped file may stand for (``claimed_doc_ids``, plus stored documents with its path); their
    stored chunks are kept."""
    ids = claimed_doc_ids(file, root, settings)
    try:
        rel = file.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        rel = file.name
    for doc_id, chunks in snapshot.by_doc.items():
        if any(meta.get("path") == rel for meta in chunks.values()):
            ids.add(doc_id)
    return ids


def _fill_report(report: IngestReport, plan: IndexPlan, snapshot: Snapshot) -> None:
    for change in plan.docs:
        getattr(report, change.status).append(change.doc_id)
    report.deleted = sorted(plan.deleted)
    report.chunks_added = plan.num_added
    report.chunks_updated = plan.num_updated
    report.chunks_deleted = plan.num_deleted
    final = plan.final_rows(snapshot)
    report.chunks_total = len(final)
    report.documents_total = len({row.doc_id for row in final})
    for path, reason in report.skipped:
        report.messages.append(f"Sprunget over: {path}: {reason}")


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

    ``dry_run`` computes the plan without writing anything (and without the lock); ``rebuild`` fills a new
    collection from scratch and switches to it; ``prune`` (default: True only for ``paths=None``) deletes stored
    documents not found in the sources. Raises ``IngestBusyError`` after ``lock_timeout`` seconds of waiting.
    """
    started = time.perf_counter()
    notify = progress or (lambda *a, **k: None)
    full_cleanup = paths is None if prune is None else prune
    report = IngestReport(dry_run=dry_run, rebuild=rebuild, full_cleanup=full_cleanup)
    if paths is None:
        files, missing = discover_files(default_sources(settings), optional=[uploads_dir(settings)])
    else:
        files, missing = discover_files([Path(p) for p in paths])
    report.skipped.extend(missing)
    total = len(files) * (1 if dry_run else 2)
    loaded = _load_all(files, settings, report, notify, total)

    if dry_run:
        snapshot = Snapshot("", {}) if rebuild else read_snapshot(settings)
        report.collection_reads = 0 if rebuild else 1
        plan = _plan(loaded, snapshot, report, settings)
        _fill_report(report, plan, snapshot)
        if snapshot.chunks and check(settings).state != "complete":
            report.messages.append("Indekset er ikke fuldstændigt (en indlæsning blev afbrudt) og ville blive "
                                   "gjort færdigt.")
        notify(total, total, "Prøvekørsel færdig")
        report.duration_s = time.perf_counter() - started
        return report

    embeddings = get_embeddings(settings)
    with open_writer(settings, embeddings=embeddings, rebuild=rebuild, lock_timeout=lock_timeout) as writer:
        snapshot = writer.snapshot()
        plan = _plan(loaded, snapshot, report, settings)
        _fill_report(report, plan, snapshot)
        if writer.moved_aside is not None:
            report.messages.append(f"Det lokale søgeindeks var beskadiget og er flyttet til side som "
                                   f"{writer.moved_aside}; indekset er bygget forfra.")
        if writer.interrupted:
            report.messages.append("En afbrudt indlæsning blev fundet og gjort færdig.")
        if writer.needs_commit(plan, snapshot):

            def step(done: float, steps: float, message: str = "") -> None:
                notify(len(files) + done * len(files) / max(steps, 1), total, message)

            sources = None if paths is None else [str(Path(p).resolve()) for p in paths]
            result = writer.apply(plan, snapshot, progress=step, sources=sources)
            report.embedded = result.embedded
            report.vectors_reused = result.vectors_reused
            report.units_embedded, report.units_reused = result.units_embedded, result.units_reused
            report.lexical_rebuilt = result.committed
            report.generation = result.generation
        else:
            report.generation = writer.health.manifest.generation if writer.health.manifest else 0
        report.collection_reads = writer.collection_reads
    notify(total, total, "Færdig")
    report.duration_s = time.perf_counter() - started
    return report


def _plan(loaded: _Loaded, snapshot: Snapshot, report: IngestReport, settings: Settings) -> IndexPlan:
    protected: set[str] = set()
    for file, root in loaded.failed:
        protected |= _protected_ids(file, root, snapshot, settings)
    return plan_changes(loaded.docs, snapshot, cleanup="full" if report.full_cleanup else "incremental",
                        protected=protected)


def _display(file: Path, root: Path) -> str:
    try:
        return file.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(file)


# --- first start ---------------------------------------------------------------------------------------------
ENSURE_LOCK_TIMEOUT_S = 900.0  # a first build of the real corpus takes minutes on 2 cores
def ensure_default_index(settings: Settings, progress: ProgressCallback | None = None) -> IngestReport | None:
    """Make the index servable before anything is answered: build it from the default sources when it was never
    committed, finish an interrupted ingest, or re-derive lost BM25 files from Chroma (no embedding).

    Returns the ingest report when documents were (re)ingested, else ``None``.
    """
    health = check(settings)
    state = health.state
    if state in ("complete", "writing"):
        return None
    if state == "damaged":
        with open_writer(settings, embeddings=get_embeddings(settings)) as writer:
            snapshot = writer.snapshot()
            writer.apply(IndexPlan(cleanup="incremental"), snapshot, progress=progress)
        return None
    journal = health.journal
    if state == "interrupted" and journal is not None and journal.sources is not None:
        # finish what was interrupted, with its own sources and cleanup (not a full cleanup of the defaults)
        return run_ingest(journal.sources, settings, progress=progress, prune=journal.cleanup == "full",
                          lock_timeout=ENSURE_LOCK_TIMEOUT_S)
    # another process may be building it right now: wait for it, then the plan finds everything in place
    return run_ingest(None, settings, progress=progress, lock_timeout=ENSURE_LOCK_TIMEOUT_S)


__all__ = ["LOCK_NAME", "IndexStats", "IngestBusyError", "IngestReport", "default_sources", "discover_files",
           "ensure_default_index", "index_stats", "run_ingest", "uploads_dir"]
