"""Calibration of the coverage decision (``python -m assistant calibrate``).

Fits the :class:`assistant.coverage.CoverageModel` — a multinomial logistic regression over the
:class:`assistant.coverage.CoverageSignals` of one retrieval — on labelled calibration questions
(answered / partial / refused) that are kept apart from the eval gold set, and writes its parameters to
``assistant/coverage_model.json`` with a confusion matrix of the fit (leave-one-out, so the numbers are not
read off the training fit). Class weights are balanced, so the few partial questions count as much as the
many answered ones. Re-run it after large corpus changes or with another embedding backend.

The built-in lists below are the base set; ``evals/data/calibration.yaml`` (``question`` + ``label``) extends it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from assistant.coverage import COVERAGES, FEATURES, CoverageModel, CoverageSignals

if TYPE_CHECKING:
    from assistant.core import Assistant
    from assistant.settings import Settings

CALIBRATION_FILE = Path(__file__).resolve().parent.parent / "evals" / "data" / "calibration.yaml"

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


PARTIAL: tuple[str, ...] = (
    # the guide touches the topic but does not answer the question itself
    "Hvor mange penge skal vi budgettere med til et partnerskab?",
    "Hvilke juridiske krav gælder for en samarbejdsaftale med en privat virksomhed?",
    "Hvordan håndterer vi moms, når en partner betaler for et arrangement?",
    "Skal samarbejdsaftalen godkendes af byrådet?",
    "Hvilke forsikringer skal vi have, når frivillige hjælper til?",
    "Hvordan laver vi en kontrakt om ophavsret til billeder fra en fælles udstilling?",
    "Hvordan søger vi fondsmidler til et partnerskab?",
    "Hvad siger GDPR om at dele lånerdata med en partner?",
)


@dataclass(frozen=True)
class Calibration:
    """Result of :func:`calibrate`: the fitted model and how well it separates the labelled questions."""

    model: CoverageModel
    rows: list[dict[str, Any]]
    confusion: dict[str, dict[str, int]]

    def summary(self) -> dict[str, Any]:
        return {"n": len(self.rows), "confusion_leave_one_out": self.confusion,
                "accuracy_leave_one_out": self.model.fitted.get("accuracy_leave_one_out")}


def labelled_questions(path: Path = CALIBRATION_FILE) -> list[tuple[str, str]]:
    """``(question, label)``: the built-in lists plus ``calibration.yaml`` when present (duplicates dropped)."""
    items = [(q, "answered") for q in IN_SCOPE] + [(q, "partial") for q in PARTIAL]
    items += [(q, "refused") for q in OUT_OF_SCOPE]
    if path.exists():
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        entries = raw.get("questions", []) if isinstance(raw, dict) else raw
        items += [(str(e["question"]), str(e["label"])) for e in entries if e.get("label") in COVERAGES]
    seen: set[str] = set()
    return [(q, label) for q, label in items if not (q in seen or seen.add(q))]


def fit(x: np.ndarray, y: Sequence[str]) -> CoverageModel:
    """Standardise, then fit a balanced multinomial logistic regression (scikit-learn, at calibration only)."""
    from sklearn.linear_model import LogisticRegression

    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    clf = LogisticRegression(class_weight="balanced", max_iter=2000).fit((x - mean) / scale, list(y))
    return CoverageModel(features=list(FEATURES), classes=[str(c) for c in clf.classes_], mean=mean.tolist(),
                         scale=scale.tolist(), coef=clf.coef_.tolist(), intercept=clf.intercept_.tolist())


def confusion(truth: Sequence[str], predicted: Sequence[str]) -> dict[str, dict[str, int]]:
    """``{true label: {predicted label: count}}`` over the three outcomes."""
    return {t: {p: sum(a == t and b == p for a, b in zip(truth, predicted, strict=True)) for p in COVERAGES}
            for t in COVERAGES}


def calibrate(assistant: Assistant, questions: Sequence[tuple[str, str]] | None = None) -> Calibration:
    """Measure the signals of every labelled question, fit the model, and judge it leave-one-out."""
    questions = list(questions or labelled_questions())
    signals: list[CoverageSignals] = [assistant.coverage_signals(q) for q, _ in questions]
    x = np.stack([s.vector() for s in signals])
    y = [label for _, label in questions]
    predicted = []
    for i in range(len(questions)):
        keep = np.arange(len(questions)) != i
        predicted.append(fit(x[keep], [y[j] for j in np.flatnonzero(keep)]).decide(signals[i]))
    model = fit(x, y)
    matrix = confusion(y, predicted)
    model.fitted = {"questions": len(questions), "confusion_leave_one_out": matrix,
                    "accuracy_leave_one_out": round(sum(a == b for a, b in zip(y, predicted, strict=True))
                                                    / len(y), 4)}
    rows = [{"question": q, "label": label, "predicted": p, **s.__dict__}
            for (q, label), p, s in zip(questions, predicted, signals, strict=True)]
    return Calibration(model, rows, matrix)


def run(settings: Settings, *, save: bool = True) -> Calibration:
    """Calibrate on the index configured by ``settings`` and save the model beside the code."""
    from assistant.core import Assistant

    result = calibrate(Assistant.from_settings(settings))
    if save:
        result.model.save()
    return result
