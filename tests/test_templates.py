"""Template interview: schemas, pre-filling from the conversation, dialogue, corrections, validation, save/resume."""

from __future__ import annotations

import json

import pytest
from conftest import make_settings

from assistant.models import Turn
from assistant.settings import Settings
from assistant.templates import (
    RuleExtractor,
    TemplateError,
    TemplateSession,
    default_extractor,
    export_markdown,
    list_templates,
    load_template,
)
from assistant.templates.commands import parse_command
from assistant.templates.validation import MISSING, normalise, validate_values

CONVERSATION = [
    Turn(role="user", content="Hvordan laver man en god samarbejdsaftale?"),
    Turn(role="assistant", content="Guiden anbefaler at aftale formål, opgaver og evaluering [1]."),
    Turn(role="user", content="Vi er fra Roskilde Bibliotekerne og vil lave et partnerskab med Roskilde Gymnasium "
                              "om en læseklub for unge."),
    Turn(role="user", content="Formålet er at få flere unge til at læse for lyst. Vi starter 1. marts 2027 og "
                              "slutter 30. juni 2028."),
]

# One answer per question the interview asks (required fields first); at most 12 user turns in all.
ANSWERS = [
    "Målet er 40 deltagere i læseklubben det første år.",
    "Vi vil holde månedlige læseklubmøder, forfatterbesøg og en afsluttende læsefestival.",
    "Biblioteket stiller lokaler og bøger til rådighed og står for formidlingen.",
    "Gymnasiet stiller to dansklærere og reklamerer for klubben blandt eleverne.",
    "Anna Holm, projektleder, anna.holm@roskilde.dk",
    "Peter Lund, lektor, tlf. 12 34 56 78",
    "færdig",
]


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(tmp_path_factory.mktemp("templates"))


@pytest.fixture(scope="module")
def schema(settings: Settings):
    return load_template("samarbejdsaftale", settings)


def filled_session(schema) -> TemplateSession:
    session = TemplateSession.start(schema, CONVERSATION, extractor=RuleExtractor())
    for answer in ANSWERS:
        reply = session.handle(answer)
    assert reply.done
    return session


# --- schemas --------------------------------------------------------------------------------------------------


def test_all_template_schemas_load_with_the_required_field_attributes(settings: Settings) -> None:
    schemas = {s.id: s for s in list_templates(settings)}
    assert set(schemas) == {"samarbejdsaftale", "kommunikationsplan", "evalueringsplan"}
    for schema in schemas.values():
        assert schema.required_ids, schema.id
        for f in schema.fields:
            assert f.id and f.label and "?" in f.question, f.id
            assert f.type in {"text", "longtext", "date", "amount", "email", "phone", "list", "person"}
    agreement = schemas["samarbejdsaftale"]
    assert {"bibliotek", "partner", "formaal", "startdato", "kontakt_partner"} <= set(agreement.required_ids)
    assert not agreement.field("budget").required


def test_unknown_template_gives_a_danish_error(settings: Settings) -> None:
    with pytest.raises(TemplateError, match=r"findes ikke.*samarbejdsaftale"):
        load_template("lejekontrakt", settings)


# --- pre-filling and the interview --------------------------------------------------------------------------


def test_prefill_takes_only_what_the_user_said(schema) -> None:
    session = TemplateSession.start(schema, CONVERSATION, extractor=RuleExtractor())
    assert session.values == {
        "bibliotek": "Roskilde Bibliotekerne",
        "partner": "Roskilde Gymnasium",
        "formaal": "At få flere unge til at læse for lyst",
        "startdato": "2027-03-01",
        "slutdato": "2028-06-30",
    }
    assert session.prefilled == list(session.values)
    assert "Roskilde Gymnasium" in session.intro_message()
    assert set(session.filled) == set(session.values)
    assert set(session.required_missing) == {"maal", "aktiviteter", "bidrag_bibliotek", "bidrag_partner",
                                             "kontakt_bibliotek", "kontakt_partner"}
    assert "budget" in session.missing and "budget" not in session.required
    # the next question is a required field, one question, in Danish
    prompt = session.next_question()
    assert prompt is not None and prompt.field.id == "maal" and prompt.field.required
    assert prompt.question.count("?") == 1 and prompt.question in prompt.text


