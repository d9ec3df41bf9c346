"""The chat page: conversation history, streamed cited answers, feedback, template mode and the sidebar.

All messages (with their sources) live in ``st.session_state`` and in SQLite, and the whole history is
re-rendered on every rerun, so nothing disappears (see the Streamlit chat-state bugs in anchors D8).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from typing import Any

import streamlit as st

from assistant.models import Citation, Turn
from assistant.settings import Settings
from assistant.storage import Storage, StoredMessage
from ui import conversation, render, templating
from ui.intent import detect_template_intent, starts_request
from ui.services import SharedIndex, app_settings, get_owner_tokens, get_shared_index, get_storage

log = logging.getLogger(__name__)

STARTER_QUESTIONS: tuple[str, ...] = (
    "Hvad er et strategisk partnerskab?",
    "Hvad skal en samarbejdsaftale indeholde?",
    "Hvordan finder vi de rigtige partnere?",
    "Hvordan kan vi evaluere et partnerskab?",
)
CHAT_PLACEHOLDER = "Stil et spørgsmål om partnerskaber …"
TEMPLATE_PLACEHOLDER = "Svar på spørgsmålet – eller spørg guiden …"
HISTORY_TURNS = 6
DRAFT_DONE = ("\n\nUdkastet er færdigt. Gennemse og ret felterne i udkastet (ved siden af eller under chatten), "
              "og download det som DOCX eller Markdown.")

# --- session state ------------------------------------------------------------------------------------


def _state() -> Any:
    ss = st.session_state
    ss.setdefault("conv_id", None)
    ss.setdefault("messages", [])
    ss.setdefault("template", None)
    ss.setdefault("template_choice", None)
    return ss


def _open_conversation(
    storage: Storage, settings: Settings, shared: SharedIndex, conv_id: str | None
) -> None:
    ss = _state()
    ss.conv_id = conv_id
    ss.messages = storage.messages(conv_id) if conv_id else []
    ss.template = None
    ss.template_choice = None
    ss.pop("confirm_delete", None)
    ss.pop("review_errors", None)
    if conv_id:
        try:
            ss.template = _drafts(storage, settings, shared).active(conv_id)
        except Exception:  # a broken draft must not break the chat; it stays stored
            log.exception("could not restore template draft of %s", conv_id)
            st.toast("Det gemte udkast kunne ikke genåbnes.")


def current_owner(settings: Settings) -> str | None:
    """This browser's private space (``?u=<signed token>``, see :mod:`ui.owners`); None in the team view."""
    if settings.team_view:
        return None
    ss = st.session_state
    tokens = get_owner_tokens(settings)
    token = st.query_params.get("u")
    owner = tokens.owner(token)
    if owner is None:
        token = ss.get("owner_token") or tokens.issue()  # keep this session's space; else a new one
        owner = tokens.owner(token)
        st.query_params["u"] = token
    ss.owner_token, ss.owner = token, owner
    return owner


def sync_with_query_params(storage: Storage, settings: Settings, shared: SharedIndex) -> None:
    """``?c=<id>`` names the open conversation, so a reload (or a restarted server) reopens it."""
    ss = _state()
    owner = current_owner(settings)
    wanted = st.query_params.get("c")
    if wanted and wanted != ss.conv_id:
        if storage.get_conversation(wanted, owner=owner) is None:  # gone, or another browser's
            st.query_params.pop("c", None)
            st.toast("Samtalen findes ikke længere.")
            _open_conversation(storage, settings, shared, None)
        else:
            _open_conversation(storage, settings, shared, wanted)
    elif not wanted and ss.conv_id:
        st.query_params["c"] = ss.conv_id  # e.g. back from the maintainer page


def _ensure_conversation(storage: Storage) -> str:
    ss = _state()
    if not ss.conv_id:
        ss.conv_id = storage.create_conversation(owner=ss.get("owner") or "")
        st.query_params["c"] = ss.conv_id
    return ss.conv_id


def _history(kind: str = "chat") -> list[Turn]:
    messages = [m for m in _state().messages if m.kind == kind and not m.refused]
    return [Turn(role=m.role, content=m.content) for m in messages][-HISTORY_TURNS:]


# --- rendering ----------------------------------------------------------------------------------------


