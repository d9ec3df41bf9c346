"""The chat page: renders the conversation, streamed cited answers, feedback, template mode and the sidebar.

Only rendering and Streamlit wiring live here (widgets, ``st.session_state``, ``?c=`` / ``?u=``); what a message,
a button or a delete does is :mod:`ui.conversation_service`, in plain Python. The session's
:class:`~ui.conversation_service.ChatState` lives in ``st.session_state`` and the whole history is re-rendered on
every rerun, so nothing disappears (see the Streamlit chat-state bugs in anchors D8).
"""

from __future__ import annotations

import itertools
import logging

import streamlit as st

from assistant.settings import Settings
from assistant.storage import StoredMessage
from ui import conversation, render, templating
from ui.conversation_service import ChatState, ConversationService, PendingReply
from ui.services import app_settings, get_owner_tokens, get_shared_index, get_storage
from ui.sources import render_sources

log = logging.getLogger(__name__)

STARTER_QUESTIONS: tuple[str, ...] = (
    "Hvad er et strategisk partnerskab?",
    "Hvad skal en samarbejdsaftale indeholde?",
    "Hvordan finder vi de rigtige partnere?",
    "Hvordan kan vi evaluere et partnerskab?",
)
CHAT_PLACEHOLDER = "Stil et spørgsmål om partnerskaber …"
TEMPLATE_PLACEHOLDER = "Svar på spørgsmålet – eller spørg guiden …"
# Conversation titles in the sidebar read as a left-aligned list (Streamlit centres button labels).
CONVERSATION_LIST_CSS = """<style>
.st-key-conversation_list .stButton button { justify-content: flex-start; text-align: left; }
.st-key-conversation_list .stButton button p { text-align: left; }
</style>"""

# --- session state and the service --------------------------------------------------------------------


def _state() -> ChatState:
    return st.session_state.setdefault("chat", ChatState())


def _service(settings: Settings | None = None) -> ConversationService:
    settings = settings or app_settings()
    shared = get_shared_index(settings)
    return ConversationService(get_storage(settings), settings, lambda: shared.assistant)


def _notify(state: ChatState) -> None:
    for notice in state.take_notices():
        st.toast(notice)


def _sync_url(state: ChatState) -> None:
    """``?c=`` follows the open conversation (created by the first message, moved after a deletion …)."""
    if state.conv_id and st.query_params.get("c") != state.conv_id:
        st.query_params["c"] = state.conv_id


def _rerun(state: ChatState) -> None:
    _sync_url(state)
    st.rerun()


def _open_conversation(service: ConversationService, conv_id: str | None) -> bool:
    st.session_state.pop("confirm_delete", None)
    st.session_state.pop("review_errors", None)
    return service.open(_state(), conv_id)


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
    ss.owner_token = token
    return owner


def sync_with_query_params(service: ConversationService, settings: Settings) -> None:
    """``?c=<id>`` names the open conversation, so a reload (or a restarted server) reopens it."""
    state = _state()
    state.owner = current_owner(settings)
    wanted = st.query_params.get("c")
    if wanted and wanted != state.conv_id:
        if not _open_conversation(service, wanted):  # gone, or another browser's
            st.query_params.pop("c", None)
    elif not wanted and state.conv_id:
        st.query_params["c"] = state.conv_id  # e.g. back from the maintainer page


# --- rendering ----------------------------------------------------------------------------------------


def _on_feedback(message_id: int) -> None:
    _service().rate(message_id, st.session_state.get(f"fb_{message_id}"))


def _on_comment(message_id: int) -> None:
    _service().comment(message_id, str(st.session_state.get(f"fbc_{message_id}", "")))


def render_feedback(message: StoredMessage, service: ConversationService) -> None:
    key, comment_key = f"fb_{message.id}", f"fbc_{message.id}"
    if key not in st.session_state:
        stored = service.feedback(message.id)
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
        saved = service.feedback(message.id)  # thank only for what is actually stored
        if saved is not None and saved.comment:
            st.caption("Tak! Din vurdering og kommentar er gemt.")
        elif saved is not None and saved.score is not None:
            st.caption("Tak! Din vurdering er gemt.")


def _ask_button(label: str, key: str) -> None:
    st.button(label, key=key, on_click=_set_pending, args=(label,))


def _set_pending(text: str) -> None:
    st.session_state.pending = text


def render_message(message: StoredMessage, service: ConversationService) -> None:
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
            render_feedback(message, service)


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


