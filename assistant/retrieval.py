"""Hybrid retrieval: dense (Chroma + our embeddings), lexical (BM25) and heading rankings fused by
reciprocal-rank fusion.

The corpus headings are the questions librarians ask, so the hybrid mode fuses a third ranking: the dense and
BM25 candidates ordered by how close the question is to their section's heading path (question ↔ question,
both embedded as queries; the index stores the heading vectors). It only re-orders candidates the two
retrievers found: a heading alone does not make a chunk relevant (on the gold set, ranking every chunk by its
heading was worse than the candidates' order; see ``evals/README.md``).

One :class:`Retriever` is loaded per index and shared by all sessions; reads are thread-safe (the embedding
model runs under a lock, Chroma and the in-memory BM25 index are only read).

:meth:`Retriever.retrieve` returns the dense and BM25 rankings beside the fused chunks: the coverage decision
(:mod:`assistant.coverage`) reads them, so deciding costs no second search.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from assistant.embeddings import get_embeddings
from assistant.index import IndexReader, open_index
from assistant.lexical import tokenize, typo_matches
from assistant.models import RetrievedChunk
from assistant.settings import RetrievalMode, Settings

Filters = Mapping[str, Any]
FILTER_KEYS = ("kind", "chapter", "doc_id")
QUERY_CACHE_SIZE = 64
HEADING_CACHE_SIZE = 4096  # heading vectors embedded at query time (an index built before they were stored)
COVERAGE_DEPTH = 5  # dense hits the coverage decision reads (best cosine and the margin to rank 5)


@dataclass(frozen=True)
class Retrieval:
    """One search: the fused chunks, and the dense, BM25 and heading rankings ``(chunk_id, score)`` behind
    them."""

    chunks: list[RetrievedChunk]
    dense: list[tuple[str, float]]
    lexical: list[tuple[str, float]]
    headings: list[tuple[str, float]] = field(default_factory=list)
    # Hybrid only: the dense top-k that fusion left out. In a librarian's own words (synonyms, colloquial
    # wording, typos) BM25 often misses the passage that dense retrieval ranks first, and fusion drops it; the
    # answer may still lead with it or take a point from it (assistant.extractive).
    dense_extra: list[RetrievedChunk] = field(default_factory=list)


def _checked(filters: Filters | None) -> dict[str, Any] | None:
    """Equality filters, validated and typed (``ValueError`` for an unknown key); a list, tuple or set value
    means "any of these" and becomes Chroma's ``{"$in": [...]}``."""
    checked = {key: _filter_value(key, value) for key, value in (filters or {}).items() if value is not None}
    return checked or None


def _filter_value(key: str, value: Any) -> Any:
    if key not in FILTER_KEYS:
        raise ValueError(f"Ukendt filter: {key!r} (tilladt: {', '.join(FILTER_KEYS)})")
    if isinstance(value, list | tuple | set | frozenset):
        if not value:
            raise ValueError(f"Tomt filter: {key!r} skal have mindst én værdi")
        return {"$in": sorted(_filter_value(key, v) for v in value)}
    return int(value) if key == "chapter" else str(value)


def _matches(metadata: Mapping[str, Any], filters: Filters | None) -> bool:
    for key, value in (filters or {}).items():
        if value is None:
            continue
        wanted = _filter_value(key, value)
        got = metadata.get(key)
        if not (got in wanted["$in"] if isinstance(wanted, dict) else got == wanted):
            return False
    return True


def rrf_fuse(rankings: Sequence[tuple[Sequence[str], float]], rrf_k: int) -> dict[str, float]:
    """Reciprocal-rank fusion: ``sum(weight / (rrf_k + rank))`` over rankings (ranks start at 1)."""
    fused: dict[str, float] = {}
    for ids, weight in rankings:
        for rank, cid in enumerate(ids, start=1):
            fused[cid] = fused.get(cid, 0.0) + weight / (rrf_k + rank)
    return fused


