"""Render the README's results block from ``evals/results/eval.json`` and ``bench.json`` (``python -m evals readme``).

The block sits between ``<!-- results -->`` and ``<!-- /results -->``; everything else in the README is kept.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from assistant.settings import PROJECT_ROOT
from evals.report import RESULTS_DIR, fmt, markdown_table

README = PROJECT_ROOT / "README.md"
START, END = "<!-- results -->", "<!-- /results -->"
EVAL_COLUMNS = [("hit@1", "hit@1"), ("hit@5", "hit@5"), ("MRR", "mrr"), ("nDCG@10", "ndcg@10"),
                ("follow-up hit@5", "followup_hit@5"), ("key facts", "key_fact_recall"),
                ("citation precision", "citation_precision"), ("faithfulness", "faithfulness"),
                ("refusal acc.", "refusal_accuracy")]


def _load(name: str, results_dir: Path) -> dict[str, Any]:
    return json.loads((results_dir / name).read_text(encoding="utf-8"))


def _ms(stats: dict[str, Any] | None) -> str:
    return f"{stats['p50_ms']:.0f} / {stats['p95_ms']:.0f}" if stats else "–"


def eval_section(result: dict[str, Any]) -> str:
    rows = [[name] + [fmt(v["summary"].get(key)) for _, key in EVAL_COLUMNS]
            for name, v in result["variants"].items()]
    counts = result["meta"]["counts"]
    lines = [
        f"**Quality** (`python -m evals run`, {result['meta']['environment'].get('timestamp', '')[:10]}; "
        f"{counts['in_scope']} in-scope questions, {counts['out_of_scope']} out-of-scope, "
        f"{counts['follow_ups']} follow-ups; percent; extractive answers, no LLM):",
        "",
        markdown_table(["variant"] + [label for label, _ in EVAL_COLUMNS], rows),
    ]
    templates = result.get("templates") or {}
    if templates.get("accuracy") is not None:
        lines += ["", f"Template filling ({templates['dialogues']} scripted dialogues): "
                      f"{fmt(templates['accuracy'])} % of {templates['fields']} expected fields correct, "
                      f"{templates.get('misrouted', '?')} misrouted and {templates.get('lost', '?')} lost values."]
    return "\n".join(lines)


def bench_section(result: dict[str, Any]) -> str:
    embedded, server = result, result.get("chroma_server") or {}
    rows = []

    def row(label: str, get: Any) -> None:
        values = []
        for source in (embedded, server):
            try:
                values.append(str(get(source)))
            except (KeyError, TypeError):
                values.append("–")
        rows.append([label, *values])

    row("ingest, chunks/s (raw embedding texts/s)",
        lambda r: f"{r['ingest']['ingest_chunks_per_s']} ({r['ingest']['raw_embed_texts_per_s']})")
    row("re-ingest without changes, s (texts embedded)",
        lambda r: f"{r['ingest']['reingest_s']} ({r['ingest']['reingest_embedded']})")
    for mode in ("bm25", "dense", "hybrid"):
        row(f"retrieval {mode} p50 / p95, ms", lambda r, m=mode: _ms(r["latency"][f"retrieval_{m}"]))
    row("whole extractive answer (cold) p50 / p95, ms", lambda r: _ms(r["latency"]["answer_cold"]))
    row("query embedding alone (the floor) p50 / p95, ms", lambda r: _ms(r["latency"].get("query_embedding")))
    row("whole extractive answer (warm) p50 / p95, ms", lambda r: _ms(r["latency"].get("answer_warm")))
    memory = result.get("memory", {})
    scaling = "; ".join(
        f"{s['scale']}x: {s['chunks']} chunks, "
        + (f"ingest without embedding {s['ingest_s']} s (vectors reused)" if s.get("vectors_reused")
           else f"ingest {s['ingest_s']} s")
        + f", hybrid p50 {s['hybrid_p50_ms']} ms, answer p50 {s['answer_p50_ms']} ms"
        + (" (no-change re-ingest failed, see bench.md)" if s.get("reingest_error") else "")
        for s in result.get("scaling", [])
    )
    return "\n".join([
        "**Speed, memory, scale** (`python -m evals bench`):",
        "",
        markdown_table(["measure", "embedded Chroma", "Chroma server"], rows),
        "",
        f"Memory (RSS): {memory.get('assistant_loaded_mb')} MB with the assistant loaded, "
        f"{memory.get('after_first_answer_mb')} MB after the first answer. Scaling on synthetic corpora: {scaling}.",
    ])


def render(results_dir: Path = RESULTS_DIR) -> str:
    parts = [START, "Full tables, misses and the exact settings: `evals/results/eval.md`, "
             "`evals/results/bench.md`.", ""]
    if (results_dir / "eval.json").exists():
        parts += [eval_section(_load("eval.json", results_dir)), ""]
    if (results_dir / "bench.json").exists():
        parts += [bench_section(_load("bench.json", results_dir)), ""]
    return "\n".join([*parts, END])


def update_readme(readme: Path = README, results_dir: Path = RESULTS_DIR) -> bool:
    """Replace the results block; returns True when the README changed."""
    text = readme.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.S)
    block = render(results_dir)
    new = pattern.sub(lambda _: block, text) if pattern.search(text) else text.replace(START, block)
    if new != text:
        readme.write_text(new, encoding="utf-8")
    return new != text
