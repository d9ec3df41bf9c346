"""Extractive, grounded Danish answers (no LLM): the best sentences of the retrieved passages, each cited.

Passages are split into *units*: sentences, list items, and lists introduced by a lead-in sentence ending in
":" whose items continue it ("… bør fastlægge:" + "- opgavefordelingen …"), which are kept whole because
the items alone are fragments. Units are scored by cosine similarity to the question (the already-loaded
embedding model) plus lexical overlap; near-duplicates are dropped, and the chosen units keep the order of
their passages. Every quote is an exact substring of the stored chunk text (units are character spans).
"""

from __future__ import annotations

import itertools
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from assistant.lexical import tokenize
from assistant.models import Citation, RetrievedChunk
from assistant.prompts import looks_like_injection
from assistant.retrieval import Retriever

_LIST_MARKER = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"”»)]?\s+(?=[\"“«(]?[A-ZÆØÅ0-9])")
_QUESTION_END = re.compile(r"\?[\"”»«]*\s*(?:\([^()]*\))?[\"”».)]*$")  # "…?" or "…? (værktøjet …)"
_MIN_CHARS = 25
_MAX_CHARS = 450
_MAX_BLOCK_CHARS = 700
LEXICAL_WEIGHT = 0.06
RANK_WEIGHT = 0.08
META_PENALTY = 0.03
LIST_BONUS = 0.03
# Sentences that describe where something is written (a page, a chapter, a PDF, a tool) rather than what it says.
_META = re.compile(
    r"bygpartnerskaber\.dk|\bsom pdf\b|\bpdf-|\b(?:siden|kapitel|kapitlet|guidens kapitel) [\"»“0-9]|\bkapitel \d"
    r"|er et værktøj i|er beskrevet i|\bbeskriver (?:to|tre|fire|en række)\b|har et afsnit",
    re.IGNORECASE,
)
SCORE_MARGIN = 0.035
DUPLICATE_JACCARD = 0.6
MIN_SENTENCES = 2


@dataclass(frozen=True)
class Span:
    """One unit of a chunk: ``text[start:end]``; ``kind`` is "sentence", "item" or "list"."""

    start: int
    end: int
    kind: str = "sentence"

    @property
    def is_item(self) -> bool:
        return self.kind == "item"


@dataclass(frozen=True)
class _Line:
    spans: list[Span]
    is_item: bool
    continues: bool  # a list item starting in lower case: it continues a lead-in sentence


def _lines(text: str) -> list[_Line]:
    """Sentences/items per non-empty line (markers, headings, tables and code fences left out)."""
    lines: list[_Line] = []
    offset = 0
    for line in text.splitlines(keepends=True):
        line_start, offset = offset, offset + len(line)
        body = line.rstrip()
        if not body.strip() or body.lstrip().startswith(("#", "|", "```")):
            continue
        marker = _LIST_MARKER.match(body)
        pos = marker.end() if marker else len(body) - len(body.lstrip())
        cuts = [pos] + [m.end() for m in _SENTENCE_END.finditer(body, pos)] + [len(body)]
        spans = []
        for a, b in itertools.pairwise(cuts):
            piece = body[a:b]
            lead = len(piece) - len(piece.lstrip())
            if piece.strip():
                start = line_start + a + lead
                spans.append(Span(start, start + len(piece.strip()), "item" if marker else "sentence"))
        if spans:
            lines.append(_Line(spans, marker is not None, marker is not None and body[pos:pos + 1].islower()))
    return lines


def split_sentences(text: str) -> list[Span]:
    """The units of a passage as exact character spans, in reading order."""
    lines = _lines(text)
    spans: list[Span] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        j = i + 1
        while j < len(lines) and lines[j].continues:
            j += 1
        lead = line.spans[-1]
        if j > i + 1 and text[lead.end - 1] == ":":  # lead-in + continuing items = one unit
            spans.extend(line.spans[:-1])
            spans.append(Span(lead.start, lines[j - 1].spans[-1].end, "list"))
            i = j
            continue
        spans.extend(line.spans)
        i += 1
    return spans


def _usable(text: str, span: Span) -> bool:
    unit = text[span.start:span.end]
    limit = _MAX_BLOCK_CHARS if span.kind == "list" else _MAX_CHARS
    return (
        _MIN_CHARS <= len(unit) <= limit
        and not unit.endswith(":")
        and not (span.is_item and unit[:1].islower())  # a fragment of a list whose lead-in is elsewhere
        and not looks_like_injection(unit)
    )


@dataclass
class _Candidate:
    rank: int  # position of the chunk in the retrieval result
    chunk: RetrievedChunk
    span: Span
    text: str
    stems: frozenset[str]
    score: float = 0.0


