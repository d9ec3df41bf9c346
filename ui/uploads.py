"""Saving uploaded documents for re-ingest into ``settings.data_dir / "uploads"``.

A file is checked with the ingest loader *before* it is saved, so a broken PDF, a non-UTF-8 text file or an
oversized file is rejected with a Danish reason and never replaces an earlier upload of the same name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from assistant.corpus import slugify
from assistant.settings import Settings
from ingest.loaders import SUPPORTED_EXTS, IngestError, load_file
from ingest.pipeline import uploads_dir

PENDING_DIR = ".pending"  # hidden: ingest ignores it

__all__ = [
    "SUPPORTED_EXTS", "SavedUpload", "UploadRejected", "sanitize_filename", "save_upload", "uploads_dir",
]


class UploadRejected(ValueError):
    """The file was not saved; the message is Danish and shown to the maintainer."""


@dataclass(frozen=True)
class SavedUpload:
    original_name: str
    path: Path
    doc_id: str
    title: str
    replaced: bool


def sanitize_filename(name: str) -> str:
    """A safe lower-case ASCII file name without folders: ``"../Ny Aftale Ø.md"`` → ``"ny-aftale-oe.md"``."""
    base = re.split(r"[\\/]", name.strip())[-1]
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    suffix = f".{suffix.lower()}" if suffix else ""
    if suffix not in SUPPORTED_EXTS:
        raise UploadRejected(
            f"«{name}» blev ikke gemt: filtypen '{suffix or '(ingen)'}' understøttes ikke "
            f"(tilladt: {', '.join(SUPPORTED_EXTS)})."
        )
    return slugify(stem)[:80] + suffix


def save_upload(data: bytes, original_name: str, settings: Settings) -> SavedUpload:
    """Check one uploaded file with the ingest loader, then save it (replacing an upload of the same name)."""
    if len(data) > settings.max_file_mb * 1024 * 1024:
        raise UploadRejected(
            f"«{original_name}» blev ikke gemt: filen er {len(data) / 1024 / 1024:.1f} MB, "
            f"og grænsen er {settings.max_file_mb:g} MB."
        )
    folder = uploads_dir(settings)
    target = folder / sanitize_filename(original_name)
    staging = folder / PENDING_DIR
    staging.mkdir(parents=True, exist_ok=True)
    pending = staging / target.name  # same name, so doc_id and title come out as after saving
    pending.write_bytes(data)
    try:
        doc = load_file(pending, settings, root=staging)
    except IngestError as exc:
        pending.unlink(missing_ok=True)
        raise UploadRejected(f"«{original_name}» blev ikke gemt: {exc}.") from exc
    replaced = target.exists()
    pending.replace(target)
    return SavedUpload(original_name=original_name, path=target, doc_id=doc.doc_id, title=doc.title,
                       replaced=replaced)
