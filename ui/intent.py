"""Recognise a request to start a template interview from free chat text (UI routing only)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

DEFAULT_TEMPLATES = ("samarbejdsaftale", "kommunikationsplan", "evalueringsplan")  # ids, when none are given

_REQUEST = re.compile(
    r"\b(lav|lave|laver|skriv|skrive|opret|oprette|udarbejd|udarbejde|start|starte|hjælp mig med|"
    r"jeg vil gerne have|kan du lave|kan du skrive)\b.*(udkast|skabelon|aftale|plan)",
    re.IGNORECASE,
)

_QUESTION = re.compile(r"^(hvordan|hvad|hvorfor|hvem|hvornår|hvilke|hvilken|hvilket|hvor)\b")


def detect_template_intent(text: str, available: Mapping[str, Sequence[str]] | Sequence[str] | None = None
                           ) -> str | None:
    """Return the template name when ``text`` asks to draft one, e.g. "Lav et udkast til en samarbejdsaftale".

    ``available``: template id -> the words that name it (the schema's ``request_words``), or just ids.
    Plain questions about a topic ("Hvad skal en samarbejdsaftale indeholde?") are not requests.
    """
    lowered = " ".join(text.lower().split())
    if not _REQUEST.search(lowered):
        return None
    if _QUESTION.match(lowered) and "udkast" not in lowered:
        return None  # "Hvordan laver man en samarbejdsaftale?" is a question for the guide
    words = available if isinstance(available, Mapping) else {n: () for n in (available or DEFAULT_TEMPLATES)}
    for name, names in words.items():
        if any(word.lower() in lowered for word in (name, *names)):
            return name
    return None


_IMPERATIVE = re.compile(r"^(?:lav|opret|start|skriv|udarbejd|hjælp mig med|kan du lave|kan du skrive)\b",
                         re.IGNORECASE)


def starts_request(text: str) -> bool:
    """True when the message opens with a request ("Lav …"), so it is not an answer that mentions a template."""
    return bool(_IMPERATIVE.match(" ".join(text.split())))
