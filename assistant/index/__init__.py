"""The index package: the one owner of every stored artifact of a search index.

Artifacts of one index (``settings.index_dir``): the Chroma collection(s), ``generations/NNNNNN/`` (BM25 +
chunk table of a committed generation), ``manifest.json`` (the commit record), ``journal.json`` (an ingest in
progress) and ``ingest.lock`` (the writer lock). Nothing outside this package opens them.

* Read: ``open_index(settings) -> IndexReader`` (read-only, never repairs), ``index_stats(settings)``,
  ``check(settings) -> IndexHealth``, ``current_generation(settings)`` (a cheap cache key).
* Write: ``with open_writer(settings, rebuild=...) as writer:`` → ``writer.snapshot()`` (the one full read),
  ``writer.apply(plan, snapshot)`` (an :class:`IndexPlan` computed by ``ingest``).
* Errors: ``StoreError`` (one Danish line): ``StoreUnavailableError`` (Chroma server down),
  ``StoreDamagedError`` (local ``chroma.sqlite3`` unreadable; ``rebuild`` moves it aside and starts fresh).
"""

from assistant.index.chroma import StoreDamagedError, StoreError, StoreUnavailableError, exit_code_on_store_error
from assistant.index.health import IndexHealth, check
from assistant.index.lock import LOCK_NAME, IngestBusyError
from assistant.index.manifest import Manifest, chunk_fingerprint, read_manifest
from assistant.index.plan import (
    Cleanup,
    DocChange,
    IndexPlan,
    Snapshot,
    StoredChunk,
    embedding_text,
    vector_key,
)
from assistant.index.reader import (
    IndexReader,
    IndexStats,
    current_generation,
    index_stats,
    open_index,
    read_snapshot,
)
from assistant.index.writer import ApplyResult, IndexWriter, ProgressCallback, open_writer

__all__ = [
    "LOCK_NAME",
    "ApplyResult",
    "Cleanup",
    "DocChange",
    "IndexHealth",
    "IndexPlan",
    "IndexReader",
    "IndexStats",
    "IndexWriter",
    "IngestBusyError",
    "Manifest",
    "ProgressCallback",
    "Snapshot",
    "StoreDamagedError",
    "StoreError",
    "StoreUnavailableError",
    "StoredChunk",
    "check",
    "chunk_fingerprint",
    "current_generation",
    "embedding_text",
    "exit_code_on_store_error",
    "index_stats",
    "open_index",
    "open_writer",
    "read_manifest",
    "read_snapshot",
    "vector_key",
]
