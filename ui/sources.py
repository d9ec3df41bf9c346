"""The source cards under an answer: each ``[n]`` opens its card, which shows the whole section it quotes.

A card shows the section the cited passage belongs to (read from the index: :meth:`IndexReader.section`) with the
cited sentences marked, the heading path, the kind and date of the document, what the text is (our Danish
rendering of the guide, our template, your document) with the original page, and for an uploaded document a
download of the stored file itself. Everything from the index is rendered escaped (:mod:`ui.render`); the only HTML
is our own ``<mark>``. Clicking ``[n]`` in the answer opens the card and scrolls to it (:data:`CITATION_SCRIPT`).
"""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import streamlit as st

from assistant.models import Citation
from assistant.settings import Settings
from ui import render
from ui.conversation import readable_time

log = logging.getLogger(__name__)

#: Opens the card an ``[n]`` link points at (the anchor sits right before the card) and scrolls to it.
#: Event delegation on the page, installed once; without JavaScript the link still scrolls to the card.
CITATION_SCRIPT = """<script>
(() => {
  if (window.__paSourceLinks) return;
  window.__paSourceLinks = true;
  document.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest('a[href^="#kilde-"]');
    if (!link) return;
    const anchor = document.getElementById(decodeURIComponent(link.getAttribute("href").slice(1)));
    const holder = anchor && anchor.closest('[data-testid="stElementContainer"]');
    const card = holder && holder.nextElementSibling;
    const details = card && card.querySelector("details");
    if (!details) return;
    event.preventDefault();
    const summary = details.querySelector("summary");
    if (!details.open) summary.click();
    summary.focus({preventScroll: true});
    setTimeout(() => (details.querySelector("mark") || details).scrollIntoView({block: "center"}), 250);
  }, true);
})();
</script>"""

#: Headings wrap between words only (Streamlit breaks long Danish words mid-word, "Samarbejdsaft|ale"); the
#: page title shrinks on narrow screens so its one long word fits.
HEADING_CSS = """<style>
h1, h2, h3, h4, h5, h6 { word-break: normal !important; overflow-wrap: normal !important; hyphens: manual; }
[data-testid="stHeading"] h1 { font-size: clamp(1.6rem, 6.5vw, 2.75rem); }
</style>"""


def install_page_helpers() -> None:
    """The click handler of the ``[n]`` links and the heading CSS (call once per run, before the page)."""
    st.html(HEADING_CSS)
    st.html(CITATION_SCRIPT, unsafe_allow_javascript=True, width="content")


# --- what a card shows (plain Python) -------------------------------------------------------------------------
@dataclass(frozen=True)
class SourceView:
    """The text a card shows: the whole section (or only the quotes when the passage left the index)."""

    text: str
    spans: list[tuple[int, int]] = field(default_factory=list)  # cited character ranges of ``text``
    metadata: dict[str, Any] = field(default_factory=dict)  # of the cited chunk ({} when it left the index)

    @property
    def whole_section(self) -> bool:
        return bool(self.metadata)


def _overlap(left: str, right: str) -> int:
    """Length of the text that ``right`` repeats from the end of ``left`` (the splitter's chunk overlap).

    The overlap starts at a split boundary, so the character before it in ``left`` is whitespace."""
    for k in range(min(len(left), len(right)), 0, -1):
        if left.endswith(right[:k]) and (k == len(left) or left[-k - 1].isspace()):
            return k
    return 0


def join_section(texts: Sequence[str]) -> tuple[str, list[int]]:
    """Consecutive chunks of one section joined into its text; the offset of each chunk in it."""
    text, offsets = "", []
    for chunk in texts:
        if not text:
            offsets.append(0)
            text = chunk
            continue
        k = _overlap(text, chunk)
        offsets.append(len(text) - k if k else len(text) + 1)
        text = text + chunk[k:] if k else f"{text}\n{chunk}"
    return text, offsets