def render_sources(citations: list[Citation], message_id: int | str | None = None) -> None:
    """Numbered source cards (anchor targets of the answer's ``[n]``): kind, heading path, the exact quote,
    what the quote is (our rendering of the guide, our template, your document) and the original page."""
    if not citations:
        return
    st.caption("Kilder")
    seen: set[str] = set()
    for c in citations:
        if c.chunk_id in seen:  # one card per passage, even if cited twice
            continue
        seen.add(c.chunk_id)
        if message_id is not None:
            st.markdown(f'<div id="{render.anchor_id(message_id, c.n)}"></div>', unsafe_allow_html=True)
        with st.expander(render.card_label(c), icon=":material/menu_book:"):
            st.markdown(render.quote_markdown(c.quote))
            st.caption(render.card_caption(c))


def _on_feedback(message_id: int) -> None:
    value = st.session_state.get(f"fb_{message_id}")
    storage = get_storage()
    if value is None:
        storage.clear_feedback_score(message_id)
    else:
        storage.save_feedback(message_id, score=int(value))


def _on_comment(message_id: int) -> None:
    comment = str(st.session_state.get(f"fbc_{message_id}", "")).strip()
    get_storage().save_feedback(message_id, comment=comment)


def render_feedback(message: StoredMessage, storage: Storage) -> None:
    key, comment_key = f"fb_{message.id}", f"fbc_{message.id}"
    if key not in st.session_state:
        stored = storage.feedback_for(message.id)
        if stored is not None:
            st.session_state[key] = stored.score
            st.session_state[comment_key] = stored.comment
    score = st.feedback("thumbs", key=key, on_change=_on_feedback, args=(message.id,))
    if score is not None:
        st.text_input(
            "Kommentar (valgfri)",
            key=comment_key,
            placeholder="Hvad var godt, eller hvad manglede?",
            on_change=_on_comment,
            args=(message.id,),
        )
        saved = storage.feedback_for(message.id)  # thank only for what is actually stored
        if saved is not None and saved.comment:
            st.caption("Tak! Din vurdering og kommentar er gemt.")
        elif saved is not None and saved.score is not None:
            st.caption("Tak! Din vurdering er gemt.")


def _ask_button(label: str, key: str) -> None:
    st.button(label, key=key, on_click=_set_pending, args=(label,))


def _set_pending(text: str) -> None:
    st.session_state.pending = text


def render_message(message: StoredMessage, storage: Storage) -> None:
    with st.chat_message(message.role):
        if message.refused:
            st.warning(render.neutralize(message.content), icon=":material/help:")
            if message.suggestions:
                st.caption("Måske kan du spørge om et af disse emner:")
                for i, topic in enumerate(message.suggestions):
                    _ask_button(topic, key=f"sug_{message.id}_{i}")
        elif message.role == "user":
            st.markdown(render.escape(message.content))  # a question is shown as typed, never as markup
        else:
            st.markdown(render.answer_markdown(message.content, message.citations, message.id))
        render_sources(message.citations, message.id)
        if message.role == "assistant" and message.kind == "chat":
            render_feedback(message, storage)


def render_starters() -> None:
    st.markdown(
        "Stil et spørgsmål om strategiske partnerskaber for biblioteker. Svarene bygger på guiden "
        "*Byg partnerskaber* og viser altid de nummererede kilder."
    )
    st.caption("Forslag til at komme i gang:")
    cols = st.columns(2)
    for i, question in enumerate(STARTER_QUESTIONS):
        with cols[i % 2]:
            st.button(question, key=f"starter_{i}", on_click=_set_pending, args=(question,),
                      icon=":material/chat:", width="stretch")


# --- handling input -----------------------------------------------------------------------------------


def _store(storage: Storage, role: str, content: str, **kwargs: Any) -> StoredMessage:
    ss = _state()
    conv_id, message_id, moved = conversation.store_message(storage, ss.conv_id, role, content,
                                                            owner=ss.get("owner"), **kwargs)
    if moved:  # the open conversation was deleted elsewhere: the message lives on in a new one
        ss.messages = [m for m in ss.messages if m.conversation_id == conv_id]
        st.toast("Samtalen var slettet – dit spørgsmål er gemt i en ny samtale.")
    if conv_id != ss.conv_id:
        ss.conv_id = conv_id
        st.query_params["c"] = conv_id
    message = StoredMessage(
        id=message_id, conversation_id=conv_id, role=role, content=content,
        citations=list(kwargs.get("citations", [])), refused=bool(kwargs.get("refused", False)),
        suggestions=list(kwargs.get("suggestions", [])), kind=kwargs.get("kind", "chat"),
    )
    ss.messages.append(message)
    return message


