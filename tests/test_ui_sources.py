"""The source view of a card: the whole section from the index, the cited sentences marked, the stored upload."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import fake_settings
from markdown_it import MarkdownIt

from assistant.index import open_index
from assistant.models import Citation
from ingest.pipeline import run_ingest
from ui import render
from ui.sources import grouped, join_section, readable_date, source_view
from ui.uploads import stored_upload

MD = MarkdownIt("commonmark")

LONG_SECTION = " ".join(f"Sætning nummer {i} om partnerskabets mål og roller." for i in range(1, 41))
DOC = f"""---
id: test-aftaler
title: "Aftaler"
kind: guide
source_url: "https://bygpartnerskaber.dk/aftaler"
updated: 2026-11-25
---

# Aftaler

## Hvad skal aftalen indeholde?

{LONG_SECTION}

## Opfølgning

Parterne mødes hvert kvartal.
"""


def _cite(n: int, chunk_id: str, quote: str, **kw: str) -> Citation:
    return Citation(n=n, doc_id="test-aftaler", title="Aftaler", section="Aftaler > Hvad skal aftalen indeholde?",
                    source_url="", quote=quote, chunk_id=chunk_id, **kw)


def test_section_comes_back_whole_from_its_chunks(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "aftaler.md").write_text(DOC, encoding="utf-8")
    settings = fake_settings(tmp_path, corpus_dir=corpus, chunk_size=300, chunk_overlap=80)
    run_ingest(None, settings)
    reader = open_index(settings)
    ids = [cid for cid, m in zip(reader.lexical.chunk_ids, reader.lexical.metadatas, strict=True)
           if m["section"].endswith("indeholde?")]
    assert len(ids) > 3  # the section was split, with overlap
    rows = reader.section(ids[-1])
    assert [m["chunk_index"] for _, _, m in rows] == sorted(m["chunk_index"] for _, _, m in rows)
    assert {cid for cid, _, _ in rows} == set(ids)
    assert {m["date"] for _, _, m in rows} == {"2026-11-25"}

    text, offsets = join_section([t for _, t, _ in rows])
    assert text == LONG_SECTION  # overlap removed, nothing lost or repeated
    assert all(text[o:o + len(t)] == t for (_, t, _), o in zip(rows, offsets, strict=True))
    assert reader.section("findes-ikke") == []

    # a quote from the third chunk is marked at its place in the whole section
    third_id, third_text, _ = rows[2]
    quote = third_text.split(". ")[1] + "."
    view = source_view([_cite(1, third_id, quote)], rows)
    assert view.whole_section and view.text == LONG_SECTION
    (start, end), = view.spans
    assert view.text[start:end] == quote and start > len(rows[0][1])


def test_join_without_overlap_keeps_both_chunks() -> None:
    text, offsets = join_section(["Første afsnit.", "Andet afsnit."])
    assert (text, offsets) == ("Første afsnit.\nAndet afsnit.", [0, 15])
    # overlap starts at a split boundary: the end of a longer word is not taken for it
    assert join_section(["En samarbejdsaftale", "aftale om mål"])[0] == "En samarbejdsaftale\naftale om mål"
    assert join_section(["Et godt samarbejde. Mål", "Mål og roller."])[0] == "Et godt samarbejde. Mål og roller."


def test_stale_passage_shows_only_the_quotes() -> None:
    view = source_view([_cite(2, "gammel:1", "Et citat.")], [])
    assert not view.whole_section and view.text == "Et citat." and view.spans == [(0, 9)]


def test_marked_section_is_escaped_and_marks_only_the_quote() -> None:
    text = "Indledning med <b>html</b> og ![x](http://evil/x.png).\n- Punkt ét er citeret\n- Punkt to\nSlut."
    start = text.index("Punkt ét")
    html = MD.render(render.section_markdown(text, [(start - 2, start + len("Punkt ét er citeret"))]))
    assert html.startswith("<blockquote>") and html.count("<mark>") == 1
    assert "<mark>Punkt ét er citeret</mark>" in html and "<li>Punkt to</li>" in html
    assert "<b>" not in html and "<img" not in html and "&lt;b&gt;html&lt;/b&gt;" in html
    # a quote over several lines is marked line by line, so no tag spans a block
    across = MD.render(render.section_markdown(text, [(start, len(text))]))
    assert across.count("<mark>") == across.count("</mark>") == 3


def test_cards_group_citations_of_one_passage() -> None:
    cites = [_cite(1, "a", "x"), _cite(2, "b", "y"), _cite(3, "a", "z")]
    groups = grouped(cites)
    assert [[c.n for c in g] for g in groups] == [[1, 3], [2]]
    assert render.card_label(groups[0][0], [3]).startswith("[1] [3] Aftaler – Hvad skal aftalen indeholde?")
    caption = MD.render(render.card_caption(groups[0][0], readable_date("2026-11-25")))
    assert "Dato: 25. nov. 2026" in caption and readable_date("") == readable_date("ikke en dato") == ""


def test_stored_upload_only_inside_the_uploads_folder(tmp_path: Path) -> None:
    settings = fake_settings(tmp_path)
    uploads = settings.data_dir / "uploads"
    (uploads / ".pending").mkdir(parents=True)
    (uploads / "referat.md").write_text("# Referat\n", encoding="utf-8")
    (uploads / ".pending" / "skjult.md").write_text("x", encoding="utf-8")
    (settings.data_dir / "upload-names.json").write_text(json.dumps({"referat.md": "Referat fra mødet.md"}),
                                                         encoding="utf-8")
    (tmp_path / "hemmelig.md").write_text("x", encoding="utf-8")
    assert stored_upload(settings, "referat.md") == ((uploads / "referat.md").resolve(), "Referat fra mødet.md")
    for bad in ("../../hemmelig.md", ".pending/skjult.md", "findes-ikke.md", "", "/etc/passwd"):
        assert stored_upload(settings, bad) is None, bad


def test_bare_urls_and_emails_never_become_links() -> None:
    """Streamlit's markdown links ``https://x.dk``, ``www.x.dk`` and ``a@x.dk`` in parsed text (escaping cannot
    stop it); a word joiner before each keeps it text. Hosts without a dot are not linked and stay untouched."""
    text = "Se https://evil.example/z, www.evil.dk og skriv til a.b@evil.dk – ikke http://evil/x.png."
    for out in (render.escape(text), render.neutralize(text), render.section_markdown(text, [(0, 3)])):
        assert out.count(render.WORD_JOINER) == 3, out
        assert f"{render.WORD_JOINER}https" in out and f"{render.WORD_JOINER}www" in out
        assert f"{render.WORD_JOINER}a\\.b@" in out or f"{render.WORD_JOINER}a.b@" in out
    plain = MD.render(render.escape(text)).replace(render.WORD_JOINER, "")
    assert "https://evil.example/z" in plain and "a.b@evil.dk" in plain  # reads as typed