def test_dialogue_fills_the_agreement_within_twelve_turns(schema) -> None:
    session = TemplateSession.start(schema, CONVERSATION, extractor=RuleExtractor())
    asked = []
    for answer in ANSWERS:
        asked.append(session.current or session.next_question().field.id)
        reply = session.handle(answer)
        assert not reply.errors, (answer, reply.errors)
    assert asked[:6] == ["maal", "aktiviteter", "bidrag_bibliotek", "bidrag_partner", "kontakt_bibliotek",
                         "kontakt_partner"], "only missing required fields are asked, in order"
    assert len(ANSWERS) <= 12
    assert reply.done and session.is_complete() and session.validate() == {}
    v = session.values
    assert v["aktiviteter"] == ["Månedlige læseklubmøder", "Forfatterbesøg", "En afsluttende læsefestival"]
    assert v["bidrag_bibliotek"].startswith("Lokaler og bøger")
    assert v["kontakt_bibliotek"] == "Anna Holm, projektleder"
    assert v["kontakt_bibliotek_email"] == "anna.holm@roskilde.dk"
    assert v["kontakt_partner"] == "Peter Lund, lektor"
    assert v["kontakt_partner_telefon"] == "12 34 56 78"
    assert "budget" in session.skipped and "budget" not in v


def test_one_rich_message_fills_many_fields_and_keeps_questions_out(schema) -> None:
    history = [Turn(role="user", content=(
        "Jeg arbejder på Hovedbiblioteket i Aarhus, og vi vil indgå en samarbejdsaftale med Dokk1 Kulturforening. "
        "Formålet er at skabe et fast litteraturtilbud for børnefamilier. Målgruppen er børnefamilier i "
        "lokalområdet. Budgettet er 25.000 kr. Vores kontaktperson er Mette Jensen, bibliotekar. "
        "Partnerens kontaktperson er Ole Berg. Vi evaluerer efter hvert halve år på et fælles møde. "
        "Skal vi have en slutdato?"))]
    session = TemplateSession.start(schema, history, extractor=RuleExtractor())
    v = session.values
    assert v["bibliotek"] == "Hovedbiblioteket i Aarhus"
    assert v["partner"] == "Dokk1 Kulturforening"
    assert v["formaal"] == "At skabe et fast litteraturtilbud for børnefamilier"
    assert v["maalgruppe"] == "børnefamilier i lokalområdet"
    assert v["budget"] == "25.000 kr."
    assert v["kontakt_bibliotek"] == "Mette Jensen, bibliotekar"
    assert v["kontakt_partner"] == "Ole Berg"
    assert v["evaluering"].startswith("Vi evaluerer efter hvert halve år")
    assert "slutdato" not in v, "a question is not a value"


def test_refusal_to_invent_unknown_fields_stay_empty_and_visible(schema) -> None:
    session = TemplateSession.start(schema, CONVERSATION, extractor=RuleExtractor())
    session.handle("Målet er 40 deltagere.")
    reply = session.handle("det ved jeg ikke")  # aktiviteter is required: cannot be skipped or guessed
    assert "aktiviteter" not in session.values
    assert reply.errors["aktiviteter"] == "«Aktiviteter» skal udfyldes og kan ikke springes over."
    assert reply.prompt is not None and reply.prompt.field.id == "aktiviteter", "the same question again"
    draft = session.draft_markdown()
    assert f"**Aktiviteter:** **{MISSING}**" in draft
    assert f"**Kontaktperson hos partneren:** **{MISSING}**" in draft
    assert "Skal udfyldes: " in draft and "Aktiviteter" in draft
    for fid in ("budget", "kontakt_partner", "bidrag_partner", "underskriver_partner"):
        assert fid not in session.values


def test_skip_optional_fields_and_show_draft_any_time(schema) -> None:
    session = filled_session(schema)
    assert session.next_question() is None
    reply = session.handle("vis udkast")
    assert reply.message.startswith("# Samarbejdsaftale")
    assert "Roskilde Gymnasium" in reply.message and "§1 Formål og mål" in reply.message
    assert "Budget" not in reply.message, "skipped optional fields are left out of the document"
    # a single optional field can be skipped while it is asked
    fresh = TemplateSession.start(schema, CONVERSATION, extractor=RuleExtractor())
    for answer in ANSWERS[:-1]:
        fresh.handle(answer)
    assert fresh.next_question().field.id == "titel"
    reply = fresh.handle("spring over")
    assert "titel" in fresh.skipped and reply.prompt.field.id == "maalgruppe"
    assert "Valgfrit" in reply.prompt.text


