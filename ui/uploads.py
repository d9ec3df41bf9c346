"""Saving uploaded documents for re-ingest into ``settings.data_dir / "uploads"``.

A file is checked with the ingest loader *before* it is saved, so a broken PDF, a non-UTF-8 text file or an
oversized file is rejected with a Danish reason and never replaces an earlier upload of the same name.

* The check runs in a child process with a memory and time budget (``ingest.loaders.load_file_isolated``,
  ``UPLOAD_MEMORY_LIMIT_MB``/``UPLOAD_TIME_LIMIT_S``): a file built to exhaust the parser (zip bomb, alias bomb,
  a ``MemoryError``) costs the child, never the Streamlit process that serves everyone, and nothing is saved.
* Each check stages the file in its own folder under ``uploads/.pending/`` (hidden: ingest ignores it), removed
  afterwards whatever happens; leftovers of a killed process are removed by ``clean_stale_pending`` (called
  when the maintainer page starts).
* An upload whose doc_id is already used by a file in ``corpus/`` is rejected: the guide's own file would win at
  ingest (``ingest.loaders.resolve_duplicates``), so the upload would never be used.
* File names: an upload is saved as the ASCII slug of its name. The same original name replaces the earlier
  upload (that is how a maintainer updates a document); a *different* name that reduces to the same slug
  (``😀.md`` and ``🎉.md`` both → ``dokument.md``) gets a distinct name (``dokument-2.md``). Which original name each
  saved file came from is kept in ``data_dir/upload-names.json`` (beside, not inside, the uploads folder),
  written under a file lock that also serialises concurrent uploads.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from assistant.corpus import slugify
from assistant.settings import Settings
from ingest.loaders import SUPPORTED_EXTS, IngestError, claimed_doc_ids, load_file_isolated
from ingest.pipeline import uploads_dir

PENDING_DIR = ".pending"  # hidden: ingest ignores it
NAMES_FILE = "upload-names.json"  # in data_dir: saved file name -> original file name
NAMES_LOCK = "upload-names.lock"
#: Budget of the child process that checks one upload.
UPLOAD_MEMORY_LIMIT_MB = 1024
UPLOAD_TIME_LIMIT_S = 60.0
#: A staging folder older than this is a leftover of a killed process (a check never takes this long).
STALE_PENDING_S = 3600.0

__all__ = [
    "SUPPORTED_EXTS", "SavedUpload", "UploadRejected", "clean_stale_pending", "sanitize_filename", "save_upload",
    "stored_upload", "uploads_dir",
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
    warnings: tuple[str, ...] = ()  # Danish notes from the loader (e.g. front matter claims that were ignored)


def _base_name(name: str) -> str:
    return re.split(r"[\\/]", name.strip())[-1]


def sanitize_filename(name: str) -> str:
    """A safe lower-case ASCII file name without folders: ``"../Ny Aftale Ø.md"`` → ``"ny-aftale-oe.md"``."""
    base = _base_name(name)
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


def _original_key(name: str) -> str:
    """What makes two uploads "the same name": the base name, NFC-normalised (folders and case are ignored)."""
    return unicodedata.normalize("NFC", _base_name(name)).casefold()


def _read_names(settings: Settings) -> dict[str, str]:
    try:
        data = json.loads((settings.data_dir / NAMES_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _write_names(settings: Settings, names: dict[str, str]) -> None:
    tmp = settings.data_dir / f"{NAMES_FILE}.tmp"
    tmp.write_text(json.dumps(dict(sorted(names.items())), ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, settings.data_dir / NAMES_FILE)


def _target_name(folder: Path, original_name: str, names: dict[str, str]) -> str:
    """The file name for ``original_name``: its slug, or ``slug-2``, ``slug-3`` … if another name has the slug."""
    safe = sanitize_filename(original_name)
    key = _original_key(original_name)
    stem, suffix = safe[: -len(Path(safe).suffix)], Path(safe).suffix
    for n in range(1, 10_000):
        candidate = safe if n == 1 else f"{stem}-{n}{suffix}"
        if not (folder / candidate).exists():
            return candidate
        # taken: ours if it was saved from the same name (a file of unknown origin only if it has exactly our name)
        owner = names.get(candidate, candidate)
        if _original_key(owner) == key:
            return candidate
    raise UploadRejected(f"«{original_name}» blev ikke gemt: der findes for mange filer med samme navn.")


def save_upload(data: bytes, original_name: str, settings: Settings) -> SavedUpload:
    """Check one uploaded file with the ingest loader (in a child process), then save it.

    An earlier upload of the same original name is replaced; another name never is.
    """
    if len(data) > settings.max_file_mb * 1024 * 1024:
        raise UploadRejected(
            f"«{original_name}» blev ikke gemt: filen er {len(data) / 1024 / 1024:.1f} MB, "
            f"og grænsen er {settings.max_file_mb:g} MB."
        )
    folder = uploads_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with FileLock(str(settings.data_dir / NAMES_LOCK), timeout=UPLOAD_TIME_LIMIT_S + 30):
            return _check_and_save(data, original_name, settings, folder)
    except Timeout as exc:
        raise UploadRejected(
            f"«{original_name}» blev ikke gemt: en anden upload er i gang. Prøv igen om lidt."
        ) from exc


def _check_and_save(data: bytes, original_name: str, settings: Settings, folder: Path) -> SavedUpload:
    """The part of ``save_upload`` that holds the uploads lock."""
    names = _read_names(settings)
    target = folder / _target_name(folder, original_name, names)
    staging = folder / PENDING_DIR / uuid.uuid4().hex
    staging.mkdir(parents=True)
    try:
        pending = staging / target.name  # same name, so doc_id and title come out as after saving
        pending.write_bytes(data)
        try:
            doc = load_file_isolated(pending, settings, root=staging, time_limit_s=UPLOAD_TIME_LIMIT_S,
                                     memory_limit_mb=UPLOAD_MEMORY_LIMIT_MB)
        except IngestError as exc:
            raise UploadRejected(f"«{original_name}» blev ikke gemt: {exc}.") from exc
        taken = corpus_doc_ids(settings).get(doc.doc_id)
        if taken:
            raise UploadRejected(
                f"«{original_name}» blev ikke gemt: dokument-id'et '{doc.doc_id}' bruges allerede af guidens fil "
                f"{taken}. Giv filen et andet navn (eller et andet 'id' i front matter)."
            )
        replaced = target.exists()
        pending.replace(target)
        names[target.name] = _base_name(original_name)
        _write_names(settings, names)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return SavedUpload(original_name=original_name, path=target, doc_id=doc.doc_id, title=doc.title,
                       replaced=replaced, warnings=tuple(doc.warnings))


def stored_upload(settings: Settings, rel_path: str) -> tuple[Path, str] | None:
    """The saved upload that a chunk's ``path`` names and its original file name; None for anything that is not
    a visible file inside the uploads folder (corpus files, a deleted upload, ``..`` or a hidden staging file)."""
    folder = uploads_dir(settings).resolve()
    try:
        file = (folder / rel_path).resolve()
        inside = file.relative_to(folder)
    except (OSError, ValueError):
        return None
    if not rel_path or not file.is_file() or any(part.startswith(".") for part in inside.parts):
        return None
    return file, _read_names(settings).get(inside.as_posix(), file.name)


def corpus_doc_ids(settings: Settings) -> dict[str, str]:
    """doc_id -> path (relative to ``corpus_dir``) of the corpus files, from their names and front matter heads."""
    root = settings.corpus_dir
    ids: dict[str, str] = {}
    if not root.is_dir():
        return ids
    for file in sorted(root.rglob("*")):
        rel = file.relative_to(root)
        if file.suffix.lower() in SUPPORTED_EXTS and file.is_file() and not any(p.startswith(".") for p in rel.parts):
            for doc_id in claimed_doc_ids(file, root, settings):
                ids.setdefault(doc_id, rel.as_posix())
    return ids


def clean_stale_pending(settings: Settings, *, older_than_s: float = STALE_PENDING_S) -> list[str]:
    """Remove leftovers in ``uploads/.pending`` older than ``older_than_s`` (0: all); returns the names removed."""
    staging = uploads_dir(settings) / PENDING_DIR
    if not staging.is_dir():
        return []
    removed = []
    now = time.time()
    for entry in staging.iterdir():
        try:
            if now - entry.lstat().st_mtime < older_than_s:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        except OSError:
            continue
        removed.append(entry.name)
    return removed
