"""Process-wide resources shared by all Streamlit sessions: settings, storage, the loaded assistant.

The cached :class:`SharedIndex` holds no per-user state. Answering reads ``SharedIndex.assistant`` (a plain
attribute, swapped atomically); ``reingest`` holds a lock while it runs the ingest and reloads the assistant,
so two maintainers cannot re-ingest at the same time and nobody sees a half-built assistant.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

from assistant.settings import Settings, get_settings
from ui.storage import Storage

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
def _storage(db_path: str) -> Storage:
    return Storage(db_path)


def get_storage(settings: Settings | None = None) -> Storage:
    settings = settings or app_settings()
    return _storage(str(settings.app_db_path))


class SharedIndex:
    """The one loaded assistant of a configuration, plus the lock that serialises re-ingest."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.lock = threading.RLock()
        self.generation = 0
        self.index_ready = False
        self._assistant: Assistant | None = None

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
        """True once the index is checked and the assistant is loaded."""
        return self.index_ready and self._assistant is not None

    @property
    def assistant(self) -> Assistant:
        current = self._assistant
        if current is not None:
            return current
        with self.lock:
            if self._assistant is None:
                self._assistant = self._load()
            return self._assistant

    def _load(self) -> Assistant:
        from assistant.core import Assistant

        return Assistant.from_settings(self.settings)

    def reingest(
        self,
        paths: Sequence[Path] | None = None,
        *,
        dry_run: bool = False,
        rebuild: bool = False,
        progress: ProgressCallback | None = None,
    ) -> IngestReport:
        """Run the ingest pipeline under the lock, then reload the assistant (unless dry run)."""
        from ingest.pipeline import run_ingest

        with self.lock:
            report = run_ingest(
                list(paths) if paths is not None else None, self.settings,
                dry_run=dry_run, rebuild=rebuild, progress=progress,
            )
            if not dry_run:
                self._assistant = self._load()
                self.generation += 1
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

