"""The BM25 part of a generation (bm25s over the Danish tokenizer) and the chunk table beside it.

Saved in the generation folder as ``bm25/`` (bm25s files) and ``records.json`` (chunk ids, texts, metadata in
BM25 order), so a reader gets every chunk's text and metadata without a Chroma read. Written only by
``assistant.index.writer``; readers only :meth:`LexicalIndex.load`. Each chunk is indexed as ``section + text``
so heading words count too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from assistant.index.manifest import chunk_fingerprint
from assistant.lexical import expand_synonyms, tokenize, typo_matches

RECORDS_NAME = "records.json"
BM25_NAME = "bm25"


def lexical_text(text: str, metadata: dict[str, Any] | None) -> str:
    """What BM25 sees for one chunk: its heading path plus the passage."""
    section = str((metadata or {}).get("section", ""))
    return f"{section}\n{text}" if section else text


class LexicalIndex:
    """BM25 index over chunks; ``search`` returns ``(chunk_id, score)`` best first (scores > 0 only)."""

    def __init__(self, chunk_ids: list[str], texts: list[str], metadatas: list[dict[str, Any]], bm25: Any) -> None:
        self.chunk_ids = chunk_ids
        self.texts = texts
        self.metadatas = metadatas
        self._bm25 = bm25
        self._pos = {cid: i for i, cid in enumerate(chunk_ids)}

    def __len__(self) -> int:
        return len(self.chunk_ids)

    def __contains__(self, chunk_id: object) -> bool:
        return chunk_id in self._pos

    @property
    def fingerprint(self) -> str:
        return chunk_fingerprint(self.chunk_ids)

    @classmethod
    def empty(cls) -> LexicalIndex:
        return cls([], [], [], None)

    @classmethod
    def build(cls, chunks: Iterable[tuple[str, str, dict[str, Any]]]) -> LexicalIndex:
        """Build from ``(chunk_id, text, metadata)`` rows (kept in the given order)."""
        ids: list[str] = []
        texts: list[str] = []
        metas: list[dict[str, Any]] = []
        for cid, text, meta in chunks:
            ids.append(cid)
            texts.append(text)
            metas.append(dict(meta))
        bm25 = None
        if ids:
            import bm25s

            bm25 = bm25s.BM25()
            bm25.index([tokenize(lexical_text(t, m)) or ["_"] for t, m in zip(texts, metas, strict=True)],
                       show_progress=False)
        return cls(ids, texts, metas, bm25)

    def search(self, query: str, k: int = 10) -> list[tuple[str, float]]:
        """Top-``k`` chunks for ``query`` by BM25 score (empty when nothing matches); synonyms are added, and
        an unknown word also searches the known words one typo away from it ("evaluere" -> "evaluer")."""
        vocab = getattr(self._bm25, "vocab_dict", None)
        tokens = tokenize(query)
        if vocab is not None:
            tokens += [m for t in tokens if t not in vocab for m in typo_matches(t, vocab)]
        tokens = expand_synonyms(tokens)
        if not tokens or self._bm25 is None or k <= 0:
            return []
        if vocab is not None and not any(t in vocab for t in tokens):
            return []
        k = min(k, len(self.chunk_ids))
        docs, scores = self._bm25.retrieve([tokens], k=k, show_progress=False, n_threads=1)
        return [(self.chunk_ids[int(d)], float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]

    def get(self, chunk_id: str) -> tuple[str, dict[str, Any]] | None:
        """Text and metadata of one indexed chunk."""
        pos = self._pos.get(chunk_id)
        return None if pos is None else (self.texts[pos], self.metadatas[pos])

    # --- persistence (inside one generation folder) ---------------------------------------------------
    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        if self._bm25 is not None:
            self._bm25.save(str(directory / BM25_NAME), show_progress=False)
        records = {"chunk_ids": self.chunk_ids, "texts": self.texts, "metadatas": self.metadatas}
        (directory / RECORDS_NAME).write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> LexicalIndex:
        """Load a saved index; raises ``FileNotFoundError`` when there is none."""
        records_file = directory / RECORDS_NAME
        if not records_file.is_file():
            raise FileNotFoundError(f"Intet BM25-indeks i {directory}")
        records = json.loads(records_file.read_text(encoding="utf-8"))
        bm25 = None
        if records["chunk_ids"]:
            import bm25s

            bm25 = bm25s.BM25.load(str(directory / BM25_NAME), show_progress=False)
        return cls(records["chunk_ids"], records["texts"], records["metadatas"], bm25)
