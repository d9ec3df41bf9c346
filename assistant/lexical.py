"""The Danish tokenizer shared by everyone (BM25, extractive answers, evals) and BM25 query synonyms.

The BM25 index itself is stored and owned by the index package (``assistant.index.lexical``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

# Snowball's Danish stop word list.
DANISH_STOPWORDS: frozenset[str] = frozenset(
    ["og", "i", "jeg", "det", "at", "en", "den", "til", "er", "som", "på", "de", "med", "han", "af", "for", "ikke", "der", "var", "mig", "sig", "men", "et", "har", "om", "vi", "min", "havde", "ham", "hun", "nu", "over", "da", "fra", "du", "ud", "sin", "dem", "os", "op", "man", "hans", "hvor", "eller", "hvad", "skal", "selv", "her", "alle", "vil", "blev", "kunne", "ind", "når", "være", "dog", "noget", "ville", "jo", "deres", "efter", "ned", "skulle", "denne", "end", "dette", "mit", "også", "under", "have", "dig", "anden", "hende", "mine", "alt", "meget", "sit", "sine", "vor", "mod", "disse", "hvis", "din", "nogle", "hos", "blive", "mange", "ad", "bliver", "hendes", "været", "thi", "jer", "sådan"]  # noqa: E501
)

_WORD = re.compile(r"\w+", re.UNICODE)

# Query expansion for BM25 only (dense retrieval handles synonyms itself): a short, curated list of Danish words
# a librarian would treat as interchangeable in this domain. A query word from a group adds the stems of the
# other words of its group (:func:`expand_synonyms`). Keep groups to real synonyms; central terms
# ("partnerskab", "samarbejde") are left out on purpose because expanding them would blur every query.
SYNONYM_GROUPS: tuple[tuple[str, ...], ...] = (
    ("faldgrube", "udfordring", "problem", "barriere", "vanskelighed", "forhindring", "risiko", "risici"),
    ("samarbejdspartner", "partner"),
    ("tjekliste", "huskeliste", "checkliste"),
    ("kontrakt", "aftale"),
    ("fordel", "gevinst", "udbytte"),
    ("personale", "medarbejder", "ansat"),
    ("firma", "virksomhed"),
    ("økonomi", "budget", "finansiering"),
    ("chef", "leder"),
)


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("danish")


def tokenize(text: str, *, stem: bool = True, stopwords: bool = True) -> list[str]:
    """Danish tokens: lower-cased words (letters/digits, æøå kept), stop words removed, Snowball-stemmed."""
    words = [w for w in _WORD.findall(text.lower()) if w != "_"]
    if stopwords:
        words = [w for w in words if w not in DANISH_STOPWORDS]
    if not stem:
        return words
    return [s for s in _stemmer().stemWords(words) if s]


@lru_cache(maxsize=1)
def _synonym_stems() -> dict[str, tuple[str, ...]]:
    """Stem -> stems of its synonym group (the group's own stem first)."""
    table: dict[str, tuple[str, ...]] = {}
    for group in SYNONYM_GROUPS:
        stems = tuple(dict.fromkeys(tokenize(" ".join(group), stopwords=False)))
        for stem in stems:
            table[stem] = stems
    return table


def expand_synonyms(tokens: Sequence[str]) -> list[str]:
    """``tokens`` (stemmed) plus the stems of their synonyms, each added once."""
    table = _synonym_stems()
    out = list(tokens)
    seen = set(out)
    for token in tokens:
        for stem in table.get(token, ()):
            if stem not in seen:
                seen.add(stem)
                out.append(stem)
    return out




MIN_TYPO_LENGTH = 5  # in a shorter word one wrong letter makes another word ("vejr"/"vej"), not a typo


def typo_matches(token: str, vocabulary: Iterable[str]) -> list[str]:
    """Known stems one edit (insertion, deletion, substitution, swap of neighbours) from an unknown ``token``
    of at least ``MIN_TYPO_LENGTH`` letters ("partnre" -> "partner"); empty for a short or known token."""
    if len(token) < MIN_TYPO_LENGTH:
        return []
    return [w for w in vocabulary if w != token and abs(len(w) - len(token)) <= 1 and _one_edit(token, w)]


def _one_edit(a: str, b: str) -> bool:
    """Damerau distance ≤ 1, in linear time (hand-written: no fuzzy-matching dependency for one comparison)."""
    if a == b:
        return True
    if len(a) == len(b):
        diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                  and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    i = next((i for i, (x, y) in enumerate(zip(short, long_, strict=False)) if x != y), len(short))
    return short[i:] == long_[i + 1:]


__all__ = ["DANISH_STOPWORDS", "MIN_TYPO_LENGTH", "SYNONYM_GROUPS", "expand_synonyms", "tokenize", "typo_matches"]
