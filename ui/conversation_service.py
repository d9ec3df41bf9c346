"""The conversation service: what the chat page does, in plain Python (no Streamlit), so it is tested directly.

One :class:`ChatState` per browser session (the page keeps it in ``st.session_state``) holds the open
conversation, its messages and the template draft being written. :class:`ConversationService` changes that state
and the SQLite store: ask (the streamed answer is stored with its citations and coverage), feedback, start /
park / resume / restart a template draft and its turns, the «fortsæt eller start forfra» choice, routing of a
typed message (:meth:`ConversationService.handle_input`), open / delete conversations. The page renders what it
returns: a :class:`PendingReply` to stream, Danish ``notices`` to show as toasts.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from assistant.models import Turn
from assistant.settings import Settings
from assistant.storage import ConversationInfo, FeedbackRecord, Storage, StoredMessage
from ui import conversation, templating
from ui.intent import detect_template_intent, starts_request

if TYPE_CHECKING:
    from assistant.core import Assistant
    from assistant.templates import Interview
    from assistant.templates.service import DraftInfo, DraftService, Started

log = logging.getLogger(__name__)

HISTORY_TURNS = 6
DRAFT_DONE = ("\n\nUdkastet er færdigt. Gennemse og ret felterne i udkastet (ved siden af eller under chatten), "
              "og download det som DOCX eller Markdown.")
ANSWER_FAILED = "Der opstod en fejl, så jeg kunne ikke svare. Prøv igen om lidt."
NO_ANSWER = "Assistenten returnerede intet svar."
MOVED = "Samtalen var slettet – dit spørgsmål er gemt i en ny samtale."
GONE = "Samtalen findes ikke længere."
DELETED = "Samtalen er slettet."
DRAFT_UNREADABLE = "Det gemte udkast kunne ikke genåbnes."
PARKED_DEFAULT = "Skabelontilstanden er afsluttet."
ANSWERING = "Søger i guiden …"
DRAFTING = "Opdaterer udkastet …"

TemplateAction = Literal["resume_or_restart", "prefill", "overwrite", "clarify", "undo"]


@dataclass
class ChatState:
    """One browser session's chat: the open conversation and the template draft being written."""

    owner: str | None = None  # this browser's private space; None = the team view (every conversation)
    conv_id: str | None = None
    messages: list[StoredMessage] = field(default_factory=list)
    template: Interview | None = None  # the active interview, when in template mode
    template_choice: str | None = None  # template awaiting «fortsæt eller start forfra»
    notices: list[str] = field(default_factory=list)  # Danish messages for the page to show once

    def take_notices(self) -> list[str]:
        out, self.notices = self.notices, []
        return out


class PendingReply:
    """The reply to one message: ``user`` is stored already; iterating :meth:`pieces` produces the reply
    (text pieces as they stream; none for a template step) and stores it as ``message``. On failure
    ``message`` stays None and ``error`` holds the Danish explanation."""

    def __init__(self, user: StoredMessage | None, busy: str,
                 produce: Callable[[PendingReply], Iterator[str]] | None = None, *, rerun: bool = False) -> None:
        self.user = user
        self.busy = busy
        self.rerun = rerun  # the layout changed (a template opened or closed): the page draws itself anew
        self.message: StoredMessage | None = None
        self.error: str | None = None
        self._produce = produce

    def pieces(self) -> Iterator[str]:
        if self._produce is None:
            return
        try:
            yield from self._produce(self)
        except Exception:
            log.exception("answering failed")
            self.error = ANSWER_FAILED
            return
        if self.message is None and self.error is None:
            self.error = NO_ANSWER

    def finish(self) -> StoredMessage | None:
        """Produce the rest (without streaming) and return the stored reply."""
        for _ in self.pieces():
            pass
        return self.message