def answer_question(question: str, storage: Storage, shared: SharedIndex) -> None:
    """Stream the assistant's answer, then show it with its sources and store it."""
    history = _history()
    user = _store(storage, "user", question)
    render_message(user, storage)
    filters = conversation.scope_filters(st.session_state.get("scope"))
    answer_stream = shared.assistant.stream(question, history=history, filters=filters)

    def pieces() -> Iterator[str]:
        yield from (piece for piece in answer_stream if piece)

    slot = st.empty()
    try:
        with slot.container(), st.chat_message("assistant"):
            stream = pieces()
            with st.spinner("Søger i guiden …"):
                first = next(stream, None)  # retrieval happens before the first piece
            if first is not None:
                st.write_stream(render.neutralize(p) for p in itertools.chain([first], stream))
    except Exception:
        log.exception("answering failed")
        slot.error("Der opstod en fejl, så jeg kunne ikke svare. Prøv igen om lidt.")
        return
    answer = answer_stream.answer
    if answer is None:
        slot.error("Assistenten returnerede intet svar.")
        return
    stored = _store(
        storage, "assistant", answer.text, citations=answer.citations,
        refused=answer.refused, suggestions=answer.suggestions,
    )
    # Replace the streamed text by the finished answer, drawn by the same code as the history.
    with slot.container():
        render_message(stored, storage)


def _drafts(storage: Storage, settings: Settings, shared: SharedIndex | None) -> Any:
    """The plain-Python draft service (start, resume, park, turns); the page only renders its results."""
    return templating.draft_service(storage, settings, shared.assistant if shared is not None else None)


def _prefill_texts() -> list[str]:
    """The user's chat messages in this conversation, plus the request that opened the template."""
    users = [m for m in _state().messages if m.role == "user"]
    texts = [m.content for m in users if m.kind == "chat"]
    if users and users[-1].kind == "template":
        texts.append(users[-1].content)
    return texts


def _opened(started: Any, storage: Storage) -> None:
    ss = _state()
    if started.choice:
        ss.template_choice = started.template
    else:
        ss.template = started.interview
        ss.template_choice = None
    _store(storage, "assistant", started.message, citations=started.citations, kind="template")


def start_template(name: str, storage: Storage, settings: Settings, shared: SharedIndex) -> None:
    """Begin an interview (proposals from the chat so far), or ask «fortsæt eller start forfra» for a parked one."""
    conv_id = _ensure_conversation(storage)
    _opened(_drafts(storage, settings, shared).start(conv_id, name, _prefill_texts()), storage)


def resume_template(name: str, storage: Storage, settings: Settings, shared: SharedIndex, *, restart: bool) -> None:
    conv_id = _ensure_conversation(storage)
    service = _drafts(storage, settings, shared)
    started = service.restart(conv_id, name, _prefill_texts()) if restart else service.resume(conv_id, name)
    _opened(started, storage)


def stop_template(storage: Storage, settings: Settings) -> None:
    """Leave template mode: the draft is parked, never discarded."""
    ss = _state()
    text = _drafts(storage, settings, None).park(ss.conv_id, ss.template) if ss.conv_id else ""
    ss.template = None
    _store(storage, "assistant", text or "Skabelontilstanden er afsluttet.", kind="template")


def template_turn(text: str, storage: Storage, settings: Settings, shared: SharedIndex) -> None:
    """One message in template mode: the service routes it (answer, side question, command) and saves the draft."""
    ss = _state()
    user = _store(storage, "user", text, kind="template")
    render_message(user, storage)
    with st.spinner("Opdaterer udkastet …"):
        reply = _drafts(storage, settings, shared).turn(ss.conv_id, ss.template, text)
    message = reply.message + (DRAFT_DONE if reply.done else "")
    stored = _store(storage, "assistant", message, citations=reply.citations, kind="template")
    render_message(stored, storage)


def template_choice_turn(text: str, storage: Storage, settings: Settings, shared: SharedIndex) -> bool:
    """The reply to «fortsæt eller start forfra»; False when the message is something else (then it is a chat)."""
    from assistant.templates.service import parse_choice

    ss = _state()
    name, choice = ss.template_choice, parse_choice(text)
    ss.template_choice = None
    if choice is None or name is None:
        return False
    _store(storage, "user", text, kind="template")
    resume_template(name, storage, settings, shared, restart=choice == "restart")
    return True