def test_corrections_in_plain_language(schema) -> None:
    session = filled_session(schema)
    reply = session.handle("ret formålet til at styrke unges læselyst gennem fællesskab")
    assert reply.updated == ["formaal"] and reply.message.startswith("Rettet:")
    assert session.values["formaal"] == "at styrke unges læselyst gennem fællesskab"
    assert session.sources["formaal"] == "rettelse"
    session.handle("Partnerens kontaktperson skal være Karen Vestergaard, rektor")
    assert session.values["kontakt_partner"] == "Karen Vestergaard, rektor"
    session.handle("ændr slutdatoen til 31. december 2028")
    assert session.values["slutdato"] == "2028-12-31"
    session.handle("ret budgettet til 30.000 kr.")  # a skipped optional field can be filled later
    assert session.values["budget"] == "30.000 kr." and "budget" not in session.skipped
    reply = session.handle("slet slutdatoen")
    assert "slutdato" not in session.values and reply.updated == ["slutdato"]
    assert parse_command("Vi vil gerne rette op på økonomien", schema) is None


@pytest.mark.parametrize(("answer", "items"), [
    ("nye borgere, frivillige", ["nye borgere", "frivillige"]),
    ("nye borgere, frivillige og forældre til skolebørn", ["nye borgere", "frivillige", "forældre til skolebørn"]),
    ("plakater, nyhedsbrev, og Facebook.", ["plakater", "nyhedsbrev", "Facebook"]),
    ("plakater samt opslag på Facebook", ["plakater", "opslag på Facebook"]),
    ("- plakater\n- nyhedsbrev", ["plakater", "nyhedsbrev"]),
    ("uge 10: pressemeddelelse, plakater; uge 12: nyhedsbrev", ["uge 10: pressemeddelelse, plakater",
                                                               "uge 12: nyhedsbrev"]),
    ("børn og unge", ["børn og unge"]),
    ("børn og unge, ældre", ["børn og unge", "ældre"]),
    ("nye borgere, som ikke kender biblioteket", ["nye borgere, som ikke kender biblioteket"]),
    ("Hvad fik vi ud af det? Hvad gør vi anderledes, og hvorfor?",
     ["Hvad fik vi ud af det?", "Hvad gør vi anderledes, og hvorfor?"]),
])
def test_list_answers_split_into_items(settings: Settings, answer: str, items: list[str]) -> None:
    field = load_template("kommunikationsplan", settings).field("maalgrupper")
    assert field.type == "list"
    assert normalise(field, answer) == (items, [])


def test_only_list_fields_split_and_given_items_stay_whole(schema) -> None:
    text_field = schema.field("bidrag_bibliotek")
    assert text_field.type != "list"
    answer = "Lokaler og bøger, formidling samt markedsføring"
    assert normalise(text_field, answer) == (answer, [])
    # items that are already separated (LLM output, a whole sentence) are not split again on commas
    assert normalise(schema.field("aktiviteter"), ["Forfatterbesøg, fx med lokale forfattere"]) == (
        ["Forfatterbesøg, fx med lokale forfattere"], [])


def test_list_answer_in_the_interview_becomes_bullets(settings: Settings) -> None:
    session = TemplateSession.start(load_template("kommunikationsplan", settings), [], extractor=RuleExtractor())
    for answer in ["Sprogcafé på Hovedbiblioteket", "Aarhus Bibliotekerne", "FO Aarhus",
                   "Formålet er at gøre sprogcaféen kendt blandt nye borgere i byen."]:
        session.next_question()
        session.handle(answer)
    assert session.next_question().field.id == "maalgrupper"
    reply = session.handle("nye borgere, frivillige og forældre")
    assert not reply.errors and reply.updated == ["maalgrupper"]
    assert session.values["maalgrupper"] == ["Nye borgere", "Frivillige", "Forældre"]
    md = export_markdown(session)
    assert "- Nye borgere\n- Frivillige\n- Forældre\n" in md
    assert "Nye borgere, frivillige" not in md and "Nye borgere; Frivillige" not in md


