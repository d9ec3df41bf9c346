"""Hybrid retrieval, modes, filters and follow-up handling on the real index built from corpus/."""

from __future__ import annotations

import pytest

from assistant.conversation import contextualize, is_follow_up
from assistant.lexical import expand_synonyms, tokenize
from assistant.models import Turn
from assistant.retrieval import Retriever, rrf_fuse
from assistant.settings import Settings

CHAPTER_QUESTIONS = [
    ("Hvorfor kan biblioteket ikke nå sine mål uden partnerskaber?", "guide-01-intet-bibliotek-uden-partnerskaber"),
    ("Hvordan definerer guiden et partnerskab?", "guide-02-hvad-er-partnerskaber"),
    ("Hvordan udarbejder biblioteket en partnerskabsstrategi?", "guide-03-strategisk-vaerktoej"),
    ("Hvilke slags partnere kan biblioteket samarbejde med?", "guide-04-hvem-og-hvad"),
    ("Hvordan arbejder biblioteket med sit netværk?", "guide-05-netvaerk"),
    ("Hvad får en partner ud af at samarbejde med biblioteket?", "guide-06-hvad-faar-partneren"),
    ("Skal partnerskabsarbejdet styres centralt eller decentralt?", "guide-07-organisering"),
    ("Hvordan skaber biblioteket klare aftaler med partneren?", "guide-08-aftaler"),
    ("Hvorfor er kommunikation så vigtig i et partnerskab?", "guide-08-kommunikation"),
    ("Hvorfor skal partnerskabet evalueres løbende?", "guide-08-evaluering"),
]


@pytest.fixture(scope="module")
def retriever(corpus_settings: Settings) -> Retriever:
    return Retriever.from_settings(corpus_settings)


def _doc_ids(chunks: list) -> list[str]:
    return [c.doc_id for c in chunks]


@pytest.mark.parametrize(("question", "doc_id"), CHAPTER_QUESTIONS, ids=[d for _, d in CHAPTER_QUESTIONS])
def test_chapter_question_retrieves_its_chapter(retriever: Retriever, question: str, doc_id: str) -> None:
    chunks = retriever.search(question)
    assert len(chunks) == retriever.settings.retrieval_k
    assert doc_id in _doc_ids(chunks), _doc_ids(chunks)
    assert [c.score for c in chunks] == sorted((c.score for c in chunks), reverse=True)


@pytest.mark.parametrize("mode", ["dense", "bm25"])
def test_single_retriever_modes(retriever: Retriever, mode: str) -> None:
    question, doc_id = CHAPTER_QUESTIONS[7]
    chunks = retriever.search(question, mode=mode, k=4)
    assert len(chunks) == 4 and doc_id in _doc_ids(chunks)
    rank_attr = "dense_rank" if mode == "dense" else "bm25_rank"
    assert [getattr(c, rank_attr) for c in chunks] == [1, 2, 3, 4]
    # every chunk carries its cosine similarity, whatever the mode (the refusal gate needs it)
    assert all(c.dense_score is not None and 0.0 < c.dense_score <= 1.0 for c in chunks)


def test_hybrid_is_rrf_of_three_rankings(retriever: Retriever) -> None:
    """Dense, BM25 and heading (question ↔ section heading path) rankings, fused by RRF."""
    retrieval = retriever.retrieve("Hvilke udfordringer kan opstå i et partnerskab?", k=5)
    s = retriever.settings
    assert retrieval.headings and [c for c, _ in retrieval.headings] == sorted(
        (c for c, _ in retrieval.headings), key=lambda c: -dict(retrieval.headings)[c])
    candidates = {c for c, _ in retrieval.dense} | {c for c, _ in retrieval.lexical}
    assert {c for c, _ in retrieval.headings} == candidates  # the heading ranking only re-orders candidates
    for c in retrieval.chunks:
        ranks = ((c.dense_rank, s.dense_weight), (c.bm25_rank, s.bm25_weight), (c.heading_rank, s.heading_weight))
        assert c.score == pytest.approx(sum(w / (s.rrf_k + r) for r, w in ranks if r is not None))
        assert c.heading_score is not None and c.heading_rank is not None


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_dense_hits_left_out_by_fusion_are_kept_for_the_answer(retriever: Retriever, mode: str) -> None:
    """In a librarian's own words BM25 often misses the passage dense retrieval ranks first; the hybrid
    retrieval hands the dense top-k that fusion left out to the answer (the other modes have nothing extra)."""
    question = "Betyder forskellige arbejdskulturer noget, når vi samarbejder med en forening?"
    retrieval = retriever.retrieve(question, k=5, mode=mode)
    fused = [c.chunk_id for c in retrieval.chunks]
    extra = [c.chunk_id for c in retrieval.dense_extra]
    if mode != "hybrid":
        assert extra == []
        return
    assert extra == [cid for cid, _ in retrieval.dense[:5] if cid not in fused]
    assert not set(extra) & set(fused)
    for c in retrieval.dense_extra:
        assert c.dense_score == pytest.approx(dict(retrieval.dense)[c.chunk_id]) and c.dense_rank is not None


