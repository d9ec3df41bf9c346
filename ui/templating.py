"""Thin adapter between the UI and ``assistant.templates``: the draft service and the panel's view of a draft.

No template logic lives here: routing, interviewing, validation and export belong to ``assistant.templates``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from assistant.settings import Settings

if TYPE_CHECKING:
    from assistant.templates import Interview, TemplateSchema
    from assistant.templates.service import DraftService

MULTILINE_TYPES = frozenset({"longtext", "list"})
FEATURED_TEMPLATE = "samarbejdsaftale"  # listed first in the sidebar
SOURCE_HINTS = {"svar": "svar", "udsagn": "nævnt i en besked", "typet": "genkendt", "llm": "sprogmodel",
                "samtale": "fra samtalen", "rettelse": "rettet", "formular": "rettet i formularen"}


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
    source: str = ""

    @property
    def filled(self) -> bool:
        return self.status == "udfyldt"


_LISTED: dict[tuple[str, tuple[tuple[str, int, int], ...]], list[TemplateSchema]] = {}


def available_templates(settings: Settings) -> list[TemplateSchema]:
    """The template schemas for listing and intent detection (read-only), parsed again only when a schema file
    changes: every rerun of the chat page asks for them, and parsing the YAML costs ~0.1 s per file."""
    from assistant.templates import list_templates
    from assistant.templates.schema import SCHEMA_SUFFIX

    folder = settings.templates_dir
    files = sorted(folder.glob(f"*{SCHEMA_SUFFIX}")) if folder.is_dir() else []
    key = (str(folder), tuple((f.name, f.stat().st_mtime_ns, f.stat().st_size) for f in files))
    if key not in _LISTED:
        if len(_LISTED) > 8:
            _LISTED.clear()
        _LISTED[key] = sorted(list_templates(settings), key=lambda schema: (schema.id != FEATURED_TEMPLATE, schema.id))
    return list(_LISTED[key])


def start_label(schema: TemplateSchema) -> str:
    """Sidebar button text, e.g. "Lav et udkast til samarbejdsaftale"."""
    return f"Lav et udkast til {schema.title.lower()}"


def draft_service(storage: Any, settings: Settings | None, assistant: Any) -> DraftService:
    from assistant.templates.service import DraftService

    return DraftService(storage, settings, guide=assistant)


def field_views(interview: Interview) -> list[FieldView]:
    from assistant.templates.values import edit_text

    draft, views = interview.draft, []
    for f in interview.schema.fields:
        value = draft.values.get(f.id)
        status = "udfyldt" if value is not None else ("sprunget over" if f.id in draft.skipped else "mangler")
        views.append(FieldView(id=f.id, label=f.label, value=edit_text(f, value), required=f.required,
                               status=status, help=f.help, multiline=f.type in MULTILINE_TYPES,
                               source=SOURCE_HINTS.get(draft.sources.get(f.id, ""), "")))
    return views


def apply_edit(interview: Interview, field: FieldView, new_value: str) -> list[str]:
    """Store one edited field of the review form; an emptied optional field is skipped. Danish errors."""
    return interview.set_field(field.id, new_value, source="formular")


def export_markdown(interview: Interview) -> str:
    from assistant.templates import export_markdown as _export

    return _export(interview.schema, interview.draft)


def export_docx(interview: Interview) -> bytes:
    from assistant.templates import export_docx as _export

    return _export(interview.schema, interview.draft)


def draft_markdown(interview: Interview) -> str:
    """The live draft for the narrow panel: the document's headings two levels smaller."""
    import re

    from assistant.templates import draft_markdown as _draft

    return re.sub(r"^(#{1,4}) ", lambda m: "#" * (len(m.group(1)) + 2) + " ", _draft(interview.schema, interview.draft),
                  flags=re.MULTILINE)
