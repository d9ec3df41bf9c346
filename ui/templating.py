"""Thin adapter between the UI and ``assistant.templates``: lazy imports and the panel's view of a session.

No template logic lives here: interviewing, validation, extraction and export are all ``TemplateSession``'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from assistant.models import Citation, Turn
from assistant.settings import Settings

if TYPE_CHECKING:
    from assistant.templates import TemplateSchema, TemplateSession

MULTILINE_TYPES = frozenset({"longtext", "list"})
FEATURED_TEMPLATE = "samarbejdsaftale"  # listed first in the sidebar


@dataclass(frozen=True)
class FieldView:
    """One row of the draft as shown in the panel and the review form."""

    id: str
    label: str
    value: str
    required: bool
    status: str  # udfyldt | sprunget over | mangler
    help: str
    multiline: bool

    @property
    def filled(self) -> bool:
        return self.status == "udfyldt"


def available_templates(settings: Settings) -> list[TemplateSchema]:
    from assistant.templates import list_templates

    return sorted(list_templates(settings), key=lambda schema: (schema.id != FEATURED_TEMPLATE, schema.id))


def start_label(schema: TemplateSchema) -> str:
    """Sidebar button text, e.g. "Lav et udkast til samarbejdsaftale"."""
    return f"Lav et udkast til {schema.title.lower()}"


def start_session(name: str, settings: Settings, history: Sequence[Turn], assistant: Any) -> TemplateSession:
    """A new interview, pre-filled from the user's earlier chat messages."""
    from assistant.templates import TemplateSession, load_template

    return TemplateSession.start(load_template(name, settings), list(history), assistant=assistant)


def resume_session(raw: str, settings: Settings, assistant: Any) -> TemplateSession:
    from assistant.templates import TemplateSession

    return TemplateSession.from_json(raw, settings=settings, assistant=assistant)


def opening_message(session: TemplateSession) -> tuple[str, list[Citation]]:
    """Intro (what was pre-filled) plus the first question, with the question's guide citations."""
    title = session.schema.title.lower()
    parts = [
        f"Lad os lave et udkast til en **{title}**. Jeg stiller nogle spørgsmål; udkastet vises til højre, "
        "hvor du også kan rette felterne og downloade det.",
        session.intro_message(),
    ]
    prompt = session.next_question()
    if prompt is not None:
        parts.append(prompt.text)
    return "\n\n".join(parts), list(prompt.citations) if prompt else []


def field_views(session: TemplateSession) -> list[FieldView]:
    views = []
    for row in session.review_rows():
        field = session.schema.field(row["id"])
        views.append(FieldView(
            id=field.id, label=field.label, value=str(row["value"]), required=field.required,
            status=str(row["status"]), help=field.help, multiline=field.type in MULTILINE_TYPES,
        ))
    return views


def apply_edit(session: TemplateSession, field: FieldView, new_value: str) -> list[str]:
    """Store one edited field of the review form; an emptied optional field is skipped. Danish errors."""
    if not new_value.strip() and not field.required:
        return session.skip(field.id)
    return session.set_field(field.id, new_value, source="formular")


def export_markdown(session: TemplateSession) -> str:
    from assistant.templates import export_markdown as _export

    return _export(session)


def export_docx(session: TemplateSession) -> bytes:
    from assistant.templates import export_docx as _export

    return _export(session)
