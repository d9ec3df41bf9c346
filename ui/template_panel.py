"""Side panel of template mode: live draft, filled/missing fields, review form, downloads, stop."""

from __future__ import annotations

import logging
from typing import Any

import streamlit as st

from ui import templating
from ui.storage import Storage

log = logging.getLogger(__name__)


def _file_stem(session: Any) -> str:
    return f"udkast-{session.schema.id}"


def _save(session: Any, storage: Storage) -> None:
    conv_id = st.session_state.get("conv_id")
    if conv_id:
        storage.save_draft(conv_id, session.schema.id, session.to_json(), active=True)


def render_review_form(session: Any, storage: Storage) -> None:
    """All fields in one ``st.form``; changed fields go through ``TemplateSession.set_field``."""
    fields = templating.field_views(session)
    rev = st.session_state.get("draft_rev", 0)
    with st.form(f"review_form_{rev}", border=False):
        entered: dict[str, str] = {}
        for field in fields:
            label = field.label + (" *" if field.required else "")
            key = f"rf_{rev}_{field.id}"
            if field.multiline:
                entered[field.id] = st.text_area(label, value=field.value, key=key, help=field.help or None,
                                                 height=90)
            else:
                entered[field.id] = st.text_input(label, value=field.value, key=key, help=field.help or None)
        submitted = st.form_submit_button("Gem ændringer", icon=":material/save:", type="primary")
    if not submitted:
        return
    errors: list[str] = []
    changed = 0
    for field in fields:
        new = entered.get(field.id, "")
        if new.strip() == field.value.strip():
            continue
        changed += 1
        errors.extend(f"{field.label}: {p}" for p in templating.apply_edit(session, field, new))
    _save(session, storage)
    st.session_state.draft_rev = rev + 1
    st.session_state.review_result = (changed, errors)
    st.rerun()


def render_downloads(session: Any) -> None:
    stem = _file_stem(session)
    left, right = st.columns(2)
    try:
        docx = templating.export_docx(session)
        left.download_button("Download DOCX", data=docx, file_name=f"{stem}.docx", on_click="ignore",
                             mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                             icon=":material/download:", key="download_docx")
    except Exception:
        log.exception("DOCX export failed")
        left.error("DOCX-eksporten fejlede.")
    markdown = templating.export_markdown(session)
    right.download_button("Download Markdown", data=markdown.encode("utf-8"), file_name=f"{stem}.md",
                          mime="text/markdown", on_click="ignore", icon=":material/download:",
                          key="download_md")


def render_panel(session: Any, storage: Storage) -> None:
    st.subheader(f"Udkast: {session.schema.title}")
    fields = templating.field_views(session)
    filled = sum(f.filled for f in fields)
    if fields:
        st.progress(filled / len(fields), text=f"{filled} af {len(fields)} felter udfyldt")
    result = st.session_state.pop("review_result", None)
    if result is not None:
        changed, errors = result
        for error in errors:
            st.error(error)
        if not errors:
            st.success(f"{changed} felt(er) gemt." if changed else "Ingen ændringer.")

    draft_tab, fields_tab, review_tab = st.tabs(["Udkast", "Felter", "Ret felter"])
    with draft_tab, st.container(height=420, border=True):
        st.markdown(session.draft_markdown())
    with fields_tab:
        missing = [f for f in fields if not f.filled]
        for field in fields:
            mark = ":material/check_circle:" if field.filled else ":material/radio_button_unchecked:"
            need = " (skal udfyldes)" if field.required and not field.filled else f" ({field.status})"
            st.markdown(f"{mark} **{field.label}**{need}")
        if missing:
            st.caption(f"Mangler: {', '.join(f.label for f in missing)}")
        for field_id, problem in session.validate().items():
            st.warning(f"{session.schema.field(field_id).label}: {problem}")
    with review_tab:
        render_review_form(session, storage)

    render_downloads(session)
    st.button("Afslut skabelontilstand", key="panel_stop_template", on_click=_request_stop,
              icon=":material/stop_circle:")


def _request_stop() -> None:
    st.session_state.stop_template = True
