"""Template interview: schemas, routing that never misroutes, side questions, undo/corrections/overwrites,
pre-fill proposals, the typed draft and its JSON, validation in Danish."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import make_settings

from assistant.models import Answer, Citation
from assistant.settings import Settings
from assistant.templates import (
    Draft,
    Interview,
    RuleExtractor,
    TemplateError,
    default_extractor,
    export_markdown,
    list_templates,
    load_template,
)
from assistant.templates.commands import parse_command, parse_decision
from assistant.templates.interview import question_in
from assistant.templates.service import read_draft
from assistant.templates.values import (
    AmountValue,
    DateValue,
    ListValue,
    PersonValue,
    PhoneValue,
    TextValue,
    parse_value,
    plain,
    validate_values,
)

PACKAGE = Path(__file__).resolve().parent.parent / "assistant" / "templates"
CHAT = ["Hvad siger guiden om at finde partnere?",
        "Vi vil gerne samarbejde med det lokale museum om en udstilling om byens historie.",
        "Vi er fra Roskilde Bibliotekerne, og vi starter 1. marts 2027."]

# a cooperative librarian, one answer per question (required fields of the agreement)
COOPERATIVE = [
    "Roskilde Bibliotekerne",
    "Roskilde Museum",
    "At give flere borgere lyst til at bruge byens historie, både på biblioteket og museet",
    "300 besøgende på udstillingen og 5 skoleklasser på rundvisning",
    "en udstilling, tre foredrag og en byvandring",
    "lokaler, formidling og markedsføring i vores kanaler",
    "genstande fra samlingen og en museumsinspektør",
    "Anna Holm, projektleder, anna.holm@roskilde.dk",
    "Peter Lund, museumsinspektør, tlf 12 34 56 78",
    "1. marts 2027",
]


class FakeGuide:
    """Stands in for ``Assistant.ask`` (the real one is exercised in test_templates_output and the e2e test)."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def ask(self, question: str, history=()) -> Answer:
        self.asked.append(question)
        cite = Citation(n=1, doc_id="guide-08-aftaler", title="Aftaler", section="Aftaler", source_url="https://x",
                        quote="En aftale gør forventningerne tydelige.", chunk_id="c1")
        return Answer(text="En aftale gør forventningerne tydelige [1].", citations=[cite])


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(tmp_path_factory.mktemp("templates"))


@pytest.fixture(scope="module")
def schema(settings: Settings):
    return load_template("samarbejdsaftale", settings)


def interview(schema, history=(), guide=None) -> Interview:
    return Interview.start(schema, history, guide=guide, extractor=RuleExtractor())


def values(it: Interview) -> dict:
    return {k: plain(v) for k, v in it.draft.values.items()}


def answer_at(it: Interview, field_id: str) -> None:
    assert it.next_field().id == field_id, it.next_field().id


# --- schemas ----------------------------------------------------------------------------------------------
def test_all_template_schemas_load_with_the_required_field_attributes(settings: Settings) -> None:
    schemas = {s.id: s for s in list_templates(settings)}
    assert set(schemas) == {"samarbejdsaftale", "kommunikationsplan", "evalueringsplan"}
    for schema in schemas.values():
        assert schema.required_ids, schema.id
        for f in schema.fields:
            assert f.id and f.label and "?" in f.question, f.id
    agreement = schemas["samarbejdsaftale"]
    assert {"bibliotek", "partner", "formaal", "startdato", "kontakt_partner"} <= set(agreement.required_ids)
    assert not agreement.field("budget").required
    assert schemas["evalueringsplan"].field("spoergsmaal").accepts_questions


def test_unknown_template_gives_a_danish_error(settings: Settings) -> None:
    with pytest.raises(TemplateError, match=r"findes ikke.*samarbejdsaftale"):
        load_template("lejekontrakt", settings)


def test_no_field_ids_in_code(settings: Settings) -> None:
    """Every field mapping lives in the YAML: no template field id appears as a string literal in the package."""
    ids = {f.id for s in list_templates(settings) for f in s.fields}
    for path in PACKAGE.glob("*.py"):
        literals = set(re.findall(r"""["']([a-z_]+)["']""", path.read_text(encoding="utf-8")))
        assert not (ids & literals), (path.name, ids & literals)


