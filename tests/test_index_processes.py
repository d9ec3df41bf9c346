"""Real processes against one index (fake embeddings, real Chroma on disk): ``kill -9`` at every phase of an
edit, a rebuild and a large-document update is detected and finished before anything is served, and a running
reader follows a ``--rebuild`` and an edit ingest done by another process without errors or deleted text."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import fake_settings

from assistant.embeddings import get_embeddings
from assistant.index import check, index_stats
from assistant.retrieval import Retriever
from evals.killpoints import (
    KILLED,
    PHASES,
    SCENARIOS,
    ask_while_writing,
    child_env,
    kill_ingest_at,
    prepare_scenario,
    retriever_asker,
    serving_problems,
    synthetic_doc,
)
from ingest.pipeline import ensure_default_index, run_ingest


@pytest.mark.parametrize("phase", PHASES)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_kill_9_at_every_phase_is_finished_before_serving(tmp_path: Path, scenario: str, phase: str) -> None:
    settings = fake_settings(tmp_path, corpus_dir=tmp_path / "corpus")
    mode = prepare_scenario(settings, scenario)
    done = kill_ingest_at(settings, phase, mode, tmp_path)
    if scenario == "rebuild" and phase == "delete":
        assert done.returncode == 0, done.stderr  # a rebuild fills an empty collection: nothing to delete
    else:
        assert done.returncode == KILLED, done.stderr
        if phase != "manifest":
            assert check(settings).state == "interrupted" and not index_stats(settings).lexical_in_sync
    ensure_default_index(settings)  # the next start
    assert serving_problems(settings) == []


READER_SCRIPT = textwrap.dedent('''
    """Rebuild, then edit one document and ingest again (another process than the reader)."""
    import sys
    from pathlib import Path
    from assistant.settings import Settings
    from ingest.pipeline import run_ingest

    run_ingest(None, Settings(), rebuild=True)
    file = Path(sys.argv[1])
    file.write_text(file.read_text(encoding="utf-8").replace("gamle kaffeaftale", "nye teaftale"), encoding="utf-8")
    run_ingest(None, Settings())
''')


def test_a_running_reader_follows_rebuild_and_edit_from_another_process(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(12):
        (corpus / f"d{i}.md").write_text(synthetic_doc(f"doc-{i}", 6), encoding="utf-8")
    target = corpus / "aftale.md"
    target.write_text("# Aftale\n\n## Kaffe\n\nDen gamle kaffeaftale gælder for alle møder mellem partnerne.\n",
                      encoding="utf-8")
    settings = fake_settings(tmp_path, corpus_dir=corpus)
    run_ingest(None, settings)
    embeddings = get_embeddings(settings)
    script = tmp_path / "writer.py"
    script.write_text(READER_SCRIPT, encoding="utf-8")
    proc = subprocess.Popen([sys.executable, str(script), str(target)], env=child_env(settings), cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    run = ask_while_writing(settings, proc, retriever_asker(settings, embeddings),
                            ("Hvad siger kaffeaftalen om møder?", "Hvad gælder for møder mellem partnerne?"),
                            stale="gamle kaffeaftale")
    assert run.writer_returncode == 0, run.writer_stderr
    assert run.errors == [] and run.stale_after_final == []
    assert run.questions > 10 and run.generations >= 1
    reader = run.reader
    assert reader is not None
    hits = Retriever(settings, embeddings=embeddings, index=reader).search("Hvad siger teaftalen om møder?", k=3)
    assert any("nye teaftale" in c.text for c in hits)
    assert reader.generation == 3 and not any("gamle" in t for t in reader.lexical.texts)
