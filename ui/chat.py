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
from assistant.prompts import source_label
from assistant.settings import Settings
from ui import templating
from ui.intent import detect_template_intent
from ui.services import SharedIndex, app_settings, get_shared_index, get_storage
from ui.storage import Storage, StoredMessage

log = logging.getLogger(__name__)

STARTER_QUESTIONS: tuple[str, ...] = (
    "Hvad er et strategisk partnerskab?",
    "Hvad skal en samarbejdsaftale indeholde?",
    "Hvordan finder vi de rigtige partnere?",
    "Hvordan kan vi evaluere et partnerskab?",
)
CHAT_PLACEHOLDER = "Stil et spørgsmål om partnerskaber …"
TEMPLATE_PLACEHOLDER = "Svar på spørgsmålet til udkastet …"
HISTORY_TURNS = 6
DRAFT_DONE = "\n\nUdkastet er færdigt. Gennemse og ret felterne til højre, og download det som DOCX eller Markdown."

# --- session state ------------------------------------------------------------------------------------


def _state() -> Any:
    ss = st.session_state
    ss.setdefault("conv_id", None)
    ss.setdefault("messages", [])
    ss.setdefault("template", None)
    ss.setdefault("draft_rev", 0)
    return ss


def _open_conversation(
    storage: Storage, settings: Settings, shared: SharedIndex, conv_id: str | None
) -> None:
    ss = _state()
    ss.conv_id = conv_id
    ss.messages = storage.messages(conv_id) if conv_id else []
    ss.template = None
    ss.pop("confirm_delete", None)
    ss.draft_rev += 1
    if conv_id:
        draft = storage.load_draft(conv_id)
        if draft and draft.active:
            try:
                ss.template = templating.resume_session(draft.session_json, settings, shared.assistant)
            except Exception:  # a draft from an older schema must not break the chat
                log.exception("could not restore template draft of %s", conv_id)
                st.toast("Det gemte udkast kunne ikke genåbnes.")


def sync_with_query_params(storage: Storage, settings: Settings, shared: SharedIndex) -> None:
    """``?c=<id>`` names the open conversation, so a reload (or a restarted server) reopens it."""
    ss = _state()
    wanted = st.query_params.get("c")
    if wanted and wanted != ss.conv_id:
        if storage.get_conversation(wanted) is None:
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
        ss.conv_id = storage.create_conversation()
        st.query_params["c"] = ss.conv_id
    return ss.conv_id


def _history(kind: str = "chat") -> list[Turn]:
    messages = [m for m in _state().messages if m.kind == kind and not m.refused]
    return [Turn(role=m.role, content=m.content) for m in messages][-HISTORY_TURNS:]


# --- rendering ----------------------------------------------------------------------------------------


def _quote_markdown(text: str) -> str:
    return "\n".join(f"> {line}" if line.strip() else ">" for line in text.strip().splitlines())


def render_sources(citations: list[Citation]) -> None:
    """Numbered sources; each expander shows the exact passage, its section, title and source link."""
    if not citations:
        return
    st.caption("Kilder")
    for c in citations:
        section = c.section.split(" > ")[-1] if c.section else ""
        label = f"[{c.n}] {c.title}" + (f" – {section}" if section and section != c.title else "")
        with st.expander(label, icon=":material/menu_book:"):
            st.markdown(_quote_markdown(c.quote))
            st.caption(f"Afsnit: {c.section or c.title}")
            link = f" · [Den oprindelige side]({c.source_url})" if c.source_url else ""
            st.markdown(f"*{source_label(c.kind)}* · **{c.title}**{link}")


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
        st.caption("Tak for din feedback!")


def _ask_button(label: str, key: str) -> None:
    st.button(label, key=key, on_click=_set_pending, args=(label,))


def _set_pending(text: str) -> None:
    st.session_state.pending = text


def render_message(message: StoredMessage, storage: Storage) -> None:
    with st.chat_message(message.role):
        if message.refused:
            st.warning(message.content, icon=":material/help:")
            if message.suggestions:
                st.caption("Måske kan du spørge om et af disse emner:")
                for i, topic in enumerate(message.suggestions):
                    _ask_button(topic, key=f"sug_{message.id}_{i}")
        else:
            st.markdown(message.content)
        render_sources(message.citations)
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
    conv_id = _ensure_conversation(storage)
    message_id = storage.add_message(conv_id, role, content, **kwargs)
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
    answer_stream = shared.assistant.stream(question, history=history)

    def pieces() -> Iterator[str]:
        yield from (piece for piece in answer_stream if piece)

    slot = st.empty()
    try:
        with slot.container(), st.chat_message("assistant"):
            stream = pieces()
            with st.spinner("Søger i guiden …"):
                first = next(stream, None)  # retrieval happens before the first piece
            if first is not None:
                st.write_stream(itertools.chain([first], stream))
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


