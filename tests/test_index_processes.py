"""Real processes against one index (fake embeddings, real Chroma on disk): ``kill -9`` at every phase of an
edit, a rebuild and a large-document update is detected and finished before anything is served, and a running
reader follows a ``--rebuild`` and an edit ingest done by another process without errors or deleted text."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest
from conftest import fake_settings, stored_collection

from assistant.embeddings import get_embeddings
from assistant.index import check, index_stats, open_index
from assistant.retrieval import Retriever
from assistant.settings import PROJECT_ROOT, Settings
from ingest.chunking import chunk_document
from ingest.loaders import load_file
from ingest.pipeline import ensure_default_index, run_ingest

PHASES = ("embedding", "add", "delete", "bm25", "units", "manifest")

DRIVER = textwrap.dedent('''
    """Run one ingest and SIGKILL this process at a given phase."""
    import os, signal, sys
    import chromadb.api.models.Collection as collection_module
    import assistant.embeddings as embeddings
    import assistant.index.lexical as lexical
    import assistant.index.units as units
    import assistant.index.writer as writer
    from assistant.settings import Settings
    from ingest.pipeline import run_ingest

    phase, rebuild = sys.argv[1], sys.argv[2] == "rebuild"

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    def after(cls, name, count=1):
        original, seen = getattr(cls, name), []
        def wrapped(*args, **kwargs):
            result = original(*args, **kwargs)
            seen.append(1)
            if len(seen) >= count:
                die()
            return result
        setattr(cls, name, wrapped)

    def before(cls, name):
        setattr(cls, name, lambda *a, **k: die())

    if phase == "embedding":
        after(embeddings.FakeEmbeddings, "_embed_passages")
    elif phase == "add":
        after(writer.IndexWriter, "_upsert")
    elif phase == "delete":
        after(collection_module.Collection, "delete")
    elif phase == "bm25":
        before(lexical.LexicalIndex, "save")
    elif phase == "units":
        before(units.UnitStore, "save")
    elif phase == "manifest":
        after(writer, "write_manifest")  # committed, journal not yet removed
    run_ingest(None, Settings(), rebuild=rebuild)
''')


def _env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PA_")}
    env.update(PA_DATA_DIR=str(settings.data_dir), PA_CORPUS_DIR=str(settings.corpus_dir),
               PA_EMBEDDING_BACKEND="fake", PA_LLM_BACKEND="none", PA_CONFIG=str(settings.data_dir / "none.toml"),
               PYTHONPATH=str(PROJECT_ROOT))
    return env


def _doc(doc_id: str, sections: int, word: str = "partnerskab") -> str:
    body = "\n\n".join(f"## Afsnit {i}\n\nTekst {i} om {word} og biblioteker i afsnit nummer {i}. "
                       f"Endnu en sætning {i} om samarbejde." for i in range(sections))
    return f"---\nid: {doc_id}\ntitle: {doc_id}\nkind: guide\n---\n# {doc_id}\n\n{body}\n"


def _expected_ids(settings: Settings) -> set[str]:
    ids: set[str] = set()
    for file in settings.corpus_dir.rglob("*.md"):
        ids |= {str(c.id) for c in chunk_document(load_file(file, settings, root=settings.corpus_dir), settings)}
    return ids


def _assert_serves_exactly_the_corpus(settings: Settings) -> None:
    ensure_default_index(settings)  # the next start
    assert check(settings).state == "complete"
    reader = open_index(settings)
    expected = _expected_ids(settings)
    assert reader.is_complete and set(reader.lexical.chunk_ids) == expected
    got = stored_collection(settings).get(include=["metadatas"])
    assert set(got["ids"]) == expected
    positions = Counter((m["doc_id"], m["chunk_index"]) for m in got["metadatas"])
    assert max(positions.values()) == 1  # no duplicate chunk positions for any document
    assert set(reader.unit_vectors(list(expected))) == expected
    assert index_stats(settings).lexical_in_sync


def _scenario(tmp_path: Path, name: str) -> tuple[Settings, str]:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.md").write_text(_doc("doc-a", 3), encoding="utf-8")
    (corpus / "b.md").write_text(_doc("doc-b", 2), encoding="utf-8")
    (corpus / "stor.md").write_text(_doc("doc-stor", 40), encoding="utf-8")
    settings = fake_settings(tmp_path, corpus_dir=corpus)
    run_ingest(None, settings)
    if name == "edit":
        (corpus / "a.md").write_text(_doc("doc-a", 3).replace("Tekst 1 om", "Ny tekst 1 om"), encoding="utf-8")
        (corpus / "b.md").unlink()
        (corpus / "c.md").write_text(_doc("doc-c", 2, "netværk"), encoding="utf-8")
    elif name == "large":
        text = _doc("doc-stor", 40)
        text = text.replace("## Afsnit 0", "## Nyt afsnit\n\nEt nyt afsnit øverst om frivillige.\n\n## Afsnit 0")
        (corpus / "stor.md").write_text(text.replace("om partnerskab og", "om aftaler og"), encoding="utf-8")
    return settings, "rebuild" if name == "rebuild" else "update"


@pytest.mark.parametrize("phase", PHASES)
@pytest.mark.parametrize("scenario", ["edit", "rebuild", "large"])
def test_kill_9_at_every_phase_is_finished_before_serving(tmp_path: Path, scenario: str, phase: str) -> None:
    settings, mode = _scenario(tmp_path, scenario)
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER, encoding="utf-8")
    done = subprocess.run([sys.executable, str(driver), phase, mode], env=_env(settings), cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    if scenario == "rebuild" and phase == "delete":
        assert done.returncode == 0, done.stderr  # a rebuild fills an empty collection: nothing to delete
    else:
        assert done.returncode == -signal.SIGKILL, done.stderr
        if phase != "manifest":
            assert check(settings).state == "interrupted" and not index_stats(settings).lexical_in_sync
    _assert_serves_exactly_the_corpus(settings)


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
        (corpus / f"d{i}.md").write_text(_doc(f"doc-{i}", 6), encoding="utf-8")
    target = corpus / "aftale.md"
    target.write_text("# Aftale\n\n## Kaffe\n\nDen gamle kaffeaftale gælder for alle møder mellem partnerne.\n",
                      encoding="utf-8")
    settings = fake_settings(tmp_path, corpus_dir=corpus)
    run_ingest(None, settings)
    embeddings = get_embeddings(settings)
    reader = open_index(settings)
    retriever = Retriever(settings, embeddings=embeddings, index=reader)
    script = tmp_path / "writer.py"
    script.write_text(READER_SCRIPT, encoding="utf-8")
    proc = subprocess.Popen([sys.executable, str(script), str(target)], env=_env(settings), cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    errors: list[str] = []
    questions = generations = 0
    stale_after_final: list[str] = []
    final_seen = False
    while True:
        running = proc.poll() is None
        try:
            if not reader.is_current():
                reader = open_index(settings)
                retriever = Retriever(settings, embeddings=embeddings, index=reader)
                generations += 1
            for question in ("Hvad siger kaffeaftalen om møder?", "Hvad gælder for møder mellem partnerne?"):
                chunks = retriever.search(question, k=5)
                questions += 1
                if final_seen and any("gamle kaffeaftale" in c.text for c in chunks):
                    stale_after_final.append(question)
        except Exception as exc:  # every failure counts
            errors.append(f"{type(exc).__name__}: {exc}")
        if not running:
            if final_seen:
                break
            final_seen = reader.is_current() and check(settings).state == "complete"
            if not final_seen:
                time.sleep(0.05)
        else:
            time.sleep(0.01)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert errors == [] and stale_after_final == []
    assert questions > 10 and generations >= 1
    hits = retriever.search("Hvad siger teaftalen om møder?", k=3)
    assert any("nye teaftale" in c.text for c in hits)
    assert reader.generation == 3 and not any("gamle" in t for t in reader.lexical.texts)
