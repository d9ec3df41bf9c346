"""End to end in real headless Chromium: the sidebar lists a conversation under its topic and date without
cutting it at 1400 px, and deleting it goes through the «Slet samtalen?» dialog."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_e2e_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, QUESTION, server  # noqa: F401 (fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed")
def test_sidebar_title_is_whole_and_delete_asks_in_a_dialog(server: str) -> None:  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="da-DK")
            page.set_default_timeout(180_000)
            page.goto(server)
            sidebar = page.get_by_test_id("stSidebar")
            expect(sidebar).to_contain_text("Tidligere samtaler", timeout=120_000)
            box = page.get_by_test_id("stChatInputTextArea")
            box.fill(QUESTION)
            box.press("Enter")
            expect(page.get_by_test_id("stChatMessage").filter(has=page.get_by_test_id("stFeedback"))).to_be_visible()
            page.wait_for_url("**c=*")

            entry = sidebar.locator("[class*='st-key-open_'] button").first
            expect(entry).to_contain_text(QUESTION)  # the whole topic and its date, neither cut
            label = entry.get_by_test_id("stMarkdownContainer")
            overflow = label.evaluate("e => [...e.querySelectorAll('*')].concat(e)"
                                      ".some(x => x.scrollWidth > x.clientWidth + 1)")
            assert not overflow, "the sidebar title is cut off"
            page.screenshot(path=str(ARTIFACTS / "e2e-sidebar-1400.png"))

            sidebar.locator("[class*='st-key-del_'] button").first.click()
            dialog = page.get_by_role("dialog")
            expect(dialog).to_contain_text("Slet samtalen?")
            expect(dialog.get_by_role("button", name="Annuller")).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "e2e-delete-dialog.png"))
            dialog.get_by_role("button", name="Slet", exact=True).click()
            expect(page.get_by_role("dialog")).to_have_count(0)
            expect(sidebar).to_contain_text("Ingen gemte samtaler endnu.")
            expect(page.get_by_test_id("stToast")).to_contain_text("Samtalen er slettet.")
            assert "c=" not in page.url
        finally:
            browser.close()
