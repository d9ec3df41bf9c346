"""End to end in real headless Chromium: draft a collaboration agreement from a chat.

The chat mentions the partner and the activity; the template proposes them (accepted), a side question mid-draft
is answered from the guide with sources while the draft stays open, leaving parks the draft and it is resumed,
the required fields are answered, and the DOCX is downloaded and read back. Screenshots (desktop and 390 px) go to
``test-artifacts/``.
"""

from __future__ import annotations

import os
from io import BytesIO
from pathlib import Path

import pytest
from docx import Document
from test_e2e_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, server  # noqa: F401 (fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CHAT = "Vi vil gerne samarbejde med det lokale museum om en udstilling"
SIDE_QUESTION = "Hvad skal en samarbejdsaftale indeholde?"
ANSWERS_BEFORE_PARK = ["Roskilde Bibliotekerne"]
ANSWERS_AFTER_RESUME = [
    "at give flere borgere lyst til byens historie",
    "300 besøgende og 4 skoleklasser",
    "lokaler, formidling og markedsføring",
    "genstande fra samlingen og en inspektør",
    "Anna Holm, projektleder, anna@roskilde.dk",
    "Peter Lund, museumsinspektør",
    "1. marts 2027",
]


def _send(page, text: str, expect_in_reply: str) -> None:
    from playwright.sync_api import expect

    messages = page.get_by_test_id("stChatMessage")
    before = messages.count()
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(text)
    box.press("Enter")
    expect(messages).to_have_count(before + 2)  # the user's message and the reply
    expect(messages.last).to_contain_text(expect_in_reply)
    expect(page.get_by_test_id("stChatInput").locator("textarea")).to_be_enabled()


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed")
def test_draft_an_agreement_from_a_chat(server: str, tmp_path: Path) -> None:  # noqa: F811
    run_in_browser(server, tmp_path)


def run_in_browser(url: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    expect.set_options(timeout=180_000)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="da-DK", accept_downloads=True)
            page.set_default_timeout(180_000)
            page.goto(url)
            sidebar = page.get_by_test_id("stSidebar")
            expect(sidebar).to_contain_text("Tidligere samtaler")
            _send(page, CHAT, "")
            expect(page.get_by_test_id("stChatMessage").filter(has=page.get_by_test_id("stFeedback"))).to_be_visible()

            # start the agreement: what the chat said is proposed, the user accepts it
            sidebar.get_by_role("button", name="Lav et udkast til samarbejdsaftale").click()
            last = page.get_by_test_id("stChatMessage").last
            expect(last).to_contain_text("Partneren: det lokale museum")
            expect(last).to_contain_text("Aktiviteter: En udstilling")
            page.get_by_role("button", name="Brug dem alle").click()
            expect(page.get_by_test_id("stChatMessage").last).to_contain_text("Hvilket bibliotek er part i aftalen?")
            for text in ANSWERS_BEFORE_PARK:
                _send(page, text, "Gemt i udkastet")

            # a side question is answered from the guide with sources; the pending question comes back
            _send(page, SIDE_QUESTION, "Fra guiden")
            last = page.get_by_test_id("stChatMessage").last
            expect(last).to_contain_text("[1]")
            expect(last).to_contain_text("Hvad er formålet med partnerskabet?")
            expect(last.get_by_test_id("stExpander").first).to_be_visible()
            panel = page.locator(".st-key-draft_panel")
            expect(panel).to_contain_text("3 af 29 felter udfyldt")
            page.screenshot(path=str(ARTIFACTS / "e2e-template-side-question.png"), full_page=True)

            # leave template mode: the draft is parked, the chat answers questions again; then resume it
            page.get_by_role("button", name="Parkér udkastet og chat videre").click()
            expect(page.get_by_test_id("stChatMessage").last).to_contain_text("parkeret")
            expect(sidebar).to_contain_text("Fortsæt: Samarbejdsaftale (3/29)")
            sidebar.get_by_role("button", name="Lav et udkast til samarbejdsaftale").click()
            expect(page.get_by_test_id("stChatMessage").last).to_contain_text("fortsætte")
            page.get_by_role("button", name="Fortsæt udkastet").click()
            expect(page.get_by_test_id("stChatMessage").last).to_contain_text("Vi fortsætter udkastet")
            expect(page.get_by_test_id("stChatMessage").last).to_contain_text("Hvad er formålet")

            for text in ANSWERS_AFTER_RESUME:
                _send(page, text, "Gemt i udkastet")
            expect(page.get_by_test_id("stChatMessage").last).to_contain_text("Alle felter, der skal udfyldes")
            _send(page, "færdig", "Udkastet er færdigt")
            expect(panel).to_contain_text("Roskilde Bibliotekerne bidrager med")
            page.screenshot(path=str(ARTIFACTS / "e2e-template-done.png"), full_page=True)

            with page.expect_download() as info:
                panel.get_by_role("button", name="Hent DOCX").click()
            target = tmp_path / "aftale.docx"
            info.value.save_as(target)
            text = "\n".join(p.text for p in Document(BytesIO(target.read_bytes())).paragraphs)
            assert "Roskilde Bibliotekerne bidrager med: Lokaler, formidling og markedsføring." in text
            assert "det lokale museum" in text and "Aftalen gælder fra 1. marts 2027." in text

            # on a phone the live draft is under the chat, next to the answer box
            page.set_viewport_size({"width": 390, "height": 844})
            page.reload()
            status = page.locator(".st-key-draft_status")
            expect(status).to_contain_text("felter udfyldt")
            status.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "e2e-template-390.png"))
        finally:
            browser.close()


if __name__ == "__main__":  # manual run against a running app: python tests/test_e2e_template.py URL
    import sys
    import tempfile

    run_in_browser(sys.argv[1], Path(tempfile.mkdtemp()))
    print("ok", os.getcwd())