# --- the answer to the question just asked fills that field ----------------------------------------------
def test_the_three_misroutes_from_the_issue_do_not_happen(schema) -> None:
    guide = FakeGuide()
    it = interview(schema, guide=guide)
    it.handle("Roskilde Bibliotekerne")
    # 1. a question typed while the partner is asked is answered from the guide, never stored as the partner
    reply = it.handle("Hvad skriver guiden om at vælge en partner, der passer til os?")
    assert "partner" not in it.draft.values and reply.side_question and reply.citations
    assert reply.prompt.field.id == "partner" and "Hvem er partneren" in reply.message
    assert "Hvad skriver guiden om at vælge en partner, der passer til os?" in guide.asked
    it.handle("Roskilde Museum")
    # 2. a purpose answer that mentions what "vi vil lave" stays the purpose; nothing goes to the activities
    reply = it.handle("Vi vil lave noget, der får flere unge til at bruge byens historie")
    assert values(it)["formaal"] == "Vi vil lave noget, der får flere unge til at bruge byens historie"
    assert "aktiviteter" not in it.draft.values and [c.field_id for c in reply.stored] == ["formaal"]
    for text in COOPERATIVE[3:6]:
        it.handle(text)
    assert values(it)["bidrag_bibliotek"] == "Lokaler, formidling og markedsføring i vores kanaler"
    # 3. a later message with an explicit cue for the filled library contribution asks before overwriting
    reply = it.handle("genstande og en inspektør, og vi står for plakaterne")
    assert reply.awaiting == "overwrite" and "Skal jeg erstatte" in reply.message
    assert values(it)["bidrag_partner"] == "Genstande og en inspektør"
    assert values(it)["bidrag_bibliotek"] == "Lokaler, formidling og markedsføring i vores kanaler"
    reply = it.handle("nej")
    assert values(it)["bidrag_bibliotek"] == "Lokaler, formidling og markedsføring i vores kanaler"
    assert "beholdt" in reply.message and reply.prompt.field.id == "kontakt_bibliotek"


def test_every_turn_shows_what_was_stored_where(schema) -> None:
    it = interview(schema)
    reply = it.handle("Roskilde Bibliotekerne")
    assert reply.message.startswith("Gemt i udkastet:\n- **Biblioteket:** Roskilde Bibliotekerne")
    assert "«fortryd»" in reply.message and "«ret bibliotek»" in reply.message
    assert [(c.field_id, c.after) for c in reply.stored] == [("bibliotek", TextValue(text="Roskilde Bibliotekerne"))]


def test_explicit_cues_and_typed_values_reach_other_fields(schema) -> None:
    it = interview(schema)
    it.handle("Roskilde Bibliotekerne")
    reply = it.handle("Roskilde Gymnasium. Formålet er at styrke læselysten; vi starter 1. marts 2027")
    v = values(it)
    assert v["partner"] == "Roskilde Gymnasium" and v["formaal"] == "At styrke læselysten"
    assert v["startdato"] == "2027-03-01"
    assert it.draft.sources == {"bibliotek": "svar", "partner": "svar", "formaal": "udsagn", "startdato": "typet"}
    assert reply.stored[0].field_id == "partner", "the answer to the question is listed first"
    answer_at(it, "maal")
    # e-mail and phone in a contact answer follow that person's party (the field's group in the YAML)
    it.draft.current = "kontakt_partner"
    it.handle("Peter Lund, lektor, peter@gym.dk, 12 34 56 78")
    v = values(it)
    assert v["kontakt_partner"] == "Peter Lund, lektor"
    assert v["kontakt_partner_email"] == "peter@gym.dk" and v["kontakt_partner_telefon"] == "12 34 56 78"
    assert "kontakt_bibliotek_email" not in v


def test_a_date_inside_a_clause_is_not_taken_away_from_the_answer(schema) -> None:
    it = interview(schema)
    it.draft.current = "opsigelse"
    it.handle("Aftalen kan opsiges skriftligt med tre måneders varsel fra 1. januar 2028")
    assert values(it)["opsigelse"] == "Aftalen kan opsiges skriftligt med tre måneders varsel fra 1. januar 2028"
    assert "startdato" not in it.draft.values


def test_undo_correct_and_edit(schema) -> None:
    it = interview(schema)
    for text in COOPERATIVE[:3]:
        it.handle(text)
    reply = it.handle("fortryd")
    assert "formaal" not in it.draft.values and "Fortrudt" in reply.message
    assert reply.prompt.field.id == "formaal", "the undone field is asked again"
    it.handle(COOPERATIVE[2])
    reply = it.handle("ret partneren til Museum Sydøstdanmark")
    assert values(it)["partner"] == "Museum Sydøstdanmark" and reply.message.startswith("Rettet:")
    reply = it.handle("ret formålet")
    assert reply.prompt.field.id == "formaal" and "Nu står der" in reply.message
    it.handle("At gøre byens historie levende")
    assert values(it)["formaal"] == "At gøre byens historie levende"
    it.handle("fortryd")
    assert values(it)["formaal"].startswith("At give flere borgere")
    it.handle("fortryd")
    assert values(it)["partner"] == "Roskilde Museum"