def handle_input(text: str, storage: Storage, settings: Settings, shared: SharedIndex) -> None:
    ss = _state()
    text = text.strip()
    if not text:
        return
    words = {t.id: t.request_words for t in templating.available_templates(settings)}
    intent = detect_template_intent(text, words)
    if ss.template is not None:
        if intent and intent != ss.template.schema.id and starts_request(text):
            stop_template(storage, settings)  # «Lav en evalueringsplan» while drafting: park this one, start that
        else:
            template_turn(text, storage, settings, shared)
            return
    if ss.template_choice and template_choice_turn(text, storage, settings, shared):
        st.rerun()
    if intent:
        user = _store(storage, "user", text, kind="template")
        render_message(user, storage)
        start_template(intent, storage, settings, shared)
        st.rerun()
    answer_question(text, storage, shared)


def _two_choices(primary: tuple[str, str, str, str], secondary: tuple[str, str, str, str]) -> None:
    """Two side-by-side answer buttons, each ``(label, key, the text it answers, icon)``."""
    for column, (label, key, reply, icon), kind in zip(st.columns(2), (primary, secondary),
                                                      ("primary", "secondary"), strict=True):
        column.button(label, key=key, on_click=_set_pending, args=(reply,), icon=icon, type=kind, width="stretch")


def render_template_actions() -> None:
    """Buttons under the last template message: the «fortsæt / start forfra» choice, or «fortryd»."""
    ss = _state()
    if ss.template_choice:
        _two_choices(("Fortsæt udkastet", "choice_resume", "fortsæt", ":material/play_arrow:"),
                     ("Start forfra", "choice_restart", "start forfra", ":material/restart_alt:"))
    elif ss.template is not None:
        interview = ss.template
        if interview.draft.prefill:
            _two_choices(("Brug dem alle", "prefill_yes", "ja", ":material/check:"),
                         ("Brug ingen", "prefill_no", "nej", ":material/close:"))
        elif interview.draft.overwrite:
            _two_choices(("Ja, erstat", "overwrite_yes", "ja", ":material/check:"),
                         ("Nej, behold", "overwrite_no", "nej", ":material/close:"))
        elif interview.draft.turns:
            st.button("Fortryd sidste svar", key="undo_turn", on_click=_set_pending, args=("fortryd",),
                      icon=":material/undo:", type="tertiary")


# --- sidebar ------------------------------------------------------------------------------------------


def _request_template(name: str) -> None:
    st.session_state.start_template = name


def _new_conversation() -> None:
    st.session_state.conv_id = None
    st.session_state.messages = []
    st.session_state.template = None
    st.session_state.pop("confirm_delete", None)
    st.query_params.pop("c", None)


def _open(conv_id: str) -> None:
    st.query_params["c"] = conv_id


def _confirm_delete(conv_id: str) -> None:
    st.session_state.confirm_delete = conv_id


def _delete(conv_id: str) -> None:
    storage = get_storage()
    if storage.get_conversation(conv_id, owner=st.session_state.get("owner")) is not None:  # only one's own
        storage.delete_conversation(conv_id)
    st.session_state.pop("confirm_delete", None)
    if st.session_state.get("conv_id") == conv_id:
        _new_conversation()
    st.toast("Samtalen er slettet.")


def _cancel_delete() -> None:
    st.session_state.pop("confirm_delete", None)


def render_sidebar(storage: Storage, settings: Settings) -> None:
    ss = _state()
    with st.sidebar:
        st.button("Ny samtale", key="new_conversation", on_click=_new_conversation,
                  icon=":material/add_comment:", type="primary", width="stretch")
        st.subheader("Skabeloner")
        if ss.template is not None:
            st.caption(f"I gang: {ss.template.schema.title}")
            st.button("Parkér udkastet", key="sidebar_stop_template", on_click=_request_stop,
                      icon=":material/pause_circle:", width="stretch")
        else:
            try:
                options = templating.available_templates(settings)
            except Exception:
                log.exception("listing templates failed")
                options = []
            for option in options:
                st.button(templating.start_label(option), key=f"start_{option.id}", args=(option.id,),
                          on_click=_request_template, icon=":material/edit_document:", width="stretch")
        render_draft_list(storage, settings)
        st.subheader("Tidligere samtaler")
        search = st.text_input("Søg i samtaler", key="conv_search", placeholder="Søg i titler …",
                               label_visibility="collapsed")
        conversations = storage.list_conversations(owner=ss.get("owner"), search=search or "")
        with_drafts = {d.conversation_id for d in storage.list_drafts(owner=ss.get("owner"))}
        if not conversations:
            st.caption("Ingen samtaler matcher søgningen." if search else "Ingen gemte samtaler endnu.")
        for conv in conversations:
            title = conv.title or "(ny samtale)"
            short = conversation.sidebar_title(title, conv.updated_at, has_draft=conv.id in with_drafts)
            current = conv.id == ss.conv_id
            left, right = st.columns([5, 1], vertical_alignment="center")
            hint = f"{title} – senest {conversation.readable_time(conv.updated_at)}"
            left.button(render.escape(short), key=f"open_{conv.id}", on_click=_open, args=(conv.id,),
                        help=render.escape(hint), type="tertiary", disabled=current, width="content")
            right.button("", key=f"del_{conv.id}", on_click=_confirm_delete, args=(conv.id,),
                         icon=":material/delete:", help="Slet samtalen", type="tertiary")
            if ss.get("confirm_delete") == conv.id:
                st.warning(f"Slet samtalen “{render.escape(short)}”? Det kan ikke fortrydes.")
                yes, no = st.columns(2)
                yes.button("Ja, slet", key=f"confirm_del_{conv.id}", on_click=_delete, args=(conv.id,),
                           type="primary")
                no.button("Annullér", key=f"cancel_del_{conv.id}", on_click=_cancel_delete)


