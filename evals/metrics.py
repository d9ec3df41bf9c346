"""Metric functions of the evals (pure: no index, no model). Definitions are in ``evals/README.md``.

Retrieval is judged at document level: a retrieved chunk is relevant when its ``doc_id`` is one of the
question's relevant documents. Answers are judged with the Danish tokenizer of the BM25 index
(lower-cased, stop words removed, Snowball-stemmed), so "aftalen"/"aftaler"/"aftale" match each other.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from assistant.lexical import tokenize

# A sentence counts as supported when this share of its content tokens occurs in one cited passage.
FAITHFULNESS_THRESHOLD = 0.6
# Sentences with fewer content tokens (headings, "Læs mere i »…«") are not judged.
MIN_SENTENCE_TOKENS = 3
# Fixed framing that the assistant puts around its quotes; it states no fact and is not judged.
FRAMING = re.compile(
    r"^(kort fortalt siger guiden|guiden peger især på dette|læs mere i|det nærmeste, guiden siger"
    r"|guiden svarer ikke direkte på spørgsmålet|guiden nævner også)",
    re.IGNORECASE,
)
_MARKER = re.compile(r"\[(\d+)\]")
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])[\"”»)]?\s+(?=[\"“«(]?[A-ZÆØÅ0-9])")
_LABEL = re.compile(r"^\*\*[^*\n]+\*\*:?\s*")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+")
ALTERNATIVE_SEPARATOR = "|"


class CitationLike(Protocol):
    """What the metrics read from a citation (``assistant.models.Citation`` fits)."""

    n: int
    doc_id: str
    quote: str


# --- retrieval -----------------------------------------------------------------------------------------
def first_relevant_rank(doc_ids: Sequence[str], relevant: Collection[str]) -> int | None:
    """1-based rank of the first retrieved chunk whose doc_id is relevant, or None."""
    return next((rank for rank, doc in enumerate(doc_ids, start=1) if doc in relevant), None)


def hit_at(doc_ids: Sequence[str], relevant: Collection[str], k: int) -> float:
    """1.0 when a relevant chunk is among the first ``k`` retrieved chunks."""
    rank = first_relevant_rank(doc_ids, relevant)
    return 1.0 if rank is not None and rank <= k else 0.0


def reciprocal_rank(doc_ids: Sequence[str], relevant: Collection[str], k: int = 10) -> float:
    """1/rank of the first relevant chunk within the first ``k`` chunks (0 when none)."""
    rank = first_relevant_rank(doc_ids[:k], relevant)
    return 1.0 / rank if rank else 0.0


def distinct(doc_ids: Iterable[str]) -> list[str]:
    """Doc ids in order of first appearance (several chunks of one document count once)."""
    seen: list[str] = []
    for doc in doc_ids:
        if doc not in seen:
            seen.append(doc)
    return seen


def ndcg_at(doc_ids: Sequence[str], relevant: Collection[str], k: int = 10) -> float:
    """Binary nDCG@k over the *distinct* documents of the ranking (chunks collapsed to their document)."""
    ranking = distinct(doc_ids)[:k]
    dcg = sum(1.0 / math.log2(i + 2) for i, doc in enumerate(ranking) if doc in relevant)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(set(relevant)), k)))
    return dcg / ideal if ideal else 0.0


# --- key facts ---------------------------------------------------------------------------------------------
def strip_markers(text: str) -> str:
    """Answer text without citation markers ``[n]``."""
    return _MARKER.sub("", text)


def fact_alternatives(fact: str) -> list[str]:
    """A key fact may list synonyms: ``"halvdelen | 50 %"``."""
    return [alt.strip() for alt in fact.split(ALTERNATIVE_SEPARATOR) if alt.strip()]


def fact_found(fact: str, text: str) -> bool:
    """True when all stemmed content tokens of one alternative of ``fact`` occur in ``text``.

    An alternative made only of stop words falls back to a case-insensitive substring test.
    """
    tokens = set(tokenize(strip_markers(text)))
    for alt in fact_alternatives(fact):
        wanted = tokenize(alt)
        if wanted and set(wanted) <= tokens:
            return True
        if not wanted and alt.casefold() in text.casefold():
            return True
    return False


def key_fact_recall(text: str, facts: Sequence[str]) -> float:
    """Share of ``facts`` found in ``text`` (1.0 when there are no facts)."""
    if not facts:
        return 1.0
    return sum(fact_found(f, text) for f in facts) / len(facts)


# --- citations ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CitationJudgement:
    """Why one citation supports (or does not support) the answer to a gold question."""

    relevant_doc: bool
    contains_fact: bool

    @property
    def supporting(self) -> bool:
        return self.relevant_doc or self.contains_fact


def judge_citation(citation: CitationLike, relevant: Collection[str], facts: Sequence[str]) -> CitationJudgement:
    """A citation supports the answer when it is from a relevant document or its quote holds a key fact."""
    return CitationJudgement(
        relevant_doc=citation.doc_id in relevant,
        contains_fact=any(fact_found(f, citation.quote) for f in facts),
    )


def citation_precision(judgements: Sequence[CitationJudgement]) -> float | None:
    """Share of citations that support the answer (None when nothing was cited)."""
    if not judgements:
        return None
    return sum(j.supporting for j in judgements) / len(judgements)


# --- faithfulness -----------------------------------------------------------------------------------------
def answer_sentences(text: str) -> list[str]:
    """The sentences of an answer (list markers and section labels "**heading**" removed), citation markers
    kept. A label is the cited section's own heading (its ``section`` metadata), not a claim."""
    sentences: list[str] = []
    for line in text.splitlines():
        body = _LABEL.sub("", _BULLET.sub("", line)).strip()
        if body:
            sentences.extend(s.strip() for s in _SENTENCE_SPLIT.split(body) if s.strip())
    return sentences