def test_headings_rank_the_chapter_that_asks_the_question(retriever: Retriever) -> None:
    """The heading ranking alone (question ↔ heading path) puts the asked chapter in its top 3; the single-
    retriever baselines stay pure (no heading ranking fused)."""
    found = 0
    for question, doc_id in CHAPTER_QUESTIONS:
        retrieval = retriever.retrieve(question, k=5)
        found += doc_id in {retriever.lexical.get(c)[1]["doc_id"] for c, _ in retrieval.headings[:3]}  # type: ignore[index]
    assert found >= len(CHAPTER_QUESTIONS) - 1
    for mode in ("dense", "bm25"):
        single = retriever.retrieve(CHAPTER_QUESTIONS[0][0], k=5, mode=mode)
        assert single.headings == [] and all(c.heading_rank is None and c.heading_score is not None
                                             for c in single.chunks)


def test_weights_come_from_settings(retriever: Retriever) -> None:
    """With the BM25 and heading weights at 0 the hybrid ranking is the dense ranking."""
    settings = retriever.settings.model_copy(update={"bm25_weight": 0.0, "heading_weight": 0.0})
    dense_only = Retriever(settings, embeddings=retriever.embeddings, index=retriever.index)
    question = "Hvordan kan biblioteket vise sine styrker over for en partner?"
    assert [c.chunk_id for c in dense_only.search(question, k=5)] == \
        [c.chunk_id for c in retriever.search(question, k=5, mode="dense")]


def test_bm25_searches_known_words_one_typo_away() -> None:
    """An unknown query word also searches the corpus words one edit from it; short words are left alone."""
    from assistant.index.lexical import LexicalIndex
    from assistant.lexical import typo_matches

    index = LexicalIndex.build([("a", "Sådan evaluerer I partnerskabet løbende.", {"section": "Evaluering"}),
                                ("b", "Aftalen beskriver roller og økonomi.", {"section": "Aftaler"})])
    assert [cid for cid, _ in index.search("hvordan evalurer man")] == ["a"]  # one letter missing
    assert index.search("hvordan evalurer man") and not index.search("hvordan xqzvw man")
    vocabulary = {"partner", "evaluer", "vej"}
    assert typo_matches("partnre", vocabulary) == ["partner"]  # two letters swapped
    assert typo_matches("vejr", vocabulary) == []  # too short to call it a typo
    assert typo_matches("partner", vocabulary) == []  # known words have no typo matches


def test_rrf_fuse() -> None:
    fused = rrf_fuse([(["a", "b"], 1.0), (["b", "c"], 2.0)], rrf_k=10)
    assert fused == pytest.approx({"a": 1 / 11, "b": 1 / 12 + 2 / 11, "c": 2 / 12})


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_filters_kind_and_chapter(retriever: Retriever, mode: str) -> None:
    cases = retriever.search("samarbejde med en lokal partner", k=5, mode=mode, filters={"kind": "case"})
    assert cases and {c.metadata["kind"] for c in cases} == {"case"}
    chapter = retriever.search("Hvordan evaluerer vi samarbejdet?", k=5, mode=mode, filters={"chapter": 8})
    assert chapter and {c.metadata["chapter"] for c in chapter} == {8}
    both = retriever.search("aftale", k=3, mode=mode, filters={"kind": "guide", "chapter": 8})
    assert both and all(c.metadata["kind"] == "guide" and c.metadata["chapter"] == 8 for c in both)


def test_unknown_filter_is_rejected(retriever: Retriever) -> None:
    with pytest.raises(ValueError, match="Ukendt filter"):
        retriever.search("aftale", filters={"farve": "blå"})


