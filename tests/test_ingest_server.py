"""The same ingest against a real Chroma server (``chroma run``) via ``settings.chroma_host``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import make_settings, stored_collection

from assistant.index import open_index
from assistant.index.chroma import open_vector_store
from assistant.index.server import chroma_cli, local_chroma_server
from ingest.pipeline import index_stats, run_ingest


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[int]:
    if chroma_cli() is None:
        pytest.skip("chroma CLI not installed")
    with local_chroma_server(tmp_path / "server-db", log_path=tmp_path / "chroma.log", timeout_s=60) as port:
        yield port


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
    ids = set(stored_collection(settings).get(include=[])["ids"])
    assert {i.split(":")[0] for i in ids} == {"srv-aftale"} and len(ids) == 2
    stats = index_stats(settings)
    assert (stats.documents, stats.chunks, stats.lexical_in_sync) == (1, 2, True)
    assert open_index(settings).lexical.search("styrer", 1)[0][0] in ids
    hit = open_vector_store(settings).similarity_search("Hvordan opsiger vi aftalen?", k=1)[0]
    assert hit.page_content == "En samarbejdsaftale kan opsiges med tre måneders varsel."
