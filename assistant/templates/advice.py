"""Guide advice for one field: the best passage for the field's ``guide_query``, quoted and cited."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from assistant.models import Citation, RetrievedChunk

log = logging.getLogger(__name__)

MAX_QUOTE = 320
SKIP_KINDS = {"template"}  # our own template texts are not "the guide's" advice


@dataclass
class Advice:
    """A cited hint shown with a question: ``text`` contains ``[n]`` markers matching ``citations``."""

    text: str
    citations: list[Citation] = field(default_factory=list)


class AdviceSource(Protocol):
    """Anything that can find the guide's advice for a Danish query."""

    def advice(self, query: str) -> Advice | None: ...


def quote_from(text: str, limit: int = MAX_QUOTE) -> str:
    """The first whole sentences of ``text`` (an exact substring) up to ``limit`` characters."""
    text = text.strip()
    ends = [m.end() for m in re.finditer(r"[.!?](?=\s|$)", text)]
    best = ""
    for end in ends:
        if end > limit:
            break
        best = text[:end]
    if not best:
        cut = text[:limit]
        best = cut[: cut.rfind(" ")] if len(text) > limit and " " in cut else cut
    return best.strip()


def citation_for(chunk: RetrievedChunk, n: int, quote: str) -> Citation:
    meta = chunk.metadata
    return Citation(
        n=n, doc_id=str(meta.get("doc_id", "")), title=str(meta.get("title", "")),
        section=str(meta.get("section", "")), source_url=str(meta.get("source_url", "")),
        quote=quote, chunk_id=chunk.chunk_id,
    )


class RetrieverAdvice:
    """Advice from a search function ``(query, k) -> chunks`` (e.g. ``Retriever.search``)."""

    def __init__(self, search: Callable[[str, int], Sequence[RetrievedChunk]], *, k: int = 5) -> None:
        self.search = search
        self.k = k

    def advice(self, query: str) -> Advice | None:
        chunks = list(self.search(query, self.k))
        preferred = [c for c in chunks if c.metadata.get("kind") not in SKIP_KINDS] or chunks
        for chunk in preferred:
            quote = quote_from(chunk.text)
            if len(quote) >= 20:
                return Advice(f"Guiden anbefaler: «{quote}» [1]", [citation_for(chunk, 1, quote)])
        return None


class AnswerAdvice:
    """Advice from the QA façade's ``ask`` (an ``Answer`` with its own ``[n]`` citations)."""

    def __init__(self, ask: Callable[[str], Any]) -> None:
        self.ask = ask

    def advice(self, query: str) -> Advice | None:
        answer = self.ask(query)
        if getattr(answer, "refused", False) or not getattr(answer, "citations", None):
            return None
        return Advice(f"Guiden anbefaler: {answer.text}", list(answer.citations))


def advice_source(assistant: Any) -> AdviceSource | None:
    """Adapt the QA core (``Assistant``), a ``Retriever`` or an ``AdviceSource`` to an ``AdviceSource``."""
    if assistant is None:
        return None
    if callable(getattr(assistant, "advice", None)):
        return assistant
    retriever = getattr(assistant, "retriever", None)
    if retriever is not None and callable(getattr(retriever, "search", None)):
        return RetrieverAdvice(lambda q, k: retriever.search(q, k=k))
    if callable(getattr(assistant, "search", None)):
        return RetrieverAdvice(lambda q, k: assistant.search(q, k=k))
    if callable(getattr(assistant, "ask", None)):
        return AnswerAdvice(lambda q: assistant.ask(q))
    return None


def safe_advice(source: AdviceSource | None, query: str | None) -> Advice | None:
    """``source.advice(query)``, or None when there is no source/query or the lookup fails."""
    if source is None or not query:
        return None
    try:
        return source.advice(query)
    except Exception:  # advice is a bonus; the interview must go on
        log.exception("guide advice failed for %r", query)
        return None
