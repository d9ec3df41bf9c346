"""A store that cannot be opened gives one Danish line and exit code 2 on every CLI (real subprocesses); a
``--rebuild`` moves a damaged local store aside (kept) and builds a fresh index.

The index here is tiny (two corpus files) and uses the deterministic ``fake`` embeddings: what is tested is how
the real Chroma (embedded on disk, and a closed server port) fails, not the model.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REAL_CORPUS, fake_settings

from assistant.index import StoreDamagedError, index_stats
from assistant.index.server import free_port
from assistant.settings import PROJECT_ROOT, Settings
from ingest.pipeline import run_ingest

pytestmark = pytest.mark.real  # subprocess CLIs

FILES = ("guide/guide-08-aftaler.md", "cases/case-krimicafe.md")


@pytest.fixture
def small_index(tmp_path: Path) -> Settings:
    """A committed embedded index of two real corpus files (fake embeddings)."""
    corpus = tmp_path / "corpus"
    for rel in FILES:
        (corpus / rel).parent.mkdir(parents=True, exist_ok=True)
        (corpus / rel).write_bytes((REAL_CORPUS / rel).read_bytes())
    settings = fake_settings(tmp_path, corpus_dir=corpus)
    report = run_ingest(None, settings)
    assert sorted(report.added) == ["case-krimicafe", "guide-08-aftaler"]
    return settings


def run_cli(settings: Settings, *args: str, **env_extra: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PA_")}
    env.update(PA_DATA_DIR=str(settings.data_dir), PA_CORPUS_DIR=str(settings.corpus_dir),
               PA_EMBEDDING_BACKEND="fake", HF_HUB_OFFLINE="1", PYTHONPATH=str(PROJECT_ROOT), **env_extra)
    return subprocess.run([sys.executable, "-m", *args], cwd=settings.data_dir.parent, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def test_a_down_chroma_server_gives_one_danish_line_on_every_cli(small_index: Settings) -> None:
    port = free_port()  # nothing listens there
    server = {"PA_CHROMA_HOST": "127.0.0.1", "PA_CHROMA_PORT": str(port)}
    expected = f"Chroma-serveren på 127.0.0.1:{port} kan ikke nås"
    commands = (
        ("ingest", "-q"),
        ("ingest", "--stats"),
        ("ingest", "--rebuild", "-q"),
        ("assistant", "ask", "Hvad skal en samarbejdsaftale indeholde?"),
        ("evals", "templates", "--guide", "--out", str(small_index.data_dir / "evals-out")),
    )
    for command in commands:
        done = run_cli(small_index, *command, **server)
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2, (command, done.stderr[-2000:])
        assert len(lines) == 1 and lines[0].startswith(expected), (command, done.stderr[-2000:])
        assert "Traceback" not in done.stderr + done.stdout
    # nothing stored was touched: the embedded index still answers the same way
    assert index_stats(small_index).documents == 2


def test_rebuild_moves_a_damaged_store_aside_and_builds_fresh(small_index: Settings) -> None:
    sqlite = small_index.chroma_path / "chroma.sqlite3"
    garbage = os.urandom(64 * 1024)
    sqlite.write_bytes(garbage)

    # without --rebuild: one Danish line that says what to do, and the damaged file is left alone
    done = run_cli(small_index, "ingest", "-q")
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.strip().splitlines() == [
        f"Det lokale søgeindeks i {small_index.chroma_path} er beskadiget (chroma.sqlite3 kan ikke læses) – "
        "kør python -m ingest --rebuild for at flytte det til side og bygge det forfra."]
    assert sqlite.read_bytes() == garbage
    with pytest.raises(StoreDamagedError):
        run_ingest(None, small_index)

    # --rebuild (in this process, whose Chroma system of the old store is still cached)
    report = run_ingest(None, small_index, rebuild=True)
    aside = [p for p in small_index.chroma_path.parent.iterdir() if p.name.startswith("chroma-beskadiget-")]
    assert len(aside) == 1
    assert (aside[0] / "chroma.sqlite3").read_bytes() == garbage  # kept as it was, for inspection
    assert any(m.startswith("Det lokale søgeindeks var beskadiget") and str(aside[0]) in m for m in report.messages)
    assert sorted(report.added) == ["case-krimicafe", "guide-08-aftaler"]
    assert index_stats(small_index).documents == 2

    # the fresh store serves a new process, and the CLI's rebuild reports a second damage in Danish on stdout
    done = run_cli(small_index, "assistant", "ask", "Hvad skal en samarbejdsaftale indeholde?", "--json")
    assert done.returncode == 0 and '"citations"' in done.stdout, done.stderr[-2000:]
    (small_index.chroma_path / "chroma.sqlite3").write_bytes(garbage)
    done = run_cli(small_index, "ingest", "--rebuild", "-q")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Det lokale søgeindeks var beskadiget og er flyttet til side" in " ".join(done.stdout.split())
    assert len([p for p in small_index.chroma_path.parent.iterdir() if p.name.startswith("chroma-beskadiget-")]) == 2
    done = run_cli(small_index, "assistant", "ask", "Hvad skal en samarbejdsaftale indeholde?", "--json")
    assert done.returncode == 0 and '"citations"' in done.stdout, done.stderr[-2000:]