def render_reply(reply: PendingReply, service: ConversationService) -> None:
    """The user's message, a spinner until the first piece, the streamed text, then the stored reply drawn
    by the same code as the history (or the Danish error)."""
    if reply.user is not None:
        render_message(reply.user, service)
    slot = st.empty()
    with slot.container(), st.chat_message("assistant"):
        stream = reply.pieces()
        with st.spinner(reply.busy):
            first = next(stream, None)  # retrieval happens before the first piece
        if first is not None:
            st.write_stream(render.neutralize(p) for p in itertools.chain([first], stream))
    if reply.message is None:
        slot.error(reply.error or "")
        return
    with slot.container():
        render_message(reply.message, service)


def handle_input(text: str, service: ConversationService) -> None:
    state = _state()
    reply = service.handle_input(state, text, scope=st.session_state.get("scope"))
    if reply is None:
        return
    if reply.rerun:
        _rerun(state)
    render_reply(reply, service)


def _two_choices(primary: tuple[str, str, str, str], secondary: tuple[str, str, str, str]) -> None:
    """Two side-by-side answer buttons, each ``(label, key, the text it answers, icon)``."""
    for column, (label, key, reply, icon), kind in zip(st.columns(2), (primary, secondary),
                                                      ("primary", "secondary"), strict=True):
        column.button(label, key=key, on_click=_set_pending, args=(reply,), icon=icon, type=kind, width="stretch")


def render_template_actions(service: ConversationService) -> None:
    """Buttons under the last template message: the «fortsæt / start forfra» choice, a yes/no, the field to write
    an unclear answer under, or «fortryd»."""
    action = service.template_action(_state())
    if action == "resume_or_restart":
        _two_choices(("Fortsæt udkastet", "choice_resume", "fortsæt", ":material/play_arrow:"),
                     ("Start forfra", "choice_restart", "start forfra", ":material/restart_alt:"))
    elif action == "prefill":
        _two_choices(("Brug dem alle", "prefill_yes", "ja", ":material/check:"),
                     ("Brug ingen", "prefill_no", "nej", ":material/close:"))
    elif action == "overwrite":
        _two_choices(("Ja, erstat", "overwrite_yes", "ja", ":material/check:"),
                     ("Nej, behold", "overwrite_no", "nej", ":material/close:"))
    elif action == "clarify":  # «Skal jeg skrive det under «A» eller «B»?»: one button per field
        choices = service.clarify_choices(_state())
        for i, (column, (label, reply)) in enumerate(zip(st.columns(len(choices)), choices, strict=True)):
            column.button(label, key=f"clarify_{i}", on_click=_set_pending, args=(reply,), width="stretch",
                          icon=":material/edit_note:", type="primary" if i == 0 else "secondary")
    elif action == "undo":
        st.button("Fortryd sidste svar", key="undo_turn", on_click=_set_pending, args=("fortryd",),
                  icon=":material/undo:", type="tertiary")


# --- sidebar ------------------------------------------------------------------------------------------


def _request_template(name: str) -> None:
    st.session_state.start_template = name


def _new_conversation() -> None:
    _open_conversation(_service(), None)
    st.query_params.pop("c", None)


def _open(conv_id: str) -> None:
    st.query_params["c"] = conv_id


def _confirm_delete(conv_id: str) -> None:
    st.session_state.confirm_delete = conv_id


def _cancel_delete() -> None:
    st.session_state.pop("confirm_delete", None)


@st.dialog("Slet samtalen?", on_dismiss=_cancel_delete)
def confirm_delete_dialog(conv_id: str, label: str) -> None:
    """Modal confirmation; «Slet» deletes (the open conversation too: a new one is opened), «Annuller» keeps it."""
    st.markdown(f"**{render.escape(label)}**  \nSamtalen og dens udkast slettes. Det kan ikke fortrydes.")
    yes, no = st.columns(2)
    if yes.button("Slet", key=f"confirm_del_{conv_id}", type="primary", icon=":material/delete:", width="stretch"):
        st.session_state.pop("confirm_delete", None)
        if _service().delete(_state(), conv_id):  # it was open: a new, empty conversation is open now
            st.session_state.pop("review_errors", None)
            st.query_params.pop("c", None)
        st.rerun()
    if no.button("Annuller", key=f"cancel_del_{conv_id}", width="stretch"):
        _cancel_delete()
        st.rerun()


