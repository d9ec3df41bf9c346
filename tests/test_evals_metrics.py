"""Unit tests of the eval metrics on small hand-made inputs, and consistency checks of the gold set."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import frontmatter
import pytest
from conftest import REAL_CORPUS

from evals import metrics as m
from evals.dataset import FIXED_DOC_IDS, load_gold


@dataclass
class Cit:
    n: int
    doc_id: str
    quote: str


# --- retrieval -----------------------------------------------------------------------------------------------
def test_rank_metrics_are_doc_level() -> None:
    docs = ["a", "b", "a", "c", "d"]
    assert m.first_relevant_rank(docs, {"c"}) == 4
    assert m.first_relevant_rank(docs, {"x"}) is None
    assert [m.hit_at(docs, {"c"}, k) for k in (1, 3, 5)] == [0.0, 0.0, 1.0]
    assert m.hit_at(docs, {"a"}, 1) == 1.0
    assert m.reciprocal_rank(docs, {"b", "d"}) == 0.5
    assert m.reciprocal_rank(docs, {"d"}, k=3) == 0.0  # outside the cut-off
    assert m.reciprocal_rank([], {"a"}) == 0.0


def test_ndcg_collapses_chunks_to_documents() -> None:
    # distinct docs: a, b, c -> the relevant doc b is at position 2
    assert m.ndcg_at(["a", "a", "b", "c"], {"b"}) == pytest.approx(1 / math.log2(3))
    assert m.ndcg_at(["b", "b", "b"], {"b"}) == 1.0  # repeated chunks do not inflate the gain
    # two relevant docs, found at positions 1 and 3 of the distinct ranking
    expected = (1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    assert m.ndcg_at(["x", "x", "y", "z", "q"], {"x", "z"}) == pytest.approx(expected)
    assert m.ndcg_at(["q"], {"x"}) == 0.0


# --- key facts ------------------------------------------------------------------------------------------------
def test_fact_matching_is_stemmed_and_accepts_synonyms() -> None:
    text = "Partnerne aftalte opgavefordelingen og samarbejdets varighed [1]."
    assert m.fact_found("opgavefordeling", text)          # inflected form matches
    assert m.fact_found("Varigheden", text)
    assert m.fact_found("tredjepart | varighed", text)     # either alternative
    assert not m.fact_found("tredjepart", text)
    assert m.fact_found("samarbejdets varighed", text)     # all words of the phrase are required ...
    assert not m.fact_found("samarbejdets økonomi", text)  # ... not just one of them
    assert m.key_fact_recall(text, ["opgavefordeling", "tredjepart"]) == 0.5
    assert m.key_fact_recall(text, []) == 1.0


def test_fact_of_only_stop_words_falls_back_to_substring() -> None:
    assert m.fact_found("og", "kaffe og te")
    assert not m.fact_found("og", "kaffe eller te")


# --- citations --------------------------------------------------------------------------------------------
def test_citation_support_by_document_or_fact() -> None:
    facts = ["Red Barnet Ungdom"]
    by_doc = m.judge_citation(Cit(1, "case-lektiecafe", "Caféen har åbent tre dage."), ["case-lektiecafe"], facts)
    by_fact = m.judge_citation(Cit(2, "guide-04-hvem-og-hvad", "Sammen med Red Barnet Ungdom."),
                               ["case-lektiecafe"], facts)
    neither = m.judge_citation(Cit(3, "case-krimicafe", "Politiet afviklede caféen."), ["case-lektiecafe"], facts)
    assert (by_doc.relevant_doc, by_doc.contains_fact, by_doc.supporting) == (True, False, True)
    assert (by_fact.relevant_doc, by_fact.contains_fact, by_fact.supporting) == (False, True, True)
    assert not neither.supporting
    assert m.citation_precision([by_doc, by_fact, neither]) == pytest.approx(2 / 3)
    assert m.citation_precision([]) is None


# --- faithfulness ---------------------------------------------------------------------------------------------
def test_faithfulness_judges_content_sentences_against_their_citations() -> None:
    quote1 = "Lektiecaféen drives sammen med Red Barnet Ungdom. Lektiehjælperne er unge studerende."
    quote2 = "Storskærmene blev betalt af en lokal virksomhed."
    text = ("Kort fortalt siger guiden:\n\n"
            "- Lektiecaféen drives sammen med Red Barnet Ungdom [1].\n"
            "- Lektiehjælperne er unge studerende [2].\n"   # true, but [2] does not say it
            "- Biblioteket fik gratis kaffe fra kommunen hver dag.\n\n"  # no marker, nowhere in the quotes
            "Læs mere i »Partnerskab om lektiecafé« [1].")
    result = m.faithfulness(text, [Cit(1, "a", quote1), Cit(2, "b", quote2)])
    assert (result.supported, result.judged) == (1, 3)
    assert not result.faithful and result.rate == pytest.approx(1 / 3)
    assert m.faithfulness("Læs mere i »X« [1].", []).rate is None  # framing only: nothing to judge


def test_sentence_without_marker_may_use_any_citation() -> None:
    cits = [Cit(1, "a", "Partnerne mødes og drøfter svarene mundtligt.")]
    assert m.sentence_supported("Partnerne drøfter svarene mundtligt bagefter.", cits)
    assert not m.sentence_supported("Partnerne sender regninger til kommunen.", cits)
    assert m.support("Aftalerne med partneren", "aftalen med partnerne") == 1.0  # stemmed


# --- refusal and templates ------------------------------------------------------------------------------------
def test_refusal_accuracy_counts_both_sets() -> None:
    result = m.refusal_accuracy([False, False, True], [True, False])
    assert result == {"accuracy": pytest.approx(3 / 5), "in_scope_answered": pytest.approx(2 / 3),
                      "out_of_scope_refused": 0.5}


def test_template_fill_accuracy_uses_normalised_containment() -> None:
    pairs = [("Roskilde  Bibliotekerne", "roskilde bibliotekerne"), (["nye borgere", "frivillige"], "Frivillige"),
             (None, "Red Barnet"), ("FO Aarhus", "")]
    assert [m.field_correct(a, e) for a, e in pairs] == [True, True, False, False]
    assert m.template_fill_accuracy(pairs) == 0.5
    assert m.template_fill_accuracy([]) == 0.0
    assert m.field_correct(["Nye borgere", "frivillige"], ["nye borgere", "Frivillige"])
    assert not m.field_correct(["Nye borgere, frivillige"], ["nye borgere", "frivillige"])  # not split
    assert not m.field_correct("nye borgere", ["nye borgere"])  # a list was expected


def test_percentile_and_mean() -> None:
    assert m.percentile([10.0, 20.0, 30.0, 40.0], 50) == 25.0
    assert m.percentile([5.0], 95) == 5.0
    assert m.mean([1.0, None, 3.0]) == 2.0 and m.mean([None]) is None


# --- the gold set ----------------------------------------------------------------------------------------------
def _corpus_texts() -> dict[str, str]:
    texts = {}
    for path in REAL_CORPUS.rglob("*.md"):
        post = frontmatter.loads(path.read_text(encoding="utf-8"))
        texts[str(post.get("id", Path(path).stem))] = f"{post.get('title', '')}\n{post.content}"
    return texts


def test_gold_set_size_and_ids() -> None:
    gold = load_gold()
    counts = gold.counts()
    assert counts["in_scope"] >= 80 and counts["out_of_scope"] >= 20 and counts["follow_ups"] >= 10
    fast = gold.subset(True).counts()
    assert fast["in_scope"] >= 30 and fast["out_of_scope"] >= 10
    styles = {q.style for q in gold.questions}
    assert {"short", "long", "typo", "synonym"} <= styles
    used = {d for q in (*gold.questions, *gold.follow_ups) for d in q.relevant}
    assert {d for d in FIXED_DOC_IDS if d.startswith(("guide-", "vaerktoej-"))} <= used  # every chapter and tool


def test_every_key_fact_occurs_in_a_relevant_document() -> None:
    """A gold fact the corpus does not contain could never be answered (checks only existing documents)."""
    texts = _corpus_texts()
    missing = []
    for item in (*load_gold().questions, *load_gold().follow_ups):
        docs = [texts[d] for d in item.relevant if d in texts]
        if not docs:
            continue
        missing += [f"{item.id}: {fact}" for fact in item.facts if not m.fact_found(fact, "\n".join(docs))]
    assert not missing, missing