def store_message(storage: Storage, conv_id: str | None, role: str, content: str, *, owner: str | None = None,
                  **kwargs: Any) -> tuple[str, int, bool]:
    """Store a message in ``conv_id`` (created if None); ``(conversation id, message id, moved)``.

    When the conversation was deleted meanwhile (another tab, the retention clean-up), the message is kept in a
    new conversation instead of failing with an ``IntegrityError``; ``moved`` tells the page to say so. A new
    conversation is created together with its message in one transaction, so it cannot vanish in between.
    """
    if conv_id is None or storage.get_conversation(conv_id, owner=owner) is None:
        return *storage.create_conversation_with_message(role, content, owner=owner or "", **kwargs), \
            conv_id is not None
    try:
        return conv_id, storage.add_message(conv_id, role, content, **kwargs), False
    except sqlite3.IntegrityError:  # deleted between the check and the insert
        return *storage.create_conversation_with_message(role, content, owner=owner or "", **kwargs), True


class ConversationService:
    """Everything the chat page does to a :class:`ChatState` and the store; the page only renders."""

    def __init__(self, storage: Storage, settings: Settings, assistant: Callable[[], Assistant] | None = None) -> None:
        self.storage = storage
        self.settings = settings
        self._assistant = assistant  # called per use: the shared assistant follows the committed index

    # --- conversations --------------------------------------------------------------------------------
    def open(self, state: ChatState, conv_id: str | None) -> bool:
        """Open ``conv_id`` (None = a new, empty conversation); False (and a notice) when it is gone or not
        this owner's. An active draft of the conversation is restored."""
        if conv_id and self.storage.get_conversation(conv_id, owner=state.owner) is None:
            state.notices.append(GONE)
            self.open(state, None)
            return False
        state.conv_id = conv_id
        state.messages = self.storage.messages(conv_id) if conv_id else []
        state.template = None
        state.template_choice = None
        if conv_id:
            try:
                state.template = self.drafts(with_guide=True).active(conv_id)
            except Exception:  # a broken draft must not break the chat; it stays stored
                log.exception("could not restore template draft of %s", conv_id)
                state.notices.append(DRAFT_UNREADABLE)
        return True

    def delete(self, state: ChatState, conv_id: str) -> bool:
        """Delete one of the owner's conversations; True when it was the open one (then a new one is open)."""
        if self.storage.get_conversation(conv_id, owner=state.owner) is not None:  # only one's own
            self.storage.delete_conversation(conv_id)
        state.notices.append(DELETED)
        if state.conv_id == conv_id:
            self.open(state, None)
            return True
        return False

    def conversations(self, state: ChatState, search: str = "") -> list[tuple[ConversationInfo, bool]]:
        """The owner's conversations (newest first, titles matching ``search``), each with "has a draft"."""
        conversations = self.storage.list_conversations(owner=state.owner, search=search or "")
        with_drafts = {d.conversation_id for d in self.storage.list_drafts(owner=state.owner)}
        return [(c, c.id in with_drafts) for c in conversations]

    def history(self, state: ChatState, kind: str = "chat") -> list[Turn]:
        """The last turns of the open conversation, for contextualising a follow-up (refusals left out)."""
        messages = [m for m in state.messages if m.kind == kind and not m.refused]
        return [Turn(role=m.role, content=m.content) for m in messages][-HISTORY_TURNS:]

    def _ensure_conversation(self, state: ChatState) -> str:
        if not state.conv_id:
            state.conv_id = self.storage.create_conversation(owner=state.owner or "")
        return state.conv_id

    def _name(self, state: ChatState, title: str) -> None:
        """Title the open conversation (see :func:`ui.conversation.topic_title`); the sidebar adds the date."""
        if state.conv_id and title:
            self.storage.set_title(state.conv_id, title)

    def _store(self, state: ChatState, role: str, content: str, **kwargs: Any) -> StoredMessage:
        conv_id, message_id, moved = store_message(self.storage, state.conv_id, role, content,
                                                   owner=state.owner, **kwargs)
        if moved:  # the open conversation was deleted elsewhere: the message lives on in a new one
            state.messages = [m for m in state.messages if m.conversation_id == conv_id]
            state.notices.append(MOVED)
        state.conv_id = conv_id
        kind = kwargs.get("kind", "chat")
        if role == "user" and kind == "chat" and not any(m.role == "user" for m in state.messages):
            self._name(state, conversation.topic_title(content))  # the first question names the conversation
        message = StoredMessage(  # what was stored (not re-read: it may be deleted by another tab meanwhile)
            id=message_id, conversation_id=conv_id, role=role, content=content,
            citations=list(kwargs.get("citations", [])), refused=bool(kwargs.get("refused", False)),
            suggestions=list(kwargs.get("suggestions", [])), kind=kind, coverage=kwargs.get("coverage", ""),
        )
        state.messages.append(message)
        return message

    # --- asking ---------------------------------------------------------------------------------------
    def ask(self, state: ChatState, question: str, *, scope: str | None = None) -> PendingReply:
        """Store the question; the reply streams the answer and stores it with its citations and coverage."""
        history = self.history(state)
        user = self._store(state, "user", question)
        filters = conversation.scope_filters(scope)

        def produce(reply: PendingReply) -> Iterator[str]:
            assert self._assistant is not None, "asking needs an assistant"
            stream = self._assistant().stream(question, history=history, filters=filters)
            yield from (piece for piece in stream if piece)
            answer = stream.answer
            if answer is None:
                return
            reply.message = self._store(state, "assistant", answer.text, citations=answer.citations,
                                        refused=answer.refused, suggestions=answer.suggestions,
                                        coverage=answer.coverage)

        return PendingReply(user, ANSWERING, produce)

    # --- feedback -------------------------------------------------------------------------------------
    def rate(self, message_id: int, score: int | None) -> None:
        """Thumbs up (1) / down (0) on an answer; None takes the rating back (a comment stays)."""
        if score is None:
            self.storage.clear_feedback_score(message_id)
        else:
            self.storage.save_feedback(message_id, score=int(score))

    def comment(self, message_id: int, text: str) -> None:
        self.storage.save_feedback(message_id, comment=text.strip())

    def feedback(self, message_id: int) -> FeedbackRecord | None:
        """What is stored for an answer (the page thanks only for that)."""
        return self.storage.feedback_for(message_id)

    # --- templates ------------------------------------------------------------------------------------
    def drafts(self, *, with_guide: bool = False) -> DraftService:
        """The draft service (``assistant.templates``); the guide answers side questions during a draft."""
        guide = self._assistant() if with_guide and self._assistant is not None else None
        return templating.draft_service(self.storage, self.settings, guide)

    def _prefill_texts(self, state: ChatState) -> list[str]:
        """The user's chat messages in this conversation, plus the request that opened the template."""
        users = [m for m in state.messages if m.role == "user"]
        texts = [m.content for m in users if m.kind == "chat"]
        if users and users[-1].kind == "template":
            texts.append(users[-1].content)
        return texts

    def _opened(self, state: ChatState, started: Started) -> StoredMessage:
        if started.choice:
            state.template_choice = started.template
        else:
            state.template = started.interview
            state.template_choice = None
        return self._store(state, "assistant", started.message, citations=started.citations, kind="template")

    def start_template(self, state: ChatState, name: str) -> StoredMessage:
        """Begin an interview (proposals from the chat so far), or ask «fortsæt eller start forfra» for a
        parked draft of the same template. A conversation without a chat question is named after the template."""
        conv_id = self._ensure_conversation(state)
        drafts = self.drafts(with_guide=True)
        if not any(m.role == "user" and m.kind == "chat" for m in state.messages):  # named after the template,
            self._name(state, conversation.shorten(drafts.schema(name).title, conversation.TITLE_WIDTH))  # not a value
        return self._opened(state, drafts.start(conv_id, name, self._prefill_texts(state)))

    def resume_template(self, state: ChatState, name: str, *, restart: bool = False) -> StoredMessage:
        conv_id = self._ensure_conversation(state)
        service = self.drafts(with_guide=True)
        started = service.restart(conv_id, name, self._prefill_texts(state)) if restart else service.resume(conv_id,
                                                                                                            name)
        return self._opened(state, started)

    def stop_template(self, state: ChatState) -> StoredMessage:
        """Leave template mode: the draft is parked, never discarded."""
        text = self.drafts().park(state.conv_id, state.template) if state.conv_id else ""
        state.template = None
        return self._store(state, "assistant", text or PARKED_DEFAULT, kind="template")

    def save_draft(self, state: ChatState) -> None:
        """Store the active draft (after an edit in the review form)."""
        if state.conv_id and state.template is not None:
            self.drafts().save(state.conv_id, state.template)

    def template_turn(self, state: ChatState, text: str) -> PendingReply:
        """One message in template mode: the draft service routes it (answer, side question, command), saves the
        draft and stores the reply before this returns. Done here and not while the page draws: a message typed
        before the previous reply appeared makes Streamlit stop the running script at its next page call, and the
        message must not end up stored but never applied to the draft."""
        assert state.template is not None
        user = self._store(state, "user", text, kind="template")
        reply = PendingReply(user, DRAFTING)
        try:
            assert state.conv_id is not None
            turn = self.drafts(with_guide=True).turn(state.conv_id, state.template, text)
            message = turn.message + (DRAFT_DONE if turn.done else "")
            reply.message = self._store(state, "assistant", message, citations=turn.citations, kind="template")
        except Exception:
            log.exception("template turn failed")
            reply.error = ANSWER_FAILED
        return reply

    def template_choice_turn(self, state: ChatState, text: str) -> bool:
        """The reply to «fortsæt eller start forfra»; False when the message is something else (then it is a
        chat message)."""
        from assistant.templates.service import parse_choice

        name, choice = state.template_choice, parse_choice(text)
        state.template_choice = None
        if choice is None or name is None:
            return False
        self._store(state, "user", text, kind="template")
        self.resume_template(state, name, restart=choice == "restart")
        return True

    def template_action(self, state: ChatState) -> TemplateAction | None:
        """Which answer buttons belong under the last template message."""
        if state.template_choice:
            return "resume_or_restart"
        if state.template is None:
            return None
        draft = state.template.draft
        if draft.prefill:
            return "prefill"
        if draft.overwrite:
            return "overwrite"
        if draft.clarify:
            return "clarify"
        return "undo" if draft.turns else None

    def clarify_choices(self, state: ChatState) -> list[tuple[str, str]]:
        """One (button label, reply) per option of the pending «A eller B?»: «Behold under «A»» / «Flyt til «B»»
        after a move offer, «Erstat «B»» / «Skriv under «A»» for a filled field, else the field labels. The reply is
        what the user could type (a field's label, «ja»), so it reads naturally in the chat."""
        if state.template is None:
            return []
        schema, options = state.template.schema, state.template.draft.clarify
        labels = [schema.field(c.field_id).label for c in options]
        kind = state.template.clarify_kind()
        if kind == "move":
            return [(f"Behold under «{labels[0]}»", labels[0])] + [(f"Flyt til «{x}»", x) for x in labels[1:]]
        if kind == "replace":
            return [(f"Skriv under «{labels[0]}»", labels[0]), (f"Erstat «{labels[1]}»", "ja")]
        return [(x, x) for x in labels]

    def saved_drafts(self, state: ChatState, limit: int = 8) -> list[DraftInfo]:
        """The owner's saved drafts (all conversations) except the one being written, newest first."""
        try:
            mine = (None if state.owner is None
                    else {c.id for c in self.storage.list_conversations(500, owner=state.owner)})
            drafts = [d for d in self.drafts().drafts() if mine is None or d.conversation_id in mine]
        except Exception:
            log.exception("listing drafts failed")
            return []
        active = (state.conv_id, state.template.schema.id) if state.template is not None else None
        return [d for d in drafts if (d.conversation_id, d.template) != active][:limit]

    # --- one typed message ----------------------------------------------------------------------------
    def handle_input(self, state: ChatState, text: str, *, scope: str | None = None) -> PendingReply | None:
        """Route a typed message: a template turn while drafting (a request for another template parks this
        draft and starts that one), the «fortsæt / start forfra» choice, a request to start a template, or a
        question for the guide. None for an empty message."""
        text = text.strip()
        if not text:
            return None
        words = {t.id: t.request_words for t in templating.available_templates(self.settings)}
        intent = detect_template_intent(text, words)
        if state.template is not None:
            if intent and intent != state.template.schema.id and starts_request(text):
                self.stop_template(state)  # «Lav en evalueringsplan» while drafting: park this one, start that
            else:
                return self.template_turn(state, text)
        if state.template_choice and self.template_choice_turn(state, text):
            return PendingReply(None, DRAFTING, rerun=True)
        if intent:
            user = self._store(state, "user", text, kind="template")
            self.start_template(state, intent)
            return PendingReply(user, DRAFTING, rerun=True)
        return self.ask(state, text, scope=scope)
