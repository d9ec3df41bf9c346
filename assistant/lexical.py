"""BM25 over the chunks (bm25s + PyStemmer Danish) and the Danish tokenizer shared by everyone.

The index is rebuilt from Chroma's full content after every ingest (``ingest.pipeline``), saved under
``settings.index_dir / "bm25"`` together with a fingerprint of the chunk ids it was built from, so a reader
can tell whether it is in step with Chroma (``LexicalIndex.fingerprint`` vs ``chunk_fingerprint(ids)``).
Each chunk is indexed as ``section + text`` so heading words count too.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
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


def chunk_fingerprint(chunk_ids: Iterable[str]) -> str:
    """Order-independent fingerprint of a set of chunk ids (ids embed the content hash)."""
    digest = hashlib.sha256()
    for cid in sorted(set(chunk_ids)):
        digest.update(cid.encode("utf-8") + b"\n")
    return digest.hexdigest()


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

    @property
    def fingerprint(self) -> str:
        return chunk_fingerprint(self.chunk_ids)

    @classmethod
    def build(cls, chunks: Iterable[Any]) -> LexicalIndex:
        """Build from LangChain ``Document``s (id from ``.id`` or ``metadata["chunk_id"]``),
        ``(chunk_id, text)`` / ``(chunk_id, text, metadata)`` tuples, or dicts with ``chunk_id``/``text``."""
        ids: list[str] = []
        texts: list[str] = []
        metas: list[dict[str, Any]] = []
        for chunk in chunks:
            cid, text, meta = _unpack(chunk)
            ids.append(cid)
            texts.append(text)
            metas.append(meta)
        bm25 = None
        if ids:
            import bm25s

            bm25 = bm25s.BM25()
            bm25.index([tokenize(lexical_text(t, m)) or ["_"] for t, m in zip(texts, metas, strict=True)],
                       show_progress=False)
        return cls(ids, texts, metas, bm25)

    def search(self, query: str, k: int = 10) -> list[tuple[str, float]]:
        """Top-``k`` chunks for ``query`` by BM25 score (empty when nothing matches); synonyms are added."""
        tokens = expand_synonyms(tokenize(query))
        if not tokens or self._bm25 is None or k <= 0:
            return []
        vocab = getattr(self._bm25, "vocab_dict", None)
        if vocab is not None and not any(t in vocab for t in tokens):
            return []
        k = min(k, len(self.chunk_ids))
        docs, scores = self._bm25.retrieve([tokens], k=k, show_progress=False, n_threads=1)
        out = [(self.chunk_ids[int(d)], float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]
        return out

    def get(self, chunk_id: str) -> tuple[str, dict[str, Any]] | None:
        """Text and metadata of one indexed chunk."""
        pos = self._pos.get(chunk_id)
        return None if pos is None else (self.texts[pos], self.metadatas[pos])

    # --- persistence -----------------------------------------------------------------------------
    def save(self, directory: str | os.PathLike[str]) -> None:
        """Write atomically: build in a sibling temp dir, then swap it in."""
        target = Path(directory)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self._bm25 is not None:
            self._bm25.save(str(tmp / "bm25"), show_progress=False)
        records = {"chunk_ids": self.chunk_ids, "texts": self.texts, "metadatas": self.metadatas,
                   "fingerprint": self.fingerprint}
        (tmp / "records.json").write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
        old = target.with_name(target.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if target.exists():
            target.rename(old)
        tmp.rename(target)
        shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> LexicalIndex:
        """Load a saved index; raises ``FileNotFoundError`` when there is none."""
        path = Path(directory)
        records_file = path / "records.json"
        if not records_file.is_file():
            raise FileNotFoundError(f"Intet BM25-indeks i {path}")
        records = json.loads(records_file.read_text(encoding="utf-8"))
        bm25 = None
        if records["chunk_ids"]:
            import bm25s

            bm25 = bm25s.BM25.load(str(path / "bm25"), show_progress=False)
        return cls(records["chunk_ids"], records["texts"], records["metadatas"], bm25)

    @staticmethod
    def saved_fingerprint(directory: str | os.PathLike[str]) -> str | None:
        """Fingerprint stored with a saved index, or None when there is none."""
        try:
            records = json.loads((Path(directory) / "records.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return str(records.get("fingerprint")) if records.get("fingerprint") else None


def _unpack(chunk: Any) -> tuple[str, str, dict[str, Any]]:
    if isinstance(chunk, dict):
        meta = dict(chunk.get("metadata") or {})
        return str(chunk.get("chunk_id") or meta["chunk_id"]), str(chunk["text"]), meta
    if isinstance(chunk, Sequence) and not isinstance(chunk, str):
        meta = dict(chunk[2]) if len(chunk) > 2 and chunk[2] else {}
        return str(chunk[0]), str(chunk[1]), meta
    meta = dict(getattr(chunk, "metadata", {}) or {})
    cid = getattr(chunk, "id", None) or meta.get("chunk_id")
    if not cid:
        raise ValueError("Tekststykket mangler chunk_id")
    return str(cid), str(chunk.page_content), meta



# --- the project's index on disk --------------------------------------------------------------------
def lexical_dir(settings: Any) -> Path:
    """Where the BM25 index of a configuration lives: ``settings.index_dir / "bm25"``."""
    return Path(settings.index_dir) / "bm25"


def read_chroma_chunks(collection: Any, *, page: int = 1000) -> tuple[list[str], list[str], list[dict[str, Any]]]:
    """All ids, texts and metadatas of a chromadb collection (paged, without embeddings)."""
    from assistant.store import read_all

    got = read_all(collection, ("documents", "metadatas"), page=page)
    return got["ids"], [str(t or "") for t in got["documents"]], [dict(m or {}) for m in got["metadatas"]]


def rebuild_lexical_index(settings: Any, *, collection: Any = None) -> LexicalIndex:
    """Rebuild BM25 from Chroma's full content and save it under ``lexical_dir(settings)``."""
    if collection is None:
        from assistant.store import open_collection

        collection = open_collection(settings)
    ids, texts, metas = read_chroma_chunks(collection)
    order = sorted(
        range(len(ids)), key=lambda i: (str(metas[i].get("doc_id", "")), metas[i].get("chunk_index", 0), ids[i])
    )
    index = LexicalIndex.build((ids[i], texts[i], metas[i]) for i in order)
    index.save(lexical_dir(settings))
    return index


def load_lexical_index(settings: Any, *, repair: bool = True) -> LexicalIndex:
    """The saved BM25 index; with ``repair`` it is rebuilt from Chroma when missing or out of step."""
    directory = lexical_dir(settings)
    if not repair:
        return LexicalIndex.load(directory)
    from assistant.store import open_collection, read_all

    collection = open_collection(settings)
    ids = read_all(collection, ())["ids"]
    if LexicalIndex.saved_fingerprint(directory) == chunk_fingerprint(ids):
        return LexicalIndex.load(directory)
    return rebuild_lexical_index(settings, collection=collection)


__all__ = ["DANISH_STOPWORDS", "SYNONYM_GROUPS", "LexicalIndex", "chunk_fingerprint", "expand_synonyms",
           "lexical_dir", "lexical_text", "load_lexical_index", "read_chroma_chunks", "rebuild_lexical_index",
           "tokenize"]
