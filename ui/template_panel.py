"""Template mode in the UI: the live draft panel (an ``st.fragment``), the compact status under the chat, and
the review form.

The panel reruns on its own (``st.fragment``), so saving the form keeps the chosen view and the scroll position;
the view switch is a keyed ``st.segmented_control`` (its choice survives reruns, unlike tabs). Form widgets are
keyed by field *and* stored value: an invalid edit keeps its key (the text stays, with the Danish error under it),
a stored change gets a fresh widget showing the normalised value.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import streamlit as st

from ui import templating
from ui.conversation_service import ChatState, ConversationService
from ui.render import escape, neutralize

log = logging.getLogger(__name__)

VIEWS = ("Udkast", "Felter", "Ret felter")
STICKY_CSS = """
<style>
/* desktop: the draft column stays in view while the chat scrolls */
@media (min-width: 800px) {
  div[data-testid="stColumn"]:has(div.st-key-draft_panel) {
    position: sticky; top: 3.5rem; align-self: flex-start; max-height: calc(100vh - 4.5rem); overflow-y: auto;
  }
  div.st-key-draft_status { display: none; }  /* the panel beside the chat shows the same */
}
</style>
"""


def _file_stem(interview: Any) -> str:
    return f"udkast-{interview.schema.id}"


def _widget_key(field: templating.FieldView) -> str:
    digest = hashlib.sha1(field.value.encode("utf-8")).hexdigest()[:8]
    return f"rf_{field.id}_{digest}"


def _on_review_submit(service: ConversationService, state: ChatState) -> None:
    """Form callback: store each changed field; errors stay beside their field (``review_errors``)."""
    interview = state.template
    if interview is None:
        return
    errors: dict[str, str] = {}
    changed = 0
    for field in templating.field_views(interview):
        new = st.session_state.get(_widget_key(field))
        if new is None or str(new).strip() == field.value.strip():
            continue
        problems = templating.apply_edit(interview, field, str(new))
        if problems:
            errors[field.id] = problems[0]
        else:
            changed += 1
    if changed:
        service.save_draft(state)
    st.session_state.review_errors = errors
    st.session_state.review_result = (changed, len(errors))


def render_review_form(service: ConversationService, state: ChatState) -> None:
    """All fields in one ``st.form``; invalid values stay in place with the error beside them."""
    interview = state.template
    errors: dict[str, str] = st.session_state.get("review_errors", {})
    result = st.session_state.pop("review_result", None)
    if result is not None:
        changed, failed = result
        if failed:
            st.error(f"{failed} felt(er) blev ikke gemt – se beskeden ved feltet.")
        elif changed:
            st.success(f"{changed} felt(er) gemt.")
        else:
            st.info("Ingen ændringer.")
    with st.form("review_form", border=False):
        for field in templating.field_views(interview):
            label = field.label + (" *" if field.required else "")
            key = _widget_key(field)
            hint = field.help or None
            if field.multiline:
                st.text_area(label, value=field.value, key=key, help=hint, height=90)
            else:
                st.text_input(label, value=field.value, key=key, help=hint)
            if field.id in errors:
                st.error(errors[field.id], icon=":material/error:")
        st.form_submit_button("Gem ændringer", icon=":material/save:", type="primary",
                              on_click=_on_review_submit, args=(service, state))


def render_downloads(interview: Any) -> None:
    stem = _file_stem(interview)
    left, right = st.columns(2)
    try:
        docx = templating.export_docx(interview)
        left.download_button("Hent DOCX", data=docx, file_name=f"{stem}.docx", on_click="ignore",
                             mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                             icon=":material/download:", key="download_docx")
    except Exception:
        log.exception("DOCX export failed")
        left.error("DOCX-eksporten fejlede.")
    markdown = templating.export_markdown(interview)
    right.download_button("Hent Markdown", data=markdown.encode("utf-8"), file_name=f"{stem}.md",
                          mime="text/markdown", on_click="ignore", icon=":material/download:", key="download_md")


def progress_text(interview: Any) -> tuple[float, str]:
    fields = templating.field_views(interview)
    filled = sum(f.filled for f in fields)
    missing = len(interview.draft.required_missing(interview.schema))
    text = f"{filled} af {len(fields)} felter udfyldt"
    if missing:
        text += f" · {missing} skal stadig udfyldes"
    return (filled / len(fields) if fields else 0.0), text


def render_status(interview: Any) -> None:
    """Compact live draft under the chat (visible while answering, also on a phone)."""
    value, text = progress_text(interview)
    with st.container(border=True, key="draft_status"):
        st.progress(value, text=f"Udkast: {interview.schema.title} – {text}")
        with st.expander("Vis udkastet her", icon=":material/description:"):
            st.markdown(neutralize(templating.draft_markdown(interview)))


@st.fragment
def render_panel(service: ConversationService, state: ChatState) -> None:
    """The draft panel: live document, field list, review form, downloads, park."""
    interview = state.template
    if interview is None:
        return
    st.html(STICKY_CSS)
    with st.container(key="draft_panel"):
        st.subheader(f"Udkast: {interview.schema.title}")
        value, text = progress_text(interview)
        st.progress(value, text=text)
        view = st.segmented_control("Visning", VIEWS, default=VIEWS[0], key="panel_view",
                                    label_visibility="collapsed") or VIEWS[0]
        if view == "Udkast":
            with st.container(height=460, border=True):
                st.markdown(neutralize(templating.draft_markdown(interview)))
        elif view == "Felter":
            for field in templating.field_views(interview):
                mark = ":material/check_circle:" if field.filled else ":material/radio_button_unchecked:"
                need = " (skal udfyldes)" if field.required and not field.filled else f" ({field.status})"
                where = f" – _{escape(field.source)}_" if field.source else ""
                st.markdown(f"{mark} **{field.label}**{need}{where}")
            for field_id, problem in interview.draft.problems(interview.schema).items():
                if interview.draft.values.get(field_id) is not None:
                    st.warning(f"{interview.schema.field(field_id).label}: {problem}")
        else:
            render_review_form(service, state)
        render_downloads(interview)
        if st.button("Parkér udkastet og chat videre", key="panel_stop_template", icon=":material/pause_circle:"):
            st.session_state.stop_template = True
            st.rerun()
