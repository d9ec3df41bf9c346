"""Untrusted text made inert for Streamlit markdown, and the markdown of answers and source cards.

Questions, passages (also from uploaded documents) and draft values are text written by someone else. Streamlit
markdown would fetch remote images (``![x](http://…)``), make links (``[x](…)``, bare ``https://…``), typeset
``$…$`` and colour ``:red[…]``; raw HTML is dropped but not shown. Two levels, both plain functions:

* :func:`escape` — the text is shown exactly as typed, nothing in it is markup (questions, quotes, titles);
* :func:`neutralize` — markdown written by our own code around untrusted values (answers, the draft preview)
  keeps its headings, lists and bold, but no image, link, HTML, math or directive survives.

The only links we add are a source's own ``source_url`` (http/https only, see :func:`safe_url`) and the
in-page anchors from an answer's ``[n]`` to its source card. Hand-written because Streamlit has no "text"
mode for markdown-capable elements and the rules are the CommonMark backslash escapes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlparse

from assistant.models import Citation
from assistant.prompts import source_label
from assistant.units import LIST_MARKER

# CommonMark lets any ASCII punctuation be backslash-escaped; these are the ones Streamlit gives a meaning.
_ALL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&])")
_ACTIVE = re.compile(r"([\\\[\]<>$`])")  # link/image brackets, HTML, math, code spans
_AUTOLINK = re.compile(r"(?i)\b(https?|ftp|mailto|www)(\\?)([:.])")
_MARKER = re.compile(r"\\\[(\d{1,3})\\\]")

KIND_LABELS: dict[str, str] = {
    "guide": "Guide",
    "about": "Guide",
    "tool": "Værktøj",
    "case": "Eksempel",
    "template": "Skabelon",
    "dokument": "Jeres dokument",
}


def escape(text: str) -> str:
    """``text`` as literal markdown: every character shows as typed, nothing becomes markup."""
    return _ALL.sub(r"\\\1", text)


def neutralize(markdown: str) -> str:
    """Our markdown with untrusted values inside: structure kept, no images, links, HTML, math or code."""
    out = _ACTIVE.sub(r"\\\1", markdown)
    return _AUTOLINK.sub(lambda m: f"{m.group(1)}\\{m.group(3)}", out)


def safe_url(url: str | None) -> str | None:
    """An http(s) URL with a host, else None (no ``javascript:``, ``data:`` or relative links)."""
    if not url:
        return None
    parsed = urlparse(url.strip())
    if parsed.scheme not in ("http", "https") or not parsed.netloc or any(c in url for c in " <>()[]\"'"):
        return None
    return url.strip()


def kind_label(kind: str) -> str:
    """The Danish kind of a source (Guide, Værktøj, Eksempel, Skabelon, Jeres dokument)."""
    return KIND_LABELS.get(kind, "Guide")


def anchor_id(message_id: int | str, n: int) -> str:
    """The in-page id of source card ``n`` of one answer."""
    return f"kilde-{message_id}-{n}"


def answer_markdown(text: str, citations: Iterable[Citation], message_id: int | str | None) -> str:
    """The answer, neutralized, with each cited ``[n]`` a link to its source card (other markers stay text)."""
    out = neutralize(text)
    cited = {c.n for c in citations}
    if message_id is None or not cited:
        return out

    def link(m: re.Match[str]) -> str:
        n = int(m.group(1))
        return f"[\\[{n}\\]](#{anchor_id(message_id, n)})" if n in cited else m.group(0)

    return _MARKER.sub(link, out)


def quote_markdown(text: str) -> str:
    """A passage as an escaped block quote; its list items stay list items (only the marker is markup)."""
    def line_md(line: str) -> str:
        if not line.strip():
            return ">"
        marker = LIST_MARKER.match(line)
        if marker:
            return f"> - {escape(line[marker.end():])}"
        return f"> {escape(line)}"

    return "\n".join(line_md(line) for line in text.strip().splitlines())


def card_label(c: Citation) -> str:
    """Expander label: ``[n] Title – section · Kind`` (escaped)."""
    section = c.section.split(" > ")[-1] if c.section else ""
    label = c.title + (f" – {section}" if section and section != c.title else "")
    return f"[{c.n}] {escape(label)} · {kind_label(c.kind)}"


def card_caption(c: Citation) -> str:
    """The provenance line: heading path, kind, what the quote is, and the original page (own URL only)."""
    path = escape(c.section or c.title)
    url = safe_url(c.source_url)
    link = f" · [Den oprindelige side]({url})" if url else ""
    return f"**{kind_label(c.kind)}** · Afsnit: {path}  \n*{source_label(c.kind)}*{link}"