def is_judged(sentence: str) -> bool:
    """Framing, intros ending in ':' and very short sentences are not judged."""
    plain = strip_markers(sentence).strip()
    if FRAMING.match(plain) or plain.endswith(":"):
        return False
    return len(tokenize(plain)) >= MIN_SENTENCE_TOKENS


def support(sentence: str, passage: str) -> float:
    """Share of the sentence's content tokens (stemmed, stop words removed) that occur in ``passage``."""
    words = set(tokenize(strip_markers(sentence)))
    if not words:
        return 1.0
    return len(words & set(tokenize(passage))) / len(words)


def sentence_supported(sentence: str, citations: Sequence[CitationLike],
                       threshold: float = FAITHFULNESS_THRESHOLD) -> bool:
    """Supported by one of the passages it cites (``[n]``), or, without markers, by any cited passage."""
    numbers = {int(n) for n in _MARKER.findall(sentence)}
    passages = [c.quote for c in citations if not numbers or c.n in numbers]
    return any(support(sentence, p) >= threshold for p in passages)


@dataclass(frozen=True)
class Faithfulness:
    supported: int
    judged: int

    @property
    def rate(self) -> float | None:
        return self.supported / self.judged if self.judged else None

    @property
    def faithful(self) -> bool:
        return self.supported == self.judged


def faithfulness(text: str, citations: Sequence[CitationLike],
                 threshold: float = FAITHFULNESS_THRESHOLD) -> Faithfulness:
    """How many judged sentences of ``text`` are supported by a cited passage."""
    judged = [s for s in answer_sentences(text) if is_judged(s)]
    return Faithfulness(sum(sentence_supported(s, citations, threshold) for s in judged), len(judged))


# --- refusal ------------------------------------------------------------------------------------------------
def refusal_accuracy(in_scope_refused: Sequence[bool], out_of_scope_refused: Sequence[bool]) -> dict[str, float]:
    """Accuracy over both sets: in-scope answered plus out-of-scope refused, and the two rates alone."""
    answered = sum(not r for r in in_scope_refused)
    refused = sum(bool(r) for r in out_of_scope_refused)
    total = len(in_scope_refused) + len(out_of_scope_refused)
    return {
        "accuracy": (answered + refused) / total if total else 0.0,
        "in_scope_answered": answered / len(in_scope_refused) if in_scope_refused else 0.0,
        "out_of_scope_refused": refused / len(out_of_scope_refused) if out_of_scope_refused else 0.0,
    }


# --- templates ---------------------------------------------------------------------------------------------
def normalise_value(value: object) -> str:
    """A template value as lower-case text (lists joined, whitespace collapsed)."""
    if isinstance(value, (list, tuple)):
        value = " ; ".join(str(v) for v in value)
    return " ".join(str(value or "").casefold().split())


def field_correct(actual: object, expected: str | Sequence[str]) -> bool:
    """Text: the filled value contains the expected text (case- and whitespace-insensitive).
    List: every expected item equals one item of the filled list (normalised)."""
    if isinstance(expected, str):
        want = normalise_value(expected)
        return bool(want) and want in normalise_value(actual)
    items = {normalise_value(a) for a in actual} if isinstance(actual, (list, tuple)) else set()
    return bool(expected) and all(normalise_value(e) in items for e in expected)


def template_fill_accuracy(results: Sequence[tuple[object, str | Sequence[str]]]) -> float:
    """Share of ``(actual, expected)`` field pairs that are correct."""
    if not results:
        return 0.0
    return sum(field_correct(a, e) for a, e in results) / len(results)


# --- aggregation --------------------------------------------------------------------------------------------
def mean(values: Iterable[float | None]) -> float | None:
    """Mean of the values that are not None (None when there are none)."""
    kept = [v for v in values if v is not None]
    return statistics.fmean(kept) if kept else None


def percentile(values: Sequence[float], p: float) -> float:
    """Linear-interpolated percentile (``p`` in 0..100)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    pos = (len(ordered) - 1) * p / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)
