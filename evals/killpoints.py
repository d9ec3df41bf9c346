"""Real processes against one index, shared by ``tests/test_index_processes.py`` and ``python -m evals attacks``.

* ``kill_ingest_at``: run one ingest in a child process and ``SIGKILL`` it at a phase (``PHASES``) of an edit,
  a rebuild or a large-document update (``prepare_scenario``);
* ``serving_problems``: what is wrong with the served index compared with the sources (``[]`` = it serves
  exactly them: complete, BM25/chunk table and Chroma hold the expected chunk ids, no duplicate chunk positions,
  unit vectors for every chunk, ``--stats`` in sync);
* ``ask_while_writing``: ask questions in a loop in this process while another process writes the index, and
  follow each committed generation (as the UI's shared assistant does).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.index import IndexReader, check, index_stats, open_index, read_snapshot
from assistant.settings import PROJECT_ROOT, Settings
from ingest.chunking import chunk_document
from ingest.loaders import IngestError, load_file, resolve_duplicates
from ingest.pipeline import default_sources, discover_files, run_ingest, uploads_dir

PHASES = ("embedding", "add", "delete", "bm25", "units", "manifest")
SCENARIOS = ("edit", "rebuild", "large")

#: ``python driver.py PHASE[:N] rebuild|update``: one ingest of the default sources, killed with SIGKILL after
#: the N-th (default 1st) call of the phase's function (before it, for bm25/units).
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

    phase, _, count = sys.argv[1].partition(":")
    count, rebuild = int(count or 1), sys.argv[2] == "rebuild"
    settings = Settings()

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
        after(type(embeddings.get_embeddings(settings)), "_embed_passages", count)
    elif phase == "add":
        after(writer.IndexWriter, "_upsert", count)
    elif phase == "delete":
        after(collection_module.Collection, "delete", count)
    elif phase == "bm25":
        before(lexical.LexicalIndex, "save")
    elif phase == "units":
        before(units.UnitStore, "save")
    elif phase == "manifest":
        after(writer, "write_manifest")  # committed, journal not yet removed
    run_ingest(None, settings, rebuild=rebuild)
''')


def child_env(settings: Settings, **extra: str) -> dict[str, str]:
    """Environment of a child process that sees exactly ``settings`` (no other ``PA_*``, no config file, no LLM)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PA_")}
    env.update(PA_DATA_DIR=str(settings.data_dir), PA_CORPUS_DIR=str(settings.corpus_dir),
               PA_EMBEDDING_BACKEND=settings.embedding_backend, PA_LLM_BACKEND="none",
               PA_CONFIG=str(settings.data_dir / "none.toml"), PYTHONPATH=str(PROJECT_ROOT),
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", ANONYMIZED_TELEMETRY="False")
    if settings.chroma_host:
        env.update(PA_CHROMA_HOST=settings.chroma_host, PA_CHROMA_PORT=str(settings.chroma_port))
    env.update(extra)
    return env


def synthetic_doc(doc_id: str, sections: int, word: str = "partnerskab") -> str:
    """A corpus Markdown file with ``sections`` short sections (distinct texts, so every chunk is embedded)."""
    body = "\n\n".join(f"## Afsnit {i}\n\nTekst {i} om {word} og biblioteker i afsnit nummer {i}. "
                       f"Endnu en sætning {i} om samarbejde." for i in range(sections))
    return f"---\nid: {doc_id}\ntitle: {doc_id}\nkind: guide\n---\n# {doc_id}\n\n{body}\n"


#: scenario -> (question, text the answer's passage must contain) once the scenario's sources are served
SCENARIO_QUESTIONS: dict[str, tuple[str, str]] = {
    "edit": ("Ny tekst 1 om partnerskab", "Ny tekst 1 om"),
    "rebuild": ("Tekst 2 om partnerskab og biblioteker", "Tekst 2 om"),
    "large": ("Et nyt afsnit øverst om frivillige", "frivillige"),
}


def prepare_scenario(settings: Settings, name: str) -> str:
    """Write and ingest three documents into ``settings.corpus_dir``, then change the sources for scenario
    ``name`` (``edit``: one document edited, one deleted, one added; ``large``: a section inserted at the top of a
    40-section document and every section changed; ``rebuild``: nothing changed). Returns the ingest mode to kill."""
    corpus = settings.corpus_dir
    corpus.mkdir(parents=True, exist_ok=True)
    (corpus / "a.md").write_text(synthetic_doc("doc-a", 3), encoding="utf-8")
    (corpus / "b.md").write_text(synthetic_doc("doc-b", 2), encoding="utf-8")
    (corpus / "stor.md").write_text(synthetic_doc("doc-stor", 40), encoding="utf-8")
    run_ingest(None, settings)
    if name == "edit":
        (corpus / "a.md").write_text(synthetic_doc("doc-a", 3).replace("Tekst 1 om", "Ny tekst 1 om"),
                                     encoding="utf-8")
        (corpus / "b.md").unlink()
        (corpus / "c.md").write_text(synthetic_doc("doc-c", 2, "netværk"), encoding="utf-8")
    elif name == "large":
        (corpus / "stor.md").write_text(insert_top_section(synthetic_doc("doc-stor", 40)), encoding="utf-8")
    return "rebuild" if name == "rebuild" else "update"


def insert_top_section(text: str) -> str:
    """The large-document update: a new first section, and every "om partnerskab og" changed."""
    text = text.replace("## Afsnit 0", "## Nyt afsnit\n\nEt nyt afsnit øverst om frivillige.\n\n## Afsnit 0", 1)
    return text.replace("om partnerskab og", "om aftaler og")


def kill_ingest_at(settings: Settings, phase: str, mode: str, workdir: Path,
                   timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run ``DRIVER`` (an ingest of the default sources, ``mode`` = ``rebuild`` or ``update``) and kill it with
    ``SIGKILL`` at ``phase`` (``PHASES``, optionally ``phase:N`` = at the N-th call). ``returncode == -SIGKILL``
    when the kill happened."""
    driver = Path(workdir) / "kill_driver.py"
    driver.write_text(DRIVER, encoding="utf-8")
    return subprocess.run([sys.executable, str(driver), phase, mode], env=child_env(settings), cwd=workdir,
                          capture_output=True, text=True, timeout=timeout)


KILLED = -signal.SIGKILL


def expected_chunk_ids(settings: Settings) -> set[str]:
    """Chunk ids of the default sources (corpus + uploads) as an ingest would store them."""
    files, _missing = discover_files(default_sources(settings), optional=[uploads_dir(settings)])
    docs = []
    for file, root in files:
        try:
            docs.append(load_file(file, settings, root=root))
        except IngestError:
            continue
    kept, _dropped = resolve_duplicates(docs)
    return {str(c.id) for doc in kept for c in chunk_document(doc, settings)}


def serving_problems(settings: Settings) -> list[str]:
    """Why the served index is not exactly the sources (empty list: it is). Reads only; repairs nothing."""
    problems: list[str] = []
    state = check(settings).state
    if state != "complete":
        problems.append(f"state {state}")
    reader = open_index(settings)
    expected = expected_chunk_ids(settings)
    served = set(reader.lexical.chunk_ids)
    if not reader.is_complete:
        problems.append("the reader serves no complete generation")
    if served != expected:
        problems.append(f"BM25/chunk table: {len(expected - served)} missing, {len(served - expected)} extra")
    snapshot = read_snapshot(settings)
    stored = set(snapshot.chunks)
    if stored != expected:
        problems.append(f"Chroma: {len(expected - stored)} missing, {len(stored - expected)} extra")
    positions = Counter((c.metadata.get("doc_id"), c.metadata.get("chunk_index")) for c in snapshot.chunks.values())
    duplicates = sum(n - 1 for n in positions.values() if n > 1)
    if duplicates:
        problems.append(f"{duplicates} duplicate chunk positions")
    missing_units = expected - set(reader.unit_vectors(sorted(expected)))
    if missing_units:
        problems.append(f"{len(missing_units)} chunks without unit vectors")
    if not index_stats(settings).lexical_in_sync:
        problems.append("--stats: BM25 not in sync")
    return problems


# --- a reader that follows another process's writes --------------------------------------------------------
Asker = Callable[[str], str]
"""``ask(question) -> text`` the user would see (passages or the answer), checked for stale text."""


@dataclass
class FollowRun:
    """What ``ask_while_writing`` saw."""

    questions: int = 0
    generations: int = 0  # reloads after a newer generation was committed
    errors: list[str] = field(default_factory=list)
    stale_after_final: list[str] = field(default_factory=list)  # answers quoting deleted text after the switch
    writer_returncode: int | None = None
    writer_stderr: str = ""
    reader: IndexReader | None = None  # the reader in use at the end
    ask: Asker | None = None


def ask_while_writing(settings: Settings, writer: subprocess.Popen[str],
                      open_asker: Callable[[], tuple[IndexReader, Asker]], questions: Sequence[str], *,
                      stale: str, timeout: float = 600) -> FollowRun:
    """Ask ``questions`` in a loop until ``writer`` has exited and its last generation is served; between
    questions, reload (``open_asker``) whenever the reader is no longer current. Every exception counts as an
    error; after the final generation is served, an answer containing ``stale`` counts as stale."""
    run = FollowRun()
    reader, ask = open_asker()
    final_seen = False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        running = writer.poll() is None
        try:
            if not reader.is_current():
                reader, ask = open_asker()
                run.generations += 1
            for question in questions:
                text = ask(question)
                run.questions += 1
                if final_seen and stale in text:
                    run.stale_after_final.append(question)
        except Exception as exc:  # every failure counts
            run.errors.append(f"{type(exc).__name__}: {exc}")
        if not running:
            if final_seen:
                break
            final_seen = reader.is_current() and check(settings).state == "complete"
            if not final_seen:
                time.sleep(0.05)
        else:
            time.sleep(0.01)
    else:
        run.errors.append(f"timeout after {timeout:g} s")
        writer.kill()
    _out, run.writer_stderr = writer.communicate(timeout=60)
    run.writer_returncode = writer.returncode
    run.reader, run.ask = reader, ask
    return run


def retriever_asker(settings: Settings, embeddings: Any) -> Callable[[], tuple[IndexReader, Asker]]:
    """``open_asker`` for ``ask_while_writing`` over the retriever: the text of the top 5 passages."""
    from assistant.retrieval import Retriever

    def open_asker() -> tuple[IndexReader, Asker]:
        reader = open_index(settings)
        retriever = Retriever(settings, embeddings=embeddings, index=reader)
        return reader, lambda q: "\n".join(c.text for c in retriever.search(q, k=5))

    return open_asker
