"""End to end in real headless Chromium: ask in the chat, get a cited answer, reload, still there."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from _ui_support import APP, ROOT, clean_env, copy_index, settings_env

from assistant.index.server import free_port
from assistant.settings import Settings

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
ARTIFACTS = ROOT / "test-artifacts"
QUESTION = "Hvad skal en samarbejdsaftale indeholde?"


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 120) -> None:
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
        time.sleep(0.5)
    raise TimeoutError("streamlit did not become healthy")


@contextlib.contextmanager
def run_streamlit(settings: Settings, folder: Path, **env: str) -> Iterator[str]:
    """``streamlit run ui/app.py`` on a free port for ``settings`` (extra ``PA_*`` in ``env``); yields its URL."""
    port = free_port()
    env = clean_env(settings_env(settings) | {"PA_CONFIG": str(folder / "ingen.toml")} | env)
    log_path = folder / "streamlit.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(APP), "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            try:
                _wait_healthy(url, proc)
            except Exception:
                print(log_path.read_text(errors="replace")[-4000:])
                raise
            yield url
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=5)


@pytest.fixture
def server(corpus_settings: Settings, tmp_path: Path) -> Iterator[str]:
    """``streamlit run ui/app.py`` on a free port; temp data dir with a copy of the prebuilt index."""
    with run_streamlit(copy_index(corpus_settings, tmp_path / "data"), tmp_path) as url:
        yield url


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed")
def test_chat_answer_survives_reload(server: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="da-DK")
            page.set_default_timeout(180_000)
            page.goto(server)
            # the sidebar's conversation list is drawn last: once it is there, the first run is complete
            expect(page.get_by_test_id("stSidebar")).to_contain_text("Tidligere samtaler", timeout=120_000)
            chat_input = page.get_by_test_id("stChatInputTextArea")
            chat_input.fill(QUESTION)
            chat_input.press("Enter")

            answer = page.get_by_test_id("stChatMessage").filter(has=page.get_by_test_id("stFeedback"))
            expect(answer).to_contain_text("[1]")  # a cited answer, with feedback thumbs under it
            source = answer.get_by_test_id("stExpander").filter(has_text="[1]").first
            source.locator("summary").click()  # open the first source: the quoted passage with its link
            expect(source.locator("details")).to_have_attribute("open", "")
            expect(source.locator("blockquote").first).to_be_visible()
            link = source.get_by_role("link", name="Den oprindelige side")
            expect(link).to_have_attribute("href", re.compile(r"^https?://"))
            expect(page.get_by_test_id("stChatMessage").filter(has_text=QUESTION).first).to_be_visible()
            # each cited [n] is a link to its source card
            marker = answer.locator('a[href^="#kilde-"]').first
            expect(marker).to_have_text(re.compile(r"^\[\d+\]$"))
            target = marker.get_attribute("href")
            assert target and page.locator(f"div[id='{target[1:]}']").count() == 1
            page.wait_for_function("document.documentElement.lang === 'da'")
            page.wait_for_url("**c=*")
            page.wait_for_timeout(600)  # let the expand animation finish before the screenshot
            page.screenshot(path=str(ARTIFACTS / "e2e-chat.png"), full_page=True)

            page.reload()  # a new session: the conversation comes back from SQLite via ?c=<id>
            reloaded = page.get_by_test_id("stChatMessage").filter(has=page.get_by_test_id("stFeedback"))
            expect(reloaded).to_contain_text("[1]")
            expect(page.get_by_test_id("stChatMessage").filter(has_text=QUESTION).first).to_be_visible()
            expect(reloaded.get_by_test_id("stExpander").filter(has_text="[1]").first).to_be_visible()
            expect(page.get_by_test_id("stSidebar")).to_contain_text(QUESTION[:25])  # an earlier conversation
            page.screenshot(path=str(ARTIFACTS / "e2e-chat-reloaded.png"), full_page=True)
            page.set_viewport_size({"width": 390, "height": 844})
            page.wait_for_timeout(600)
            page.screenshot(path=str(ARTIFACTS / "e2e-chat-390.png"), full_page=True)
        finally:
            browser.close()
