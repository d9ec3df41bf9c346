"""The same ingest against a real Chroma server (``chroma run``) via ``settings.chroma_host``."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import make_settings

from assistant.lexical import load_lexical_index
from assistant.store import open_chroma_client, open_collection, open_vector_store
from ingest.pipeline import index_stats, run_ingest

CHROMA_BIN = Path(sys.executable).with_name("chroma")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[int]:
    if not CHROMA_BIN.exists() and shutil.which("chroma") is None:
        pytest.skip("chroma CLI not installed")
    port = _free_port()
    log = (tmp_path / "chroma.log").open("wb")
    proc = subprocess.Popen(
        [str(CHROMA_BIN if CHROMA_BIN.exists() else "chroma"), "run", "--path", str(tmp_path / "server-db"),
         "--host", "127.0.0.1", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        settings = make_settings(tmp_path, chroma_host="127.0.0.1", chroma_port=port)
        deadline = time.monotonic() + 60
        while True:
            try:
                open_chroma_client(settings).heartbeat()
                break
            except Exception:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((tmp_path / "chroma.log").read_text(errors="replace")) from None
                time.sleep(0.3)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_ingest_against_chroma_server(tmp_path: Path, chroma_server: int) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.md").write_text(
        "---\nid: srv-aftale\ntitle: Aftale\nkind: guide\nchapter: 8\n---\n# Aftale\n\n"
        "En samarbejdsaftale kan opsiges med tre måneders varsel.\n\n## Roller\n\nBiblioteket koordinerer.\n",
        encoding="utf-8")
    (corpus / "b.md").write_text("# Kage\n\nOpskrift på æblekage med kanel.\n", encoding="utf-8")
    settings = make_settings(tmp_path, corpus_dir=corpus, chroma_host="127.0.0.1", chroma_port=chroma_server)
    assert not settings.chroma_path.exists()

    first = run_ingest(None, settings)
    assert sorted(first.added) == ["b", "srv-aftale"] and first.embedded == first.chunks_total == 3
    assert not settings.chroma_path.exists()  # nothing embedded locally: the server holds the vectors
    assert run_ingest(None, settings).embedded == 0

    (corpus / "a.md").write_text((corpus / "a.md").read_text(encoding="utf-8").replace("koordinerer", "styrer"),
                                 encoding="utf-8")
    (corpus / "b.md").unlink()
    report = run_ingest(None, settings)
    assert (report.changed, report.deleted, report.embedded) == (["srv-aftale"], ["b"], 1)
    ids = set(open_collection(settings).get(include=[])["ids"])
    assert {i.split(":")[0] for i in ids} == {"srv-aftale"} and len(ids) == 2
    stats = index_stats(settings)
    assert (stats.documents, stats.chunks, stats.lexical_in_sync) == (1, 2, True)
    assert load_lexical_index(settings).search("styrer", 1)[0][0] in ids
    hit = open_vector_store(settings).similarity_search("Hvordan opsiger vi aftalen?", k=1)[0]
    assert hit.page_content == "En samarbejdsaftale kan opsiges med tre måneders varsel."
