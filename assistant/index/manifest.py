"""The manifest (``index_dir/manifest.json``): the commit record of the index's current generation.

A generation is complete only when its manifest is written: the writer first records what it is about to do in
``journal.json``, writes Chroma, writes the derived files into a fresh ``generations/NNNNNN/`` folder, and then
replaces the manifest atomically (the commit point) and removes the journal. So:

* no manifest (or one of an older format) = no complete index;
* a journal without a running writer = an interrupted ingest (resumed by the next ``ensure``/ingest);
* ``fingerprint`` (of the chunk ids) is what readers compare to notice a new generation.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from assistant.settings import Settings

MANIFEST_NAME = "manifest.json"
JOURNAL_NAME = "journal.json"
GENERATIONS_DIR = "generations"
MANIFEST_VERSION = 2


class DocEntry(BaseModel):
    title: str = ""
    kind: str = ""
    path: str = ""
    chunks: int = 0


class Manifest(BaseModel):
    """What the current generation is made of (``state`` is always ``complete``: nothing else is committed)."""

    version: int = MANIFEST_VERSION
    state: str = "complete"
    generation: int
    collection: str = Field(description="Chroma collection serving this generation.")
    artifacts: str = Field(description="Folder of the derived files, relative to index_dir.")
    fingerprint: str
    chunks: int
    last_ingest: str
    embedding_backend: str
    embedding_model: str
    embedding_slug: str
    chroma: str
    retired_collections: list[str] = Field(default_factory=list,
                                           description="Collections of older generations, dropped at next commit.")
    units_version: str | None = Field(None, description="assistant.units.SPLITTER_VERSION of the unit vectors.")
    documents: dict[str, DocEntry] = Field(default_factory=dict)


class Journal(BaseModel):
    """An ingest in progress: written before the first Chroma write, removed after the manifest commit."""

    started: str
    generation: int
    collection: str
    rebuild: bool = False
    sources: list[str] | None = Field(None, description="What was being ingested (None = the default sources).")
    cleanup: str = "full"
    pid: int = Field(default_factory=os.getpid)


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).astimezone().isoformat(timespec="seconds")


def chunk_fingerprint(chunk_ids: Iterable[str]) -> str:
    """Order-independent fingerprint of a set of chunk ids (ids embed the content hash)."""
    digest = hashlib.sha256()
    for cid in sorted(set(chunk_ids)):
        digest.update(cid.encode("utf-8") + b"\n")
    return digest.hexdigest()


def manifest_path(settings: Settings) -> Path:
    return settings.index_dir / MANIFEST_NAME


def journal_path(settings: Settings) -> Path:
    return settings.index_dir / JOURNAL_NAME


def generation_dir(settings: Settings, generation: int) -> Path:
    return settings.index_dir / GENERATIONS_DIR / f"{generation:06d}"


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_json(path: Path, data: dict[str, Any]) -> None:
    """Atomic: write a sibling temp file, fsync, then ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as out:
        json.dump(data, out, ensure_ascii=False, indent=1)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


def read_manifest(settings: Settings) -> Manifest | None:
    """The committed manifest, or None when there is none (or one of an older format)."""
    data = _read_json(manifest_path(settings))
    if not data or data.get("version") != MANIFEST_VERSION:
        return None
    try:
        return Manifest.model_validate(data)
    except ValidationError:
        return None


def write_manifest(settings: Settings, manifest: Manifest) -> None:
    _write_json(manifest_path(settings), manifest.model_dump(mode="json"))


def read_journal(settings: Settings) -> Journal | None:
    data = _read_json(journal_path(settings))
    if not data:
        return None
    try:
        return Journal.model_validate(data)
    except ValidationError:
        return None


def write_journal(settings: Settings, journal: Journal) -> None:
    _write_json(journal_path(settings), journal.model_dump(mode="json"))


def clear_journal(settings: Settings) -> None:
    journal_path(settings).unlink(missing_ok=True)


def manifest_stamp(settings: Settings) -> tuple[int, int] | None:
    """(mtime_ns, size) of the manifest file: a cheap change detector for readers (no JSON parse)."""
    try:
        st = manifest_path(settings).stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size
