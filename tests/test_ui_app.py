"""Streamlit AppTest of the chat and maintainer pages against the index built by ``corpus_settings``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from _ui_support import ADMIN_SECRET, APP, copy_index, settings_env
from streamlit.testing.v1 import AppTest

from assistant.settings import Settings, get_settings
from assistant.storage import Storage

QUESTION = "Hvad skal en samarbejdsaftale indeholde?"
TIMEOUT = 180


@pytest.fixture
def app_env(corpus_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Point the app (via ``PA_*``) at the prebuilt index, with a maintainer secret; no LLM."""
    for key in list(os.environ):
        if key.startswith("PA_"):
            monkeypatch.delenv(key)
    for key, value in settings_env(corpus_settings).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("PA_ADMIN_SECRET", ADMIN_SECRET)
    monkeypatch.setenv("PA_CONFIG", str(tmp_path / "ingen.toml"))
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def _app(query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params.update(query or {})
    return at.run()


def _ok(at: AppTest) -> AppTest:
    """No exception and no failed start (the app shows start-up errors in its status box)."""
    assert not at.exception, [e.value for e in at.exception]
    assert not [e.value for e in at.error if e.value.startswith("Assistenten kunne ikke startes")], at.error
    return at


def _texts(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown]


def _source_labels(at: AppTest) -> list[str]:
    return [e.label for e in at.expander if e.label.startswith("[")]


def test_first_start_builds_the_missing_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, app_env: Settings
) -> None:
    """Empty data dir: the app builds the index from the corpus, showing a status box, then chats."""
    from ingest.pipeline import index_stats

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "aftaler.md").write_text(
        "# Aftaler med partnere\n\nEn skriftlig samarbejdsaftale beskriver formål, roller og varighed.\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("PA_CORPUS_DIR", str(corpus))
    monkeypatch.setenv("PA_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    at = _ok(_app())
    assert [s.label for s in at.status] == ["Assistenten er klar"]
    assert index_stats(get_settings()).documents == 1
    assert [b for b in at.button if b.key and b.key.startswith("starter_")]


def test_first_visit_shows_starter_questions(app_env: Settings) -> None:
    at = _ok(_app())
    starters = [b for b in at.button if b.key and b.key.startswith("starter_")]
    assert len(starters) >= 3
    assert at.chat_input[0].placeholder.startswith("Stil et spørgsmål")


def test_chat_shows_cited_answer_with_sources(app_env: Settings) -> None:
    at = _ok(_app())
    at.chat_input[0].set_value(QUESTION).run()
    _ok(at)
    assert QUESTION in _texts(at)
    labels = _source_labels(at)
    assert labels and labels[0].startswith("[1] ")
    answer = next(m for m in at.chat_message if m.name == "assistant")
    assert "[\\[1\\]](#kilde-" in " ".join(md.value for md in answer.markdown)  # [1] links to its card
    # the expander quotes the passage and links the source page
    first = next(e for e in at.expander if e.label.startswith("[1] "))
    body = " ".join(md.value for md in first.markdown)
    caption = " ".join(c.value for c in first.caption)
    assert body.startswith(">")  # the exact quote
    assert "Afsnit: " in caption and "](http" in caption  # heading path and the original page
    assert "Partnerskabsassistentens danske gengivelse af guiden" in caption
    assert at.query_params.get("c")


def test_starter_question_button_asks_it(app_env: Settings) -> None:
    at = _ok(_app())
    button = next(b for b in at.button if b.key == "starter_0")
    button.click().run()
    _ok(at)
    assert button.label in _texts(at)
    assert _source_labels(at)
    assert not [b for b in at.button if b.key and b.key.startswith("starter_")]


def test_refusal_is_shown_with_suggestions(app_env: Settings) -> None:
    at = _ok(_app())
    at.chat_input[0].set_value("Hvad er opskriften på en god æblekage med flødeskum?").run()
    _ok(at)
    assert at.warning, [m.value for m in at.markdown]  # an off-topic question is refused
    suggestions = [b for b in at.button if b.key and b.key.startswith("sug_")]
    assert suggestions and not _source_labels(at)


def test_feedback_is_stored_with_question_answer_and_sources(app_env: Settings) -> None:
    at = _ok(_app())
    at.chat_input[0].set_value(QUESTION).run()
    _ok(at)
    at.feedback[0].set_value(1).run()
    _ok(at)
    comment = next(t for t in at.text_input if t.label == "Kommentar (valgfri)")
    comment.input("Godt svar, men kort").run()
    _ok(at)
    conv_id = at.query_params["c"]
    storage = Storage(app_env.app_db_path)
    records = [r for r in storage.list_feedback() if r.conversation_id == conv_id]
    assert len(records) == 1
    record = records[0]
    assert (record.score, record.comment, record.question) == (1, "Godt svar, men kort", QUESTION)
    assert record.answer and record.sources and record.sources[0]["quote"]


def test_conversation_survives_reload_and_restart(app_env: Settings) -> None:
    at = _ok(_app())
    at.chat_input[0].set_value(QUESTION).run()
    _ok(at)
    conv_id, owner = at.query_params["c"], at.query_params["u"]
    labels = _source_labels(at)

    reloaded = _ok(_app({"c": conv_id, "u": owner}))  # a browser reload is a new session with the same URL
    assert QUESTION in _texts(reloaded) and _source_labels(reloaded) == labels

    # another browser (no token, or a forged one) neither opens nor lists it
    forged = owner[:-1] + ("1" if owner.endswith("0") else "0")
    for stranger in (_ok(_app({"c": conv_id})), _ok(_app({"c": conv_id, "u": forged}))):
        assert QUESTION not in _texts(stranger) and not stranger.query_params.get("c")
        assert not any(b.key == f"open_{conv_id}" for b in stranger.sidebar.button)
        assert stranger.query_params["u"] != owner

    st.cache_resource.clear()  # a server restart: nothing cached in the process survives
    restarted = _ok(_app({"c": conv_id, "u": owner}))
    assert QUESTION in _texts(restarted) and _source_labels(restarted) == labels
    # the sidebar lists it under its first question
    listed = [b.label for b in restarted.sidebar.button if b.key == f"open_{conv_id}"]
    assert listed and listed[0].startswith("Hvad skal")


def test_unknown_conversation_id_starts_fresh(app_env: Settings) -> None:
    at = _ok(_app({"c": "findes-ikke"}))
    assert not at.query_params.get("c")
    assert [b for b in at.button if b.key and b.key.startswith("starter_")]


def test_new_conversation_button_clears_the_chat(app_env: Settings) -> None:
    at = _ok(_app())
    at.chat_input[0].set_value(QUESTION).run()
    old = at.query_params["c"]
    at.sidebar.button(key="new_conversation").click().run()
    _ok(at)
    assert not at.query_params.get("c") and not at.chat_message
    assert any(b.key == f"open_{old}" for b in at.sidebar.button)


def _dialogs(at: AppTest) -> list:
    return [block for block in at.get("dialog")]


def test_delete_conversation_needs_confirmation(app_env: Settings) -> None:
    at = _ok(_app())
    at.chat_input[0].set_value(QUESTION).run()
    conv_id = at.query_params["c"]
    assert not _dialogs(at)
    at.sidebar.button(key=f"del_{conv_id}").click().run()
    _ok(at)
    assert Storage(app_env.app_db_path).get_conversation(conv_id) is not None
    [dialog] = _dialogs(at)  # a modal «Slet samtalen?» with «Slet» / «Annuller»
    assert dialog.proto.dialog.title == "Slet samtalen?"
    assert [b.label for b in dialog.button] == ["Slet", "Annuller"]

    dialog.button(key=f"cancel_del_{conv_id}").click().run()  # «Annuller» keeps it and closes the dialog
    _ok(at)
    assert not _dialogs(at) and Storage(app_env.app_db_path).get_conversation(conv_id) is not None

    at.sidebar.button(key=f"del_{conv_id}").click().run()
    _dialogs(at)[0].button(key=f"confirm_del_{conv_id}").click().run()
    _ok(at)
    assert Storage(app_env.app_db_path).get_conversation(conv_id) is None
    assert not at.query_params.get("c") and not _dialogs(at)
    assert not any(b.key == f"open_{conv_id}" for b in at.sidebar.button)
    assert [b for b in at.button if b.key and b.key.startswith("starter_")]  # a new, empty conversation


def _field_widget(at: AppTest, field_id: str):
    return next(w for w in [*at.text_input, *at.text_area] if w.key and w.key.startswith(f"rf_{field_id}_"))


def test_template_flow_answer_side_question_review_park_resume(app_env: Settings) -> None:
    at = _ok(_app())
    at.chat_input[0].set_value("Vi vil gerne samarbejde med det lokale museum om en udstilling").run()
    _ok(at)
    at.sidebar.button(key="start_samarbejdsaftale").click().run()
    _ok(at)
    assert any(s.value.startswith("Udkast:") for s in at.subheader)
    assert at.chat_input[0].placeholder == "Svar på spørgsmålet – eller spørg guiden …"
    opening = at.chat_message[-1].markdown[0].value
    assert "Partneren:** det lokale museum" in opening and "Aktiviteter:** En udstilling" in opening
    at.button(key="prefill_yes").click().run()
    _ok(at)
    conv_id = at.query_params["c"]
    draft = Storage(app_env.app_db_path).load_draft(conv_id, "samarbejdsaftale")
    assert draft.active and "det lokale museum" in draft.draft_json

    at.chat_input[0].set_value("Aarhus Kommunes Biblioteker").run()
    _ok(at)
    reply = at.chat_message[-1].markdown[0].value
    assert reply.startswith("Gemt i udkastet:\n- **Biblioteket:** Aarhus Kommunes Biblioteker")
    # a side question is answered from the guide with sources; the formål question is asked again
    at.chat_input[0].set_value("Hvad skal en samarbejdsaftale indeholde?").run()
    _ok(at)
    last = at.chat_message[-1]
    assert "Fra guiden:" in last.markdown[0].value and "Hvad er formålet med partnerskabet?" in last.markdown[0].value
    assert any(e.label.startswith("[1]") for e in last.expander)
    progress = at.get("progress")[-1].proto.text
    assert progress.startswith("3 af 29 felter udfyldt"), progress

    # review form: an invalid date stays in its field with the Danish error beside it, the view is kept
    at.segmented_control(key="panel_view").set_value("Ret felter").run()
    _field_widget(at, "startdato").input("31. februar 2027")
    _field_widget(at, "titel").input("Byens historie")
    next(b for b in at.button if b.label == "Gem ændringer").click().run()
    _ok(at)
    assert at.segmented_control(key="panel_view").value == "Ret felter"
    assert _field_widget(at, "startdato").value == "31. februar 2027"
    assert any("ikke en gyldig dato" in e.value for e in at.error)
    assert _field_widget(at, "titel").value == "Byens historie"
    draft = Storage(app_env.app_db_path).load_draft(conv_id, "samarbejdsaftale")
    assert "Byens historie" in draft.draft_json and "startdato" not in draft.draft_json.split('"values"')[1][:2000]
    assert {"Hent DOCX", "Hent Markdown"} <= {b.label for b in at.download_button}

    # leaving parks the draft; the sidebar lists it; starting again asks «fortsæt eller start forfra»
    at.button(key="panel_stop_template").click().run()
    _ok(at)
    assert not any(s.value.startswith("Udkast:") for s in at.subheader)
    assert Storage(app_env.app_db_path).load_draft(conv_id, "samarbejdsaftale").status == "parked"
    at.sidebar.button(key="start_samarbejdsaftale").click().run()
    _ok(at)
    assert "fortsætte" in at.chat_message[-1].markdown[0].value
    at.button(key="choice_resume").click().run()
    _ok(at)
    assert any(s.value.startswith("Udkast:") for s in at.subheader)
    assert "Vi fortsætter udkastet" in at.chat_message[-1].markdown[0].value
    assert at.get("progress")[-1].proto.text.startswith("4 af 29")

    reloaded = _ok(_app({"c": conv_id, "u": at.query_params["u"]}))  # the active draft comes back after a reload
    assert any(s.value.startswith("Udkast:") for s in reloaded.subheader)


def test_template_started_by_intent_phrase(app_env: Settings) -> None:
    at = _ok(_app())
    at.chat_input[0].set_value("Lav et udkast til en kommunikationsplan med Roskilde Gymnasium").run()
    _ok(at)
    assert any(s.value.startswith("Udkast:") for s in at.subheader)
    assert "Partneren:** Roskilde Gymnasium" in at.chat_message[-1].markdown[0].value
    # asking for another template while drafting parks this draft and starts that one
    at.chat_input[0].set_value("Lav en evalueringsplan").run()
    _ok(at)
    assert any(s.value == "Udkast: Evalueringsplan" for s in at.subheader)
    drafts = Storage(get_settings().app_db_path).list_drafts(at.query_params["c"])
    assert {d.template: d.status for d in drafts} == {"kommunikationsplan": "parked", "evalueringsplan": "active"}


def _admin(at: AppTest) -> AppTest:
    return _ok(at.switch_page("views/vedligeholdelse.py").run())


def test_admin_refuses_wrong_secret_and_accepts_right(app_env: Settings) -> None:
    at = _admin(_app())
    assert [t.value for t in at.title] == ["Vedligeholdelse"]
    at.text_input(key="admin_secret_input").input("forkert")
    at.button[0].click().run()
    assert [e.value for e in at.error] == ["Forkert adgangskode."]
    assert not at.metric

    at.text_input(key="admin_secret_input").input(ADMIN_SECRET)
    next(b for b in at.button if b.label == "Log ind").click().run()
    _ok(at)
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics["Dokumenter"]) > 10 and int(metrics["Tekststykker"]) > int(metrics["Dokumenter"])
    assert {"Eksportér CSV (Excel)", "Eksportér JSON"} <= {b.label for b in at.download_button}
    assert at.file_uploader


def test_admin_disabled_without_secret(app_env: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PA_ADMIN_SECRET")
    get_settings.cache_clear()
    at = _admin(_app())
    assert any("slået fra" in i.value for i in at.info)
    assert not at.text_input and not at.metric


def _logged_in_admin() -> AppTest:
    at = _admin(_app())
    at.text_input(key="admin_secret_input").input(ADMIN_SECRET)
    next(b for b in at.button if b.label == "Log ind").click().run()
    return _ok(at)


REFERAT = (
    "# Referat fra mødet med Vikingeskibsmuseet\n\n"
    "Biblioteket og Vikingeskibsmuseet aftalte en fælles fortælleaften om skibsbygning i marts. "
    "Museet stiller en bådebygger til rådighed, og biblioteket står for markedsføringen.\n"
).encode()


@pytest.fixture
def writable_env(app_env: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Like ``app_env`` but on a private copy of the index, so a test may upload and re-ingest."""
    monkeypatch.setenv("PA_DATA_DIR", str(copy_index(app_env, tmp_path / "data").data_dir))
    get_settings.cache_clear()
    return get_settings()


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _reingest(at: AppTest, *, dry_run: bool) -> AppTest:
    box = at.checkbox(key="dry_run")
    (box.check() if dry_run else box.uncheck()).run()
    at.button(key="reingest").click().run()
    return _ok(at)


def test_admin_upload_dry_run_and_reingest(writable_env: Settings) -> None:
    at = _logged_in_admin()
    documents_before = int(_metrics(at)["Dokumenter"])
    broken_pdf = (Path(__file__).parent / "fixtures" / "bad" / "beskadiget.pdf").read_bytes()
    at.file_uploader(key="uploads").set_value([
        ("../Referat Vikingeskibsmuseet.md", REFERAT, "text/markdown"),
        ("beskadiget.pdf", broken_pdf, "application/pdf"),
    ]).run()
    at.button(key="save_uploads").click().run()
    _ok(at)
    uploads = writable_env.data_dir / "uploads"
    assert sorted(p.name for p in uploads.iterdir() if p.is_file()) == ["referat-vikingeskibsmuseet.md"]
    assert any("referat-vikingeskibsmuseet.md" in s.value for s in at.success)
    assert [e.value for e in at.error if "beskadiget.pdf" in e.value and "blev ikke gemt" in e.value]

    at = _reingest(at, dry_run=True)
    assert any("Prøvekørsel færdig" in s.value for s in at.success)
    metrics = _metrics(at)
    assert int(metrics["Tilføjet"]) >= 1 and int(metrics["Slettet"]) == 0
    assert int(metrics["Dokumenter"]) == documents_before  # a dry run writes nothing
    details = " ".join(md.value for e in at.expander if e.label == "Detaljer" for md in e.markdown)
    assert "`referat-vikingeskibsmuseet`" in details

    at = _reingest(at, dry_run=False)
    assert any("Indekset er opdateret" in s.value for s in at.success)
    assert int(_metrics(at)["Dokumenter"]) >= documents_before + 1

    # the chat (same process, shared assistant) now answers from the uploaded document
    chat = _ok(_app())
    chat.chat_input[0].set_value("Hvad aftalte biblioteket med Vikingeskibsmuseet om fortælleaftenen?").run()
    _ok(chat)
    assert any("Vikingeskibsmuseet" in label for label in _source_labels(chat)), _source_labels(chat)


def test_running_app_follows_a_cli_ingest_between_questions(writable_env: Settings) -> None:
    """A re-ingest from the command line (another process) is served from the next question on, no restart."""
    import subprocess
    import sys

    from _ui_support import ROOT, clean_env

    question = "Hvad aftalte biblioteket med Vikingeskibsmuseet om fortælleaftenen?"
    at = _ok(_app())
    at.chat_input[0].set_value(question).run()
    _ok(at)
    assert not any("Vikingeskibsmuseet" in label for label in _source_labels(at))

    uploads = writable_env.data_dir / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    (uploads / "referat-vikingeskibsmuseet.md").write_bytes(REFERAT)
    env = clean_env({**settings_env(writable_env), "PA_CONFIG": os.environ["PA_CONFIG"], "HF_HUB_OFFLINE": "1",
                     "PYTHONPATH": str(ROOT)})
    done = subprocess.run([sys.executable, "-m", "ingest", "--quiet"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr

    at.chat_input[0].set_value(question).run()  # the same running session asks again
    _ok(at)
    labels = _source_labels(at)
    assert any("Vikingeskibsmuseet" in label and label.endswith("· Jeres dokument") for label in labels), labels

    # the scope switch reaches retrieval: "Kun guiden" never cites the uploaded document
    at.segmented_control(key="scope").set_value("Kun guiden").run()
    at.chat_input[0].set_value(question).run()
    _ok(at)
    last = [e.label for e in at.chat_message[-1].expander if e.label.startswith("[")]
    assert not any("Vikingeskibsmuseet" in label for label in last), last


def test_untrusted_question_is_shown_inert_and_markers_link_to_sources(app_env: Settings) -> None:
    question = "Hvad skal en samarbejdsaftale indeholde? ![x](http://evil/x.png) <img src=http://evil/y.png>"
    at = _ok(_app())
    at.chat_input[0].set_value(question).run()
    _ok(at)
    shown = at.chat_message[0].markdown[0].value
    assert "![x](http" not in shown and "\\<img src" in shown  # escaped: shown as typed, never fetched
    assert shown.replace("\\", "").startswith("Hvad skal en samarbejdsaftale indeholde")
    answer = at.chat_message[1].markdown
    assert any("](#kilde-" in md.value for md in answer), [md.value for md in answer]
    assert any('<div id="kilde-' in md.value for md in answer)


def test_assistant_is_warm_before_the_first_question(app_env: Settings) -> None:
    """A cold start loads the assistant and answers one warm-up question before the chat opens."""
    from ui.services import get_assistant, get_shared_index

    st.cache_resource.clear()  # a fresh server process
    at = _ok(_app())
    assert [s.label for s in at.status] == ["Assistenten er klar"]
    assert not at.chat_message  # nobody has asked anything yet ...
    retriever = get_assistant().retriever
    assert retriever.embeddings.queries_embedded >= 1  # ... but the model has embedded the warm-up question
    assert get_shared_index().loaded
    assert not _ok(_app()).status  # later sessions find it ready: no status box above the title


def _marked(markdown: str) -> str:
    """The text inside ``<mark>`` in a card's markdown, unescaped, without spaces."""
    import re

    marks = re.findall(r"<mark>(.*?)</mark>", markdown.replace("\u2060", ""))
    return "".join(re.sub(r"\\(.)", r"\1", m) for m in marks).replace(" ", "")


def test_source_card_shows_the_whole_section_with_the_quote_marked(app_env: Settings) -> None:
    from assistant.units import LIST_MARKER

    at = _ok(_app())
    at.chat_input[0].set_value(QUESTION).run()
    _ok(at)
    stored = Storage(app_env.app_db_path).messages(at.query_params["c"])[-1]
    answer = next(m for m in at.chat_message if m.name == "assistant")
    for citation in stored.citations:
        card = next(e for e in answer.expander if e.label.startswith(f"[{citation.n}] ")
                    or f" [{citation.n}] " in e.label)
        section = card.markdown[0].value
        assert section.startswith(">") and "<mark>" in section
        quote = "".join(LIST_MARKER.sub("", line) for line in citation.quote.splitlines()).replace(" ", "")
        assert quote in _marked(section)  # the cited sentences, exactly, are marked in the section
        caption = " ".join(c.value for c in card.caption)
        assert "Dato: " in caption and "Afsnit: " in caption and "danske gengivelse af guiden" in caption
        assert not card.get("download_button")  # only an uploaded document offers its file


def test_uploaded_document_card_offers_the_stored_file(writable_env: Settings) -> None:
    from ingest.pipeline import run_ingest
    from ui import render
    from ui.uploads import save_upload

    save_upload(REFERAT, "Referat Vikingeskibsmuseet æøå.md", writable_env)
    run_ingest(None, writable_env)
    at = _ok(_app())
    at.chat_input[0].set_value("Hvad aftalte biblioteket med Vikingeskibsmuseet om fortælleaftenen?").run()
    _ok(at)
    card = next(e for e in at.chat_message[-1].expander if e.label.endswith("· Jeres dokument"))
    labels = [b.label for b in card.get("download_button")]  # markdown: the file name is escaped
    assert labels == [f"Hent dokumentet ({render.escape('Referat Vikingeskibsmuseet æøå.md')})"]
    caption = " ".join(c.value for c in card.caption)
    assert "Jeres eget dokument" in caption and "Dato: " in caption