def test_overwrite_with_yes_and_a_question_while_asking(schema) -> None:
    it = interview(schema, guide=FakeGuide())
    for text in COOPERATIVE[:3]:
        it.handle(text)
    reply = it.handle("Formålet er at samle byens fortællinger")  # while the goal is asked
    assert reply.awaiting == "clarify" and "er allerede udfyldt" in reply.message and not reply.stored
    assert [c.field_id for c in it.draft.clarify] == ["maal", "formaal"]
    reply = it.handle("ja")
    assert values(it)["formaal"] == "At samle byens fortællinger" and reply.prompt.field.id == "maal"
    # ignoring the question keeps the old value and treats the message as a normal answer
    it.handle("Formålet er noget helt andet")
    reply = it.handle("300 besøgende")
    assert values(it)["formaal"] == "At samle byens fortællinger" and values(it)["maal"] == "300 besøgende"
    assert "Jeg har ikke gemt" in reply.message


def test_none_skip_and_required_fields(schema) -> None:
    it = interview(schema)
    it.draft.current = "tredjepart"
    it.handle("ingen")
    assert values(it)["tredjepart"] == "Der er ingen tredjeparter involveret i partnerskabet."
    answer_at(it, "bibliotek")
    reply = it.handle("spring over")
    assert "bibliotek" in reply.errors and "kan ikke springes over" in reply.message
    reply = it.handle("ja")
    assert "bibliotek" not in it.draft.values, "a bare «ja» is not a library name"


def test_side_questions_are_recognised() -> None:
    assert question_in("Hvad siger guiden om evaluering", None)
    assert question_in("hvordan finder vi partnere", None)
    assert question_in("Roskilde Museum. Må vi bruge deres logo?", None) == "Må vi bruge deres logo?"
    assert question_in("Roskilde Museum", None) is None
    assert question_in("Kan opsiges med tre måneders varsel", None) is None


def test_evaluation_questions_are_answers_not_side_questions(settings: Settings) -> None:
    it = interview(load_template("evalueringsplan", settings), guide=FakeGuide())
    it.draft.current = "spoergsmaal"
    reply = it.handle("Hvad har vi fået ud af det? Hvad gør vi anderledes?")
    assert reply.side_question is None
    assert values(it)["spoergsmaal"] == ["Hvad har vi fået ud af det?", "Hvad gør vi anderledes?"]


def test_a_cooperative_user_finishes_the_required_fields_in_at_most_15_turns(schema) -> None:
    it = interview(schema)
    turns = 0
    for text in COOPERATIVE:
        reply = it.handle(text)
        turns += 1
        assert not reply.errors, (text, reply.errors)
        if not it.draft.required_missing(schema):
            break
    assert turns <= 15 and not it.draft.required_missing(schema)
    assert "De næste spørgsmål er valgfrie" in reply.message
    v = values(it)
    assert v["aktiviteter"] == ["En udstilling", "Tre foredrag", "En byvandring"]
    assert v["kontakt_bibliotek_email"] == "anna.holm@roskilde.dk"
    assert v["kontakt_partner"] == "Peter Lund, museumsinspektør" and v["kontakt_partner_telefon"] == "12 34 56 78"
    reply = it.handle("færdig")
    assert reply.done and it.draft.is_complete(schema)


# --- pre-fill from the earlier chat -----------------------------------------------------------------------
def test_prefill_proposes_partner_activity_and_date_and_invents_nothing(schema) -> None:
    it = interview(schema, CHAT)
    proposals = {c.field_id: plain(c.value) for c in it.draft.prefill}
    assert proposals == {"partner": "det lokale museum", "aktiviteter": ["En udstilling om byens historie"],
                         "bibliotek": "Roskilde Bibliotekerne", "startdato": "2027-03-01"}
    joined = " ".join(CHAT).casefold()
    assert all(c.evidence.casefold() in joined for c in it.draft.prefill), "every proposal quotes the user"
    assert it.draft.values == {}, "nothing is stored before the user accepts"
    opening = it.opening()
    assert opening.awaiting == "prefill" and "2. **Partneren:** det lokale museum" in opening.message
    reply = it.handle("ja til 2, 3 og 4, nej til 1")
    assert values(it) == {"partner": "det lokale museum", "aktiviteter": ["En udstilling om byens historie"],
                          "startdato": "2027-03-01"}
    assert set(it.draft.sources.values()) == {"samtale"} and reply.prompt.field.id == "bibliotek"