class Retriever:
    """Dense + BM25 search over one index (``Retriever.from_settings``)."""

    def __init__(self, settings: Settings, *, embeddings: Any, index: IndexReader) -> None:
        self.settings = settings
        self.embeddings = embeddings
        self.index = index
        self.lexical = lexical = index.lexical
        self._model_lock = threading.Lock()
        self._query_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._heading_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self.vocabulary: frozenset[str] = frozenset(
            tok for text, meta in zip(lexical.texts, lexical.metadatas, strict=True)
            for tok in tokenize(f"{meta.get('title', '')}\n{meta.get('section', '')}\n{text}")
        )
        self.doc_titles: dict[str, str] = {}
        for meta in lexical.metadatas:
            self.doc_titles.setdefault(str(meta.get("doc_id", "")), str(meta.get("title", "")))

    @classmethod
    def from_settings(cls, settings: Settings) -> Retriever:
        """A retriever over the committed generation of the index (read-only; see ``assistant.index``)."""
        return cls(settings, embeddings=get_embeddings(settings), index=open_index(settings))

    # --- embeddings (shared with the extractive answerer) -------------------------------------------
    def embed_query(self, text: str) -> np.ndarray:
        """Query vector (the last few are cached: search, refusal gate and answer embed the same query)."""
        return self._cached_query(self._query_cache, QUERY_CACHE_SIZE, text)

    def _cached_query(self, cache: OrderedDict[str, np.ndarray], size: int, text: str) -> np.ndarray:
        """``text`` embedded as a query, through a small LRU ``cache`` (under the model lock)."""
        with self._model_lock:
            vec = cache.get(text)
            if vec is None:
                vec = np.asarray(self.embeddings.embed_query(text), dtype=np.float32)
                cache[text] = vec
                while len(cache) > size:
                    cache.popitem(last=False)
            else:
                cache.move_to_end(text)
            return vec

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Passage vectors: stored in the index (answer units; computed at ingest) or embedded now."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        found = self.index.passage_vectors(texts)
        missing = [i for i, v in enumerate(found) if v is None]
        if missing:
            with self._model_lock:
                fresh = self.embeddings.embed_documents([texts[i] for i in missing])
            for i, vec in zip(missing, fresh, strict=True):
                found[i] = np.asarray(vec, dtype=np.float32)
        return np.atleast_2d(np.stack([np.asarray(v, dtype=np.float32) for v in found]))

    def heading_vectors(self, headings: Sequence[str]) -> np.ndarray:
        """Query vectors of section heading paths: stored in the index (computed at ingest) or embedded now
        and cached (an index from before heading vectors were stored)."""
        if not headings:
            return np.zeros((0, 0), dtype=np.float32)
        found = self.index.heading_vectors(headings)
        for i, heading in enumerate(headings):
            if found[i] is None:
                found[i] = self._cached_query(self._heading_cache, HEADING_CACHE_SIZE, heading)
        return np.atleast_2d(np.stack([np.asarray(v, dtype=np.float32) for v in found]))

    # --- the retrievers ----------------------------------------------------------------------------
    def dense(self, query_vec: np.ndarray, n: int, filters: Filters | None = None) -> list[tuple[str, float]]:
        """``(chunk_id, cosine similarity)`` best first."""
        return self.index.dense(query_vec, n, _checked(filters))

    def bm25(self, query: str, n: int, filters: Filters | None = None) -> list[tuple[str, float]]:
        """``(chunk_id, BM25 score)`` best first (only chunks sharing a term with the query)."""
        if not filters:
            return self.lexical.search(query, n)
        hits = self.lexical.search(query, len(self.lexical))
        kept = [(cid, s) for cid, s in hits if _matches(self.lexical.get(cid)[1], filters)]  # type: ignore[index]
        return kept[:n]

    def headings(self, query_vec: np.ndarray, chunk_ids: Sequence[str]) -> list[tuple[str, float]]:
        """``(chunk_id, cosine of the question to the chunk's heading path)`` best first, over ``chunk_ids``."""
        records = [(cid, self.lexical.get(cid)) for cid in chunk_ids]
        known = [(cid, str(rec[1].get("section", ""))) for cid, rec in records if rec is not None]
        if not known:
            return []
        cos = self.heading_vectors([section for _, section in known]) @ query_vec
        return sorted(((cid, float(c)) for (cid, _), c in zip(known, cos, strict=True)), key=lambda x: -x[1])

    def cosines(self, query_vec: np.ndarray, chunk_ids: Sequence[str]) -> dict[str, float]:
        """Cosine similarity of the query to stored chunk vectors (for chunks found by BM25 only)."""
        return {cid: float(v @ query_vec) for cid, v in self.index.vectors(chunk_ids).items()}

    # --- fused search ------------------------------------------------------------------------------
    def search(
        self,
        query: str,
        *,
        k: int | None = None,
        mode: RetrievalMode | None = None,
        filters: Filters | None = None,
    ) -> list[RetrievedChunk]:
        """Top-``k`` chunks for ``query``; every chunk carries its cosine similarity (``dense_score``)."""
        return self.retrieve(query, k=k, mode=mode, filters=filters).chunks

    def retrieve(
        self,
        query: str,
        *,
        k: int | None = None,
        mode: RetrievalMode | None = None,
        filters: Filters | None = None,
    ) -> Retrieval:
        """The fused top-``k`` chunks and the raw dense, BM25 and heading rankings they came from.

        The dense ranking is computed in every mode (at least ``COVERAGE_DEPTH`` hits), because the coverage
        decision reads it; it is fused only in the hybrid and dense modes. The heading ranking (over the
        candidates of the other two) is fused only in the hybrid mode; every returned chunk carries its
        heading cosine, which the coverage decision and the answer's choice of lead read.
        """
        s = self.settings
        k = k or s.retrieval_k
        mode = mode or s.retrieval_mode
        fetch = max(s.fetch_k, k)
        if not query.strip() or len(self.lexical) == 0:
            return Retrieval([], [], [])
        qvec = self.embed_query(query)
        dense = self.dense(qvec, fetch if mode in ("hybrid", "dense") else COVERAGE_DEPTH, filters)
        lexical = self.bm25(query, fetch, filters)
        fused_dense = dense if mode in ("hybrid", "dense") else []
        fused_lexical = lexical if mode in ("hybrid", "bm25") else []
        dense_rank = {cid: r for r, (cid, _) in enumerate(fused_dense, start=1)}
        bm25_rank = {cid: r for r, (cid, _) in enumerate(fused_lexical, start=1)}
        headings = self.headings(qvec, list(dict.fromkeys(c for c, _ in [*fused_dense, *fused_lexical])))
        heading_rank = {cid: r for r, (cid, _) in enumerate(headings, start=1)}
        if mode == "dense":
            scores = dict(fused_dense)
        elif mode == "bm25":
            scores = dict(fused_lexical)
        else:
            scores = rrf_fuse(
                [([c for c, _ in fused_dense], s.dense_weight), ([c for c, _ in fused_lexical], s.bm25_weight),
                 ([c for c, _ in headings], s.heading_weight)],
                s.rrf_k,
            )
        top = sorted(scores, key=lambda cid: (-scores[cid], dense_rank.get(cid, 10**6)))[:k]
        cosine = dict(dense)
        cosine.update(self.cosines(qvec, [cid for cid in top if cid not in cosine]))
        heading_cos = dict(headings)
        heading_cos.update(self.headings(qvec, [cid for cid in top if cid not in heading_cos]))
        out = [c for cid in top if (c := self._chunk(
            cid, score=float(scores[cid]), dense_score=cosine.get(cid), dense_rank=dense_rank.get(cid),
            bm25_rank=bm25_rank.get(cid), heading_score=heading_cos.get(cid),
            heading_rank=heading_rank.get(cid) if mode == "hybrid" else None)) is not None]
        extra = [cid for cid, _ in dense[:k] if cid not in top] if mode == "hybrid" else []
        dense_extra = [c for cid in extra if (c := self._chunk(
            cid, score=cosine[cid], dense_score=cosine[cid], dense_rank=dense_rank.get(cid),
            heading_score=heading_cos.get(cid))) is not None]
        return Retrieval(out, dense, lexical, headings if mode == "hybrid" else [], dense_extra)

    def _chunk(self, chunk_id: str, **scores: Any) -> RetrievedChunk | None:
        """The stored chunk with its scores; None when Chroma changed after the BM25 index was loaded."""
        record = self.lexical.get(chunk_id)
        if record is None:
            return None
        text, meta = record
        return RetrievedChunk(chunk_id=chunk_id, text=text, metadata=dict(meta), **scores)

    def closest_titles(self, chunks: Iterable[RetrievedChunk], n: int = 3) -> list[str]:
        """Distinct document titles of the best chunks (suggested topics when refusing)."""
        titles: list[str] = []
        for chunk in chunks:
            title = str(chunk.metadata.get("title") or self.doc_titles.get(chunk.doc_id, ""))
            if title and title not in titles:
                titles.append(title)
        return titles[:n]


