"""The Danish tokenizer shared by everyone (BM25, extractive answers, evals) and BM25 query synonyms.

The BM25 index itself is stored and owned by the index package (``assistant.index.lexical``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
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


__all__ = ["DANISH_STOPWORDS", "SYNONYM_GROUPS", "expand_synonyms", "tokenize"]