class ExtractiveAnswerer:
    """Builds a short cited answer from retrieved chunks, reusing the retriever's embedding model."""

    def __init__(self, retriever: Retriever, max_sentences: int = 4, cache_size: int = 4000) -> None:
        self.retriever = retriever
        self.max_sentences = max_sentences
        self._cache: OrderedDict[tuple[str, int, int], np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def _vectors(self, candidates: Sequence[_Candidate]) -> np.ndarray:
        keys = [(c.chunk.chunk_id, c.span.start, c.span.end) for c in candidates]
        with self._lock:
            missing = [i for i, k in enumerate(keys) if k not in self._cache]
        if missing:
            fresh = self.retriever.embed_passages([candidates[i].text for i in missing])
            with self._lock:
                for i, vec in zip(missing, fresh, strict=True):
                    self._cache[keys[i]] = vec
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        with self._lock:
            return np.stack([self._cache[k] for k in keys])

    def select(self, query: str, chunks: Sequence[RetrievedChunk]) -> list[_Candidate]:
        """The best, non-redundant units for ``query``, in reading order."""
        candidates = [
            _Candidate(rank, chunk, span, chunk.text[span.start:span.end],
                       frozenset(tokenize(chunk.text[span.start:span.end])))
            for rank, chunk in enumerate(chunks)
            for span in split_sentences(chunk.text)
            if _usable(chunk.text, span)
        ]
        if not _asks_for_questions(query):  # the tools list many questions; they rarely answer anything
            candidates = [c for c in candidates if not _QUESTION_END.search(c.text)]
        if not candidates:
            return []
        qvec = self.retriever.embed_query(query)
        cosines = self._vectors(candidates) @ qvec
        qstems = set(tokenize(query))
        for cand, cos in zip(candidates, cosines, strict=True):
            overlap = len(qstems & cand.stems) / len(qstems) if qstems else 0.0
            cand.score = (float(cos) + LEXICAL_WEIGHT * overlap + RANK_WEIGHT / (1 + cand.rank)
                          - META_PENALTY * bool(_META.search(cand.text)) + LIST_BONUS * (cand.span.kind == "list"))
        ranked = sorted(candidates, key=lambda c: -c.score)
        best = ranked[0].score
        chosen: list[_Candidate] = []
        limit = self.max_sentences + (1 if ranked[0].span.is_item else 0)
        for cand in ranked:
            margin = SCORE_MARGIN if len(chosen) >= MIN_SENTENCES else 2 * SCORE_MARGIN
            if len(chosen) >= limit or cand.score < best - margin:
                break
            if any(_jaccard(cand.stems, c.stems) >= DUPLICATE_JACCARD for c in chosen):
                continue
            chosen.append(cand)
        return sorted(chosen, key=lambda c: (c.rank, c.span.start))

    def answer(self, query: str, chunks: Sequence[RetrievedChunk]) -> tuple[str, list[Citation]]:
        """Answer text with ``[n]`` after every unit, and the matching citations."""
        chosen = self.select(query, chunks)
        if not chosen:
            return "", []
        groups = _quote_groups(chosen)
        citations = [citation_for(n, group[0].chunk, [c.span for c in group])
                     for n, group in enumerate(groups, start=1)]
        numbers = {id(c): n for n, group in enumerate(groups, start=1) for c in group}
        lines = [_cite(_display(c), numbers[id(c)]) for c in chosen]
        if len(lines) <= 2 and all(c.span.kind == "sentence" for c in chosen):
            text = "Kort fortalt siger guiden:\n\n" + " ".join(lines)
        else:
            text = "Guiden peger især på dette:\n\n" + "\n".join(f"- {line}" for line in lines)
        main = citations[0]
        text += f"\n\nLæs mere i »{main.title}« [{main.n}]."
        return text, citations


def _quote_groups(chosen: Sequence[_Candidate]) -> list[list[_Candidate]]:
    """Chosen units grouped into citations: consecutive units of one chunk share a citation while the stretch
    covering them is a clean quote, so every unit cited with ``[n]`` lies inside citation n's quote."""
    groups: list[list[_Candidate]] = []
    for cand in chosen:  # sorted by chunk rank, then position
        group = groups[-1] if groups else None
        same_chunk = group is not None and group[0].chunk.chunk_id == cand.chunk.chunk_id
        if group and same_chunk and _clean_cover(cand.chunk.text, [c.span for c in [*group, cand]]) is not None:
            group.append(cand)
        else:
            groups.append([cand])
    return groups


def _clean_cover(text: str, spans: Sequence[Span]) -> str | None:
    """The stretch of ``text`` covering ``spans`` when it is short and clean enough to quote, else None."""
    covering = text[min(s.start for s in spans):max(s.end for s in spans)]
    return covering if len(covering) <= _MAX_BLOCK_CHARS and not looks_like_injection(covering) else None


def _display(cand: _Candidate) -> str:
    """A unit as shown in the answer: a list becomes its lead-in with indented sub-items."""
    if cand.span.kind != "list":
        return cand.text
    lines = [line.strip() for line in cand.text.splitlines() if line.strip()]
    items = [_LIST_MARKER.sub("", line, count=1) for line in lines[1:]]
    return "\n".join([lines[0]] + [f"  - {item}" for item in items])


def citation_for(n: int, chunk: RetrievedChunk, spans: Sequence[Span] = ()) -> Citation:
    """A citation of ``chunk``; the quote is the stretch covering the used units when it is short and clean,
    else the first used unit (the whole passage when no unit is given)."""
    quote = chunk.text
    if spans:
        first = min(spans, key=lambda s: s.start)
        quote = _clean_cover(chunk.text, spans) or chunk.text[first.start:first.end]
    meta = chunk.metadata
    return Citation(
        n=n, doc_id=chunk.doc_id, title=str(meta.get("title", "")), section=str(meta.get("section", "")),
        source_url=str(meta.get("source_url", "")), quote=quote, chunk_id=chunk.chunk_id,
    )


def _cite(sentence: str, n: int) -> str:
    """Put ``[n]`` before the sentence's final punctuation: "… tid [1]."."""
    match = re.search(r"[.!?,;]+[\"”»)]?$", sentence)
    if match:
        end = sentence[match.start():].replace(",", ".").replace(";", ".")
        return f"{sentence[:match.start()]} [{n}]{end}"
    return f"{sentence} [{n}]."


def _asks_for_questions(query: str) -> bool:
    return "spørgsmål" in query.lower()


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0