# --- topic words (refusal gate, follow-ups) ----------------------------------------------------------------
# Question and filler words that say nothing about the topic (on top of the Snowball stop words).
QUESTION_STOPWORDS: frozenset[str] = frozenset(
    ["hvordan", "hvorfor", "hvornår", "hvilken", "hvilke", "hvilket", "hvem", "hvad", "hvor", "kan", "kunne", "gør", "gøre", "gøres", "får", "få", "laver", "lave", "står", "stå", "giv", "give", "fortæl", "fortælle", "skriv", "skrive", "vis", "vise", "forklar", "forklare", "sig", "siger", "sige", "mon", "bare", "lige", "gerne", "vores", "jeres", "nogen", "noget", "nogle", "eksempel", "eksempler", "fx", "ting", "andet", "andre", "mere", "mest", "godt", "gode", "god", "går", "gå", "findes", "ja", "nej", "tak", "hej"]  # noqa: E501
)


def content_words(text: str) -> list[str]:
    """The topic words of a text: lower-cased, without stop/question words and digits (not stemmed)."""
    words = tokenize(text, stem=False)
    return [w for w in words if w not in QUESTION_STOPWORDS and not w.isdigit() and len(w) > 1]


def coverage(question: str, vocabulary: frozenset[str]) -> float:
    """Share of the question's topic words whose stem occurs in the corpus, a typo of one letter forgiven
    ("partnre" counts as "partner")."""
    tokens = tokenize(" ".join(content_words(question)), stopwords=False)
    if not tokens:
        return 0.0
    return sum(t in vocabulary or bool(typo_matches(t, vocabulary)) for t in tokens) / len(tokens)
