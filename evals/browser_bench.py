"""Speed as a user feels it, measured in headless Chromium against a cold ``streamlit run ui/app.py``.

The app is started as a new process on an existing index (real model, embedded Chroma); the clock starts when the
process is spawned. Measured in the browser:

* ``ready_s``: until the start-up status says "Assistenten er klar" (index checked, model loaded, warm-up
  question answered) — what the first visitor waits before the chat input appears;
* ``first_answer_s``: from pressing Enter on the first question after ready until its finished answer (the text
  with its source cards and feedback thumbs) is on the page; target < 3 s (:data:`FIRST_ANSWER_TARGET_S`);
* ``answers``: the same for each further question (p50 / mean / max), all starter questions of the chat page.

``python -m evals bench`` runs it as one section (``--no-browser`` skips it); alone:
``python -m evals.browser_bench`` (uses the configured index, ``PA_*``). The launcher is shared with the
browser tests (``tests/test_e2e_browser.py``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from assistant.index.server import free_port
from assistant.settings import PROJECT_ROOT, Settings

APP = PROJECT_ROOT / "ui" / "app.py"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
READY = "Assistenten er klar"  # the status label of ui/app.py once warm
FIRST_ANSWER_TARGET_S = 3.0
VIEWPORT = {"width": 1400, "height": 900}
#: finished answers on the page: an assistant message with its feedback thumbs (drawn after the sources)
_ANSWERS_JS = "() => document.querySelectorAll('[data-testid=stChatMessage] [data-testid=stFeedback]').length"


def chromium_available() -> bool:
    return Path(CHROMIUM).exists()


def app_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The current environment without ``PA_*``, plus every setting of ``settings`` as ``PA_*`` (and ``extra``),
    so the app process runs exactly that configuration; ``PA_CONFIG`` points at no file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PA_")}
    for name in Settings.model_fields:
        value = getattr(settings, name)
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        env[f"PA_{name.upper()}"] = str(value).lower() if isinstance(value, bool) else str(value)
    env.update({"PA_CONFIG": str(Path(settings.data_dir) / "ingen-config.toml"), "HF_HUB_OFFLINE": "1",
                "ANONYMIZED_TELEMETRY": "False", **extra})
    return env


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    """Until Streamlit's health endpoint answers (RuntimeError if the process dies, TimeoutError after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise TimeoutError("streamlit did not become healthy")


@contextlib.contextmanager
def streamlit_app(env: dict[str, str], log_path: Path) -> Iterator[tuple[str, float]]:
    """``streamlit run ui/app.py`` on a free port with ``env``; yields ``(url, monotonic spawn time)``, once healthy.

    The process (and its children) is stopped by process group at the end; its output goes to ``log_path``."""
    port = free_port()
    with log_path.open("wb") as log:
        spawned = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(APP), "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"],
            cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            try:
                wait_healthy(url, proc)
            except Exception:
                print(log_path.read_text(errors="replace")[-4000:])
                raise
            yield url, spawned
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=5)


