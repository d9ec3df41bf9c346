"""Refusal: the relevance gate and the calibration of its threshold (``python -m assistant calibrate``).

A question is answered when its *relevance* reaches ``settings.min_relevance``::

    relevance = best_dense + settings.coverage_weight * coverage

``best_dense`` is the cosine similarity of the (contextualised) query to its nearest chunk and ``coverage`` the
share of the question's topic words found in the corpus (see :mod:`assistant.retrieval`). E5 cosines are
compressed (about 0.75-0.95), so a weather question still scores ~0.81; the coverage term separates questions
whose words the guide never uses.

:func:`calibrate` measures both signals for the labelled questions below and picks, for each candidate
coverage weight, the threshold in the middle of the widest gap with the best balanced accuracy; among the
weights it keeps the one with the largest gap relative to the spread of the scores. The chosen values are
the defaults in ``assistant/settings.py`` (with the numbers of the run). The tests check other, held-out
questions.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from assistant.retrieval import coverage

if TYPE_CHECKING:
    from assistant.retrieval import Filters, Retriever
    from assistant.settings import Settings

COVERAGE_WEIGHTS: tuple[float, ...] = (0.0, 0.025, 0.05, 0.075, 0.1)


@dataclass(frozen=True)
class Relevance:
    """The signals behind one refusal decision."""

    best_dense: float
    coverage: float
    score: float
    relevant: bool


class RelevanceGate:
    """Decides whether the guide covers a question (thresholds from settings)."""

    def __init__(self, min_relevance: float, coverage_weight: float) -> None:
        self.min_relevance = min_relevance
        self.coverage_weight = coverage_weight

    @classmethod
    def from_settings(cls, settings: Settings) -> RelevanceGate:
        return cls(settings.min_relevance, settings.coverage_weight)

    def assess(self, retriever: Retriever, query: str, question: str | None = None,
               filters: Filters | None = None) -> Relevance:
        """Relevance of ``query`` (dense) and ``question`` (topic words; defaults to ``query``)."""
        dense = retriever.best_dense(query, filters)
        cov = coverage(question or query, retriever.vocabulary)
        score = dense + self.coverage_weight * cov
        return Relevance(dense, cov, score, dense > 0 and score >= self.min_relevance)


IN_SCOPE: tuple[str, ...] = (
    # chapter 1-8 + checklist
    "Hvorfor kan et bibliotek ikke klare sig uden partnerskaber?",
    "Hvad består Byg partnerskaber af?",
    "Hvad er formålet med partnerskaber?",
    "Hvorfor taler guiden om partnerskaber i stedet for samarbejde?",
    "Hvad har innovation med partnerskaber at gøre?",
    "Hvordan kan biblioteket lave en partnerskabsstrategi?",
    "Hvorfor er partnerskaber et strategisk værktøj?",
    "Hvem kan biblioteket samarbejde med?",
    "Hvordan finder biblioteket de rigtige partnere?",
    "Hvordan kan biblioteket udvide sit netværk?",
    "Hvad får partneren ud af at samarbejde med biblioteket?",
    "Hvad er bibliotekets styrker og aktiver over for en partner?",
    "Skal partnerskabsarbejdet styres centralt eller decentralt?",
    "Hvilken betydning har organisationskulturen for partnerskaber?",
    "Hvilke kompetencer skal medarbejderne have i partnerskabsarbejdet?",
    "Hvordan skaber vi klare aftaler med en partner?",
    "Hvorfor er kommunikation vigtig i et partnerskab?",
    "Hvad med den interne kommunikation om partnerskabet?",
    "Hvorfor skal partnerskabet evalueres løbende?",
    "Hvad står der i tjeklisten til partnerskaber?",
    # tools
    "Hvad er den 12-fasede model?",
    "Hvad skal en samarbejdsaftale indeholde?",
    "Hvilke gode spørgsmål kan vi stille på det første møde med partneren?",
    "Hvilke udfordringer kan opstå i et partnerskab?",
    "Hvad er strategisk refleksiv kommunikation?",
    "Hvordan kortlægger vi bibliotekets styrker?",
    "Hvad er de fem hurtige spørgsmål om partnerskabet?",
    "Hvordan udvikler partnerskaber organisationen?",
    # cases and about
    "Hvad gik krimicaféen ud på?",
    "Hvordan samarbejdede biblioteket med lokalavisen i Biblioteket i Midtbyen?",
    "Hvad handlede Roskilde Kanon om?",
    "Hvad lærte Solrød Bibliotek af storskærmene?",
    "Hvordan fungerer lektiecaféen i Aarhus?",
    "Hvem stod bag projektet Byg partnerskaber?",
    # paraphrases in a librarian's own words (less overlap with the headings)
    "Hvorfor skal vi som bibliotek overhovedet have partnere?",
    "Hvad er forskellen på et samarbejde og et partnerskab?",
    "Hvordan sikrer vi at begge parter får noget ud af det?",
    "Hvad skal vi aftale skriftligt, før vi går i gang?",
    "Hvordan måler vi om samarbejdet har virket?",
    "Hvem i organisationen bør have ansvaret for partnerskaberne?",
    "Hvordan får vi ledelsen med på en partnerskabsstrategi?",
    "Hvad kan vi tilbyde en virksomhed, der vil samarbejde med os?",
    "Hvordan holder vi kollegerne orienteret om vores samarbejder?",
    "Hvordan kommer vi i kontakt med nye samarbejdspartnere?",
    "Hvad gør vi hvis partneren ikke leverer det aftalte?",
    "Hvordan afslutter man et partnerskab på en god måde?",
    "Hvilke typer partnere har andre biblioteker haft succes med?",
    "Hvordan kan frivillige foreninger indgå i bibliotekets arbejde?",
    "Hvad var Ud af boksen-projektet?",
    "Hvordan bruger man netværk strategisk?",
    "Hvad skal en evalueringsplan indeholde?",
    "Hvordan samarbejdede Hjørring Bibliotekerne med studerende?",
    "Hvad er win-win i et partnerskab?",
)

OUT_OF_SCOPE: tuple[str, ...] = (
    "Hvad er klokken?",
    "Hvordan bliver vejret i morgen?",
    "Giv mig en opskrift på boller",
    "Hvordan bager jeg en chokoladekage?",
    "Hvad er åbningstiderne på Aarhus Hovedbibliotek?",
    "Hvornår har Roskilde Bibliotek åbent i weekenden?",
    "Hvordan skriver jeg en for-løkke i Python?",
    "Hvordan installerer jeg Windows 11?",
    "Hvem vandt fodboldlandskampen i går?",
    "Hvad er hovedstaden i Australien?",
    "Hvad koster en togbillet fra København til Odense?",
    "Kan du anbefale en god krimi?",
    "Hvordan fornyer jeg mine lån på bibliotek.dk?",
    "Hvad er den bedste pizza i Odense?",
    "Hvordan søger jeg om boligstøtte?",
    "Hvad er 17 gange 23?",
    "Hvilke symptomer har influenza?",
    "Oversæt 'god morgen' til spansk",
    "Hvordan skifter jeg dæk på en cykel?",
    "Hvem er statsminister i Danmark?",
    "Skriv en SQL-forespørgsel der finder alle kunder",
    "Hvor mange indbyggere har Aarhus?",
    "Hvor kan jeg parkere ved biblioteket?",
    "Hvad er åbningstiden på Odense Centralbibliotek i dag?",
    "Hvornår lukker Københavns Hovedbibliotek?",
    "Hvordan laver jeg en god lasagne?",
    "Hvad bliver temperaturen i Aarhus i weekenden?",
    "Hvilken film skal jeg se i aften?",
    "Hvordan får jeg et lånerkort?",
    "Hvordan opsiger jeg mit fitnessabonnement?",
    "Hvem skrev Hamlet?",
    "Kan jeg aflevere bøger i postkassen om natten?",
    "Hvornår er der fernisering på Museet for Samtidskunst?",
)


@dataclass(frozen=True)
class Calibration:
    """Result of :func:`calibrate`."""

    min_relevance: float
    coverage_weight: float
    balanced_accuracy: float
    gap: float  # distance between the closest in- and out-of-scope scores around the threshold
    in_scope: list[tuple[str, float]]
    out_of_scope: list[tuple[str, float]]

    def summary(self) -> dict[str, Any]:
        """Numbers to record next to the settings defaults."""
        ins = [s for _, s in self.in_scope]
        outs = [s for _, s in self.out_of_scope]
        return {
            "min_relevance": self.min_relevance, "coverage_weight": self.coverage_weight,
            "balanced_accuracy": self.balanced_accuracy, "gap": self.gap,
            "in_scope": _stats(ins), "out_of_scope": _stats(outs),
            "lowest_in_scope": min(self.in_scope, key=lambda x: x[1]),
            "highest_out_of_scope": max(self.out_of_scope, key=lambda x: x[1]),
        }


def best_threshold(ins: Sequence[float], outs: Sequence[float]) -> tuple[float, float, float]:
    """``(threshold, balanced accuracy, gap)``: the midpoint between two adjacent scores that maximises the
    balanced accuracy of ``score >= threshold``, ties broken by the widest gap."""
    points = sorted(set(ins) | set(outs))
    best = (0.0, -1.0, -1.0)
    for lo, hi in itertools.pairwise(points):
        t = (lo + hi) / 2
        bacc = (sum(s >= t for s in ins) / len(ins) + sum(s < t for s in outs) / len(outs)) / 2
        if (bacc, hi - lo) > best[1:]:
            best = (t, bacc, hi - lo)
    return best


def calibrate(retriever: Retriever, in_scope: Sequence[str] = IN_SCOPE,
              out_of_scope: Sequence[str] = OUT_OF_SCOPE,
              weights: Sequence[float] = COVERAGE_WEIGHTS) -> Calibration:
    """Choose ``coverage_weight`` and ``min_relevance`` on labelled questions (see the module docstring)."""
    def signals(questions: Sequence[str]) -> list[tuple[float, float]]:
        return [(retriever.best_dense(q), coverage(q, retriever.vocabulary)) for q in questions]

    sig_in, sig_out = signals(in_scope), signals(out_of_scope)
    chosen: tuple[tuple[float, float], Calibration] | None = None
    for w in weights:
        ins = [d + w * c for d, c in sig_in]
        outs = [d + w * c for d, c in sig_out]
        t, bacc, gap = best_threshold(ins, outs)
        key = (bacc, gap / (statistics.pstdev(ins + outs) or 1.0))
        if chosen is None or key > chosen[0]:
            chosen = (key, Calibration(
                round(t, 4), w, round(bacc, 4), round(gap, 4),
                [(q, round(s, 4)) for q, s in zip(in_scope, ins, strict=True)],
                [(q, round(s, 4)) for q, s in zip(out_of_scope, outs, strict=True)],
            ))
    assert chosen is not None
    return chosen[1]


def _stats(scores: Sequence[float]) -> dict[str, float]:
    return {"min": round(min(scores), 4), "median": round(statistics.median(scores), 4),
            "max": round(max(scores), 4)}


def run(settings: Settings) -> Calibration:
    """Calibrate on the index configured by ``settings``."""
    from assistant.retrieval import Retriever

    return calibrate(Retriever.from_settings(settings))
