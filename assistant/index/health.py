"""Is the stored index complete? The one place where the index's state and fingerprints are compared."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from assistant.index.lexical import RECORDS_NAME
from assistant.index.lock import writer_active
from assistant.index.manifest import Journal, Manifest, read_journal, read_manifest
from assistant.settings import Settings
from assistant.units import SPLITTER_VERSION

State = Literal["missing", "writing", "interrupted", "damaged", "complete"]


@dataclass(frozen=True)
class IndexHealth:
    """``state``: missing (never committed), writing (a writer holds the lock; the last generation is
    served), interrupted (a journal without a writer: resume before serving), damaged (the committed
    generation's files are gone), complete."""

    state: State
    manifest: Manifest | None
    journal: Journal | None

    @property
    def servable(self) -> bool:
        """A committed generation exists and its files are there (also while a writer works)."""
        return self.state in ("complete", "writing")


def check(settings: Settings, *, holding_lock: bool = False) -> IndexHealth:
    """The index's state from the manifest, the journal and the writer lock (no Chroma read).

    ``holding_lock``: the caller is the writer, so a journal it finds is an interrupted earlier run.
    """
    manifest, journal = read_manifest(settings), read_journal(settings)
    if journal is not None:
        state: State = "writing" if not holding_lock and writer_active(settings) else "interrupted"
        if state == "writing" and manifest is None:
            state = "missing"
    elif manifest is None:
        state = "missing"
    elif not (settings.index_dir / manifest.artifacts / RECORDS_NAME).is_file():
        state = "damaged"
    else:
        state = "complete"
    return IndexHealth(state, manifest, journal)


def in_step(health: IndexHealth, collection: str, chroma_fingerprint: str) -> bool:
    """True when the committed generation describes exactly what ``collection`` holds."""
    m = health.manifest
    return (health.state == "complete" and m is not None and m.collection == collection
            and m.fingerprint == chroma_fingerprint and m.units_version == SPLITTER_VERSION)


def current_collection(settings: Settings, health: IndexHealth) -> str:
    """The collection the next incremental write goes to: an interrupted run's, else the committed one."""
    if health.journal is not None:
        return health.journal.collection
    return health.manifest.collection if health.manifest else settings.collection_name
