"""Ingest of other formats (txt, HTML, PDF, DOCX) and bad input: reported in Danish, skipped, nothing lost."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import FIXTURES, REAL_CORPUS, make_settings, stored_collection

from assistant.index import open_index
from assistant.settings import Settings
from ingest.loaders import IngestError, load_file
from ingest.pipeline import run_ingest

GOOD_MD = """---
id: test-god
title: "Et godt dokument"
kind: guide
chapter: 2
---

# Et godt dokument

Gode partnerskaber bygger på tillid og klare aftaler.
"""

#: bad fixture file -> a word the Danish reason must contain
BAD_REASONS = {
    "beskadiget.pdf": "PDF-filen er beskadiget",
    "beskadiget.docx": "Word-filen (.docx) er beskadiget",
    "tom.md": "tom",
    "latin1.txt": "ikke gyldig UTF-8",
    "ugyldig-front-matter.md": "ugyldig front matter",
    "yaml-fejl.md": "ugyldig YAML",
    "regneark.xlsx": "understøttes ikke",
}


def chunks_by_doc(settings: Settings) -> dict[str, list[tuple[str, dict, str]]]:
    got = stored_collection(settings).get(include=["metadatas", "documents"])
    out: dict[str, list[tuple[str, dict, str]]] = {}
    for cid, meta, text in zip(got["ids"], got["metadatas"], got["documents"], strict=True):
        out.setdefault(meta["doc_id"], []).append((cid, meta, text))
    for value in out.values():
        value.sort(key=lambda item: item[1]["chunk_index"])
    return out


@pytest.fixture(scope="module")
def formats_index(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root = tmp_path_factory.mktemp("formats")
    corpus = root / "corpus"
    shutil.copytree(FIXTURES / "formats", corpus)
    settings = make_settings(root, corpus_dir=corpus)
    report = run_ingest(None, settings)
    assert report.skipped == []
    return settings


def test_docx_headings_become_sections(formats_index: Settings) -> None:
    chunks = chunks_by_doc(formats_index)["aftale-med-museet"]
    assert [m["section"] for _, m, _ in chunks] == [
        "Aftale med museet", "Aftale med museet > Roller", "Aftale med museet > Økonomi"]
    meta = chunks[0][1]
    assert (meta["title"], meta["kind"], meta["chapter"], meta["source_url"], meta["path"]) == (
        "Aftale med museet", "dokument", 0, "", "aftale-med-museet.docx")
    assert chunks[1][2] == "Museet leverer genstande, og biblioteket står for litteraturen og lokalerne."


def test_html_is_cleaned_and_keeps_headings(formats_index: Settings) -> None:
    chunks = chunks_by_doc(formats_index)["nyhedsbrev"]
    assert chunks[0][1]["title"] == "Nyhedsbrev om partnerskaber"
    assert [m["section"] for _, m, _ in chunks] == [
        "Nyhedsbrev om partnerskaber", "Nyhedsbrev om partnerskaber > Næste skridt"]
    text = "\n".join(t for _, _, t in chunks)
    assert "sportsklubben om læselyst" in text and "Fælles plakat" in text
    for forbidden in ("alert", "SKJULT", "ONDSINDET", "IFRAMETEKST", "steal", "evil", "color:red", "<"):
        assert forbidden not in text


def test_pdf_and_txt(formats_index: Settings) -> None:
    docs = chunks_by_doc(formats_index)
    pdf = docs["projektbeskrivelse"]
    assert pdf[0][1]["title"] == "Sommerlæsning i parken" and pdf[0][1]["kind"] == "dokument"
    assert "spørgeskemaundersøgelse" in pdf[0][2]
    txt = docs["noter"]
    assert txt[0][1]["title"] == "noter" and txt[0][1]["section"] == "noter"
    assert txt[0][2].startswith("Noter fra netværksmødet\n\nVi talte om")
    assert open_index(formats_index).lexical.search("læsetelte", 1)[0][0].startswith("projektbeskrivelse:")


def test_loader_errors_are_danish_and_specific(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, max_file_mb=0.001)
    for name, reason in BAD_REASONS.items():
        with pytest.raises(IngestError, match=reason.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
            load_file(FIXTURES / "bad" / name, settings)
    big = tmp_path / "stor.md"
    big.write_text("# Stor\n\n" + "tekst " * 400, encoding="utf-8")
    with pytest.raises(IngestError, match="for stor"):
        load_file(big, settings)


def test_bad_files_are_skipped_and_stored_documents_survive(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "god.md").write_text(GOOD_MD, encoding="utf-8")
    shutil.copy(FIXTURES / "formats" / "projektbeskrivelse.pdf", corpus / "rapport.pdf")
    shutil.copy(FIXTURES / "formats" / "aftale-med-museet.docx", corpus / "aftale.docx")
    settings = make_settings(tmp_path, corpus_dir=corpus, max_file_mb=0.05)
    first = run_ingest(None, settings)
    assert sorted(first.added) == ["aftale", "rapport", "test-god"]
    before = chunks_by_doc(settings)

    # new bad files next to the good ones, and bad new versions of all three stored documents
    for name in BAD_REASONS:
        shutil.copy(FIXTURES / "bad" / name, corpus / name)
    (corpus / "kaempe.txt").write_text("x" * 60_000, encoding="utf-8")
    (corpus / "god.md").write_text(GOOD_MD.replace("chapter: 2", "chapter: to"), encoding="utf-8")
    shutil.copy(FIXTURES / "bad" / "beskadiget.pdf", corpus / "rapport.pdf")
    shutil.copy(FIXTURES / "bad" / "beskadiget.docx", corpus / "aftale.docx")
    (corpus / "ny.html").write_text("<html><body><h1>Ny side</h1><script>x()</script><p>Frisk tekst om "
                                    "læseklubber.</p></body></html>", encoding="utf-8")

    for dry in (True, False):
        report = run_ingest(None, settings, dry_run=dry)
        skipped = dict(report.skipped)
        for name, reason in BAD_REASONS.items():
            assert reason in skipped[name], (name, skipped.get(name))
        assert "for stor" in skipped["kaempe.txt"]
        assert "ugyldig front matter" in skipped["god.md"] and "chapter" in skipped["god.md"]
        assert "PDF-filen er beskadiget" in skipped["rapport.pdf"]
        assert "Word-filen (.docx) er beskadiget" in skipped["aftale.docx"]
        assert report.added == ["ny"] and report.deleted == [] and report.changed == []
        assert all(any(name in message for message in report.messages) for name in BAD_REASONS)

    after = chunks_by_doc(settings)
    for doc_id in ("test-god", "rapport", "aftale"):
        assert after[doc_id] == before[doc_id]  # old chunks kept, untouched
    assert [t for _, _, t in after["ny"]] == ["Frisk tekst om læseklubber."]

    # once the files are fixed/removed, the normal rules apply again
    (corpus / "god.md").unlink()
    report = run_ingest(None, settings)
    assert report.deleted == ["test-god"]


def test_duplicate_doc_id_is_skipped(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    (corpus / "a").mkdir(parents=True)
    (corpus / "b").mkdir()
    (corpus / "a" / "god.md").write_text(GOOD_MD, encoding="utf-8")
    (corpus / "b" / "kopi.md").write_text(GOOD_MD, encoding="utf-8")
    os.utime(corpus / "b" / "kopi.md", (1_000, 1_000))  # the older file
    settings = make_settings(tmp_path, corpus_dir=corpus)
    report = run_ingest(None, settings)
    assert report.added == ["test-god"]
    assert report.skipped == [("b/kopi.md", "dublet (samme doc_id 'test-god' som a/god.md); a/god.md bruges, "
                                            "fordi den er ændret senest")]
    missing = run_ingest([tmp_path / "findes-ikke.md"], settings)
    assert missing.skipped == [(str(tmp_path / "findes-ikke.md"), "filen eller mappen findes ikke")]


@pytest.mark.real
def test_an_older_windows_copy_loses_to_the_real_file(tmp_path: Path) -> None:
    """A real "case-krimicafe - Kopi.md" (older, stale text) beside the real file: the edited file is stored, the
    copy is reported with both paths, and the stale sentence is nowhere in the index."""
    real = REAL_CORPUS / "cases" / "case-krimicafe.md"
    cases = tmp_path / "corpus" / "cases"
    cases.mkdir(parents=True)
    copy = cases / "case-krimicafe - Kopi.md"
    text = real.read_text(encoding="utf-8")
    stale = text.replace("## Partnerne\n", "## Partnerne\n\nForældet sætning om kaffe.\n", 1)
    assert stale != text
    copy.write_text(stale, encoding="utf-8")
    shutil.copy2(real, cases / real.name)
    os.utime(copy, (1_000_000, 1_000_000))  # made long before the last edit of the real file
    os.utime(cases / real.name, (2_000_000, 2_000_000))
    settings = make_settings(tmp_path, corpus_dir=tmp_path / "corpus")

    report = run_ingest(None, settings)

    assert report.added == ["case-krimicafe"]
    assert report.skipped == [("cases/case-krimicafe - Kopi.md",
                               "dublet (samme doc_id 'case-krimicafe' som cases/case-krimicafe.md); "
                               "cases/case-krimicafe.md bruges, fordi den er ændret senest")]
    assert any("cases/case-krimicafe - Kopi.md" in m and "cases/case-krimicafe.md bruges" in m
               for m in report.messages)
    stored = chunks_by_doc(settings)["case-krimicafe"]
    assert {meta["path"] for _, meta, _ in stored} == {"cases/case-krimicafe.md"}
    assert not any("Forældet sætning" in text for _, _, text in stored)


def test_document_date_from_front_matter_else_the_file(tmp_path: Path) -> None:
    """The source card's date: ``updated``, else ``date`` in front matter, else the file's modification day."""
    settings = make_settings(tmp_path)
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "opdateret.md").write_text(GOOD_MD.replace("chapter: 2\n", "chapter: 2\nupdated: 2026-11-25\n"),
                                         encoding="utf-8")
    (folder / "dateret.md").write_text("---\ntitle: Referat\ndate: 2025-03-04\n---\n\nEt kort referat.\n",
                                       encoding="utf-8")
    plain = folder / "referat.txt"
    plain.write_text("Et referat uden front matter.\n", encoding="utf-8")
    os.utime(plain, (1_750_000_000, 1_750_000_000))  # 15 June 2025 (UTC)
    dates = {p.name: load_file(p, settings, root=folder).date for p in sorted(folder.iterdir())}
    assert dates == {"dateret.md": "2025-03-04", "opdateret.md": "2026-11-25", "referat.txt": "2025-06-15"}
    from ingest.chunking import chunk_document

    chunks = chunk_document(load_file(folder / "opdateret.md", settings, root=folder), settings)
    assert {c.metadata["date"] for c in chunks} == {"2026-11-25"}
