"""A local Chroma server (``chroma run``) for tests and benchmarks."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import chromadb
from chromadb.config import Settings as ChromaSettings


def chroma_cli() -> str | None:
    """The ``chroma`` command of this environment (next to the interpreter, else on PATH)."""
    beside = Path(sys.executable).with_name("chroma")
    return str(beside) if beside.exists() else shutil.which("chroma")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def local_chroma_server(path: Path, *, log_path: Path | None = None, timeout_s: float = 90,
                        port: int | None = None) -> Iterator[int]:
    """``chroma run --path path`` on 127.0.0.1 and ``port`` (default: a free one), yielded once it answers;
    stopped on exit.

    Raises ``RuntimeError`` (with the server's log) when it does not start within ``timeout_s``.
    """
    command = chroma_cli()
    if command is None:
        raise RuntimeError("chroma-kommandoen findes ikke i dette miljø")
    port = port or free_port()
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

