"""Process-wide resources shared by all Streamlit sessions: settings, storage, the loaded assistant.

The assistant is an ``st.cache_resource`` whose ``validate`` asks the index reader whether its generation is
still the committed one, so a re-ingest from the CLI (or the maintainer page) is served from the next question
on, without a restart and without a hand-written singleton. :class:`SharedIndex` holds no per-user state: it
builds a missing index once and serialises re-ingest from the maintainer page.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

from assistant.settings import Settings, get_settings
from assistant.storage import Storage
from ui.owners import OwnerTokens, load_secret

log = logging.getLogger(__name__)

#: Asked once at start-up (not one of the starter questions, so their first answer is measured honestly).
WARMUP_QUESTION = "Hvad er et partnerskab?"

if TYPE_CHECKING:  # the heavy modules are imported on first use
    from assistant.core import Assistant
    from ingest.pipeline import IndexStats, IngestReport, ProgressCallback


def app_settings() -> Settings:
    """The process settings (``get_settings`` is lru-cached; tests clear it)."""
    return get_settings()


def settings_key(settings: Settings) -> str:
    """A stable cache key for one configuration (secrets are masked by pydantic)."""
    return hashlib.sha256(settings.model_dump_json().encode()).hexdigest()[:16]


@st.cache_resource(show_spinner=False)
def _storage(db_path: str, retention_days: int) -> Storage:
    storage = Storage(db_path)
    if retention_days:  # once per process start (and per configuration)
        removed = storage.delete_older_than(retention_days)
        if removed:
            log.info("retention: deleted %d conversations older than %d days", removed, retention_days)
    return storage


def get_storage(settings: Settings | None = None) -> Storage:
    settings = settings or app_settings()
    return _storage(str(settings.app_db_path), settings.retention_days)


@st.cache_resource(show_spinner=False)
def _owner_tokens(data_dir: str) -> OwnerTokens:
    return OwnerTokens(load_secret(Path(data_dir)))


def get_owner_tokens(settings: Settings | None = None) -> OwnerTokens:
    """The signer of this data folder's owner tokens (see :mod:`ui.owners`)."""
    settings = settings or app_settings()
    return _owner_tokens(str(settings.data_dir))


def _is_current(assistant: Assistant) -> bool:
    """``cache_resource`` validator: the cached assistant still serves the committed index generation.

    A ``stat`` of the manifest per access (see ``IndexReader.is_current``), so a re-ingest from the CLI is
    picked up at the next question; the new generation is loaded, the old reader is dropped."""
    try:
        return assistant.retriever.index.is_current()
    except Exception:  # an unreadable manifest: reload rather than serve a stale reader
        log.exception("index currency check failed")
        return False


@st.cache_resource(show_spinner=False, validate=_is_current)
def _assistant(key: str, _settings: Settings) -> Assistant:
    """The one assistant of a configuration and index generation, shared by all sessions."""
    from assistant.core import Assistant

    return Assistant.from_settings(_settings)


def get_assistant(settings: Settings | None = None) -> Assistant:
    """The shared assistant, reloaded when a newer index generation has been committed (CLI or UI ingest)."""
    settings = settings or app_settings()
    return _assistant(settings_key(settings), settings)


class SharedIndex:
    """Index maintenance of one configuration: first-start build and the lock that serialises re-ingest.

    The assistant itself is not held here: :func:`get_assistant` (``st.cache_resource`` with a currency
    validator) owns it, so any committed ingest — from this page or the CLI — is followed between questions.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.lock = threading.RLock()
        self.index_ready = False
        self.warmed = False

    def ensure_index(self, progress: ProgressCallback | None = None) -> None:
        """Build the default index once if it is missing (first start of the app)."""
        if self.index_ready:
            return
        with self.lock:
            if self.index_ready:
                return
            from ingest.pipeline import ensure_default_index

            ensure_default_index(self.settings, progress=progress)
            self.index_ready = True

    @property
    def loaded(self) -> bool:
        """True once the index is checked and the assistant is loaded and warm (see :meth:`warm_up`)."""
        return self.index_ready and self.warmed

    @property
    def assistant(self) -> Assistant:
        return get_assistant(self.settings)

    def warm_up(self) -> float:
        """Load the assistant and answer one question nobody asked, so the model, the index files, Chroma and
        the answer code are warm before the first real question; seconds spent (0 when already warm)."""
        if self.warmed:
            return 0.0
        with self.lock:
            if self.warmed:
                return 0.0
            started = time.perf_counter()
            import pandas  # noqa: F401 - st.write_stream imports it on its first chunk (~0.4 s)

            assistant = self.assistant
            try:
                assistant.ask(WARMUP_QUESTION)
            except Exception:  # the first real question shows its own error; the page must still open
                log.exception("warm-up question failed")
            self.warmed = True
            seconds = time.perf_counter() - started
            log.info("assistant warm in %.1f s", seconds)
            return seconds

    def reingest(
        self,
        paths: Sequence[Path] | None = None,
        *,
        dry_run: bool = False,
        rebuild: bool = False,
        progress: ProgressCallback | None = None,
    ) -> IngestReport:
        """Run the ingest pipeline under the lock; the committed generation is picked up by :func:`get_assistant`."""
        from ingest.pipeline import run_ingest

        with self.lock:
            report = run_ingest(
                list(paths) if paths is not None else None, self.settings,
                dry_run=dry_run, rebuild=rebuild, progress=progress,
            )
            if not dry_run:
                self.index_ready = True
            return report

    def stats(self) -> IndexStats:
        from ingest.pipeline import index_stats

        return index_stats(self.settings)


@st.cache_resource(show_spinner=False)
def _shared_index(key: str, _settings: Settings) -> SharedIndex:
    return SharedIndex(_settings)


def get_shared_index(settings: Settings | None = None) -> SharedIndex:
    settings = settings or app_settings()
    return _shared_index(settings_key(settings), settings)

