"""Semantic fit check: does a free-text answer fit the question just asked, or clearly another empty field?

Rules cannot see that a free-text reply answers a different question (the purpose given when the activities were
asked, a user one step ahead of the interview). Every field may declare ``describes:`` in its schema YAML, a few
lines written as what answers to it look like (one long, some short, as users type). :class:`FieldFit` embeds
those lines once per schema and model (cached) and each checked reply once (one query embedding); a field's
similarity is that of its closest line (a nearest-neighbour reading: a terse reply is close to a terse line). It never
moves a value: it only names the field the interview should offer beside the asked one.

The decision (:meth:`FieldFit.rival`), with no threshold tuned on dialogues:

1. **rank**: the asked field is not among the two fields the reply is most similar to. Being runner-up is still a
   fit: neighbouring fields (the library's and the partner's contribution, internal and external communication)
   are close for any model, and the asked question is strong evidence in itself;
2. **empty**: the most similar field is empty (no value and not skipped) and is not the asked one; a reply that
   best fits a filled field is stored as asked (repeating an earlier answer is no reason to ask);
3. **margin**: the reply is more similar to that field than to the asked one by at least three standard
   deviations of the similarities between description lines of different fields (``MARGIN_SIGMAS``). That spread
   is how far apart the model places two different fields of this template at all, so a gap within it is the
   model's ordinary confusion between fields; the conventional three-sigma rule makes only an outlier count as
   a clear preference. It is computed from the descriptions alone (per schema and model), so it follows the
   model's scale: e5 similarities are compressed near 0.8-0.9 (sigma about 0.02), the ``fake`` backend's hashed
   word vectors are not. One sigma was tried first and is far too eager for a small model on short answers:
   «40 elever i læseklubben» as the goal fits «Aktiviteter» 0.05 better than «Mål» under multilingual-e5-small,
   and the scripted dialogues got 94 needless questions; at three sigma a synthetic set of answers written
   for this check (every answer asked under every other field) gives no question for an answer to the asked
   field.

4. **deferred**: a field the user postponed («det ved jeg ikke endnu») is where a later answer is expected to
   go, so for it rules 1 and 3 relax to «the best field, by one standard deviation» (``DEFERRED_SIGMAS``): the
   prior is the user's own promise to come back, the evidence needed is the model's ordinary spread and no more.

A reply that fits another field is still stored under the asked one (the interview's rule); the check only makes
the interview offer the move («Skal jeg flytte det til «B»?»), so a needless offer costs a line of text, not a
value.

Without an embedding backend (the CLI without an index, ``--no-guide``) the check is off and answers are stored
as the rules route them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import numpy as np

from assistant.templates.schema import TemplateField, TemplateSchema

log = logging.getLogger(__name__)

TOP_RANKS = 2  # rule 1: the asked field among this many best-fitting fields is a fit
MARGIN_SIGMAS = 3.0  # rule 3: the gap that counts as clear, in standard deviations of the description similarities
DEFERRED_SIGMAS = 1.0  # rule 4: the gap for a field the user deferred («ved ikke endnu»), one standard deviation


@dataclass(frozen=True)
class _Described:
    """A schema's description lines as unit vectors (``owners[i]``: the field of line ``i``), and the spread of
    their similarities that rules 3 and 4 count in."""

    ids: tuple[str, ...]
    owners: np.ndarray
    lines: np.ndarray
    sigma: float  # spread of the similarities between lines of two different fields

    @property
    def margin(self) -> float:
        return MARGIN_SIGMAS * self.sigma

    def similarities(self, query: np.ndarray) -> np.ndarray:
        """Per field (in ``ids`` order): the similarity of ``query`` to the field's closest description line."""
        sims = self.lines @ query
        return np.array([sims[self.owners == i].max() for i in range(len(self.ids))])


_CACHE: dict[tuple[str, str, int, int], _Described] = {}
_LOCK = threading.Lock()


def _unit(rows: Any) -> np.ndarray:
    matrix = np.atleast_2d(np.asarray(rows, dtype=np.float32))
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1.0, norms)


