"""The interview: which fields are filled, what to ask next, and how to read the user's reply."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from assistant.models import Citation, Turn
from assistant.templates.advice import Advice, AdviceSource, advice_source, safe_advice
from assistant.templates.commands import Command, parse_command
from assistant.templates.extraction import Extracted, Extractor
from assistant.templates.llm_extraction import default_extractor
from assistant.templates.schema import TemplateError, TemplateField, TemplateSchema
from assistant.templates.validation import Value, display, normalise, validate_values

JSON_FORMAT = "partnerskabsassistenten/template-session"
JSON_FORMAT_VERSION = 1
COMMANDS_HINT = ("Du kan også skrive «spring over», «vis udkast», «hvad mangler?» eller rette et felt, "
                 "fx «ret formålet til …».")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class FieldPrompt(BaseModel):
    """The next question: field, Danish question, help text and the guide's cited advice."""

    field: TemplateField
    question: str
    help: str = ""
    advice: str | None = None
    citations: list[Citation] = Field(default_factory=list)

    @property
    def text(self) -> str:
        """The question as one Danish chat message (Markdown)."""
        parts = [f"**{self.question}**"]
        extra = self.help
        if not self.field.required:
            extra = (f"{extra} (Valgfrit – skriv «spring over», hvis det ikke er relevant, "
                     "eller «færdig» for at springe alle valgfrie felter over.)").strip()
        if extra:
            parts.append(f"_{extra}_")
        if self.advice:
            parts.append(self.advice)
        return "\n\n".join(parts)


class TemplateReply(BaseModel):
    """The session's answer to one user message."""

    message: str
    citations: list[Citation] = Field(default_factory=list)
    done: bool = False
    updated: list[str] = Field(default_factory=list, description="Field ids changed by this message.")
    errors: dict[str, str] = Field(default_factory=dict, description="Field id -> Danish validation message.")
    prompt: FieldPrompt | None = None


