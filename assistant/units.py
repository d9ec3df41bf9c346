"""The one Danish unit splitter of the project: a passage as exact character spans (*units*).

A unit is a sentence, a list item, or a *list*: a lead-in sentence ending in ":" together with every item
that follows it (a list is never cut). Units never start or end inside an abbreviation ("bl.a.", "kl.",
"nr." …) or an ordinal date ("9. januar"), and a piece too short to stand alone is joined to its neighbour,
so no unit is a fragment. A unit that refers back ("Hun beskriver …", "Derfor …", "Den første …") records
the unit it depends on in ``requires``; whoever shows the unit shows that one too.

Hand-written rather than a library (pysbd, punkt) because answers need exact spans over Markdown lines,
lead-in lists kept whole and back-references bound; the Danish word lists live in ``danish.yaml``.
The index stores the units' vectors (embedded with :func:`unit_embedding_text`), so this module must be
deterministic: changing it changes the stored units (the index fingerprint includes ``SPLITTER_VERSION``).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import yaml

SPLITTER_VERSION = "2"  # 2: heading paths stored as query vectors (assistant.index.units)
UnitKind = Literal["sentence", "item", "list"]

LIST_MARKER = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+")
# A candidate sentence end: . ! ? (optionally closed by a quote/bracket) then space, then an opening.
_CANDIDATE_END = re.compile(r"[.!?][\"”»)]*(?=\s+[\"“«(]?[A-ZÆØÅ0-9])")
_WORD = re.compile(r"\w+", re.UNICODE)
MIN_WORDS = 3  # a piece with fewer words is not a sentence on its own ("Ja.", "Fx:") and joins its neighbour


@dataclass(frozen=True)
class Unit:
    """``text[start:end]`` of a passage; ``requires`` is the index of the unit it refers back to."""

    start: int
    end: int
    kind: UnitKind = "sentence"
    requires: int | None = None

    def text(self, passage: str) -> str:
        return passage[self.start:self.end]


@dataclass(frozen=True)
class _DanishData:
    abbreviations: frozenset[str]
    closing: frozenset[str]
    months: frozenset[str]
    back_references: tuple[tuple[str, ...], ...]


@cache
def _data() -> _DanishData:
    raw = yaml.safe_load((Path(__file__).with_name("danish.yaml")).read_text(encoding="utf-8"))
    return _DanishData(
        abbreviations=frozenset(str(a).lower() for a in raw["abbreviations"]),
        closing=frozenset(str(a).lower() for a in raw["closing_abbreviations"]),
        months=frozenset(str(m).lower() for m in raw["months"]),
        back_references=tuple(sorted((tuple(str(p).lower().split()) for p in raw["back_references"]),
                                     key=len, reverse=True)),
    )


def is_abbreviation(word: str) -> bool:
    """True for a Danish abbreviation with or without its full stop («ca.», «ca», «bl.a.», «m.fl.»)."""
    token = word.strip().lower()
    data = _data()
    return bool(token) and any(t in data.abbreviations | data.closing for t in (token, token + "."))


def is_sentence_end(line: str, dot: int) -> bool:
    """Whether the punctuation at ``line[dot]`` ends a sentence (not an abbreviation or ordinal date)."""
    if line[dot] != ".":
        return True
    token = line[:dot + 1].rsplit(None, 1)[-1].lstrip("\"“«(").lower()
    data = _data()
    if token in data.abbreviations:
        return False
    following = line[dot + 1:].lstrip(" \"“«(")
    if token in data.closing:
        return following[:1].isupper()
    if len(token) == 2 and token[0].isalpha():  # an initial: "H. C. Andersen"
        return False
    next_word = _WORD.match(following)
    return not (token[:-1].isdigit() and next_word and next_word.group().lower() in data.months)


def _sentences(line: str, start: int) -> list[tuple[int, int]]:
    """Sentence spans of one line, from ``start``; short pieces are joined to a neighbour."""
    cuts = [start] + [m.end() for m in _CANDIDATE_END.finditer(line, start) if is_sentence_end(line, m.start())]
    cuts.append(len(line.rstrip()))
    spans: list[tuple[int, int]] = []
    for a, b in itertools.pairwise(cuts):
        piece = line[a:b]
        lead = len(piece) - len(piece.lstrip())
        if not piece.strip():
            continue
        span = (a + lead, a + lead + len(piece.strip()))
        if spans and len(_WORD.findall(line[spans[-1][0]:spans[-1][1]])) < MIN_WORDS:
            spans[-1] = (spans[-1][0], span[1])  # the previous piece was too short to stand alone
        else:
            spans.append(span)
    if len(spans) > 1 and len(_WORD.findall(line[spans[-1][0]:spans[-1][1]])) < MIN_WORDS:
        last = spans.pop()
        spans[-1] = (spans[-1][0], last[1])
    return spans


@dataclass(frozen=True)
class _Line:
    spans: list[tuple[int, int]]  # absolute sentence spans
    is_item: bool


def _lines(text: str) -> list[_Line]:
    """Sentences per non-empty line; headings, tables and code fences are left out."""
    lines: list[_Line] = []
    offset = 0
    for line in text.splitlines(keepends=True):
        line_start, offset = offset, offset + len(line)
        body = line.rstrip()
        if not body.strip() or body.lstrip().startswith(("#", "|", "```")):
            continue
        marker = LIST_MARKER.match(body)
        pos = marker.end() if marker else len(body) - len(body.lstrip())
        spans = [(line_start + a, line_start + b) for a, b in _sentences(body, pos)]
        if spans:
            lines.append(_Line(spans, marker is not None))
    return lines


def refers_back(sentence: str) -> bool:
    """Whether a sentence opens with a word that points to the sentence before it."""
    words = tuple(w.lower() for w in _WORD.findall(sentence[:60]))
    return any(words[:len(p)] == p for p in _data().back_references)


def split_units(text: str) -> list[Unit]:
    """The units of a passage in reading order, as exact spans of ``text``."""
    lines = _lines(text)
    raw: list[tuple[int, int, UnitKind]] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        j = i + 1
        while j < len(lines) and lines[j].is_item:
            j += 1
        lead_start, lead_end = line.spans[-1]
        if not line.is_item and j > i + 1 and text[lead_end - 1] == ":":  # lead-in + all its items
            raw.extend((a, b, "sentence") for a, b in line.spans[:-1])
            raw.append((lead_start, lines[j - 1].spans[-1][1], "list"))
            i = j
            continue
        raw.extend((a, b, "item" if line.is_item else "sentence") for a, b in line.spans)
        i += 1
    units: list[Unit] = []
    for n, (a, b, kind) in enumerate(raw):
        requires = n - 1 if n > 0 and kind != "item" and refers_back(text[a:b]) else None
        units.append(Unit(a, b, kind, requires))
    return units


def with_requirements(units: Sequence[Unit], chosen: Sequence[int]) -> list[int]:
    """``chosen`` unit indices plus every unit they (transitively) depend on, in reading order."""
    wanted: set[int] = set()
    for i in chosen:
        while i is not None and i not in wanted:
            wanted.add(i)
            i = units[i].requires
    return sorted(wanted)


def unit_embedding_text(text: str, units: Sequence[Unit], i: int) -> str:
    """What is embedded for unit ``i``: the unit with the units it depends on, so it reads on its own."""
    return " ".join(units[j].text(text) for j in with_requirements(units, [i]))


def answer_texts(text: str, section: str) -> list[str]:
    """Every text whose passage vector answering a question about this chunk needs: its units (as embedded
    by :func:`unit_embedding_text`) and its heading path. The index stores their vectors at ingest, keyed
    by the text's content hash, so that answering embeds only the query."""
    units = split_units(text)
    return [unit_embedding_text(text, units, i) for i in range(len(units))] + ([section] if section else [])


def list_items(list_text: str) -> tuple[str, list[str]]:
    """A list unit as its lead-in and its items (markers removed)."""
    lines = [line.strip() for line in list_text.splitlines() if line.strip()]
    return lines[0], [LIST_MARKER.sub("", line, count=1) for line in lines[1:]]


__all__ = ["LIST_MARKER", "SPLITTER_VERSION", "Unit", "answer_texts", "list_items", "refers_back", "split_units",
           "unit_embedding_text", "with_requirements"]
