"""The one writer lock of an index (``index_dir/ingest.lock``, an inter-process ``filelock``).

Every write to an index (``assistant.index.writer``) happens while this lock is held, so the CLI and the UI's
maintainer page can never write the same index concurrently. Readers never take it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from assistant.settings import Settings

LOCK_NAME = "ingest.lock"
BUSY_MESSAGE = "En anden indeksering af det samme indeks kører allerede. Prøv igen, når den er færdig."


class IngestBusyError(RuntimeError):
    """Another process is writing the same index right now."""


def lock_path(settings: Settings) -> Path:
    return settings.index_dir / LOCK_NAME


@contextlib.contextmanager
def writer_lock(settings: Settings, timeout: float = 30.0) -> Iterator[None]:
    """Hold the index's writer lock; raises :class:`IngestBusyError` after ``timeout`` seconds of waiting."""
    settings.index_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(lock_path(settings)), timeout=timeout)
    try:
        lock.acquire()
    except Timeout as exc:
        raise IngestBusyError(BUSY_MESSAGE) from exc
    try:
        yield
    finally:
        lock.release()


def writer_active(settings: Settings) -> bool:
    """True while another process holds the writer lock (checked without waiting)."""
    if not lock_path(settings).exists():
        return False
    lock = FileLock(str(lock_path(settings)), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        return True
    lock.release()
    return False
