"""Drafts per conversation, in plain Python: start, resume, restart, park, one turn, list.

A conversation holds at most one draft per template; at most one of them is active (being interviewed), the others
are parked. Nothing is ever discarded implicitly: leaving template mode parks the draft, and starting a template
that has a parked draft asks «fortsæt eller start forfra» first. The store is anything with the
:class:`DraftStore` methods (``assistant.storage.Storage`` in the app and the CLI); the chat page only renders.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from assistant.templates.draft import Draft
from assistant.templates.extraction import Extractor
from assistant.templates.fit import FieldFit
from assistant.templates.interview import Guide, Interview, Reply
from assistant.templates.schema import TemplateError, TemplateSchema, list_templates, load_template
from assistant.templates.values import parse_value

log = logging.getLogger(__name__)

LEGACY_FORMAT = "partnerskabsassistenten/template-session"
_RESUME_RE = re.compile(r"^(?:fortsæt|fortsætte|fortsæt\s+udkastet|genoptag|ja,?\s+fortsæt|fortsæt\s+hvor\s+jeg\s+slap)"
                        r"[\s.!]*$", re.IGNORECASE)
_RESTART_RE = re.compile(r"^(?:start\s+forfra|begynd\s+forfra|forfra|nyt\s+udkast|start\s+et\s+nyt(?:\s+udkast)?)"
                         r"[\s.!]*$", re.IGNORECASE)


class DraftRow(Protocol):
    conversation_id: str
    template: str
    draft_json: str
    status: str
    updated_at: str


class DraftStore(Protocol):
    """Where drafts live (one per conversation and template)."""

    def save_draft(self, conversation_id: str, template: str, draft_json: str, *, active: bool = True) -> None: ...
    def load_draft(self, conversation_id: str, template: str) -> DraftRow | None: ...
    def active_draft(self, conversation_id: str) -> DraftRow | None: ...
    def list_drafts(self, conversation_id: str | None = None) -> Sequence[DraftRow]: ...
    def park_drafts(self, conversation_id: str) -> None: ...


@dataclass(frozen=True)
class DraftInfo:
    """A draft as listed in the sidebar and the CLI."""

    conversation_id: str
    template: str
    title: str
    filled: int
    total: int
    required_missing: int
    status: str
    updated_at: str

    @property
    def summary(self) -> str:
        state = "i gang" if self.status == "active" else "parkeret"
        return f"{self.title}: {self.filled} af {self.total} felter udfyldt ({state})"


@dataclass
class Started:
    """The result of asking to start a template: a running interview, or a choice to make first."""

    interview: Interview | None
    message: str
    citations: list[Any]
    choice: Literal["resume_or_restart"] | None = None
    reply: Reply | None = None
    template: str = ""


def parse_choice(text: str) -> Literal["resume", "restart"] | None:
    """«fortsæt» / «start forfra» (the answer to a parked draft), else None."""
    if _RESUME_RE.match(text.strip()):
        return "resume"
    if _RESTART_RE.match(text.strip()):
        return "restart"
    return None


def read_draft(raw: str, schema: TemplateSchema) -> Draft:
    """A stored draft; an old ``TemplateSession`` JSON (text values) is converted, so no old draft is lost."""
    data = json.loads(raw)
    if data.get("format") != LEGACY_FORMAT:
        return Draft.from_json(raw, schema)
    draft = Draft.new(schema)
    for fid, text in (data.get("values") or {}).items():
        try:
            field = schema.field(fid)
        except KeyError:
            continue
        value, _ = parse_value(field, text)
        if value is not None:
            draft.values[fid] = value
            draft.sources[fid] = "svar"
    draft.skipped = {f for f in data.get("skipped") or [] if f in {x.id for x in schema.fields}}
    draft.created_at = data.get("created_at") or draft.created_at
    return draft


def choice_message(schema: TemplateSchema, draft: Draft) -> str:
    filled = len(draft.filled(schema))
    return (f"Du har allerede et parkeret udkast til en **{schema.title.lower()}** i denne samtale "
            f"({filled} af {len(schema.fields)} felter udfyldt). Vil du **fortsætte** det eller **starte forfra**? "
            "Skriv «fortsæt» eller «start forfra». Starter du forfra, erstattes det gamle udkast.")


class DraftService:
    """Template drafts of conversations: the one place that reads and writes them."""

    def __init__(self, store: DraftStore, settings: Any, *, guide: Guide | None = None,
                 extractor: Extractor | None = None, fit: FieldFit | None = None) -> None:
        self.store = store
        self.settings = settings
        self.guide = guide
        self.extractor = extractor
        self.fit = fit  # None: the guide's embedding model (off without a guide)

    # --- templates ----------------------------------------------------------------------------------------
    def templates(self) -> list[TemplateSchema]:
        return list_templates(self.settings)

    def schema(self, name: str) -> TemplateSchema:
        return load_template(name, self.settings)

    def _interview(self, schema: TemplateSchema, draft: Draft | None = None) -> Interview:
        return Interview(schema, draft, guide=self.guide, extractor=self.extractor, fit=self.fit)

    def load(self, conversation_id: str, name: str) -> Interview | None:
        row = self.store.load_draft(conversation_id, name)
        if row is None:
            return None
        schema = self.schema(name)
        return self._interview(schema, read_draft(row.draft_json, schema))

    def active(self, conversation_id: str) -> Interview | None:
        """The conversation's active draft as an interview (None when none is active or it cannot be read)."""
        row = self.store.active_draft(conversation_id)
        if row is None:
            return None
        try:
            schema = self.schema(row.template)
            return self._interview(schema, read_draft(row.draft_json, schema))
        except (TemplateError, ValueError):
            log.exception("could not read the active draft of %s", conversation_id)
            return None

    # --- starting -----------------------------------------------------------------------------------------
    def start(self, conversation_id: str, name: str, history: Iterable[str] = ()) -> Started:
        """Start ``name``; with a parked draft of the same template, ask «fortsæt eller start forfra» first."""
        schema = self.schema(name)
        existing = self.load(conversation_id, name)
        if existing is not None and (existing.draft.values or existing.draft.skipped):
            return Started(None, choice_message(schema, existing.draft), [], choice="resume_or_restart",
                           template=name)
        return self.restart(conversation_id, name, history)

    def restart(self, conversation_id: str, name: str, history: Iterable[str] = ()) -> Started:
        """A new draft (replacing an old one of the same template), pre-fill proposals from ``history``."""
        schema = self.schema(name)
        interview = Interview.start(schema, history, guide=self.guide, extractor=self.extractor, fit=self.fit)
        reply = interview.opening()
        self.save(conversation_id, interview)
        intro = (f"Lad os lave et udkast til en **{schema.title.lower()}**. Jeg stiller et spørgsmål ad gangen og "
                 "viser efter hvert svar præcis, hvad jeg har gemt. Udkastet gemmes hele tiden.")
        return Started(interview, intro + "\n\n" + reply.message, list(reply.citations), reply=reply, template=name)

    def resume(self, conversation_id: str, name: str) -> Started:
        """Make the parked draft of ``name`` active again and repeat its pending question."""
        interview = self.load(conversation_id, name)
        if interview is None:
            return self.restart(conversation_id, name)
        self.save(conversation_id, interview)
        schema = interview.schema
        text = (f"Vi fortsætter udkastet til en **{schema.title.lower()}** "
                f"({len(interview.draft.filled(schema))} af {len(schema.fields)} felter udfyldt).")
        if interview.draft.prefill:
            reply = interview.opening()
        else:
            prompt = interview.prompt()
            reply = Reply(message=prompt.text if prompt else "Alle felter er udfyldt eller sprunget over.",
                          citations=prompt.citations if prompt else [], prompt=prompt, done=prompt is None)
        return Started(interview, text + "\n\n" + reply.message, list(reply.citations), reply=reply, template=name)

    # --- running ------------------------------------------------------------------------------------------
    def turn(self, conversation_id: str, interview: Interview, text: str) -> Reply:
        """One user message in template mode; the draft is saved after every turn."""
        reply = interview.handle(text)
        self.save(conversation_id, interview)
        return reply

    def save(self, conversation_id: str, interview: Interview, *, active: bool = True) -> None:
        self.store.save_draft(conversation_id, interview.schema.id, interview.draft.to_json(), active=active)

    def park(self, conversation_id: str, interview: Interview | None = None) -> str:
        """Leave template mode: the draft is kept (parked) and can be resumed later."""
        if interview is not None:
            self.save(conversation_id, interview, active=False)
        self.store.park_drafts(conversation_id)
        title = interview.schema.title.lower() if interview else "skabelonen"
        return (f"Udkastet til {title} er parkeret og gemt. Du kan fortsætte det når som helst under "
                "«Skabeloner» i sidepanelet. Nu kan du stille spørgsmål til guiden igen.")

    # --- listing ------------------------------------------------------------------------------------------
    def drafts(self, conversation_id: str | None = None) -> list[DraftInfo]:
        out = []
        for row in self.store.list_drafts(conversation_id):
            try:
                schema = self.schema(row.template)
                draft = read_draft(row.draft_json, schema)
            except (TemplateError, ValueError):
                log.exception("unreadable draft %s/%s", row.conversation_id, row.template)
                continue
            out.append(DraftInfo(row.conversation_id, row.template, schema.title, len(draft.filled(schema)),
                                 len(schema.fields), len(draft.required_missing(schema)), row.status,
                                 row.updated_at))
        return out