def source_view(citations: Sequence[Citation], section: Sequence[tuple[str, str, dict[str, Any]]]) -> SourceView:
    """What the card of ``citations`` (all quoting one chunk) shows, given that chunk's section from the index."""
    chunk_id = citations[0].chunk_id
    position = next((i for i, row in enumerate(section) if row[0] == chunk_id), None)
    if position is None:  # the passage is no longer indexed (an old conversation): show the quotes alone
        quotes = list(dict.fromkeys(c.quote.strip() for c in citations if c.quote.strip()))
        text = "\n\n".join(quotes)
        return SourceView(text, [(0, len(text))] if text else [])
    text, offsets = join_section([row[1] for row in section])
    chunk_text, start = section[position][1], offsets[position]
    spans = []
    for c in citations:
        found = chunk_text.find(c.quote) if c.quote else -1
        if found >= 0:
            spans.append((start + found, start + found + len(c.quote)))
    return SourceView(text, sorted(set(spans)), dict(section[position][2]))


def readable_date(iso_day: str) -> str:
    """``2026-11-25`` → ``25. nov. 2026`` ('' for a missing or bad date)."""
    return readable_time(f"{iso_day}T12:00:00+00:00", with_time=False) if iso_day else ""


def grouped(citations: Iterable[Citation]) -> list[list[Citation]]:
    """Citations by the chunk they quote, in order of first number: one card per passage."""
    groups: dict[str, list[Citation]] = {}
    for c in citations:
        groups.setdefault(c.chunk_id, []).append(c)
    return list(groups.values())


def upload_download(settings: Settings, view: SourceView) -> tuple[Path, str] | None:
    """The stored file of an uploaded document's card (path, original name), else None."""
    from ui.uploads import stored_upload

    if view.metadata.get("kind") != "dokument":
        return None
    return stored_upload(settings, str(view.metadata.get("path", "")))


# --- rendering ------------------------------------------------------------------------------------------------
def _section_reader() -> Callable[[str], list[tuple[str, str, dict[str, Any]]]]:
    """``chunk_id -> its section`` from the shared assistant's index (nothing when the index cannot be read)."""
    from ui.services import get_assistant

    try:
        return get_assistant().retriever.index.section
    except Exception:  # a card must never break the chat
        log.exception("could not open the index for the source cards")
        return lambda _chunk_id: []


def _file_bytes(path: Path) -> Callable[[], bytes]:
    def read() -> bytes:
        try:
            return path.read_bytes()
        except OSError:
            return b""
    return read


def render_sources(citations: list[Citation], message_id: int | str | None = None) -> None:
    """Numbered source cards (anchor targets of the answer's ``[n]``), one per cited passage."""
    if not citations:
        return
    from ui.services import app_settings

    settings = app_settings()
    section_of = _section_reader()
    st.caption("Kilder")
    for group in grouped(citations):
        first = group[0]
        if message_id is not None:
            anchors = "".join(f'<div id="{render.anchor_id(message_id, c.n)}"></div>' for c in group)
            st.markdown(anchors, unsafe_allow_html=True)
        view = source_view(group, section_of(first.chunk_id))
        with st.expander(render.card_label(first, [c.n for c in group[1:]]), icon=":material/menu_book:"):
            st.markdown(render.section_markdown(view.text, view.spans), unsafe_allow_html=True)
            if not view.whole_section:
                st.caption("Afsnittet er ændret, siden svaret blev givet; her er kun det citerede uddrag.")
            st.caption(render.card_caption(first, readable_date(str(view.metadata.get("date", "")))))
            stored = upload_download(settings, view)
            if stored is not None:
                path, name = stored
                st.download_button(
                    f"Hent dokumentet ({render.escape(name)})", data=_file_bytes(path), file_name=name,
                    mime=mimetypes.guess_type(name)[0] or "application/octet-stream", on_click="ignore",
                    icon=":material/download:", key=f"hent_{message_id}_{first.n}",
                )
