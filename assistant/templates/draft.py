"""The draft: a plain, serialisable value holding one template's typed field values and interview state.

A :class:`Draft` knows nothing about dialogue or rendering; the interview (``interview``) changes it through
:meth:`Draft.apply`, which records every turn so :meth:`Draft.undo` can restore the previous values, and the
exporters (``export``) read it. It round-trips through JSON (``model_dump_json`` / ``model_validate_json``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field

from assistant.templates.schema import TemplateField, TemplateSchema
from assistant.templates.values import FieldValue, validate_values

FORMAT = "partnerskabsassistenten/udkast"
FORMAT_VERSION = 2
Source = Literal["svar", "udsagn", "typet", "llm", "samtale", "rettelse", "formular"]
SOURCE_LABELS: dict[str, str] = {
    "svar": "svar på spørgsmålet", "udsagn": "udtrykkeligt nævnt", "typet": "genkendt værdi",
    "llm": "sprogmodel (kontrolleret mod dine ord)", "samtale": "fra samtalen (godkendt)",
    "rettelse": "rettelse", "formular": "rettet i formularen",
}


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Change(BaseModel):
    """One field changed in one turn: the value (or skip) before and after."""

    field_id: str
    before: FieldValue | None = None
    after: FieldValue | None = None
    skipped_before: bool = False
    skipped_after: bool = False
    source: Source = "svar"


class Candidate(BaseModel):
    """A value proposed for a field (from the earlier chat, or an overwrite) that the user must confirm."""

    field_id: str
    value: FieldValue
    evidence: str = Field("", description="The user's own words the value was taken from.")
    source: Source = "samtale"


class Draft(BaseModel):
    """One template draft. ``values`` hold typed, normalised values; Danish text appears only when rendering."""

    format: Literal["partnerskabsassistenten/udkast"] = FORMAT
    format_version: int = FORMAT_VERSION
    template: str
    schema_version: int = 1
    values: dict[str, FieldValue] = Field(default_factory=dict)
    skipped: set[str] = Field(default_factory=set)
    sources: dict[str, Source] = Field(default_factory=dict)
    current: str | None = Field(None, description="The field whose question was asked last.")
    editing: bool = Field(False, description="The user asked to change ``current`` («ret formålet»).")
    prefill: list[Candidate] = Field(default_factory=list, description="Values from the chat awaiting a yes/no.")
    overwrite: list[Candidate] = Field(default_factory=list, description="Overwrites awaiting a yes/no.")
    clarify: list[Candidate] = Field(default_factory=list, description=(
        "One text that may belong to either of these fields (the asked one first), awaiting «under A eller B?»."))
    deferred: list[str] = Field(default_factory=list, description=(
        "Required fields the user could not answer yet («ved ikke»): asked again after the other required fields."))
    turns: list[list[Change]] = Field(default_factory=list, description="Changes per turn, for «fortryd».")
    created_at: str = Field(default_factory=now)
    updated_at: str = Field(default_factory=now)

    @classmethod
    def new(cls, schema: TemplateSchema) -> Draft:
        return cls(template=schema.id, schema_version=schema.version)

    # --- reading ------------------------------------------------------------------------------------------
    def value(self, field_id: str) -> FieldValue | None:
        return self.values.get(field_id)

    def filled(self, schema: TemplateSchema) -> list[str]:
        return [f.id for f in schema.fields if f.id in self.values]

    def missing(self, schema: TemplateSchema) -> list[str]:
        """Fields neither filled nor skipped, in interview order."""
        return [f.id for f in schema.fields if f.id not in self.values and f.id not in self.skipped]

    def required_missing(self, schema: TemplateSchema) -> list[str]:
        return [f.id for f in schema.fields if f.required and f.id not in self.values]

    def problems(self, schema: TemplateSchema) -> dict[str, str]:
        return validate_values(schema, self.values)

    def is_complete(self, schema: TemplateSchema) -> bool:
        return not self.problems(schema)

    # --- changing -----------------------------------------------------------------------------------------
    def change(self, field_id: str, value: FieldValue | None, *, skip: bool = False,
               source: Source = "svar") -> Change:
        """Set (or clear/skip) one field now and return the change; see :meth:`apply` for recorded turns."""
        change = Change(field_id=field_id, before=self.values.get(field_id), after=value,
                        skipped_before=field_id in self.skipped, skipped_after=skip, source=source)
        self._set(field_id, value, skip, source)
        return change

    def _set(self, field_id: str, value: FieldValue | None, skip: bool, source: Source | None) -> None:
        if value is None:
            self.values.pop(field_id, None)
            self.sources.pop(field_id, None)
        else:
            self.values[field_id] = value
            if source:
                self.sources[field_id] = source
        if skip:
            self.skipped.add(field_id)
        else:
            self.skipped.discard(field_id)
        self.updated_at = now()

    def record(self, changes: Sequence[Change]) -> None:
        """Remember the changes of one turn (made with :meth:`change`) so they can be undone together."""
        if changes:
            self.turns.append(list(changes))

    def apply(self, updates: Iterable[tuple[str, FieldValue | None, bool, Source]]) -> list[Change]:
        """Apply ``(field_id, value, skip, source)`` updates as one undoable turn."""
        changes = [self.change(fid, value, skip=skip, source=source) for fid, value, skip, source in updates]
        self.record(changes)
        return changes

    def join_turns(self, first: int) -> None:
        """Make the recorded turns from index ``first`` on one turn (a correction and the answer after it)."""
        if 0 <= first < len(self.turns) - 1:
            self.turns[first:] = [[c for turn in self.turns[first:] for c in turn]]

    def undo(self) -> list[Change]:
        """Restore the values from before the last recorded turn; returns that turn's changes (empty: nothing)."""
        if not self.turns:
            return []
        changes = self.turns.pop()
        for c in reversed(changes):
            self._set(c.field_id, c.before, c.skipped_before, None)
            if c.before is None:
                self.sources.pop(c.field_id, None)
        return changes

    # --- persistence --------------------------------------------------------------------------------------
    def to_json(self) -> str:
        return self.model_dump_json(indent=2)

    @classmethod
    def from_json(cls, raw: str | bytes, schema: TemplateSchema | None = None) -> Draft:
        """Read a saved draft; with ``schema``, values of fields the schema no longer has are dropped."""
        draft = cls.model_validate_json(raw)
        if schema is not None:
            known = {f.id for f in schema.fields}
            draft.values = {k: v for k, v in draft.values.items() if k in known}
            draft.skipped = {k for k in draft.skipped if k in known}
            draft.sources = {k: v for k, v in draft.sources.items() if k in draft.values}
            draft.prefill = [c for c in draft.prefill if c.field_id in known]
            draft.overwrite = [c for c in draft.overwrite if c.field_id in known]
            draft.clarify = [c for c in draft.clarify if c.field_id in known]
            draft.deferred = [f for f in draft.deferred if f in known]
            if draft.current not in known:
                draft.current = None
        return draft


def field_label(schema: TemplateSchema, field_id: str) -> str:
    return schema.field(field_id).label


def fields_of_type(schema: TemplateSchema, kind: str) -> list[TemplateField]:
    return [f for f in schema.fields if f.type == kind]