def test_prefill_can_be_rejected_and_survives_a_side_question(schema) -> None:
    it = interview(schema, CHAT, guide=FakeGuide())
    reply = it.handle("hvad siger guiden om udstillinger?")
    assert reply.awaiting == "prefill" and reply.citations and it.draft.prefill
    reply = it.handle("nej")
    assert it.draft.values == {} and it.draft.prefill == [] and reply.prompt.field.id == "bibliotek"


def test_decisions_are_parsed() -> None:
    assert parse_decision("ja").accept_all and parse_decision("Nej tak").reject_all
    d = parse_decision("ja til 1 og 3, nej til 2")
    assert d.accept == (1, 3) and d.reject == (2,)
    assert parse_decision("Roskilde Museum") is None


# --- the typed draft ---------------------------------------------------------------------------------------
def test_draft_values_are_typed_and_round_trip_through_json(schema) -> None:
    it = interview(schema)
    for text in COOPERATIVE:
        it.handle(text)
    it.set_field("budget", "25.000 kr.")
    d = it.draft
    assert d.values["startdato"] == DateValue(value=date(2027, 3, 1))
    assert d.values["budget"] == AmountValue(value=Decimal("25000"))
    assert isinstance(d.values["aktiviteter"], ListValue) and isinstance(d.values["kontakt_partner"], PersonValue)
    assert d.values["kontakt_partner_telefon"] == PhoneValue(digits="12345678")
    raw = d.to_json()
    assert json.loads(raw)["values"]["startdato"] == {"kind": "date", "value": "2027-03-01"}
    again = Draft.from_json(raw, schema)
    assert again == d
    resumed = Interview(schema, again, extractor=RuleExtractor())
    resumed.handle("fortryd")
    assert "budget" not in resumed.draft.values, "the undo history survives the round trip"


def test_an_old_session_json_is_converted_not_lost(schema) -> None:
    old = json.dumps({"format": "partnerskabsassistenten/template-session", "schema_id": "samarbejdsaftale",
                      "values": {"partner": "Roskilde Gymnasium", "startdato": "2027-03-01",
                                 "aktiviteter": ["Læseklub"], "forsvundet_felt": "x"}, "skipped": ["titel"]})
    draft = read_draft(old, schema)
    assert plain(draft.values["startdato"]) == "2027-03-01" and plain(draft.values["aktiviteter"]) == ["Læseklub"]
    assert draft.skipped == {"titel"} and "forsvundet_felt" not in draft.values


def test_validation_messages_in_danish(schema) -> None:
    it = interview(schema)
    assert it.set_field("startdato", "1. marts 2027") == []
    assert it.set_field("slutdato", "1. februar 2027") == [
        "«Slutdato» (1. februar 2027) skal ligge efter «startdato» (1. marts 2027)."]
    assert it.set_field("startdato", "31. februar 2027") == [
        "«31. februar 2027» er ikke en gyldig dato. Skriv fx 1. marts 2027 eller 01-03-2027."]
    assert it.set_field("budget", "-500 kr.") == ["Beløbet kan ikke være negativt."]
    assert it.set_field("budget", "mange penge") == [
        "Jeg kunne ikke læse ét beløb i «mange penge». Skriv fx 25.000 kr."]
    assert it.set_field("kontakt_partner_email", "peter at gym") == [
        "«peter at gym» er ikke en gyldig e-mailadresse. Skriv fx navn@bibliotek.dk."]
    assert it.set_field("kontakt_partner", "") == ["«Kontaktperson hos partneren» skal udfyldes."]
    assert it.set_field("budget", "12500") == [] and plain(it.draft.values["budget"]) == "12.500 kr."
    assert validate_values(schema, {})["partner"] == "«Partneren» skal udfyldes."
    assert parse_value(schema.field("kontakt_bibliotek_telefon"), "+45 12345678")[0] == PhoneValue(
        digits="12345678", country=True)


