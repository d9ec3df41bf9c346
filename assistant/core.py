"""The ``Assistant`` façade: follow-up handling → retrieval → refusal gate → cited answer.

One instance is shared by all sessions (Streamlit ``cache_resource``); it keeps no per-conversation
state, so concurrent ``ask``/``stream`` calls are safe.

Without an LLM the answer is extractive (:mod:`assistant.extractive`). With an LLM its tokens are streamed
through the citation check; when the model cites no valid passage the extractive answer is used instead, and
when it says that the passages do not cover the question the answer is a refusal.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Generator, Iterator, Mapping, Sequence
from typing import Any

from assistant.conversation import contextualize, rewrite_with_llm
from assistant.coverage import MODEL_PATH, Coverage, CoverageSignals, load_model
from assistant.extractive import ExtractiveAnswerer, citation_for
from assistant.models import Answer, RetrievedChunk, Turn
from assistant.prompts import (
    EMPTY_QUESTION,
    INJECTION_REFUSAL,
    MAX_QUESTION_CHARS,
    PARTIAL_OPENING,
    looks_like_injection,
    not_covered_text,
    question_too_long_text,
    strip_injection,
)
from assistant.retrieval import Retrieval, Retriever, content_words, coverage
from assistant.settings import RetrievalMode, Settings

log = logging.getLogger(__name__)


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)


class Assistant:
    """Answers questions about the guide with numbered, exact citations."""

    def __init__(self, settings: Settings, retriever: Retriever, chat_model: Any = None) -> None:
        self.settings = settings
        self.retriever = retriever
        self.chat_model = chat_model
        self.extractor = ExtractiveAnswerer(retriever)
        self.coverage_model = load_model() if MODEL_PATH.exists() else None  # None only before `calibrate`

    @classmethod
    def from_settings(cls, settings: Settings) -> Assistant:
        """Load the index of ``settings`` and the configured chat model (none by default)."""
        from assistant.llm import get_chat_model

        return cls(settings, Retriever.from_settings(settings), get_chat_model(settings))

    # --- public API --------------------------------------------------------------------------------
    def ask(
        self,
        question: str,
        history: Sequence[Turn] = (),
        *,
        mode: RetrievalMode | None = None,
        k: int | None = None,
        filters: Mapping[str, Any] | None = None,
    ) -> Answer:
        """The finished answer (``timings_ms``: retrieval, answer, total, and rewrite/first_token with an LLM)."""
        return self.stream(question, history, mode=mode, k=k, filters=filters).finish()

    def stream(
        self,
        question: str,
        history: Sequence[Turn] = (),
        *,
        mode: RetrievalMode | None = None,
        k: int | None = None,
        filters: Mapping[str, Any] | None = None,
    ) -> AnswerStream:
        """The answer as an :class:`AnswerStream`: iterate its text pieces, then read ``.answer``.

        With an LLM the pieces are its tokens after the citation check; the final text is authoritative
        (whitespace tidied, or the extractive answer when the model cited nothing valid).
        """
        return AnswerStream(self._run(question, history, mode=mode, k=k, filters=filters))

    def _run(
        self,
        question: str,
        history: Sequence[Turn],
        *,
        mode: RetrievalMode | None,
        k: int | None,
        filters: Mapping[str, Any] | None,
    ) -> Generator[str, None, Answer]:
        """contextualize → retrieve → coverage decision → compose → cite; yields text, returns the Answer."""
        start = time.perf_counter()
        timings: dict[str, float] = {}
        question = question.strip()
        if len(question) > MAX_QUESTION_CHARS:  # bounded work per question
            return self._final(Answer(text=question_too_long_text(len(question)), refused=True), start, timings)
        if looks_like_injection(question):  # answer only the part that is a real question
            question = strip_injection(question)
            if not content_words(question):
                return self._final(Answer(text=INJECTION_REFUSAL, refused=True), start, timings)
        if not question:
            return self._final(Answer(text=EMPTY_QUESTION, refused=True), start, timings)

        t = time.perf_counter()
        if self.chat_model is not None and history:
            query = rewrite_with_llm(self.chat_model, question, history)
            timings["rewrite"] = _ms(t)
        else:
            query = contextualize(question, history)
        t = time.perf_counter()
        retrieval = self.retriever.retrieve(query, k=k, mode=mode, filters=filters)
        chunks = retrieval.chunks
        # Topic words of the user's own words when it has any (a follow-up borrows the earlier topic).
        own_words = question if content_words(question) else query
        decision: Coverage = (self.coverage_model.decide(self._signals(query, own_words, retrieval))
                              if self.coverage_model else "answered")
        timings["retrieval"] = _ms(t)

        t = time.perf_counter()
        if not chunks or decision == "refused":
            answer = self._refusal(chunks)
        elif decision == "partial":
            answer = self._partial(query, chunks, retrieval.dense_extra, lambda part: self.retriever.search(
                part, k=k, mode=mode, filters=filters))
            yield from _pieces(answer.text)
        elif self.chat_model is not None:
            answer = yield from self._llm_answer(query, chunks, timings, retrieval.dense_extra)
        else:
            answer = self._extractive(query, chunks, retrieval.dense_extra, lambda part: self.retriever.search(
                part, k=k, mode=mode, filters=filters))
            yield from _pieces(answer.text)
        timings["answer"] = _ms(t)
        return self._final(answer, start, timings, query)

    def coverage_signals(self, question: str) -> CoverageSignals:
        """The coverage signals of a stand-alone question (used by the calibration)."""
        return self._signals(question, question, self.retriever.retrieve(question))

    # --- internals ---------------------------------------------------------------------------------
    def _signals(self, query: str, own_words: str, retrieval: Retrieval) -> CoverageSignals:
        """Coverage signals from the retrieval just done (no extra search: its dense, BM25 and heading scores)."""
        qvec = self.retriever.embed_query(query)  # cached: the retrieval embedded the same query
        heading_match = max(self.extractor.heading_cosines(qvec, retrieval.chunks), default=0.0)
        return CoverageSignals.from_retrieval(retrieval.dense, retrieval.lexical, heading_match,
                                              coverage(own_words, self.retriever.vocabulary))

    def _refusal(self, chunks: Sequence[RetrievedChunk]) -> Answer:
        suggestions = self.retriever.closest_titles(chunks)
        return Answer(text=not_covered_text(suggestions), refused=True, suggestions=suggestions,
                      coverage="refused")

    def _partial(self, query: str, chunks: Sequence[RetrievedChunk], extra: Sequence[RetrievedChunk] = (),
                 search=None) -> Answer:
        """The composed answer under an opening that says the guide does not answer the question directly:
        the classifier cannot always tell a partial question from an answered one, so the content stays whole
        (full gold set: key facts 73 -> 75 % with the sections over the lead alone, 82 -> 83 % with the
        complementary points too)."""
        text, citations = self.extractor.answer(query, chunks, extra=extra, search=search, opening=PARTIAL_OPENING)
        return Answer(text=text, citations=citations, coverage="partial")

    def _extractive(self, query: str, chunks: Sequence[RetrievedChunk], extra: Sequence[RetrievedChunk] = (),
                    search=None) -> Answer:
        if self.settings.answer_style == "passage":  # the top passage verbatim (the evals' baseline)
            text, citations = self.extractor.passage_answer(chunks[0])
            return Answer(text=text, citations=citations)
        text, citations = self.extractor.answer(query, chunks, extra=extra, search=search)
        if not text:  # no usable sentence: point to the best passage as a whole
            citations = [citation_for(1, chunks[0])]
            text = f"Det nærmeste, guiden siger, står i »{citations[0].title}« [1]."
        return Answer(text=text, citations=citations)

    def _llm_answer(self, query: str, chunks: Sequence[RetrievedChunk], timings: dict[str, float],
                    extra: Sequence[RetrievedChunk] = ()) -> Generator[str, None, Answer]:
        from assistant.llm import CitationFilter, check_citations, stream_answer

        raw: list[str] = []
        checker = CitationFilter(len(chunks))
        t = time.perf_counter()
        for token in stream_answer(self.chat_model, query, chunks):
            if not raw:
                timings["first_token"] = _ms(t)
            raw.append(token)
            if piece := checker.feed(token):
                yield piece
        if rest := checker.flush():
            yield rest
        checked = check_citations("".join(raw), chunks)
        if checked.invalid:
            log.warning("LLM cited passages that do not exist: %s (dropped)", checked.invalid)
        if checked.grounded:
            return Answer(text=checked.text, citations=checked.citations)
        if checked.says_not_covered:
            return self._refusal(chunks)
        log.warning("LLM answer cites no passage; using the extractive answer")
        answer = self._extractive(query, chunks, extra)
        yield "\n\n"
        yield from _pieces(answer.text)
        return answer

    def _final(self, answer: Answer, start: float, timings: dict[str, float], query: str | None = None) -> Answer:
        timings.setdefault("retrieval", 0.0)
        timings.setdefault("answer", 0.0)
        timings["total"] = _ms(start)
        return answer.model_copy(update={"timings_ms": timings, "retrieval_query": query})


class AnswerStream:
    """The text pieces of an answer as they are produced; ``.answer`` is the final :class:`Answer` once the
    pieces are consumed (``finish()`` consumes the rest and returns it)."""

    def __init__(self, run: Generator[str, None, Answer]) -> None:
        self._run = run
        self.answer: Answer | None = None

    def __iter__(self) -> Iterator[str]:
        self.answer = yield from self._run
        return self.answer

    def finish(self) -> Answer:
        for _ in self:
            pass
        assert self.answer is not None
        return self.answer


def _pieces(text: str) -> Iterator[str]:
    """A finished text in a few streamable pieces (one per line)."""
    yield from text.splitlines(keepends=True)


def citations_consistent(answer: Answer) -> bool:
    """Every ``[n]`` in the text has a citation and every citation is used."""
    used = {int(n) for n in re.findall(r"\[(\d+)\]", answer.text)}
    return used == {c.n for c in answer.citations}


__all__ = ["AnswerStream", "Assistant", "citations_consistent"]
