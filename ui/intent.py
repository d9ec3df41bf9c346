"""Recognise a request to start a template interview from free chat text (UI routing only)."""

from __future__ import annotations

import re
from collections.abc import Sequence

# template id -> words that identify it in a request (other templates: their id)
TEMPLATE_WORDS: dict[str, tuple[str, ...]] = {
    "samarbejdsaftale": ("samarbejdsaftale", "partnerskabsaftale", "aftaleudkast"),
    "kommunikationsplan": ("kommunikationsplan",),
    "evalueringsplan": ("evalueringsplan",),
}

_REQUEST = re.compile(
    r"\b(lav|lave|laver|skriv|skrive|opret|oprette|udarbejd|udarbejde|start|starte|hjælp mig med|"
    r"jeg vil gerne have|kan du lave|kan du skrive)\b.*(udkast|skabelon|aftale|plan)",
    re.IGNORECASE,
)

_QUESTION = re.compile(r"^(hvordan|hvad|hvorfor|hvem|hvornår|hvilke|hvilken|hvilket|hvor)\b")


def detect_template_intent(text: str, available: Sequence[str] | None = None) -> str | None:
    """Return the template name when ``text`` asks to draft one, e.g. "Lav et udkast til en samarbejdsaftale".

    Plain questions about a topic ("Hvad skal en samarbejdsaftale indeholde?") are not requests.
    """
    lowered = " ".join(text.lower().split())
    if not _REQUEST.search(lowered):
        return None
    if _QUESTION.match(lowered) and "udkast" not in lowered:
        return None  # "Hvordan laver man en samarbejdsaftale?" is a question for the guide
    for name in available if available is not None else TEMPLATE_WORDS:
        if any(word in lowered for word in TEMPLATE_WORDS.get(name, (name,))):
            return name
    return None