@pytest.mark.parametrize(("answer", "items"), [
    ("nye borgere, frivillige", ["nye borgere", "frivillige"]),
    ("nye borgere, frivillige og forældre til skolebørn", ["nye borgere", "frivillige", "forældre til skolebørn"]),
    ("plakater samt opslag på Facebook", ["plakater", "opslag på Facebook"]),
    ("- plakater\n- nyhedsbrev", ["plakater", "nyhedsbrev"]),
    ("børn og unge", ["børn og unge"]),
    ("nye borgere, som ikke kender biblioteket", ["nye borgere, som ikke kender biblioteket"]),
])
def test_list_answers_split_into_items(settings: Settings, answer: str, items: list[str]) -> None:
    field = load_template("kommunikationsplan", settings).field("maalgrupper")
    assert parse_value(field, answer) == (ListValue(items=items), [])


def test_list_answer_in_the_interview_becomes_bullets(settings: Settings) -> None:
    schema = load_template("kommunikationsplan", settings)
    it = interview(schema)
    for text in ["Sprogcafé på Hovedbiblioteket", "Aarhus Bibliotekerne", "FO Aarhus",
                 "Formålet er at gøre sprogcaféen kendt blandt nye borgere i byen."]:
        it.handle(text)
    answer_at(it, "maalgrupper")
    it.handle("nye borgere, frivillige og forældre")
    assert values(it)["maalgrupper"] == ["Nye borgere", "Frivillige", "Forældre"]
    assert "- Nye borgere\n- Frivillige\n- Forældre\n" in export_markdown(schema, it.draft)


def test_commands(schema) -> None:
    assert parse_command("fortryd", schema).kind == "undo"
    assert parse_command("ret slutdatoen", schema).field_id == "slutdato"
    assert parse_command("ret slutdatoen til 1. juni 2028", schema).value == "1. juni 2028"
    assert parse_command("Vi vil gerne rette op på økonomien", schema) is None
    it = interview(schema)
    assert it.handle("hvad mangler?").message.startswith("Skal udfyldes: Biblioteket, Partneren")
    assert "Om «Biblioteket»" in it.handle("hjælp").message


def test_llm_backend_none_uses_rules_only(settings: Settings) -> None:
    assert isinstance(default_extractor(settings), RuleExtractor)


@pytest.mark.parametrize("name", ["kommunikationsplan", "evalueringsplan"])
def test_other_templates_run_the_same_interview(settings: Settings, name: str) -> None:
    it = interview(load_template(name, settings), CHAT)
    it.handle("ja")
    assert plain(it.draft.values.get("partner")) == "det lokale museum"
    turns = 0
    while (field := it.next_field()) is not None and turns < 20:
        answer = {"date": "1. september 2027", "amount": "5.000 kr.", "email": "a@b.dk", "person": "Anna Holm",
                  "list": "Første punkt; andet punkt"}.get(field.type, "Et kort svar om emnet")
        answer = "Hvad virkede?; Hvad gør vi nu?" if field.accepts_questions else answer  # a list of questions
        it.handle(answer if field.required else "færdig")
        turns += 1
    assert it.draft.is_complete(it.schema), it.draft.problems(it.schema)


def test_hesitant_answers_inline_numbers_and_amounts_without_a_cue(schema) -> None:
    it = interview(schema)
    reply = it.handle("Hovedbiblioteket i Aarhus?")
    assert reply.side_question is None and values(it)["bibliotek"] == "Hovedbiblioteket i Aarhus"
    it.draft.current = "aktiviteter"
    it.handle("1) familiedage 2) værksteder 3) en udstilling")
    assert values(it)["aktiviteter"] == ["Familiedage", "Værksteder", "En udstilling"]
    it.draft.current = "tredjepart"
    it.handle("Nordea-fonden giver 50.000 kr. til materialer")
    assert "budget" not in it.draft.values, "an amount without a budget cue stays in the answer"
    it.draft.current = "kontakt_bibliotek"
    it.handle("mig – Lise Berg (lb@aarhus.dk)")
    assert values(it)["kontakt_bibliotek"] == "Lise Berg" and values(it)["kontakt_bibliotek_email"] == "lb@aarhus.dk"


def test_names_lose_lead_ins_and_hedges(schema) -> None:
    it = interview(schema)
    it.handle("Vi er Aarhus Bibliotekerne")
    it.handle("Dokk1 Kulturforening vel")
    assert values(it)["bibliotek"] == "Aarhus Bibliotekerne" and values(it)["partner"] == "Dokk1 Kulturforening"
    it.draft.current = "kontakt_bibliotek"
    it.handle("det er mig, Lise Berg, bibliotekar")
    assert values(it)["kontakt_bibliotek"] == "Lise Berg, bibliotekar"
