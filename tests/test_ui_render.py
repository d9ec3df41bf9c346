"""Untrusted text stays inert in the chat: escaping, neutralizing, safe links, clickable ``[n]`` markers."""

from __future__ import annotations

from markdown_it import MarkdownIt

from assistant.models import Citation
from ui import render

EVIL = "Hvad med ![x](http://evil/x.png) og <img src=http://evil/y.png> og [klik](javascript:alert(1)) $x$ :red[rød]?"
MD = MarkdownIt("commonmark").enable("table")


def _html(markdown: str) -> str:
    return MD.render(markdown)


def _cite(n: int, **kw: str) -> Citation:
    base = dict(n=n, doc_id="d", title="Aftaler", section="Kap 8 > Aftaler", source_url="https://bygpartnerskaber.dk/a",
                quote="En aftale.", chunk_id=f"c{n}", kind="guide")
    return Citation(**{**base, **kw})


def test_escaped_question_renders_as_its_own_text() -> None:
    html = _html(render.escape(EVIL))
    assert "<img" not in html and "<a " not in html and "&lt;img src=http://evil/y.png&gt;" in html
    assert "![x](http://evil/x.png)" in html  # shown literally, as typed


def test_neutralized_answer_keeps_structure_but_no_image_link_or_html() -> None:
    answer = f"**Kort fortalt siger guiden:**\n\n- {EVIL} Se www.evil.dk og https://evil.dk/z [1]"
    html = _html(render.neutralize(answer))
    assert "<strong>" in html and "<li>" in html
    assert "<img" not in html and "<a " not in html and "href" not in html


def test_cited_markers_link_to_their_source_cards_only() -> None:
    text = "Aftalen beskriver roller [1]. Falsk markør [99]. ![x](http://evil/x.png)"
    html = _html(render.answer_markdown(text, [_cite(1)], message_id=7))
    assert '<a href="#kilde-7-1">[1]</a>' in html
    assert "[99]" in html and "#kilde-7-99" not in html and "<img" not in html


def test_source_link_only_to_the_sources_own_http_url() -> None:
    assert render.safe_url("https://bygpartnerskaber.dk/x") == "https://bygpartnerskaber.dk/x"
    for bad in ("javascript:alert(1)", "data:text/html,x", "/relativ", "https://x.dk/a)(b", "", None):
        assert render.safe_url(bad) is None
    card = _html(render.card_caption(_cite(1, source_url="javascript:alert(1)")))
    assert "href" not in card and "Afsnit: Kap 8 &gt; Aftaler" in card


def test_card_label_names_the_kind_in_danish() -> None:
    labels = {k: render.card_label(_cite(1, kind=k)) for k in ("guide", "tool", "case", "template", "dokument")}
    assert [lbl.rsplit(" · ", 1)[1] for lbl in labels.values()] == [
        "Guide", "Værktøj", "Eksempel", "Skabelon", "Jeres dokument"]
    assert "Jeres eget dokument" in render.card_caption(_cite(1, kind="dokument"))
    assert "danske gengivelse af guiden" in render.card_caption(_cite(1))


def test_quote_is_escaped_block_quote() -> None:
    html = _html(render.quote_markdown("Linje ét <b>fed</b>\n\n![x](http://evil/x.png)"))
    assert html.startswith("<blockquote>") and "<b>" not in html and "<img" not in html