def render_sidebar(service: ConversationService, settings: Settings) -> None:
    state = _state()
    with st.sidebar:
        st.button("Ny samtale", key="new_conversation", on_click=_new_conversation,
                  icon=":material/add_comment:", type="primary", width="stretch")
        st.subheader("Skabeloner")
        if state.template is not None:
            st.caption(f"I gang: {state.template.schema.title}")
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
        render_draft_list(service)
        st.subheader("Tidligere samtaler")
        search = st.text_input("Søg i samtaler", key="conv_search", placeholder="Søg i titler …",
                               label_visibility="collapsed")
        conversations = service.conversations(state, search or "")
        deleting: tuple[str, str] | None = None
        if not conversations:
            st.caption("Ingen samtaler matcher søgningen." if search else "Ingen gemte samtaler endnu.")
        st.html(CONVERSATION_LIST_CSS)
        with st.container(key="conversation_list"):
            for conv, has_draft in conversations:
                title = conv.title or "(ny samtale)"
                label = conversation.sidebar_title(title, conv.updated_at, has_draft=has_draft, separator="  \n")
                left, right = st.columns([5, 1], vertical_alignment="center")
                hint = f"{title} – senest {conversation.readable_time(conv.updated_at)}"
                left.button(render.escape(label), key=f"open_{conv.id}", on_click=_open, args=(conv.id,),
                            help=render.escape(hint), type="tertiary", disabled=conv.id == state.conv_id,
                            width="content", wrap=True)  # wrapped, never cut; the date on its own line
                right.button("Slet", key=f"del_{conv.id}", on_click=_confirm_delete, args=(conv.id,),
                             help="Slet samtalen", type="tertiary")
                if st.session_state.get("confirm_delete") == conv.id:
                    deleting = (conv.id, conversation.sidebar_title(title, conv.updated_at, has_draft=has_draft))
    if deleting is not None:  # outside the sidebar: a dialog is drawn over the whole page
        confirm_delete_dialog(*deleting)


def _request_stop() -> None:
    st.session_state.stop_template = True


def _request_resume(conv_id: str, template: str) -> None:
    st.session_state.resume_template = (conv_id, template)
    if conv_id != _state().conv_id:
        st.query_params["c"] = conv_id


def render_draft_list(service: ConversationService) -> None:
    """Every saved draft (all conversations), each resumable with one click."""
    shown = service.saved_drafts(_state())
    if not shown:
        return
    st.caption("Gemte udkast")
    for d in shown:
        st.button(f"Fortsæt: {d.title} ({d.filled}/{d.total})", key=f"resume_{d.conversation_id}_{d.template}",
                  on_click=_request_resume, args=(d.conversation_id, d.template), icon=":material/play_arrow:",
                  help=f"Parkeret {conversation.readable_time(d.updated_at)}", type="tertiary")


# --- the page -----------------------------------------------------------------------------------------


def _requested_template_steps(service: ConversationService) -> None:
    """Template requests from buttons (sidebar, panel), run before the page is drawn."""
    ss, state = st.session_state, _state()
    if ss.pop("stop_template", False) and state.template is not None:
        service.stop_template(state)
    resume = ss.pop("resume_template", None)
    if resume and resume[0] == state.conv_id and (state.template is None or state.template.schema.id != resume[1]):
        if state.template is not None:
            service.stop_template(state)
        service.resume_template(state, resume[1])
    requested = ss.pop("start_template", None)
    if requested and state.template is None:
        service.start_template(state, requested)
    _sync_url(state)


def render_page() -> None:
    settings = app_settings()
    service = _service(settings)
    state = _state()
    sync_with_query_params(service, settings)
    _requested_template_steps(service)

    st.title("Partnerskabsassistenten")
    if state.template is not None:
        chat_col, panel_col = st.columns([3, 2], gap="large")
    else:
        chat_col, panel_col = st.container(), None

    if state.template is None:
        st.segmented_control("Svar ud fra", list(conversation.SCOPES), key="scope",
                             default=conversation.DEFAULT_SCOPE, help="Kun guiden, eller også jeres egne dokumenter")
    placeholder = TEMPLATE_PLACEHOLDER if state.template is not None else CHAT_PLACEHOLDER
    prompt = st.chat_input(placeholder, key="chat_input")
    text = prompt or st.session_state.pop("pending", None)

    with chat_col:
        if not state.messages and not text:
            render_starters()
        for message in list(state.messages):
            render_message(message, service)
        if text:
            handle_input(str(text), service)
        render_template_actions(service)
        if state.template is not None:
            from ui.template_panel import render_status

            render_status(state.template)

    if panel_col is not None and state.template is not None:
        from ui.template_panel import render_panel

        with panel_col:
            render_panel(service, state)
    render_sidebar(service, settings)
    _sync_url(state)
    _notify(state)