class TemplateSession:
    """State of one template draft. Create with :meth:`start` or :meth:`from_json`."""

    def __init__(self, schema: TemplateSchema, *, assistant: Any = None, extractor: Extractor | None = None) -> None:
        self.schema = schema
        self.values: dict[str, Value] = {}
        self.skipped: set[str] = set()
        self.sources: dict[str, str] = {}  # field id -> samtale | svar | rettelse | llm | formular
        self.current: str | None = None
        self.messages: list[str] = []
        self.prefilled: list[str] = []
        self.created_at = _now()
        self.updated_at = self.created_at
        self.extractor: Extractor = extractor or default_extractor(
            getattr(assistant, "settings", None), getattr(assistant, "chat_model", None))
        self.advice_source: AdviceSource | None = advice_source(assistant)
        self._advice_cache: dict[str, Advice | None] = {}

    # --- creation -----------------------------------------------------------------------------------------
    @classmethod
    def start(
        cls,
        schema: TemplateSchema,
        history: Sequence[Turn | Mapping[str, Any]] = (),
        *,
        assistant: Any = None,
        extractor: Extractor | None = None,
    ) -> TemplateSession:
        """A new session pre-filled from the user's messages in ``history`` (assistant turns are ignored)."""
        session = cls(schema, assistant=assistant, extractor=extractor)
        texts = []
        for turn in history:
            role = turn.get("role") if isinstance(turn, Mapping) else turn.role
            content = turn.get("content") if isinstance(turn, Mapping) else turn.content
            if role == "user" and content:
                texts.append(str(content))
        if texts:
            found = session.extractor.extract(schema, texts, current=None, known={})
            updated, _ = session._apply(found, default_source="samtale")
            session.prefilled = updated
        return session

    # --- state --------------------------------------------------------------------------------------------
    @property
    def filled(self) -> list[str]:
        return [f.id for f in self.schema.fields if self.values.get(f.id)]

    @property
    def missing(self) -> list[str]:
        """Fields neither filled nor skipped (shown as ``[mangler]``)."""
        return [f.id for f in self.schema.fields if not self.values.get(f.id) and f.id not in self.skipped]

    @property
    def required(self) -> list[str]:
        return self.schema.required_ids

    @property
    def required_missing(self) -> list[str]:
        return [fid for fid in self.required if not self.values.get(fid)]

    def validate(self) -> dict[str, str]:
        """All problems of the draft: field id -> Danish message."""
        return validate_values(self.schema, self.values, self.skipped)

    def is_complete(self) -> bool:
        """True when every required field is filled and all values are valid."""
        return not self.validate()

    def _label(self, field_id: str) -> str:
        return self.schema.field(field_id).label

    # --- editing ------------------------------------------------------------------------------------------
    def set_field(self, field_id: str, raw: Value, *, source: str = "formular") -> list[str]:
        """Set one field from user text; returns Danish errors (the value is only stored when there are none)."""
        try:
            field = self.schema.field(field_id)
        except KeyError:
            return [f"Skabelonen har ikke feltet «{field_id}»."]
        value, errors = normalise(field, raw)
        if errors:
            return errors
        if value is None:
            if field.required:
                return [f"«{field.label}» skal udfyldes."]
            self.values.pop(field_id, None)
            self.sources.pop(field_id, None)
            self._touch()
            return []
        tentative = dict(self.values)
        tentative[field_id] = value
        related = {field_id} | {f.id for f in self.schema.fields if f.after == field_id}
        problems = validate_values(self.schema, tentative)
        order = [msg for fid, msg in problems.items() if fid in related and tentative.get(fid)]
        if order:
            return order
        self.values[field_id] = value
        self.skipped.discard(field_id)
        self.sources[field_id] = source
        self._touch()
        return []

    def skip(self, field_id: str) -> list[str]:
        """Skip an optional field (it is left out of the document); required fields cannot be skipped."""
        field = self.schema.field(field_id)
        if field.required:
            return [f"«{field.label}» skal udfyldes og kan ikke springes over."]
        self.values.pop(field_id, None)
        self.sources.pop(field_id, None)
        self.skipped.add(field_id)
        self._touch()
        return []

    def _touch(self) -> None:
        self.updated_at = _now()

    def _apply(self, found: Sequence[Extracted], *, default_source: str) -> tuple[list[str], dict[str, str]]:
        updated: list[str] = []
        errors: dict[str, str] = {}
        for item in found:
            if not item.explicit and self.values.get(item.field_id):
                continue
            source = "llm" if item.source == "llm" else default_source
            problems = self.set_field(item.field_id, item.value, source=source)
            if problems:
                errors[item.field_id] = problems[0]
            else:
                errors.pop(item.field_id, None)
                if item.field_id not in updated:
                    updated.append(item.field_id)
        return updated, errors

    # --- asking -------------------------------------------------------------------------------------------
    def _advice_for(self, field: TemplateField) -> Advice | None:
        if field.id not in self._advice_cache:
            self._advice_cache[field.id] = safe_advice(self.advice_source, field.guide_query)
        return self._advice_cache[field.id]

    def next_question(self) -> FieldPrompt | None:
        """The next field to ask about: missing required fields first, then optional ones not skipped."""
        missing = [self.schema.field(fid) for fid in self.missing]
        field = next((f for f in missing if f.required), None) or next(iter(missing), None)
        self.current = field.id if field else None
        if field is None:
            return None
        advice = self._advice_for(field)
        return FieldPrompt(field=field, question=field.question, help=field.help,
                           advice=advice.text if advice else None,
                           citations=list(advice.citations) if advice else [])

    def intro_message(self) -> str:
        """Danish summary of what was pre-filled from the conversation."""
        if not self.prefilled:
            return "Jeg har ikke fundet oplysninger i samtalen, som kan bruges i udkastet endnu."
        lines = [f"- **{self._label(fid)}:** {display(self.schema.field(fid), self.values[fid])}"
                 for fid in self.prefilled if self.values.get(fid)]
        return ("Ud fra samtalen har jeg udfyldt:\n" + "\n".join(lines) +
                "\n\nRet det, hvis noget er forkert, fx «ret formålet til …».")

    # --- one user message ---------------------------------------------------------------------------------
    def handle(self, user_text: str) -> TemplateReply:
        """Interpret one message: answer, several values, correction, «spring over» or «vis udkast»."""
        text = user_text.strip()
        if self.current is None or self.current not in self.missing:
            self.next_question()
        current = self.schema.field(self.current) if self.current else None
        if not text:
            return self._reply("Skriv et svar på spørgsmålet. " + COMMANDS_HINT)
        self.messages.append(text)
        command = parse_command(text, self.schema)
        if command is not None:
            return self._command(command, current)
        found = self.extractor.extract(self.schema, [text], current=current, known=self.values)
        updated, errors = self._apply(found, default_source="svar")
        if current is not None and not updated and not errors:
            _, problems = normalise(current, text)
            errors[current.id] = problems[0] if problems else "Jeg kunne ikke bruge svaret til feltet."
        lines = []
        if updated:
            lines.append(self._noted(updated))
        for fid, msg in errors.items():
            lines.append(f"⚠ {self._label(fid)}: {msg}")
        return self._reply("\n\n".join(lines), updated=updated, errors=errors)

    def _noted(self, ids: Sequence[str], verb: str = "Noteret") -> str:
        rows = [f"- **{self._label(fid)}:** {display(self.schema.field(fid), self.values.get(fid))}" for fid in ids]
        return f"{verb}:\n" + "\n".join(rows)

    def _command(self, command: Command, current: TemplateField | None) -> TemplateReply:
        if command.kind == "show_draft":
            return self._reply(self.draft_markdown(), include_prompt=True)
        if command.kind == "missing":
            required = [self._label(f) for f in self.missing if f in self.required]
            optional = [self._label(f) for f in self.missing if f not in self.required]
            parts = []
            if required:
                parts.append("Skal udfyldes: " + ", ".join(required) + ".")
            if optional:
                parts.append("Valgfrie felter uden svar: " + ", ".join(optional) + ".")
            return self._reply("\n\n".join(parts) or "Der mangler ikke noget.")
        if command.kind == "help":
            if current is None:
                return self._reply(COMMANDS_HINT)
            text = f"Om «{current.label}»: {current.help}".strip()
            if current.examples:
                text += "\n\nEksempler: " + "; ".join(current.examples) + "."
            return self._reply(text + "\n\n" + COMMANDS_HINT)
        if command.kind == "skip":
            if current is None:
                return self._reply("Der er ikke noget spørgsmål at springe over.")
            problems = self.skip(current.id)
            if problems:
                return self._reply(problems[0] + " Et kort svar er nok; du kan rette det senere.",
                                   errors={current.id: problems[0]})
            return self._reply(f"Sprunget over: {current.label}.", updated=[current.id])
        if command.kind == "skip_rest":
            skipped = [fid for fid in self.missing if fid not in self.required]
            for fid in skipped:
                self.skip(fid)
            text = (f"Jeg har sprunget {len(skipped)} valgfrie felter over." if skipped
                    else "Der var ingen valgfrie felter tilbage.")
            if self.required_missing:
                missing = ", ".join(self._label(f) for f in self.required_missing)
                text += f" Disse felter skal stadig udfyldes: {missing}."
            return self._reply(text, updated=skipped)
        field_id = command.field_id or ""
        if command.kind == "clear":
            if self.schema.field(field_id).required:
                self.values.pop(field_id, None)
                self._touch()
                return self._reply(f"«{self._label(field_id)}» er tømt og skal udfyldes igen.", updated=[field_id])
            self.set_field(field_id, "")
            return self._reply(f"«{self._label(field_id)}» er tømt.", updated=[field_id])
        # correction
        problems = self.set_field(field_id, command.value or "", source="rettelse")
        if problems:
            return self._reply(f"⚠ {self._label(field_id)}: {problems[0]}", errors={field_id: problems[0]})
        return self._reply(self._noted([field_id], verb="Rettet"), updated=[field_id])

    def _reply(self, text: str, *, updated: Sequence[str] = (), errors: Mapping[str, str] | None = None,
               include_prompt: bool = True) -> TemplateReply:
        prompt = self.next_question() if include_prompt else None
        parts = [text] if text else []
        citations: list[Citation] = []
        if prompt is not None:
            parts.append(prompt.text)
            citations = prompt.citations
        else:
            problems = self.validate()
            if problems:
                parts.append("Udkastet har stadig problemer: " +
                             "; ".join(f"{self._label(k)}: {v}" for k, v in problems.items()))
            else:
                parts.append("Alle felter er udfyldt eller sprunget over. Skriv «vis udkast» for at se dokumentet, "
                             "eller ret et felt, fx «ret slutdato til 1. juni 2027».")
        return TemplateReply(message="\n\n".join(parts), citations=citations, done=prompt is None,
                             updated=list(updated), errors=dict(errors or {}), prompt=prompt)

    # --- output -------------------------------------------------------------------------------------------
    def status_line(self) -> str:
        total = len(self.schema.fields)
        text = f"Status: {len(self.filled)} af {total} felter udfyldt."
        if self.required_missing:
            text += " Skal udfyldes: " + ", ".join(self._label(f) for f in self.required_missing) + "."
        return text

    def draft_markdown(self) -> str:
        """The current draft as Markdown, with a status line; missing fields show ``[mangler]``."""
        from assistant.templates.export import build_blocks, render_markdown

        return render_markdown(build_blocks(self.schema, self.values, self.skipped, status=self.status_line()))

    def review_rows(self) -> list[dict[str, Any]]:
        """One row per field for a review table: id, label, value (display text), required, status, source."""
        rows = []
        for f in self.schema.fields:
            status = "udfyldt" if self.values.get(f.id) else ("sprunget over" if f.id in self.skipped else "mangler")
            rows.append({"id": f.id, "label": f.label, "value": display(f, self.values.get(f.id))
                         if self.values.get(f.id) else "", "required": f.required, "status": status,
                         "source": self.sources.get(f.id, "")})
        return rows

    # --- save / resume ------------------------------------------------------------------------------------
    def to_json(self) -> str:
        """Everything needed to resume, including the schema itself (id + version) and a timestamp."""
        data = {
            "format": JSON_FORMAT,
            "format_version": JSON_FORMAT_VERSION,
            "schema_id": self.schema.id,
            "schema_version": self.schema.version,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "saved_at": _now(),
            "values": self.values,
            "skipped": sorted(self.skipped),
            "sources": self.sources,
            "current": self.current,
            "prefilled": self.prefilled,
            "messages": self.messages,
            "schema": self.schema.model_dump(mode="json"),
        }
        return json.dumps(data, ensure_ascii=False, indent=2)

    @classmethod
    def from_json(
        cls,
        raw: str | bytes | Mapping[str, Any],
        *,
        schema: TemplateSchema | None = None,
        settings: Any = None,
        assistant: Any = None,
        extractor: Extractor | None = None,
    ) -> TemplateSession:
        """Resume a saved draft.

        Schema: ``schema`` if given, else the installed schema of the same version, else the saved copy.
        """
        data = dict(raw) if isinstance(raw, Mapping) else json.loads(raw)
        if data.get("format") != JSON_FORMAT:
            raise TemplateError("Filen er ikke et gemt udkast fra Partnerskabsassistenten.")
        if schema is None:
            schema = _resolve_schema(data, settings)
        elif schema.id != data.get("schema_id"):
            raise TemplateError(f"Udkastet hører til skabelonen «{data.get('schema_id')}», ikke «{schema.id}».")
        session = cls(schema, assistant=assistant, extractor=extractor)
        known = {f.id for f in schema.fields}
        session.values = {k: v for k, v in (data.get("values") or {}).items() if k in known and v}
        session.skipped = {k for k in data.get("skipped") or [] if k in known}
        session.sources = {k: v for k, v in (data.get("sources") or {}).items() if k in session.values}
        session.current = data.get("current") if data.get("current") in known else None
        session.prefilled = [k for k in data.get("prefilled") or [] if k in known]
        session.messages = list(data.get("messages") or [])
        session.created_at = data.get("created_at") or session.created_at
        session.updated_at = data.get("updated_at") or session.updated_at
        return session


def _resolve_schema(data: Mapping[str, Any], settings: Any) -> TemplateSchema:
    """The installed schema when its version matches the saved one, else the schema copy stored in the draft."""
    from assistant.settings import get_settings
    from assistant.templates.schema import load_template

    installed: TemplateSchema | None = None
    try:
        installed = load_template(str(data.get("schema_id")), settings or get_settings())
    except TemplateError:
        installed = None
    if installed is not None and installed.version == data.get("schema_version"):
        return installed
    if data.get("schema"):
        return TemplateSchema.model_validate(data["schema"])
    if installed is not None:
        return installed
    raise TemplateError(f"Skabelonen «{data.get('schema_id')}» findes ikke.")
