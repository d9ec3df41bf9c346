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
WORD_JOINER = "\u2060"
#: Where remark-gfm would start an autolink: a URL with a dotted host, ``www.``, or an e-mail address.
_LINKABLE = re.compile(r"(?i)\b(?=https?://[-\w.]*\.[-\w]|www\.[-\w])|(?<![-.\w+])(?=[-.\w+]+@[-\w]+\.[-\w])")

KIND_LABELS: dict[str, str] = {
    "guide": "Guide",
    "about": "Guide",
    "tool": "Værktøj",
    "case": "Eksempel",
    "template": "Skabelon",
    "dokument": "Jeres dokument",
}


def defuse_autolinks(text: str) -> str:
    """``text`` with an invisible WORD JOINER before every bare URL and e-mail address.

    Streamlit's markdown (remark-gfm) links ``https://x.dk``, ``www.x.dk`` and ``a@x.dk`` in the *parsed* text, so
    backslash escapes cannot stop it; it only links when the character before is a space, punctuation or the
    start, which the joiner is not. The text still reads (and copies) the same."""
    return _LINKABLE.sub(WORD_JOINER, text)


def escape(text: str) -> str:
    """``text`` as literal markdown: every character shows as typed, nothing becomes markup or a link."""
    return _ALL.sub(r"\\\1", defuse_autolinks(text))


def neutralize(markdown: str) -> str:
    """Our markdown with untrusted values inside: structure kept, no images, links, HTML, math or code."""
    out = _ACTIVE.sub(r"\\\1", defuse_autolinks(markdown))
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
    return section_markdown(text.strip(), ())


MARK_OPEN, MARK_CLOSE = "<mark>", "</mark>"


def section_markdown(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """``text`` as an escaped block quote with the character ranges ``spans`` wrapped in ``<mark>``.

    Every character of ``text`` is escaped (:func:`escape`); the only HTML is our own ``<mark>`` tags, opened
    and closed on the same line so no tag spans a block. List items stay list items.
    """
    ranges = sorted((max(0, a), b) for a, b in spans if b > a)
    lines: list[str] = []
    offset, in_list = 0, False
    for line in text.splitlines(keepends=True):
        start, content = offset, line.rstrip("\r\n")
        offset += len(line)
        marker = LIST_MARKER.match(content)
        skip = marker.end() if marker else len(content) - len(content.lstrip())
        if not content.strip():
            lines.append(">")
        elif marker:
            lines.append("> - " + _marked(content, start, skip, ranges))
        else:
            if in_list:  # a line after a list starts a paragraph (not a lazy continuation of the last item)
                lines.append(">")
            lines.append("> " + _marked(content, start, skip, ranges))
        in_list = bool(marker) or (in_list and not content.strip())
    return "\n".join(lines)


def _marked(line: str, line_start: int, skip: int, ranges: list[tuple[int, int]]) -> str:
    """One line from ``skip`` on, escaped, with the parts inside ``ranges`` (text offsets) marked."""
    out, pos = [], skip
    for a, b in ranges:
        a, b = max(a - line_start, pos), min(b - line_start, len(line))
        if a >= b:
            continue
        out += [escape(line[pos:a]), MARK_OPEN, escape(line[a:b]), MARK_CLOSE]
        pos = b
    out.append(escape(line[pos:]))
    return "".join(out)


def card_label(c: Citation, also: Iterable[int] = ()) -> str:
    """Expander label: ``[n] Title – section · Kind`` (escaped); ``also``: further numbers citing the same card."""
    section = c.section.split(" > ")[-1] if c.section else ""
    label = c.title + (f" – {section}" if section and section != c.title else "")
    numbers = " ".join(f"[{n}]" for n in (c.n, *also))
    return f"{numbers} {escape(label)} · {kind_label(c.kind)}"


def card_caption(c: Citation, date: str = "") -> str:
    """The provenance line: kind, heading path, the document's date, what the quote is, and the original page
    (own URL only)."""
    path = escape(c.section or c.title)
    url = safe_url(c.source_url)
    link = f" · [Den oprindelige side]({url})" if url else ""
    dated = f" · Dato: {escape(date)}" if date else ""
    return f"**{kind_label(c.kind)}** · Afsnit: {path}{dated}  \n*{source_label(c.kind)}*{link}"

