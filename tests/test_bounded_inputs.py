"""Bounded work per input: each "bomb" is a real file made here, and is refused fast with a Danish reason.

The ``timeout`` marks are guards, not speed targets: without the limits these inputs run for minutes or take
gigabytes (alias bomb > 300 s / 6 GB, nested ``<div>`` quadratic, zip bomb 4-8 GB).
"""

from __future__ import annotations

import shutil
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from conftest import FIXTURES, make_settings

from assistant.corpus import FrontMatterError, parse_front_matter
from assistant.settings import Settings
from ingest.loaders import IngestError, InputLimits, claimed_doc_ids, load_file, load_file_isolated
from ui.uploads import PENDING_DIR, UploadRejected, save_upload, uploads_dir

ALIAS_BOMB = "---\n" + 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{b}: &{b} [{','.join([f'*{a}'] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi", strict=True)
) + "title: Bombe\n---\n\n# Bombe\n\nTekst.\n"

#: 4.7 MB of text with an emoji (4 bytes per character in memory): the loader needs ~50 MB beyond the interpreter.
BIG_TEXT = "Biblioteket 😀 og museet samarbejder om læsning. " * 90_000


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


def _write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return path


# --- front matter ------------------------------------------------------------------------------------------
@pytest.mark.timeout(20)
def test_yaml_alias_bomb_fails_fast_in_danish(tmp_path: Path, settings: Settings) -> None:
    assert 350 <= len(ALIAS_BOMB.encode()) <= 450  # the ~400-byte bomb of the report
    with pytest.raises(FrontMatterError, match="for mange YAML-aliasser"):
        parse_front_matter(ALIAS_BOMB)
    bomb = _write(tmp_path / "corpus" / "bombe.md", ALIAS_BOMB)
    with pytest.raises(IngestError, match="for mange YAML-aliasser"):
        load_file(bomb, settings, root=bomb.parent)


def test_front_matter_with_a_few_aliases_and_normal_yaml_still_works() -> None:
    meta, body = parse_front_matter("---\ntitle: Aftale\ntags: &t [a, b]\nandre: *t\n---\n\n# Aftale\n\nTekst.\n")
    assert meta == {"title": "Aftale", "tags": ["a", "b"], "andre": ["a", "b"]} and body == "# Aftale\n\nTekst."
    deep = "---\nx: " + "[" * 60 + "]" * 60 + "\n---\ntekst\n"
    with pytest.raises(FrontMatterError, match="indlejret for dybt"):
        parse_front_matter(deep)
    with pytest.raises(FrontMatterError, match="for lang"):
        parse_front_matter("---\ntitle: " + "x" * 20_000 + "\n---\ntekst\n")
    with pytest.raises(FrontMatterError, match="ugyldig YAML"):
        parse_front_matter("---\ntitle: !!python/object:os.system ls\n---\ntekst\n")


# --- HTML ------------------------------------------------------------------------------------------------
@pytest.mark.timeout(20)
def test_deeply_nested_html_is_refused_fast(tmp_path: Path, settings: Settings) -> None:
    n = 110_000
    page = _write(tmp_path / "dyb.html", "<html><body>" + "<div>" * n + "tekst" + "</div>" * n + "</body></html>")
    assert page.stat().st_size > 1_100_000
    with pytest.raises(IngestError, match="indlejret for dybt"):
        load_file(page, settings, root=tmp_path)


@pytest.mark.timeout(60)
def test_large_flat_and_moderately_nested_html_is_read_in_linear_time(tmp_path: Path, settings: Settings) -> None:
    nested = "<div>" * 150 + "<h2>Dybt afsnit</h2><p>Indlejret tekst om partnerskaber.</p>" + "</div>" * 150
    blocks = "".join(f"<div><p>Afsnit {i} om biblioteket.</p></div>" for i in range(40_000))  # ~1.5 MB
    page = _write(tmp_path / "stor.html", f"<html><body><h1>Stor side</h1>{nested}{blocks}</body></html>")
    doc = load_file(page, settings, root=tmp_path)
    assert doc.title == "Stor side"
    assert "## Dybt afsnit\n\nIndlejret tekst om partnerskaber." in doc.body
    assert "Afsnit 39999 om biblioteket." in doc.body


# --- DOCX / PDF --------------------------------------------------------------------------------------------
def _docx_bomb(path: Path, unpacked_mb: int) -> Path:
    """A real .docx (the fixture) whose document.xml is replaced by ``unpacked_mb`` MB of one repeated paragraph."""
    source = FIXTURES / "formats" / "aftale-med-museet.docx"
    para = b"<w:p><w:r><w:t>bombe bombe bombe bombe</w:t></w:r></w:p>" * 1000
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for info in src.infolist():
            if info.filename != "word/document.xml":
                out.writestr(info, src.read(info))
        with out.open("word/document.xml", "w", force_zip64=True) as member:
            member.write(b'<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
                         b'wordprocessingml/2006/main"><w:body>')
            for _ in range(unpacked_mb * 1024 * 1024 // len(para)):
                member.write(para)
            member.write(b"</w:body></w:document>")
    return path


@pytest.fixture(scope="module")
def docx_bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 300 MB zip bomb, made once per module (~2 s of deflate); the tests only read it."""
    return _docx_bomb(tmp_path_factory.mktemp("bomb") / "bombe.docx", 300)


@pytest.mark.timeout(120)
def test_docx_zip_bomb_is_refused_before_parsing(tmp_path: Path, settings: Settings, docx_bomb: Path) -> None:
    bomb = Path(shutil.copy(docx_bomb, tmp_path / "bombe.docx"))
    assert bomb.stat().st_size < 4 * 1024 * 1024  # a small file that unpacks to 300 MB
    with pytest.raises(IngestError, match="zip-bombe"):
        load_file(bomb, settings, root=tmp_path)
    # the limit is about the unpacked size, not the format: the fixture itself is fine
    doc = load_file(FIXTURES / "formats" / "aftale-med-museet.docx", settings, root=FIXTURES / "formats")
    assert doc.title == "Aftale med museet"
    with pytest.raises(IngestError, match="for mange dele"):
        load_file(FIXTURES / "formats" / "aftale-med-museet.docx", settings, root=FIXTURES / "formats",
                  limits=InputLimits(max_zip_members=3))


def test_pdf_page_count_is_checked_before_extraction(tmp_path: Path, settings: Settings) -> None:
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(2_001):
        writer.add_blank_page(width=200, height=200)
    pdf = tmp_path / "mange-sider.pdf"
    with pdf.open("wb") as handle:
        writer.write(handle)
    with pytest.raises(IngestError, match=r"for mange sider \(2001; grænsen er 2000\)"):
        load_file(pdf, settings, root=tmp_path)


def test_extracted_text_is_capped(tmp_path: Path, settings: Settings) -> None:
    text = _write(tmp_path / "lang.txt", "ord " * 5_000)
    with pytest.raises(IngestError, match="for meget tekst"):
        load_file(text, settings, root=tmp_path, limits=InputLimits(max_text_chars=10_000))


@pytest.mark.timeout(20)
def test_a_flood_of_headings_is_refused_before_chunking(tmp_path: Path, settings: Settings) -> None:
    """1.9 MB of ``## x`` lines were 100,000 chunks: two minutes and 1 GB of ingest with the fake embeddings."""
    flood = _write(tmp_path / "overskrifter.md", "".join(f"## H{i}\n\nx{i}\n\n" for i in range(100_000)))
    assert flood.stat().st_size < 2 * 1024 * 1024
    with pytest.raises(IngestError, match=r"for mange overskrifter \(100\.000; grænsen er 5\.000\), og hvert"):
        load_file(flood, settings, root=tmp_path)
    with pytest.raises(UploadRejected, match="for mange overskrifter"):
        save_upload(flood.read_bytes(), "overskrifter.md", settings)
    many = _write(tmp_path / "mange.md", "".join(f"## Afsnit {i}\n\nTekst {i}.\n\n" for i in range(5_000)))
    assert len(load_file(many, settings, root=tmp_path).body) > 50_000  # the limit itself is allowed


def test_an_overlong_question_is_refused_before_any_work(tmp_path: Path) -> None:
    """Embedding a 200 KB question took minutes of the serving process (``python -m evals attacks``)."""
    from conftest import fake_settings

    from assistant.core import Assistant
    from assistant.prompts import MAX_QUESTION_CHARS, question_too_long_text
    from ingest.pipeline import run_ingest

    corpus = tmp_path / "corpus"
    _write(corpus / "aftaler.md", "# Aftaler\n\n## Indhold\n\nEn samarbejdsaftale beskriver formål og roller.\n")
    fake = fake_settings(tmp_path, corpus_dir=corpus)
    run_ingest(None, fake)
    assistant = Assistant.from_settings(fake)
    embeddings = assistant.retriever.embeddings
    question = "Hvad skal en samarbejdsaftale indeholde? " + "aftale partner " * 13_000
    answer = assistant.ask(question)
    assert answer.refused and answer.text == question_too_long_text(len(question.strip()))
    assert answer.text.startswith("Spørgsmålet er for langt (195.040 tegn; højst 2.000).")
    assert embeddings.queries_embedded == 0 and not answer.citations
    at_limit = "Hvad skal en samarbejdsaftale indeholde? " + "x" * (MAX_QUESTION_CHARS - 41)
    assert len(at_limit) == MAX_QUESTION_CHARS
    assert assistant.ask(at_limit).text != answer.text and embeddings.queries_embedded == 1


# --- size: stat, never read whole --------------------------------------------------------------------------
def test_files_above_the_limit_are_never_read(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, max_file_mb=1)
    huge = tmp_path / "kaempe.md"
    with huge.open("wb") as handle:  # sparse: 3 GB on paper, nothing on disk
        handle.write(b"---\nid: stor-fil\n---\n")
        handle.truncate(3 * 1024**3)
    tracemalloc.start()
    try:
        with pytest.raises(IngestError, match="for stor"):
            load_file(huge, settings, root=tmp_path)
        claimed = claimed_doc_ids(huge, tmp_path, settings)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1024 * 1024, peak  # nothing of the 3 GB was read
    assert claimed == {"kaempe"}  # the head is not read either; the pipeline protects by path
    small = _write(tmp_path / "lille.md", "---\nid: eget-id\ntitle: [\n---\n")
    assert claimed_doc_ids(small, tmp_path, settings) == {"lille", "eget-id"}


# --- isolation of uploads ----------------------------------------------------------------------------------
def test_isolated_loader_returns_the_same_document(tmp_path: Path, settings: Settings) -> None:
    folder = FIXTURES / "formats"
    for name in ("nyhedsbrev.html", "aftale-med-museet.docx", "projektbeskrivelse.pdf", "noter.txt"):
        assert load_file_isolated(folder / name, settings, root=folder) == load_file(folder / name, settings,
                                                                                    root=folder)
    with pytest.raises(IngestError, match="ikke gyldig UTF-8"):
        load_file_isolated(FIXTURES / "bad" / "latin1.txt", settings, root=FIXTURES / "bad")


def test_isolated_loader_reports_memory_and_time_in_danish(tmp_path: Path, settings: Settings) -> None:
    big = _write(tmp_path / "stor.txt", BIG_TEXT)
    assert load_file_isolated(big, settings, root=tmp_path).body.startswith("Biblioteket 😀")  # fits 1 GB
    with pytest.raises(IngestError, match="hukommelse"):
        load_file_isolated(big, settings, root=tmp_path, memory_limit_mb=100)
    with pytest.raises(IngestError, match="tog for lang tid"):
        load_file_isolated(big, settings, root=tmp_path, time_limit_s=0.05)


@pytest.mark.timeout(120)
def test_upload_bombs_are_rejected_and_nothing_stored_changes(tmp_path: Path, settings: Settings, docx_bomb: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    good = save_upload(b"# Aftale\n\nBiblioteket og museet laver en aftale.\n", "aftale.md", settings)
    docx = save_upload((FIXTURES / "formats" / "aftale-med-museet.docx").read_bytes(), "aftale.docx", settings)
    before = {p.name: p.read_bytes() for p in uploads_dir(settings).iterdir() if p.is_file()}
    bombs = {
        "aftale.md": (ALIAS_BOMB.encode(), "YAML-aliasser"),
        "aftale.docx": (docx_bomb.read_bytes(), "zip-bombe"),
        "side.html": (("<div>" * 110_000).encode(), "indlejret for dybt"),
    }
    for name, (data, reason) in bombs.items():
        with pytest.raises(UploadRejected, match=reason):
            save_upload(data, name, settings)
    # a MemoryError in the check (here: a budget too small for this text) is a Danish rejection too
    monkeypatch.setattr("ui.uploads.UPLOAD_MEMORY_LIMIT_MB", 100)
    with pytest.raises(UploadRejected, match="hukommelse"):
        save_upload(BIG_TEXT.encode(), "aftale.md", settings)
    after = {p.name: p.read_bytes() for p in uploads_dir(settings).iterdir() if p.is_file()}
    assert after == before and {good.path.name, docx.path.name} == set(after)
    assert not any((uploads_dir(settings) / PENDING_DIR).iterdir())


def test_symlinks_out_of_the_root_are_skipped(tmp_path: Path, settings: Settings) -> None:
    corpus = tmp_path / "corpus"
    _write(corpus / "god.md", "# God\n\nTekst om partnerskaber.\n")
    (corpus / "passwd.txt").symlink_to("/etc/passwd")
    outside = _write(tmp_path / "hemmelig" / "noter.md", "# Hemmelig\n\nIkke til indekset.\n")
    (corpus / "linket-mappe").symlink_to(outside.parent, target_is_directory=True)
    with pytest.raises(IngestError, match=r"symbolsk link.*/etc/passwd"):
        load_file(corpus / "passwd.txt", settings, root=corpus)
    with pytest.raises(IngestError, match="symbolsk link"):
        load_file(corpus / "linket-mappe" / "noter.md", settings, root=corpus)
    assert claimed_doc_ids(corpus / "passwd.txt", corpus, settings) == {"passwd"}
    (corpus / "intern.md").symlink_to(corpus / "god.md")  # a link inside the root is fine
    assert load_file(corpus / "intern.md", settings, root=corpus).title == "God"
    shutil.rmtree(corpus)
