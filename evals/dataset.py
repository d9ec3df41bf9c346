"""The gold set (``evals/data/*.yaml``): in-scope questions, out-of-scope questions, follow-ups and
scripted template dialogues. Loading validates every doc_id against the list fixed in ARCHITECTURE.md."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, field_validator

DATA_DIR = Path(__file__).parent / "data"

FIXED_DOC_IDS: frozenset[str] = frozenset(
    ["guide-01-intet-bibliotek-uden-partnerskaber", "guide-02-hvad-er-partnerskaber", "guide-03-strategisk-vaerktoej", "guide-04-hvem-og-hvad", "guide-05-netvaerk", "guide-06-hvad-faar-partneren", "guide-07-organisering", "guide-08-aftaler", "guide-08-kommunikation", "guide-08-evaluering", "guide-tjekliste", "vaerktoej-12-faset-model", "vaerktoej-partnerskaber-udvikler-organisationen", "vaerktoej-partnerskabsdefinitioner", "vaerktoej-to-tilgange-til-organisering", "vaerktoej-standardiseret-samarbejdsaftale", "vaerktoej-eksempel-samarbejdsaftale-mellem-rummet", "vaerktoej-gode-spoergsmaal-til-moedet", "vaerktoej-udfordringer", "vaerktoej-evaluering-strategisk-refleksiv-kommunikation", "vaerktoej-kompetencer", "vaerktoej-kortlaegning-af-styrker", "vaerktoej-fem-hurtige-spoergsmaal", "vaerktoejskassen", "om-projektet", "om-kildemateriale", "om-delprodukter", "skabelon-samarbejdsaftale", "skabelon-kommunikationsplan", "skabelon-evalueringsplan"]  # noqa: E501
)
CASE_PREFIX = "case-"


def _check_doc_ids(ids: list[str]) -> list[str]:
    if not ids:
        raise ValueError("mindst ét relevant doc_id")
    unknown = [d for d in ids if d not in FIXED_DOC_IDS and not d.startswith(CASE_PREFIX)]
    if unknown:
        raise ValueError(f"ukendte doc_ids: {unknown}")
    return ids


class GoldQuestion(BaseModel):
    """An in-scope question: the documents that answer it and the key facts an answer must contain."""

    id: str
    question: str
    relevant: list[str]
    facts: list[str] = Field(min_length=1, max_length=5, description="Each fact may list synonyms with ' | '.")
    style: str = "plain"  # plain | short | long | typo | synonym | colloquial | multipart
    fast: bool = False

    @field_validator("relevant")
    @classmethod
    def _known_ids(cls, value: list[str]) -> list[str]:
        return _check_doc_ids(value)


class OutOfScope(BaseModel):
    """A question the guide does not cover: the assistant must refuse it."""

    id: str
    question: str
    category: str
    fast: bool = False


class FollowUp(BaseModel):
    """Two turns: a first question, then a follow-up that only makes sense with the first."""

    id: str
    first: str
    follow_up: str
    relevant: list[str]
    facts: list[str] = Field(min_length=1, max_length=5)
    fast: bool = False

    @field_validator("relevant")
    @classmethod
    def _known_ids(cls, value: list[str]) -> list[str]:
        return _check_doc_ids(value)


class TemplateDialogue(BaseModel):
    """A scripted template conversation and the field values it must produce.

    ``history``: user messages before the template is opened (pre-fill proposals); ``answers``: the user's
    messages in template mode, in order (``@parkér``: leave and resume); ``expected``: every field that must be
    filled at the end -> text its value must contain, or for list fields the items it must have (any other filled
    field counts as misrouted); ``prefill``: proposals the pre-fill must find; ``cooperative``: the user answers
    one question per turn (used for turns-to-finish).
    """

    id: str
    template: str
    history: list[str] = Field(default_factory=list)
    answers: list[str] = Field(default_factory=list)
    expected: dict[str, str | list[str]]
    prefill: dict[str, str | list[str]] = Field(default_factory=dict)
    cooperative: bool = False


@dataclass(frozen=True)
class GoldSet:
    questions: list[GoldQuestion]
    out_of_scope: list[OutOfScope]
    follow_ups: list[FollowUp]
    dialogues: list[TemplateDialogue]

    def subset(self, fast: bool) -> GoldSet:
        """The fast CI subset (items marked ``fast: true``) or everything."""
        if not fast:
            return self
        return GoldSet(
            [q for q in self.questions if q.fast],
            [q for q in self.out_of_scope if q.fast],
            [q for q in self.follow_ups if q.fast],
            self.dialogues,
        )

    def counts(self) -> dict[str, int]:
        return {"in_scope": len(self.questions), "out_of_scope": len(self.out_of_scope),
                "follow_ups": len(self.follow_ups), "template_dialogues": len(self.dialogues)}


def _read(name: str, data_dir: Path) -> list[dict[str, Any]]:
    items = yaml.safe_load((data_dir / name).read_text(encoding="utf-8")) or []
    if not isinstance(items, list):
        raise ValueError(f"{name}: forventede en liste")
    return items


def load_heldout(data_dir: Path = DATA_DIR) -> GoldSet:
    """The held-out question set (``heldout_*.yaml``): librarians' questions written from the topic list before
    the corpus was read, reported on its own and never tuned to (no follow-ups or dialogues)."""
    return GoldSet(
        [GoldQuestion(**x) for x in _read("heldout_questions.yaml", data_dir)],
        [OutOfScope(**x) for x in _read("heldout_out_of_scope.yaml", data_dir)],
        [],
        [],
    )


@lru_cache(maxsize=4)
def load_gold(data_dir: Path = DATA_DIR) -> GoldSet:
    """Read and validate the gold set (ids must be unique across all files)."""
    gold = GoldSet(
        [GoldQuestion(**x) for x in _read("questions.yaml", data_dir)],
        [OutOfScope(**x) for x in _read("out_of_scope.yaml", data_dir)],
        [FollowUp(**x) for x in _read("follow_ups.yaml", data_dir)],
        [TemplateDialogue(**x) for x in _read("template_dialogues.yaml", data_dir)],
    )
    ids = [x.id for group in (gold.questions, gold.out_of_scope, gold.follow_ups, gold.dialogues) for x in group]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ValueError(f"dublerede ids i guldsættet: {dupes}")
    return gold
