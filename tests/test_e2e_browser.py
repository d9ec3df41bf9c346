"""End to end in real headless Chromium: ask in the chat, get a cited answer, reload, still there; each ``[n]``
opens its source with the cited sentences marked; an uploaded document's source downloads the file; the scope
switch changes the sources; the feedback CSV keeps Danish characters; no heading breaks mid-word at 1400 or 390 px.

Screenshots are kept in ``test-artifacts/`` (git-ignored).
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _ui_support import ADMIN_SECRET, ROOT, clean_env, copy_index, settings_env

from assistant.settings import Settings
from evals.browser_bench import CHROMIUM, CHROMIUM_ARGS, streamlit_app

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ARTIFACTS = ROOT / "test-artifacts"
QUESTION = "Hvad skal en samarbejdsaftale indeholde?"
needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed")


@contextlib.contextmanager
def run_streamlit(settings: Settings, folder: Path, **env: str) -> Iterator[str]:
    """``streamlit run ui/app.py`` on a free port for ``settings`` (extra ``PA_*`` in ``env``); yields its URL."""
    full_env = clean_env(settings_env(settings) | {"PA_CONFIG": str(folder / "ingen.toml")} | env)
    with streamlit_app(full_env, folder / "streamlit.log") as (url, _spawned):
        yield url


@pytest.fixture
def server(corpus_settings: Settings, tmp_path: Path) -> Iterator[str]:
    """``streamlit run ui/app.py`` on a free port; temp data dir with a copy of the prebuilt index."""
    with run_streamlit(copy_index(corpus_settings, tmp_path / "data"), tmp_path) as url:
        yield url


@needs_chromium
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


# --- sources, scope, feedback export, layout ------------------------------------------------------------------------
REFERAT = (
    "# Referat fra mødet med Vikingeskibsmuseet\n\n"
    "Biblioteket og Vikingeskibsmuseet aftalte en fælles fortælleaften om skibsbygning i marts. "
    "Museet stiller en bådebygger til rådighed, og biblioteket står for markedsføringen.\n\n"
    "Næste møde er i februar. <b>Ikke fed</b> og ![x](http://evil.example/x.png).\n"
).encode()
UPLOAD_NAME = "Referat Vikingeskibsmuseet æøå.md"
UPLOAD_QUESTION = "Hvad aftalte biblioteket med Vikingeskibsmuseet om fortælleaftenen?"
MIXED_QUESTION = "Hvordan kan biblioteket og et museum lave en fælles fortælleaften?"  # the guide and the upload
COMMENT = "Godt svar – især om økonomi og ansvar (æøå ÆØÅ)"
#: Visible headings that overflow their box, or a word whose letters lie on two lines.
HEADING_BREAKS_JS = """() => {
  const bad = [];
  for (const h of document.querySelectorAll('h1, h2, h3, h4, h5, h6')) {
    if (!h.offsetParent || h.closest('[data-testid="stSidebar"][data-collapsed="true"]')) continue;
    if (h.scrollWidth > h.clientWidth + 1) bad.push(`overflow: ${h.innerText}`);
    const walker = document.createTreeWalker(h, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const word of node.data.matchAll(/\\S+/g)) {
        const range = document.createRange();
        range.setStart(node, word.index);
        range.setEnd(node, word.index + word[0].length);
        const lines = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
        if (lines.size > 1) bad.push(`broken: ${word[0]}`);
      }
    }
  }
  return bad;
}"""


@pytest.fixture(scope="module")
def upload_app(corpus_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Settings]]:
    """The app on a copy of the index plus one uploaded document (saved as from the maintainer page, ingested),
    with a maintainer secret."""
    from ingest.pipeline import run_ingest
    from ui.uploads import save_upload

    folder = tmp_path_factory.mktemp("e2e-upload")
    settings = copy_index(corpus_settings, folder / "data")
    save_upload(REFERAT, UPLOAD_NAME, settings)
    run_ingest(None, settings)
    with run_streamlit(settings, folder, PA_ADMIN_SECRET=ADMIN_SECRET) as url:
        yield url, settings


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _open(browser: Any, url: str) -> Any:
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="da-DK", accept_downloads=True)
    page.set_default_timeout(60_000)
    page.goto(url)
    expect(page.get_by_test_id("stSidebar")).to_contain_text("Tidligere samtaler", timeout=120_000)
    return page


def _ask(page: Any, question: str) -> Any:
    """Ask in the chat; the finished answer (text, source cards and feedback thumbs)."""
    from playwright.sync_api import expect

    answers = page.get_by_test_id("stChatMessage").filter(has=page.get_by_test_id("stFeedback"))
    before = answers.count()
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(question)
    box.press("Enter")
    expect(answers).to_have_count(before + 1, timeout=60_000)
    return answers.nth(before)


def _card(page: Any, marker: Any) -> Any:
    """The ``<details>`` of the source card an ``[n]`` link points at (its anchor sits right before the card)."""
    anchor = marker.get_attribute("href")[1:]
    return page.locator(f"xpath=//div[@id='{anchor}']/ancestor::div[@data-testid='stElementContainer'][1]"
                        "/following-sibling::*[1]//details")


def _words(text: str) -> str:
    from assistant.units import LIST_MARKER

    text = text.replace("\u2060", "")  # the word joiner that keeps bare URLs from becoming links
    return " ".join(" ".join(LIST_MARKER.sub("", line) for line in text.splitlines()).split())


@needs_chromium
def test_citation_marker_opens_the_whole_section_with_the_quote_marked(upload_app: tuple[str, Settings],
                                                                       chromium: Any) -> None:
    from playwright.sync_api import expect

    from assistant.storage import Storage

    url, settings = upload_app
    page = _open(chromium, url)
    answer = _ask(page, QUESTION)
    marker = answer.locator('a[href^="#kilde-"]').first
    n = int(marker.inner_text().strip("[]"))
    card = _card(page, marker)
    expect(card).not_to_have_attribute("open", "")  # closed until its [n] is clicked
    marker.click()
    expect(card).to_have_attribute("open", "")
    mark = card.locator("blockquote mark").first
    expect(mark).to_be_in_viewport()
    # exactly the cited sentences are marked, inside the whole section they come from
    conv_id = re.search(r"[?&]c=([^&]+)", page.url).group(1)
    cited = next(c for c in Storage(settings.app_db_path).messages(conv_id)[-1].citations if c.n == n)
    marked = _words(" ".join(card.locator("blockquote mark").all_inner_texts()))
    section = _words(card.locator("blockquote").inner_text())
    assert marked == _words(cited.quote) and marked in section
    expect(card).to_contain_text("Partnerskabsassistentens danske gengivelse af guiden")
    expect(card).to_contain_text(re.compile(r"Afsnit: .+ · Dato: \d{1,2}\. [a-z]+\.? \d{4}"))
    expect(card.get_by_role("link", name="Den oprindelige side")).to_have_attribute("href", re.compile(r"^https?://"))
    assert card.get_by_test_id("stDownloadButton").count() == 0  # the guide: no file to download
    page.close()


@needs_chromium
def test_uploaded_document_source_downloads_the_file_and_scope_switch_drops_it(
        upload_app: tuple[str, Settings], chromium: Any) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect

    url, _ = upload_app
    page = _open(chromium, url)
    answer = _ask(page, UPLOAD_QUESTION)
    label = answer.locator("summary", has_text="Jeres dokument").first.inner_text()
    n = re.search(r"\[(\d+)\]", label).group(1)
    marker = answer.locator(f'a[href^="#kilde-"][href$="-{n}"]').first
    marker.click()
    card = _card(page, marker)
    expect(card).to_have_attribute("open", "")
    expect(card.locator("blockquote mark").first).to_be_in_viewport()
    expect(card).to_contain_text("Jeres eget dokument (ikke en del af guiden)")
    expect(card.locator("blockquote")).to_contain_text("<b>Ikke fed</b>")  # the upload's markup stays text
    assert card.locator("blockquote b, blockquote img, blockquote a").count() == 0
    button = card.get_by_role("button", name=f"Hent dokumentet ({UPLOAD_NAME})")
    for attempt in range(2):  # a click that lands while Streamlit reruns the page starts no download: click again,
        try:  # as a user would (seen once in 40+ CI runs)
            with page.expect_download(timeout=30_000) as info:
                button.click()
            break
        except PlaywrightTimeout:
            if attempt:
                raise
    assert info.value.suggested_filename == UPLOAD_NAME
    assert Path(info.value.path()).read_bytes() == REFERAT  # the stored file itself

    # the scope switch reaches retrieval: a question both answer loses only the uploaded document's source
    both = _ask(page, MIXED_QUESTION).locator("summary").all_inner_texts()
    assert any("Jeres dokument" in label for label in both) and any("Guide" in label for label in both), both
    only_guide = page.get_by_role("radio", name="Kun guiden")
    only_guide.click()
    expect(only_guide).to_have_attribute("aria-checked", "true")
    # the switch's own rerun finishes before the question is sent (under load, a question typed during that rerun
    # was once answered with the old scope)
    expect(page.get_by_test_id("stStatusWidget")).to_be_hidden(timeout=60_000)
    guide = _ask(page, MIXED_QUESTION).locator("summary").all_inner_texts()
    assert guide and not any("Jeres dokument" in label for label in guide), guide
    page.close()


@needs_chromium
def test_feedback_csv_download_keeps_danish_characters(upload_app: tuple[str, Settings], chromium: Any) -> None:
    import codecs

    from playwright.sync_api import expect

    url, _ = upload_app
    page = _open(chromium, url)
    answer = _ask(page, QUESTION)
    answer.get_by_test_id("stFeedback").locator("button").first.click()  # thumbs up
    comment = answer.get_by_label("Kommentar (valgfri)")
    comment.fill(COMMENT)
    comment.press("Enter")
    expect(answer).to_contain_text("Tak! Din vurdering og kommentar er gemt.")

    page.goto(f"{url}/vedligeholdelse")
    page.get_by_label("Adgangskode").fill(ADMIN_SECRET)
    page.get_by_role("button", name="Log ind").click()
    with page.expect_download() as info:
        page.get_by_role("button", name="Eksportér CSV (Excel)").click()
    data = Path(info.value.path()).read_bytes()
    assert info.value.suggested_filename.endswith(".csv") and data.startswith(codecs.BOM_UTF8)
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))
    row = next(r for r in rows if r["comment"] == COMMENT)  # æøå ÆØÅ and the dash survive the round trip
    assert (row["question"], row["rating"]) == (QUESTION, "op") and "[1]" in row["sources"]
    page.close()


@needs_chromium
def test_headings_never_break_mid_word_and_labels_are_danish(upload_app: tuple[str, Settings],
                                                              chromium: Any) -> None:
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(exist_ok=True)
    url, _ = upload_app
    page = _open(chromium, url)
    answer = _ask(page, QUESTION)
    answer.locator('a[href^="#kilde-"]').first.click()
    # Streamlit's own fixed English texts are a documented limit (README, "Known limits")
    thumbs = answer.get_by_test_id("stFeedback").locator("button").evaluate_all(
        "buttons => buttons.map(b => b.getAttribute('aria-label'))")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert all(label in readme for label in thumbs if label and label.startswith("Thumbs")), thumbs
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_role("button", name="Slet", exact=True)).to_have_count(1)  # not "delete icon"
    assert sidebar.get_by_role("button", name=re.compile("delete", re.IGNORECASE)).count() == 0
    checked = 0
    for view in ("chat", "skabelon"):
        if view == "skabelon":
            page.set_viewport_size({"width": 1400, "height": 900})
            page.get_by_role("button", name="Lav et udkast til samarbejdsaftale").click()
            expect(page.get_by_role("heading", name="Udkast: Samarbejdsaftale")).to_be_visible()
        for width, height in ((1400, 900), (390, 844)):
            page.set_viewport_size({"width": width, "height": height})
            page.wait_for_timeout(700)  # layout and expand animation settle
            if view == "chat":
                page.locator("details[open] mark").first.scroll_into_view_if_needed()
            assert page.evaluate(HEADING_BREAKS_JS) == [], (view, width)
            page.screenshot(path=str(ARTIFACTS / f"e2e-{view}-{width}x{height}.png"))
            checked += page.locator("h1, h2, h3").count()
        page.get_by_test_id("stExpandSidebarButton").click()  # the sidebar opened on a phone
        expect(sidebar).to_have_attribute("data-collapsed", "false")
        page.wait_for_timeout(500)
        assert page.evaluate(HEADING_BREAKS_JS) == [], (view, "sidebar 390")
        page.screenshot(path=str(ARTIFACTS / f"e2e-{view}-sidebar-390x844.png"))
        page.keyboard.press("Escape")
    assert checked >= 8  # title, card and sidebar headings were there to check
    page.close()