def _request_stop() -> None:
    st.session_state.stop_template = True


def _request_resume(conv_id: str, template: str) -> None:
    st.session_state.resume_template = (conv_id, template)
    if conv_id != st.session_state.get("conv_id"):
        st.query_params["c"] = conv_id


def render_draft_list(storage: Storage, settings: Settings) -> None:
    """Every saved draft (all conversations), each resumable with one click."""
    ss = _state()
    try:
        owner = ss.get("owner")
        mine = None if owner is None else {c.id for c in storage.list_conversations(500, owner=owner)}
        drafts = [d for d in _drafts(storage, settings, None).drafts() if mine is None or d.conversation_id in mine]
    except Exception:
        log.exception("listing drafts failed")
        drafts = []
    active = (ss.conv_id, ss.template.schema.id) if ss.template is not None else None
    shown = [d for d in drafts if (d.conversation_id, d.template) != active][:8]
    if not shown:
        return
    st.caption("Gemte udkast")
    for d in shown:
        st.button(f"Fortsæt: {d.title} ({d.filled}/{d.total})", key=f"resume_{d.conversation_id}_{d.template}",
                  on_click=_request_resume, args=(d.conversation_id, d.template), icon=":material/play_arrow:",
                  help=f"Parkeret {conversation.readable_time(d.updated_at)}", type="tertiary")


# --- the page -----------------------------------------------------------------------------------------


def render_page() -> None:
    settings = app_settings()
    storage = get_storage(settings)
    shared = get_shared_index(settings)
    ss = _state()
    sync_with_query_params(storage, settings, shared)

    if ss.pop("stop_template", False) and ss.template is not None:
        stop_template(storage, settings)
    resume = ss.pop("resume_template", None)
    if resume and resume[0] == ss.conv_id and (ss.template is None or ss.template.schema.id != resume[1]):
        if ss.template is not None:
            stop_template(storage, settings)
        resume_template(resume[1], storage, settings, shared, restart=False)
    requested = ss.pop("start_template", None)
    if requested and ss.template is None:
        start_template(requested, storage, settings, shared)

    st.title("Partnerskabsassistenten")
    if ss.template is not None:
        chat_col, panel_col = st.columns([3, 2], gap="large")
    else:
        chat_col, panel_col = st.container(), None

    if ss.template is None:
        st.segmented_control("Svar ud fra", list(conversation.SCOPES), key="scope",
                             default=conversation.DEFAULT_SCOPE, help="Kun guiden, eller også jeres egne dokumenter")
    placeholder = TEMPLATE_PLACEHOLDER if ss.template is not None else CHAT_PLACEHOLDER
    prompt = st.chat_input(placeholder, key="chat_input")
    text = prompt or ss.pop("pending", None)

    with chat_col:
        if not ss.messages and not text:
            render_starters()
        for message in list(ss.messages):
            render_message(message, storage)
        if text:
            handle_input(str(text), storage, settings, shared)
        render_template_actions()
        if ss.template is not None:
            from ui.template_panel import render_status

            render_status(ss.template)

    if panel_col is not None and ss.template is not None:
        from ui.template_panel import render_panel

        with panel_col:
            render_panel(storage)
    render_sidebar(storage, settings)