def test_nonsense_finds_nothing_lexically(retriever: Retriever) -> None:
    assert retriever.search("qwxz zzkv", mode="bm25") == []
    assert retriever.search("   ") == []


# --- follow-ups -------------------------------------------------------------------------------------
AGREEMENTS = [Turn(role="user", content="Hvordan laver vi en god samarbejdsaftale med en partner?"),
              Turn(role="assistant", content="Guiden anbefaler klare aftaler [1].")]


def test_follow_up_detection() -> None:
    assert is_follow_up("Hvad med evalueringen af det?")
    assert is_follow_up("Kan du uddybe?")
    assert is_follow_up("Hvordan gør vi det?")
    assert not is_follow_up("Hvad er den 12-fasede model?")
    assert not is_follow_up("Hvordan evaluerer vi et partnerskab med et museum?")


def test_contextualize_folds_previous_topic() -> None:
    query = contextualize("Hvad med evalueringen af det?", AGREEMENTS)
    assert query.startswith("Hvad med evalueringen af det?") and "samarbejdsaftale" in query
    # standalone questions and first questions are searched as they are
    assert contextualize("Hvad er den 12-fasede model?", AGREEMENTS) == "Hvad er den 12-fasede model?"
    assert contextualize("Hvad med evalueringen af det?") == "Hvad med evalueringen af det?"


LEKTIECAFE = [Turn(role="user", content="Fortæl om lektiecaféen på Hovedbiblioteket i Aarhus")]


def test_short_follow_up_without_pronoun_folds_previous_topic() -> None:
    """Elliptic follow-ups (definite noun or "var der", no subject of their own) borrow the previous topic."""
    for question in ("Hvem er målgruppen?", "Hvilke barrierer var der?", "Hvad kostede projektet?",
                     "Hvem har skrevet om den metode?", "Hvad var den største udfordring i det partnerskab?"):
        assert is_follow_up(question), question
        query = contextualize(question, LEKTIECAFE)
        assert query.startswith(question) and "lektiecaféen" in query, query
    # questions with a topic of their own are not polluted by the previous one
    for question in ("Hvad er en samarbejdsaftale?", "Hvad er Mellem_Rummet?", "Hvad er partnerskaber?",
                     "Hvem var med i Roskilde Kanon?", "Hvilke kapitler er der i guiden?",
                     "Hvordan evaluerer vi et partnerskab?", "Hvad er den 12-fasede model?",
                     "Jeg skal lave en aftale med gymnasiet – hvad skal den indeholde?"):
        assert contextualize(question, LEKTIECAFE) == question, question


def test_short_follow_up_retrieves_the_case(retriever: Retriever) -> None:
    chunks = retriever.search(contextualize("Hvem er målgruppen?", LEKTIECAFE))
    assert "case-lektiecafe" in _doc_ids(chunks[:3]), _doc_ids(chunks)


def test_bm25_synonyms_expand_the_query(retriever: Retriever) -> None:
    """"Faldgruber" is not in the guide; its synonym "udfordringer" is (BM25 only, dense is unchanged)."""
    assert expand_synonyms(tokenize("faldgruber"))[:1] == tokenize("faldgruber")
    assert set(tokenize("udfordringer problemer")) <= set(expand_synonyms(tokenize("faldgruber")))
    assert expand_synonyms(tokenize("evaluering")) == tokenize("evaluering")
    hits = retriever.bm25("Hvilke faldgruber er der i et partnerskab?", 5)
    assert "vaerktoej-udfordringer" in {retriever.lexical.get(cid)[1]["doc_id"] for cid, _ in hits}  # type: ignore[index]


def test_contextualize_resolves_chains() -> None:
    history = [*AGREEMENTS, Turn(role="user", content="Hvad med evalueringen af det?")]
    query = contextualize("Og hvem har ansvaret?", history)
    assert "samarbejdsaftale" in query and "evalueringen" in query


def test_follow_up_retrieves_evaluation_material(retriever: Retriever) -> None:
    chunks = retriever.search(contextualize("Hvad med evalueringen af det?", AGREEMENTS))
    evaluation = {"guide-08-evaluering", "vaerktoej-evaluering-strategisk-refleksiv-kommunikation",
                  "skabelon-evalueringsplan"}
    assert evaluation & set(_doc_ids(chunks[:3])), _doc_ids(chunks)
    assert sum("evaluer" in c.text.lower() for c in chunks) >= 3
