"""The draft service in plain Python (no Streamlit): drafts per conversation are parked, listed, resumed, restarted
and never lost; the real SQLite store of the app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import make_settings
from test_templates import COOPERATIVE

from assistant.settings import Settings
from assistant.storage import Storage
from assistant.templates import RuleExtractor
from assistant.templates.service import DraftService, parse_choice
from assistant.templates.values import plain


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def service(settings: Settings) -> DraftService:
    return DraftService(Storage(settings.app_db_path), settings, extractor=RuleExtractor())


def test_park_then_start_asks_and_resume_keeps_everything(service: DraftService) -> None:
    conv = service.store.create_conversation("Museum")
    started = service.start(conv, "samarbejdsaftale", ["Vi vil gerne samarbejde med det lokale museum."])
    assert started.interview is not None and "det lokale museum" in started.message
    service.turn(conv, started.interview, "ja")
    service.turn(conv, started.interview, "Roskilde Bibliotekerne")
    assert "parkeret" in service.park(conv, started.interview)
    assert service.active(conv) is None
    [info] = service.drafts(conv)
    assert info.status == "parked" and info.filled == 2 and "2 af 29" in info.summary

    again = service.start(conv, "samarbejdsaftale")
    assert again.interview is None and again.choice == "resume_or_restart"
    assert "fortsætte" in again.message and "start forfra" in again.message
    assert parse_choice("Fortsæt") == "resume" and parse_choice("start forfra") == "restart"
    resumed = service.resume(conv, "samarbejdsaftale")
    values = {k: plain(v) for k, v in resumed.interview.draft.values.items()}
    assert values == {"partner": "det lokale museum", "bibliotek": "Roskilde Bibliotekerne"}
    assert "Hvad er formålet" in resumed.message
    assert service.active(conv).draft.values == resumed.interview.draft.values


def test_several_templates_per_conversation_and_restart(service: DraftService) -> None:
    conv = service.store.create_conversation()
    agreement = service.start(conv, "samarbejdsaftale").interview
    for text in COOPERATIVE[:3]:
        service.turn(conv, agreement, text)
    plan = service.start(conv, "evalueringsplan").interview  # the agreement is parked, not replaced
    service.turn(conv, plan, "Læseklubben")
    drafts = {d.template: d for d in service.drafts(conv)}
    assert drafts["samarbejdsaftale"].status == "parked" and drafts["samarbejdsaftale"].filled == 3
    assert drafts["evalueringsplan"].status == "active"
    restarted = service.restart(conv, "samarbejdsaftale")
    assert restarted.interview.draft.values == {}
    assert service.active(conv).schema.id == "samarbejdsaftale"
    assert {d.template: d.filled for d in service.drafts(conv)} == {"samarbejdsaftale": 0, "evalueringsplan": 1}


def test_every_turn_is_saved_and_an_old_draft_is_converted(service: DraftService, settings: Settings) -> None:
    conv = service.store.create_conversation()
    it = service.start(conv, "samarbejdsaftale").interview
    service.turn(conv, it, "Roskilde Bibliotekerne")
    saved = json.loads(service.store.load_draft(conv, "samarbejdsaftale").draft_json)
    assert saved["values"]["bibliotek"] == {"kind": "text", "text": "Roskilde Bibliotekerne"}
    old = json.dumps({"format": "partnerskabsassistenten/template-session", "schema_id": "samarbejdsaftale",
                      "values": {"partner": "Roskilde Gymnasium"}, "skipped": []})
    other = service.store.create_conversation()
    service.store.save_draft(other, "samarbejdsaftale", old, active=True)
    restored = service.active(other)
    assert plain(restored.draft.values["partner"]) == "Roskilde Gymnasium"
    assert len(service.drafts()) == 2