class FieldFit:
    """The fit check over one embedding model (``None``: the check is off)."""

    def __init__(self, embeddings: Any | None) -> None:
        self.embeddings = embeddings

    @property
    def enabled(self) -> bool:
        return self.embeddings is not None

    def described(self, schema: TemplateSchema) -> _Described | None:
        """The schema's description vectors (embedded once per schema, its descriptions and the model)."""
        fields = [f for f in schema.fields if f.describes]
        if self.embeddings is None or len(fields) <= TOP_RANKS:
            return None
        texts = tuple(line for f in fields for line in f.describes)
        owners = np.array([i for i, f in enumerate(fields) for _ in f.describes])
        key = (str(getattr(self.embeddings, "model_name", type(self.embeddings).__name__)), schema.id,
               schema.version, hash(texts))
        with _LOCK:
            cached = _CACHE.get(key)
        if cached is not None:
            return cached
        lines = _unit(self.embeddings.embed_queries(list(texts)))  # symmetric task: e5 «query:» on both sides
        sims = lines @ lines.T
        sigma = float(np.std(sims[owners[:, None] != owners[None, :]]))  # lines of two fields
        described = _Described(tuple(f.id for f in fields), owners, lines, sigma)
        with _LOCK:
            _CACHE[key] = described
        return described

    def rival(self, schema: TemplateSchema, asked: TemplateField, text: str, empty: Collection[str],
              deferred: Collection[str] = ()) -> str | None:
        """The id of an empty field that ``text`` clearly fits better than ``asked`` (module docstring), else
        None. ``empty``: the ids of fields without a value that were not skipped; ``deferred``: fields the user
        said they would answer later (rule 4)."""
        try:
            described = self.described(schema)
            if described is None or asked.id not in described.ids or not text.strip():
                return None
            query = _unit(self.embeddings.embed_query(text.strip()))[0]
        except Exception:  # a failing model must never block an answer: it is stored as the rules route it
            log.exception("fit check failed")
            return None
        sims = described.similarities(query)
        order = [described.ids[i] for i in np.argsort(-sims, kind="stable")]
        best = order[0]
        if best not in empty or best == asked.id:
            return None
        gap = float(sims[described.ids.index(best)] - sims[described.ids.index(asked.id)])
        if best in deferred:  # rule 4: a field the user promised to come back to needs less evidence
            return best if gap >= DEFERRED_SIGMAS * described.sigma else None
        if asked.id in order[:TOP_RANKS]:
            return None
        return best if gap >= described.margin else None


    def best(self, schema: TemplateSchema, text: str, empty: Collection[str], *,
             exclude: str | None = None) -> str | None:
        """The empty field ``text`` fits best when a rule already says the asked field (``exclude``) cannot take
        it (a typed question answered in words, a list of questions without a question): the most similar of
        the other described fields, when it is empty and beats the median field by the margin (rule 3)."""
        try:
            described = self.described(schema)
            if described is None or not text.strip():
                return None
            query = _unit(self.embeddings.embed_query(text.strip()))[0]
        except Exception:
            log.exception("fit check failed")
            return None
        keep = [i for i, fid in enumerate(described.ids) if fid != exclude]
        sims = described.similarities(query)[keep]
        top = int(np.argmax(sims))
        best = described.ids[keep[top]]
        return best if best in empty and float(sims[top] - np.median(sims)) >= described.margin else None


    def ranked(self, schema: TemplateSchema, text: str, empty: Collection[str], *, exclude: str,
               n: int = TOP_RANKS) -> list[str]:
        """The ``n`` empty described fields ``text`` is most similar to, for when a rule has already said that the
        asked field (``exclude``) cannot take it; no margin (the user chooses among them)."""
        try:
            described = self.described(schema)
            if described is None or not text.strip():
                return []
            query = _unit(self.embeddings.embed_query(text.strip()))[0]
        except Exception:
            log.exception("fit check failed")
            return []
        sims = described.similarities(query)
        order = [described.ids[i] for i in np.argsort(-sims, kind="stable")]
        return [fid for fid in order if fid != exclude and fid in empty][:n]


def default_fit(guide: Any) -> FieldFit:
    """The check over the guide's embedding model (the retriever's), or off without a guide."""
    retriever = getattr(guide, "retriever", None)
    return FieldFit(getattr(retriever, "embeddings", None))
