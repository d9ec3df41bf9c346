"""Does the guide cover a question? Three outcomes instead of a yes/no gate.

*answered* — the guide answers it; *partial* — the guide touches the topic but does not answer it directly
("Guiden nævner ikke … direkte. Det nærmeste er: …"); *refused* — off-topic (nearest topics are suggested).

The decision is a small multinomial logistic regression over signals that retrieval already computed
(:class:`CoverageSignals`): no extra search. It is fitted by ``python -m assistant calibrate`` on labelled
calibration questions kept apart from the gold set (:mod:`assistant.calibration`), and its parameters live
in ``coverage_model.json`` beside this file, with the numbers of the run. Scores overlap between in- and
out-of-scope questions, so no single threshold separates them; several weak signals together do better.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel

Coverage = Literal["answered", "partial", "refused"]
COVERAGES: tuple[Coverage, ...] = ("answered", "partial", "refused")
MODEL_PATH = Path(__file__).with_name("coverage_model.json")


@dataclass(frozen=True)
class CoverageSignals:
    """What the coverage decision reads, all from one retrieval."""

    best_dense: float  # cosine of the query to its nearest chunk
    dense_margin: float  # best cosine minus the 5th best (a flat top = nothing stands out)
    best_bm25: float  # log(1 + best BM25 score): shared rare words
    heading_match: float  # best cosine of the query to a retrieved chunk's heading path
    word_coverage: float  # share of the question's topic words that occur in the corpus

    @classmethod
    def from_retrieval(cls, dense: Sequence[tuple[str, float]], lexical: Sequence[tuple[str, float]],
                       heading_match: float, word_coverage: float) -> CoverageSignals:
        cosines = [c for _, c in dense]
        best = cosines[0] if cosines else 0.0
        fifth = cosines[min(4, len(cosines) - 1)] if cosines else 0.0
        return cls(best, best - fifth, math.log1p(lexical[0][1]) if lexical else 0.0, heading_match, word_coverage)

    def vector(self) -> np.ndarray:
        return np.array([getattr(self, name) for name in FEATURES], dtype=np.float64)


FEATURES: tuple[str, ...] = tuple(CoverageSignals.__dataclass_fields__)


class CoverageModel(BaseModel):
    """A fitted multinomial logistic regression (standardised features)."""

    features: list[str]
    classes: list[str]
    mean: list[float]
    scale: list[float]
    coef: list[list[float]]
    intercept: list[float]
    fitted: dict = {}

    def probabilities(self, signals: CoverageSignals) -> dict[str, float]:
        x = (np.array([getattr(signals, f) for f in self.features]) - self.mean) / self.scale
        logits = np.asarray(self.coef) @ x + np.asarray(self.intercept)
        p = np.exp(logits - logits.max())
        p /= p.sum()
        return dict(zip(self.classes, (float(v) for v in p), strict=True))

    def decide(self, signals: CoverageSignals) -> Coverage:
        if signals.best_dense <= 0.0:
            return "refused"
        probs = self.probabilities(signals)
        return max(probs, key=probs.__getitem__)  # type: ignore[return-value]

    def save(self, path: Path = MODEL_PATH) -> None:
        path.write_text(json.dumps(self.model_dump(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


@cache
def load_model(path: Path = MODEL_PATH) -> CoverageModel:
    return CoverageModel.model_validate_json(path.read_text(encoding="utf-8"))


__all__ = ["COVERAGES", "FEATURES", "Coverage", "CoverageModel", "CoverageSignals", "load_model"]
