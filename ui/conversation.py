"""Plain-Python conversation wording the chat page shows: answer scope, titles, counts, timestamps.

Kept free of Streamlit so it is tested directly (``tests/test_ui_conversation.py``); the behaviour (asking,
storing, drafts) is :mod:`ui.conversation_service`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

GUIDE_KINDS = ("about", "case", "guide", "template", "tool")  # everything that is not a local upload
SCOPES: Mapping[str, Mapping[str, Any] | None] = {
    "Guiden og jeres dokumenter": None,
    "Kun guiden": {"kind": list(GUIDE_KINDS)},
}
DEFAULT_SCOPE = "Guiden og jeres dokumenter"


def scope_filters(scope: str | None) -> dict[str, Any] | None:
    """Retrieval filters of the scope switch (an unknown scope answers from everything)."""
    filters = SCOPES.get(scope or DEFAULT_SCOPE)
    return dict(filters) if filters else None


def plural(count: int, singular: str, plural_form: str) -> str:
    """``1 vurdering``, ``2 vurderinger``, ``0 vurderinger``."""
    return f"{count} {singular if count == 1 else plural_form}"


MONTHS = ("jan.", "feb.", "mar.", "apr.", "maj", "jun.", "jul.", "aug.", "sep.", "okt.", "nov.", "dec.")
LOCAL_TZ = "Europe/Copenhagen"


def readable_time(iso: str, *, with_time: bool = True) -> str:
    """``2026-12-02T00:19:00+00:00`` → ``2. dec. 2026 kl. 01.19`` (Danish local time); '' for bad input."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    try:
        when = datetime.fromisoformat(iso).astimezone(ZoneInfo(LOCAL_TZ))
    except (TypeError, ValueError):
        return ""
    day = f"{when.day}. {MONTHS[when.month - 1]} {when.year}"
    return f"{day} kl. {when:%H.%M}" if with_time else day


TITLE_WIDTH = 60  # characters; longer topics are shortened at a word boundary
# Openings that carry no topic, dropped from the front of a title (lower case, matched word by word).
TITLE_OPENERS: tuple[str, ...] = (
    "hej", "hejsa", "hej igen", "goddag", "god morgen", "godmorgen", "kære assistent", "tak",
    "jeg har et spørgsmål", "et spørgsmål", "spørgsmål", "må jeg spørge", "sig mig",
    "jeg vil gerne vide", "vi vil gerne vide", "jeg vil gerne høre", "vi vil gerne høre",
    "jeg vil gerne spørge", "jeg vil gerne spørge om", "jeg vil gerne have hjælp til",
    "kan du fortælle mig", "kan du fortælle", "kan du forklare mig", "kan du forklare", "kan du hjælpe mig med",
    "fortæl mig", "forklar mig", "jeg vil gerne", "vi vil gerne", "jeg vil", "vi vil",
)
_OPENERS = sorted((tuple(o.split()) for o in TITLE_OPENERS), key=len, reverse=True)
_WORD = re.compile(r"[\w'-]+")


def shorten(text: str, width: int) -> str:
    """``text`` on one line; longer than ``width`` it ends at the last whole word that fits, then «…»."""
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    cut = text[: width - 1]
    if " " in cut and not text[width - 1].isspace():
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:-") + "…"


def topic_title(message: str, width: int = TITLE_WIDTH) -> str:
    """A conversation's title from its first question: the question's topic in the asker's own words.

    The mechanism, chosen because it holds for every message (answered, partial, refused, any corpus or upload):
    the first sentence that asks something (else the first sentence; :func:`assistant.units.split_units`), up to
    its question mark; openings without topic (greetings, «kan du fortælle mig», «vi vil gerne»:
    :data:`TITLE_OPENERS`) are dropped; capitalised and shortened at a word boundary. The heading of the first
    cited section was rejected: a leaf heading ("Formål og mål") loses its context, a refused question has none,
    and the user would not recognise their conversation under the guide's words. ``''`` for an empty message.
    """
    from assistant.units import split_units

    text = " ".join(message.split())
    sentences = [u.text(text) for u in split_units(text)] or [text]
    sentence = next((s for s in sentences if "?" in s), sentences[0])
    if "?" in sentence:
        sentence = sentence[: sentence.index("?") + 1]
    while True:
        words = [(m.group(0).lower(), m.end()) for m in _WORD.finditer(sentence)]
        opener = next((o for o in _OPENERS if tuple(w for w, _ in words[: len(o)]) == o and len(words) > len(o)),
                      None)
        if opener is None:
            break
        sentence = sentence[words[len(opener) - 1][1]:].lstrip(" ,.;:!-")
    sentence = sentence.strip()
    return shorten(sentence[:1].upper() + sentence[1:], width)


def sidebar_title(title: str, updated_at: str, *, has_draft: bool, width: int = TITLE_WIDTH,
                  separator: str = " · ") -> str:
    """The sidebar label: the topic (shortened at a word boundary), its date, and a marker for a parked draft.

    ``separator`` goes between topic and date (the page uses a Markdown line break: the date on its own line)."""
    topic = shorten(title, width) or "(ny samtale)"
    marker = "✎ " if has_draft else ""
    return f"{marker}{topic}{separator}{readable_time(updated_at, with_time=False)}"