def launch_chromium(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


def _ask(page: Any, question: str, answers_before: int, timeout_ms: float) -> float:
    """Type ``question``, press Enter; seconds until its finished answer is on the page."""
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(question)
    started = time.monotonic()
    box.press("Enter")
    page.wait_for_function(f"n => ({_ANSWERS_JS})() > n", arg=answers_before, polling=25, timeout=timeout_ms)
    return time.monotonic() - started


def measure(settings: Settings, questions: Sequence[str], *, timeout_s: float = 300) -> dict[str, Any]:
    """Cold start of the app on ``settings``' index, then ``questions`` asked one after another in Chromium."""
    from playwright.sync_api import sync_playwright

    from evals.metrics import percentile

    with tempfile.TemporaryDirectory(prefix="pa-browser-bench-") as tmp, sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            with streamlit_app(app_env(settings, PA_LLM_BACKEND="none"), Path(tmp) / "streamlit.log") as (url, t0):
                healthy_s = time.monotonic() - t0
                page = browser.new_page(viewport=VIEWPORT, locale="da-DK")
                opened = time.monotonic()
                page.goto(url)
                page.get_by_text(READY).first.wait_for(timeout=timeout_s * 1000)
                ready = time.monotonic()
                page.get_by_test_id("stChatInputTextArea").wait_for(timeout=timeout_s * 1000)
                times = [_ask(page, q, i, timeout_s * 1000) for i, q in enumerate(questions)]
        finally:
            browser.close()
    rest = times[1:]
    return {
        "server_up_s": round(healthy_s, 2),
        "ready_s": round(ready - t0, 2),
        "ready_after_page_open_s": round(ready - opened, 2),
        "first_answer_s": round(times[0], 2),
        "first_answer_target_s": FIRST_ANSWER_TARGET_S,
        "first_answer_ok": times[0] < FIRST_ANSWER_TARGET_S,
        "answers": {"n": len(rest), "p50_s": round(percentile(rest, 50), 2) if rest else None,
                    "mean_s": round(sum(rest) / len(rest), 2) if rest else None,
                    "max_s": round(max(rest), 2) if rest else None},
        "questions": list(questions),
        "per_question_s": [round(t, 2) for t in times],
    }


def run(settings: Settings, log: Callable[[str], None] = print) -> dict[str, Any]:
    """The browser section of the bench; ``{"skipped": reason}`` when it cannot run here."""
    if not chromium_available():
        return {"skipped": f"Chromium findes ikke ({CHROMIUM})"}
    from ui.chat import STARTER_QUESTIONS

    log("Browseren: kold start, klar-status og svartider …")
    try:
        return measure(settings, STARTER_QUESTIONS)
    except Exception as exc:  # the other bench sections are still worth writing
        return {"error": f"{type(exc).__name__}: {exc}"}


# --- output ------------------------------------------------------------------------------------------------------
def table_rows(result: dict[str, Any]) -> list[tuple[str, str, str]]:
    """``(metric, value, "")`` rows for the bench's summary table."""
    b = result.get("browser")
    if not b:
        return []
    if "ready_s" not in b:
        return [("browser (kold start)", b.get("skipped") or b.get("error", "–"), "")]
    a = b["answers"]
    return [
        ("browser: kold start til «klar» (s)", f"{b['ready_s']:.1f}", ""),
        ("browser: første svar efter «klar» (s)",
         f"{b['first_answer_s']:.2f} ({'under' if b['first_answer_ok'] else 'over'} {b['first_answer_target_s']:g} s)",
         ""),
        ("browser: næste svar p50 / maks (s)",
         f"{a['p50_s']:.2f} / {a['max_s']:.2f}" if a["n"] else "–", ""),
    ]


def markdown_lines(result: dict[str, Any]) -> list[str]:
    """The bench report's browser section (Markdown lines, ending with a blank line; none when not run)."""
    b = result.get("browser")
    if not b:
        return []
    lines = ["## Oplevet hastighed i browseren (headless Chromium, kold start)", ""]
    if "ready_s" not in b:
        return [*lines, f"Ikke målt: {b.get('skipped') or b.get('error')}.", ""]
    a = b["answers"]
    rows = [
        ("server svarer (s)", f"{b['server_up_s']:.1f}"),
        ("kold start til status «klar» (s)", f"{b['ready_s']:.1f}"),
        ("  heraf efter siden blev åbnet (s)", f"{b['ready_after_page_open_s']:.1f}"),
        (f"første svar efter «klar» (s; mål < {b['first_answer_target_s']:g})", f"{b['first_answer_s']:.2f}"),
        (f"næste {a['n']} svar p50 / gennemsnit / maks (s)",
         f"{a['p50_s']:.2f} / {a['mean_s']:.2f} / {a['max_s']:.2f}" if a["n"] else "–"),
    ]
    from evals.report import markdown_table

    return [*lines, markdown_table(["mål", "værdi"], rows), "",
            "Et svar er færdigt, når teksten med kildekort og tommelfingre står på siden. Spørgsmål: "
            + ", ".join(f"»{q}« {t:.2f} s" for q, t in zip(b["questions"], b["per_question_s"], strict=True)) + ".",
            ""]


def main() -> int:
    from assistant.settings import get_settings

    result = {"browser": run(get_settings())}
    for label, value, _ in table_rows(result):
        print(f"{label}: {value}")
    return 0 if result["browser"].get("first_answer_ok") else 1


if __name__ == "__main__":
    sys.exit(main())
