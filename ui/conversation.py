"""Plain-Python conversation wording the chat page shows: answer scope, titles, counts, timestamps.

Kept free of Streamlit so it is tested directly (``tests/test_ui_conversation.py``); the behaviour (asking,
storing, drafts) is :mod:`ui.conversation_service`.
"""

from __future__ import annotations

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


def sidebar_title(title: str, updated_at: str, *, has_draft: bool, width: int = 38) -> str:
    """The sidebar label: the (shortened) topic, its date, and a marker for a parked draft."""
    topic = " ".join(title.split()) or "(ny samtale)"
    topic = topic if len(topic) <= width else topic[: width - 1].rstrip() + "…"
    marker = "✎ " if has_draft else ""
    return f"{marker}{topic} · {readable_time(updated_at, with_time=False)}"