def test_validation_messages_in_danish(schema) -> None:
    session = filled_session(schema)
    reply = session.handle("slutdatoen skal være 1. februar 2027")
    assert reply.errors == {"slutdato": "«Slutdato» (1. februar 2027) skal ligge efter «startdato» (1. marts 2027)."}
    assert session.values["slutdato"] == "2028-06-30", "an invalid correction is not stored"
    assert session.set_field("startdato", "31. februar 2027") == [
        "«31. februar 2027» er ikke en gyldig dato. Skriv fx 1. marts 2027 eller 01-03-2027."]
    assert session.set_field("startdato", "snart") == [
        "Jeg kunne ikke læse én dato i «snart». Skriv fx 1. marts 2027 eller 01-03-2027."]
    assert session.set_field("budget", "-500 kr.") == ["Beløbet kan ikke være negativt."]
    assert session.set_field("budget", "mange penge") == [
        "Jeg kunne ikke læse ét beløb i «mange penge». Skriv fx 25.000 kr."]
    assert session.set_field("kontakt_partner_email", "peter at gym") == [
        "«peter at gym» er ikke en gyldig e-mailadresse. Skriv fx navn@bibliotek.dk."]
    assert session.set_field("kontakt_partner", "") == ["«Kontaktperson hos partneren» skal udfyldes."]
    assert session.skip("partner") == ["«Partneren» skal udfyldes og kan ikke springes over."]
    assert session.set_field("budget", "12500") == [] and session.values["budget"] == "12.500 kr."
    assert session.set_field("underskriftsdato", "01-07-2027") == []
    assert session.values["underskriftsdato"] == "2027-07-01"
    missing = validate_values(schema, {"bibliotek": "X"})
    assert missing["partner"] == "«Partneren» skal udfyldes."
    assert normalise(schema.field("kontakt_bibliotek_telefon"), "+45 12345678") == ("+45 12 34 56 78", [])


def test_commands_help_and_missing(schema) -> None:
    session = TemplateSession.start(schema, CONVERSATION, extractor=RuleExtractor())
    reply = session.handle("hvad mangler?")
    assert reply.message.startswith("Skal udfyldes: Mål og succeskriterier, Aktiviteter")
    reply = session.handle("hjælp")
    assert "Om «Mål og succeskriterier»" in reply.message and not session.values.get("maal")


def test_save_and_resume_json(schema, settings: Settings, tmp_path) -> None:
    session = TemplateSession.start(schema, CONVERSATION, extractor=RuleExtractor())
    for answer in ANSWERS[:3]:
        session.handle(answer)
    session.skip("titel")
    path = tmp_path / "udkast.json"
    path.write_text(session.to_json(), encoding="utf-8")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["schema_id"] == "samarbejdsaftale" and data["values"]["partner"] == "Roskilde Gymnasium"

    resumed = TemplateSession.from_json(path.read_text(encoding="utf-8"), settings=settings,
                                        extractor=RuleExtractor())
    assert resumed.values == session.values and resumed.skipped == {"titel"}
    assert resumed.sources == session.sources and resumed.messages == session.messages
    assert resumed.next_question().field.id == "bidrag_partner"
    for answer in ANSWERS[3:]:
        reply = resumed.handle(answer)
    assert reply.done and resumed.is_complete()
    assert resumed.draft_markdown().count(MISSING) == 0
    with pytest.raises(TemplateError, match="ikke et gemt udkast"):
        TemplateSession.from_json('{"values": {}}', settings=settings)


def test_llm_backend_none_uses_rules_only(settings: Settings) -> None:
    assert isinstance(default_extractor(settings), RuleExtractor)
    session = TemplateSession.start(load_template("samarbejdsaftale", settings), CONVERSATION)
    assert isinstance(session.extractor, RuleExtractor) and session.values["partner"] == "Roskilde Gymnasium"


@pytest.mark.parametrize("name", ["kommunikationsplan", "evalueringsplan"])
def test_other_templates_run_the_same_interview(settings: Settings, name: str) -> None:
    session = TemplateSession.start(load_template(name, settings), CONVERSATION, extractor=RuleExtractor())
    assert session.values.get("partner") == "Roskilde Gymnasium"
    turns = 0
    while (prompt := session.next_question()) is not None and turns < 15:
        answer = {"date": "1. september 2027", "amount": "5.000 kr.", "email": "a@b.dk", "person": "Anna Holm",
                  "list": "Første punkt; andet punkt"}.get(prompt.field.type, "Et kort svar om emnet")
        session.handle(answer if prompt.field.required else "færdig")
        turns += 1
    assert session.is_complete(), session.validate()