def start_template(name: str, storage: Storage, settings: Settings, shared: SharedIndex) -> None:
    """Begin an interview (pre-filled from the chat so far) and ask its first question."""
    ss = _state()
    session = templating.start_session(name, settings, _history(), shared.assistant)
    conv_id = _ensure_conversation(storage)
    ss.template = session
    ss.draft_rev += 1
    storage.save_draft(conv_id, session.schema.id, session.to_json(), active=True)
    text, citations = templating.opening_message(session)
    _store(storage, "assistant", text, citations=citations, kind="template")


def stop_template(storage: Storage) -> None:
    ss = _state()
    if ss.conv_id:
        storage.set_draft_active(ss.conv_id, False)
    ss.template = None
    _store(storage, "assistant", "Skabelontilstanden er afsluttet. Du kan stille spørgsmål til guiden igen.",
           kind="template")


def template_turn(text: str, storage: Storage) -> None:
    """One answer in template mode: the session interprets it; the draft is saved after every turn."""
    ss = _state()
    session = ss.template
    user = _store(storage, "user", text, kind="template")
    render_message(user, storage)
    with st.spinner("Opdaterer udkastet …"):
        reply = session.handle(text)
    message = reply.message
    if reply.done:
        message += DRAFT_DONE
    stored = _store(storage, "assistant", message, citations=reply.citations, kind="template")
    storage.save_draft(ss.conv_id, session.schema.id, session.to_json(), active=True)
    ss.draft_rev += 1
    render_message(stored, storage)


def handle_input(text: str, storage: Storage, settings: Settings, shared: SharedIndex) -> None:
    ss = _state()
    text = text.strip()
    if not text:
        return
    if ss.template is not None:
        template_turn(text, storage)
        return
    names = [t.id for t in templating.available_templates(settings)]
    intent = detect_template_intent(text, names)
    if intent:
        user = _store(storage, "user", text, kind="template")
        render_message(user, storage)
        start_template(intent, storage, settings, shared)
        st.rerun()
    answer_question(text, storage, shared)


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
    get_storage().delete_conversation(conv_id)
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
            st.button("Afslut skabelontilstand", key="sidebar_stop_template", on_click=_request_stop,
                      icon=":material/stop_circle:", width="stretch")
        else:
            try:
                options = templating.available_templates(settings)
            except Exception:
                log.exception("listing templates failed")
                options = []
            for option in options:
                st.button(templating.start_label(option), key=f"start_{option.id}", args=(option.id,),
                          on_click=_request_template, icon=":material/edit_document:", width="stretch")
        st.subheader("Tidligere samtaler")
        conversations = storage.list_conversations()
        if not conversations:
            st.caption("Ingen gemte samtaler endnu.")
        for conv in conversations:
            title = conv.title or "(ny samtale)"
            short = title if len(title) <= 42 else title[:40] + "…"
            current = conv.id == ss.conv_id
            left, right = st.columns([5, 1], vertical_alignment="center")
            left.button(short, key=f"open_{conv.id}", on_click=_open, args=(conv.id,), help=title,
                        type="tertiary", disabled=current, width="content")
            right.button("", key=f"del_{conv.id}", on_click=_confirm_delete, args=(conv.id,),
                         icon=":material/delete:", help="Slet samtalen", type="tertiary")
            if ss.get("confirm_delete") == conv.id:
                st.warning(f"Slet samtalen “{short}”? Det kan ikke fortrydes.")
                yes, no = st.columns(2)
                yes.button("Ja, slet", key=f"confirm_del_{conv.id}", on_click=_delete, args=(conv.id,),
                           type="primary")
                no.button("Annullér", key=f"cancel_del_{conv.id}", on_click=_cancel_delete)


def _request_stop() -> None:
    st.session_state.stop_template = True


# --- the page -----------------------------------------------------------------------------------------


def render_page() -> None:
    settings = app_settings()
    storage = get_storage(settings)
    shared = get_shared_index(settings)
    ss = _state()
    sync_with_query_params(storage, settings, shared)

    if ss.pop("stop_template", False) and ss.template is not None:
        stop_template(storage)
    requested = ss.pop("start_template", None)
    if requested and ss.template is None:
        start_template(requested, storage, settings, shared)

    st.title("Partnerskabsassistenten")
    if ss.template is not None:
        chat_col, panel_col = st.columns([3, 2], gap="large")
    else:
        chat_col, panel_col = st.container(), None

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

    if panel_col is not None and ss.template is not None:
        from ui.template_panel import render_panel

        with panel_col:
            render_panel(ss.template, storage)
    render_sidebar(storage, settings)
