"""The interview policy: what to ask next and what one user message does to the draft.

:class:`Interview` reads a message in this order: a pending yes/no (pre-fill proposals, an overwrite), a control
command («fortryd», «ret formålet», «spring over» …), a side question for the guide (answered with citations
through ``Assistant.ask``; the draft stays open and the pending question is asked again), and otherwise an answer,
routed by :mod:`assistant.templates.extraction`; a free-text answer that clearly fits another empty field better
(:mod:`assistant.templates.fit`) is not stored but asked about («under A eller B?»). A filled field is never
overwritten without a «ja». Every turn
that changes the draft is recorded in the :class:`~assistant.templates.draft.Draft` so «fortryd» can undo it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

from assistant.models import Citation, Turn
from assistant.templates import messages as msg
from assistant.templates.advice import Advice, AdviceSource, advice_source, safe_advice
from assistant.templates.commands import (
    Amend,
    Command,
    Decision,
    match_field,
    parse_amend,
    parse_command,
    parse_decision,
)
from assistant.templates.draft import Candidate, Change, Draft, Source
from assistant.templates.export import draft_markdown
from assistant.templates.extraction import FREE_TEXT, TYPED, Extractor, Found, Routed, names_with_word
from assistant.templates.fit import FieldFit, default_fit
from assistant.templates.llm_extraction import default_extractor
from assistant.templates.names import lexicon, person, person_shaped, phrase_re, question_shaped, starts_as_question
from assistant.templates.reading import (
    is_question_sentence,
    names_party,
    no_questions_error,
    people_mentioned,
    sentences,
    whole_typed_value,
)
from assistant.templates.schema import TemplateField, TemplateSchema
from assistant.templates.validation import find_day_months
from assistant.templates.values import (
    DateValue,
    FieldValue,
    ListValue,
    TextValue,
    format_value,
    order_problem,
    parse_value,
)
from assistant.units import is_sentence_end

log = logging.getLogger(__name__)

_DECISION_ATTEMPT = re.compile(r"^(?:ja|nej)\b", re.IGNORECASE)
_ABOUT_GUIDE = re.compile(r"\b(?:hvad\s+(?:siger|skriver|anbefaler|mener)\s+guiden|ifølge\s+guiden|"
                          r"står\s+der\s+i\s+guiden|spørg\s+guiden|"
                          # asking for help with the answer, never an answer: «hvad er et godt evalueringsspørgsmål»
                          r"hvad\s+er\s+(?:et\s+godt|en\s+god|gode)\s+[\wæøå-]*spørgsmål|"
                          r"hvordan\s+(?:skriver|formulerer)\s+man|"
                          r"(?:giv\s+mig|har\s+du|kan\s+du\s+give\s+mig)\s+(?:et\s+)?eksempel)\b", re.IGNORECASE)
_GENERIC_GUIDE = re.compile(r"^(?:og\s+)?hvad\s+(?:siger|skriver|anbefaler|mener)\s+guiden(?:\s+om\s+det)?\s*\??$",
                            re.IGNORECASE)


class Guide(Protocol):
    """The QA façade (``assistant.core.Assistant``): answers a question with citations."""

    def ask(self, question: str, history: Sequence[Turn] = ()) -> Any: ...


class FieldPrompt(BaseModel):
    """The next question: field, Danish text and the guide's cited advice."""

    field: TemplateField
    advice: str | None = None
    citations: list[Citation] = Field(default_factory=list)

    @property
    def text(self) -> str:
        return msg.question_text(self.field, self.advice)

    @property
    def bare(self) -> str:
        """The question without advice (used after a side answer, whose citations take the numbers)."""
        return msg.question_text(self.field)


class Reply(BaseModel):
    """The interview's answer to one user message."""

    message: str
    citations: list[Citation] = Field(default_factory=list)
    stored: list[Change] = Field(default_factory=list, description="Exactly what this turn changed.")
    errors: dict[str, str] = Field(default_factory=dict)
    prompt: FieldPrompt | None = None
    awaiting: Literal["prefill", "overwrite", "clarify"] | None = None
    side_question: str | None = None
    done: bool = False


def question_in(text: str, field: TemplateField | None) -> str | None:
    """The side question in ``text`` (its question sentences), or None when the message is not a question.

    A message whose sentences all end in «?» is one question when one of them reads as a question ("Hvem kom?
    Kom de igen?"), so no part of it becomes a value."""
    stripped = text.strip()
    about_guide = bool(_ABOUT_GUIDE.search(stripped))
    if field is not None and field.accepts_questions and not about_guide:
        return None
    spans = [stripped[s:e].strip() for s, e in sentences(stripped)]
    asked = [p for p in spans if is_question_sentence(p)]
    if asked and len(spans) > 1 and all(p.endswith("?") for p in spans):
        return stripped
    if asked:
        return " ".join(asked)
    if about_guide or (starts_as_question(stripped) and len(stripped.split()) >= 3):
        return stripped
    return None


def _no_question_among(field: TemplateField, answer: Found) -> bool:
    """True for an answer to a field of questions (``accepts_questions``) in which nothing reads as a question."""
    return field.accepts_questions and isinstance(answer.value, ListValue) and \
        not any(question_shaped(i) for i in answer.value.items)


class Interview:
    """One template interview over a :class:`Draft`. The draft is the state; this class holds no other state."""

    def __init__(self, schema: TemplateSchema, draft: Draft | None = None, *, guide: Guide | None = None,
                 extractor: Extractor | None = None, advice: AdviceSource | None = None,
                 fit: FieldFit | None = None) -> None:
        self.schema = schema
        self.draft = draft or Draft.new(schema)
        self.guide = guide
        self.extractor: Extractor = extractor or default_extractor(
            getattr(guide, "settings", None), getattr(guide, "chat_model", None))
        self.advice = advice if advice is not None else advice_source(guide)
        self.fit = fit if fit is not None else default_fit(guide)
        self._advice_cache: dict[str, Advice | None] = {}
        self._previous_stored = True  # whether the user's previous message stored a value («nej vent» corrects it)

    @classmethod
    def start(cls, schema: TemplateSchema, history: Iterable[str] = (), **kwargs: Any) -> Interview:
        """A new interview; values found in the earlier chat (user messages) become proposals to confirm."""
        interview = cls(schema, **kwargs)
        texts = [t for t in history if t and t.strip()]
        if texts:
            order = {f.id: i for i, f in enumerate(schema.fields)}
            found = sorted(interview.extractor.prefill(schema, texts, {}), key=lambda f: order[f.field_id])
            interview.draft.prefill = [Candidate(field_id=f.field_id, value=f.value, evidence=f.evidence)
                                       for f in found]
        return interview

    # --- asking -------------------------------------------------------------------------------------------
    def next_field(self) -> TemplateField | None:
        """The field to ask about: the one being edited or still open, else required fields first."""
        d = self.draft
        missing = d.missing(self.schema)
        if d.current and (d.editing or (d.current in missing and d.current not in d.deferred)):
            return self.schema.field(d.current)
        fields = [self.schema.field(fid) for fid in missing]
        field = (next((f for f in fields if f.required and f.id not in d.deferred), None)  # «ved ikke»: later
                 or next((f for f in fields if f.required), None) or next(iter(fields), None))
        d.current = field.id if field else None
        d.editing = False
        return field

    def prompt(self) -> FieldPrompt | None:
        field = self.next_field()
        if field is None:
            return None
        if field.id not in self._advice_cache:
            self._advice_cache[field.id] = safe_advice(self.advice, field.guide_query)
        advice = self._advice_cache[field.id]
        return FieldPrompt(field=field, advice=advice.text if advice else None,
                           citations=list(advice.citations) if advice else [])

    def opening(self) -> Reply:
        """Proposals from the chat (if any) to confirm, else the first question."""
        if self.draft.prefill:
            return Reply(message=msg.prefill_list(self.schema, self.draft.prefill), awaiting="prefill")
        return self._reply([msg.no_prefill()])

    # --- editing (review form, corrections) ---------------------------------------------------------------
    def set_field(self, field_id: str, raw: str | list[str], *, source: Source = "formular") -> list[str]:
        """Set one field from user text as its own undoable turn; returns Danish errors (nothing stored then)."""
        try:
            field = self.schema.field(field_id)
        except KeyError:
            return [f"Skabelonen har ikke feltet «{field_id}»."]
        value, errors = parse_value(field, raw)
        if errors:
            return errors
        if value is None:
            if field.required:
                return [f"«{field.label}» skal udfyldes."]
            self.draft.apply([(field_id, None, True, source)])
            return []
        problem = self._order_problem(field_id, value)
        if problem:
            return [problem]
        if self.draft.values.get(field_id) != value:
            self.draft.apply([(field_id, value, False, source)])
        return []

    def _order_problem(self, field_id: str, value: FieldValue) -> str | None:
        tentative = dict(self.draft.values) | {field_id: value}
        related = [field_id] + [f.id for f in self.schema.fields if f.after == field_id]
        return next((p for fid in related if (p := order_problem(self.schema, tentative, fid))), None)

    # --- one user message ---------------------------------------------------------------------------------
    def handle(self, user_text: str) -> Reply:
        """Answer one user message (a value, a command, a correction, a side question)."""
        reply = self._handle(user_text)
        self._previous_stored = bool(reply.stored)
        return reply

    def _handle(self, user_text: str) -> Reply:
        text = user_text.strip()
        field = self.next_field()
        if not text:
            return self._reply([msg.EMPTY_ANSWER])
        notes: list[str] = []
        if self.draft.prefill:
            turn = self._prefill_turn(text)
            if turn is not None:
                return turn
            self.draft.prefill = []  # neither «ja» nor «nej»: the user went on, so nothing from the chat is used
            notes.append(msg.PREFILL_UNUSED)
        unstored = False  # «under A eller B?» with nothing stored: «fortryd» drops that answer, not an earlier turn
        if self.draft.overwrite:
            pending, self.draft.overwrite = self.draft.overwrite, []
            decision = parse_decision(text)
            if decision is not None:
                return self._decide(pending, decision, kind="overwrite")
            notes.append(msg.overwrite_kept(self.schema, pending))
        if self.draft.clarify:
            options, self.draft.clarify = self.draft.clarify, []
            chosen = _clarified(text, options, self.schema, offered=self._stored_as_asked(options),
                                replacing=self._replacing(options))
            if chosen is not None:
                return self._decide(options, Decision(accept=tuple(chosen), reject_all=not chosen),
                                    kind="clarify")
            if not self._stored_as_asked(options):
                notes.append(msg.clarify_dropped(options))
                unstored = True
            field = self.next_field()  # a move not taken: the message answers the question shown after it
        if unstored and (undo := parse_command(text, self.schema)) is not None and undo.kind == "undo":
            return self._reply(notes)  # the last answer was never stored: the draft stays as it is
        amended = self._amend(text, notes) or self._trailing_correction(text, field, notes)
        if amended is not None:
            return amended
        unapplied = parse_amend(text)
        if unapplied is not None and not unapplied.weak:  # «nej vent, det er to gange om året» corrects nothing
            text = unapplied.value  # stored: the answer after the marker, never «nej vent» itself
        command = parse_command(text, self.schema)
        if command is not None:
            return self._command(command, field, notes)
        question = question_in(text, field)
        routed = self.extractor.extract(self.schema, text, current=field, known=self.draft.values)
        if question is not None and (question == text or not routed.found):
            return self._side(question, field, notes)  # a whole-message question is never a value
        parts, changes, errors = self._route(self._checked(routed, field, text), field, notes)
        offered = bool(self.draft.clarify) and (self._stored_as_asked(self.draft.clarify) or (
            field is not None and any(c.field_id == field.id for c in changes)))  # the rest of the answer stored
        if self.draft.overwrite or (self.draft.clarify and not offered):
            return Reply(message="\n\n".join(parts), stored=changes, errors=errors,
                         awaiting="overwrite" if self.draft.overwrite else "clarify")
        if question is not None:
            return self._side(question, self.next_field(), parts, stored=changes)
        reply = self._reply(parts, stored=changes, errors=errors)
        if offered:
            reply.awaiting = "clarify"  # stored as asked, and the move is offered beside the next question
        return reply

    def clarify_kind(self) -> Literal["move", "replace", "choose"] | None:
        """What the pending «A eller B?» is: a move offer (stored under the asked field), a replacement of a filled
        field (nothing stored), or a plain choice (nothing stored); None when nothing is pending."""
        options = self.draft.clarify
        if not options:
            return None
        return "move" if self._stored_as_asked(options) else "replace" if self._replacing(options) else "choose"

    def _replacing(self, options: Sequence[Candidate]) -> bool:
        """True for «erstat «B» – eller hører det under «A»?»: two options, nothing stored, the second filled."""
        return len(options) == 2 and options[0].field_id not in self.draft.values and \
            options[1].field_id in self.draft.values and self.draft.values[options[1].field_id] != options[1].value

    def _stored_as_asked(self, options: Sequence[Candidate]) -> bool:
        """True when a «hører det under A eller B?» was stored under the asked field (the first option) and the
        others are offered as a move; False when nothing was stored (one option the asked field cannot take)."""
        return len(options) > 1 and self.draft.values.get(options[0].field_id) == options[0].value

    def _checked(self, routed: Routed, field: TemplateField | None, text: str) -> Routed:
        """Ask «under A eller B?» instead of storing when the answer clearly belongs to another empty field; never
        a silent move. Only for fields that declare ``describes:`` (contents, not names or titles), in this order:
        an answer that names the other party (``counterpart``), an answer that is nothing but a person, a date,
        an e-mail or a phone number while such a field is empty, a list of questions without a question, and the
        semantic fit check (:class:`~assistant.templates.fit.FieldFit`); a typed question (an amount, a date)
        answered in words that the fit check places in another empty field is asked about as well."""
        if field is None or self.draft.editing or routed.clarify:
            return routed
        d = self.draft
        empty = [f.id for f in self.schema.fields
                 if f.id not in d.values and f.id not in d.skipped and f.id != field.id and routed.get(f.id) is None]
        answer = routed.get(field.id)
        if answer is not None and answer.source == "svar" and (field.capture == "name" or field.quoted_name) and \
                _titled_person(answer.evidence, field):  # «Camilla Nørgaard, børnebibliotekar» is no organisation
            return self._typed_elsewhere(routed, answer, "person", empty)
        if not field.describes and field.type not in TYPED:
            return routed
        taken = self._cue_for_a_filled_field(routed, field)
        if taken is not None:
            return taken
        if answer is None:
            if field.type in TYPED and field.id in routed.errors and not routed.found:
                rival_id = self.fit.best(self.schema, text, empty, exclude=field.id)
                rival = self._as_answer(rival_id, text)
                if rival is not None:
                    routed.errors.pop(field.id)
                    routed.clarify = [rival]
            return routed
        if answer.source != "svar" or field.type not in FREE_TEXT or field.capture == "name":
            return routed
        kind = whole_typed_value(answer.evidence)
        if kind is not None:  # nothing but a person or a date: not stored under a free-text field until chosen
            return self._typed_elsewhere(routed, answer, kind, empty)
        rivals = [r for fid in self._rivals(field, answer, empty) if (r := self._as_answer(fid, answer.evidence))]
        if rivals:
            routed.found.remove(answer)
            routed.clarify = [answer, *rivals]
            routed.store_first = not _no_question_among(field, answer)  # names are never stored as questions
            return routed
        if _no_question_among(field, answer):  # «Jannie, to frivillige og et par forældre» are no questions
            routed.found.remove(answer)
            routed.errors[field.id] = no_questions_error(field)
            return routed
        split = self._split(field, answer, empty)  # the whole fits the question: does one sentence not?
        if split is not None:
            kept, moved = split
            routed.found[routed.found.index(answer)] = kept
            routed.clarify = [moved]
        return routed

    def _cue_for_a_filled_field(self, routed: Routed, field: TemplateField) -> Routed | None:
        """«formålet er jo at 200 borgere …» while the goal is asked and the purpose is filled: the cue asks to
        replace the purpose, the question asked says it is the goal, so the interview asks which («ja» replaces,
        the asked field's name stores it there, «nej» stores nothing); None when the message is not that (the asked
        field got a value, or the cue's field is empty)."""
        if routed.get(field.id) is not None or field.type not in FREE_TEXT or field.capture == "name" or \
                len(routed.found) != 1:
            return None
        other = routed.found[0]
        if other.source != "udsagn" or other.field_id not in self.draft.values or \
                self.schema.field(other.field_id).type not in FREE_TEXT:
            return None
        answer = self._as_answer(field.id, format_value(self.schema.field(other.field_id), other.value))
        if answer is None:
            return None
        return Routed(found=[], clarify=[answer, other], store_first=False, unplaced=routed.unplaced,
                      errors=routed.errors)

    def _typed_elsewhere(self, routed: Routed, answer: Found, kind: str, empty: Sequence[str]) -> Routed:
        """An answer that is nothing but a ``kind`` value (a person, a date) while a field of that type is empty:
        stored nowhere until the user chooses between the asked field and that one (required fields first)."""
        typed = sorted((f for f in self.schema.fields if f.type == kind and f.id in empty),
                       key=lambda f: not f.required)
        rival = self._as_answer(typed[0].id, answer.evidence) if typed else None
        if rival is not None:
            routed.found.remove(answer)
            routed.clarify, routed.store_first = [answer, rival], False
        return routed

    def _split(self, field: TemplateField, answer: Found, empty: Sequence[str]) -> tuple[Found, Found] | None:
        """A sentence of a longer answer that clearly fits another empty field (the fit check's rules, sentence by
        sentence): the answer without it (stored as asked) and the sentence for that field (offered, not stored).
        «… en ugentlig læsekreds og et månedligt foredrag. Vi vil også gerne evaluere til sidst»."""
        spans = sentences(answer.evidence)
        if len(spans) < 2:
            return None
        for start, end in spans:
            sentence = answer.evidence[start:end].strip()
            rival = self.fit.rival(self.schema, field, sentence, empty, deferred=self.draft.deferred)
            if rival is None:
                continue
            rest = (answer.evidence[:start] + " " + answer.evidence[end:]).strip()
            kept, moved = self._as_answer(field.id, rest), self._as_answer(rival, sentence)
            if kept is not None and moved is not None:
                return Found(field.id, kept.value, "svar", rest), moved
        return None

    def _rivals(self, field: TemplateField, answer: Found, empty: Sequence[str]) -> list[str]:
        """The empty fields that the answer to ``field`` may belong to instead (see :meth:`_checked`)."""
        schema, evidence = self.schema, answer.evidence
        other = field.counterpart
        if other in empty and names_party(schema, evidence, schema.field(other).group, self.draft.values):
            return [other]
        if _no_question_among(field, answer):
            return self.fit.ranked(schema, evidence, empty, exclude=field.id)
        marked = _marked_by(schema, answer.value, empty, asked=field)
        if marked:
            return [marked]
        rival = self.fit.rival(schema, field, evidence, empty, deferred=self.draft.deferred)
        return [rival] if rival else []

    def _as_answer(self, field_id: str | None, text: str) -> Found | None:
        """``text`` read as the answer to ``field_id`` (None when that field cannot take it)."""
        if field_id is None:
            return None
        found = self.extractor.extract(self.schema, text, current=self.schema.field(field_id),
                                       known=self.draft.values).get(field_id)
        return Found(field_id, found.value, found.source, text) if found is not None else None

    def _route(self, routed: Routed, field: TemplateField | None,
               notes: list[str]) -> tuple[list[str], list[Change], dict[str, str]]:
        """Store the routed values (asking before any overwrite); the Danish lines saying what happened."""
        updates: list[tuple[str, FieldValue | None, bool, Source]] = []
        overwrites: list[Candidate] = []
        errors = dict(routed.errors)
        for item in routed.found:
            existing = self.draft.values.get(item.field_id)
            is_current = field is not None and item.field_id == field.id
            if existing == item.value:
                continue
            if existing is not None and not (is_current and self.draft.editing):
                overwrites.append(Candidate(field_id=item.field_id, value=item.value, evidence=item.evidence,
                                            source=item.source))
                continue
            problem = self._order_problem(item.field_id, item.value)
            if problem:
                errors[item.field_id] = problem
                continue
            updates.append((item.field_id, item.value, False, item.source))
        asked = routed.clarify[0] if len(routed.clarify) > 1 and routed.store_first else None
        if asked is not None and field is not None and asked.field_id == field.id \
                and field.id not in self.draft.values and not self._order_problem(field.id, asked.value) \
                and not any(u[0] == field.id for u in updates):
            # the rule: the reply to the question just asked fills that field; the other fields are offered as a
            # move (a user who answers the next question instead keeps it there, and nothing is lost)
            updates.append((asked.field_id, asked.value, False, asked.source))
        updates.sort(key=lambda u: field is None or u[0] != field.id)  # the answer to the question first
        changes = self.draft.apply(updates)
        if field is not None and any(c.field_id == field.id for c in changes):
            self.draft.editing = False
        parts = list(notes)
        if changes:
            parts.append(msg.stored(self.schema, changes))
        for fid, problem in errors.items():
            parts.append(f"⚠ {msg.label(self.schema, fid)}: {problem}")
        if routed.unplaced:
            parts.append(msg.unplaced(routed.unplaced))
        if routed.clarify:
            self.draft.clarify = [Candidate(field_id=f.field_id, value=f.value, evidence=f.evidence, source=f.source)
                                  for f in routed.clarify]
            if self._stored_as_asked(self.draft.clarify):
                parts.append(msg.move_offer(self.schema, self.draft.clarify))
            elif self._replacing(self.draft.clarify):
                parts.append(msg.replace_or_asked(self.schema, self.draft, self.draft.clarify))
            elif len(self.draft.clarify) == 1 and changes and field is not None and \
                    any(c.field_id == field.id for c in changes):
                parts.append(msg.split_offer(self.schema, self.draft.clarify[0]))
            else:
                parts.append(msg.clarify_question(self.schema, self.draft.clarify, field.id if field else None))
        elif not changes and not errors and not overwrites and field is not None:
            parts.append(f"⚠ {field.label}: {msg.NOT_USED}")
            errors[field.id] = msg.NOT_USED
        if overwrites:
            self.draft.overwrite = overwrites
            parts.append(msg.overwrite_question(self.schema, self.draft, overwrites))
        return parts, changes, errors

    # --- proposals: pre-fill and overwrites ---------------------------------------------------------------
    def _prefill_turn(self, text: str) -> Reply | None:
        """The answer to the list of proposals: a decision, or a side question or an unclear «ja, men …» (the list
        is shown again); None for anything else (the message is an ordinary answer, and the proposals are not
        used)."""
        decision = parse_decision(text, with_reason=True)
        if decision is not None:
            pending, self.draft.prefill = self.draft.prefill, []
            return self._decide(pending, decision, kind="prefill")
        question = question_in(text, None)
        if question is not None:
            return self._side(question, None, [], tail=msg.prefill_list(self.schema, self.draft.prefill))
        if _DECISION_ATTEMPT.match(text):  # «ja, men ikke partneren»: the list again, to pick by number
            return Reply(message=msg.prefill_list(self.schema, self.draft.prefill), awaiting="prefill")
        return None

    def _decide(self, pending: list[Candidate], decision: Decision, *, kind: str) -> Reply:
        chosen = _chosen(pending, decision)
        if kind == "clarify" and self._stored_as_asked(pending):
            return self._move(pending, chosen)
        source: Source = "samtale" if kind == "prefill" else "rettelse"
        replace = kind == "overwrite" or (kind == "clarify" and self._replacing(pending))  # the user said «ja»
        updates = []
        for c in chosen:
            if not replace and c.field_id in self.draft.values:
                continue
            updates.append((c.field_id, c.value, False, source if kind == "prefill" else c.source))
        changes = self.draft.apply(updates)
        parts = []
        if changes:
            parts.append(msg.stored(self.schema, changes))
        rejected = [c for c in pending if c not in chosen]
        if kind == "overwrite" and rejected:
            parts.append(msg.overwrite_kept(self.schema, rejected))
        if kind == "prefill" and not changes:
            parts.append(msg.PREFILL_UNUSED)
        return self._reply(parts, stored=changes)

    def _move(self, pending: list[Candidate], chosen: list[Candidate]) -> Reply:
        """The answer to a move offer: keep the value under the asked field, move it, or store it under both;
        after a move the asked field's question is asked again."""
        asked, d = pending[0], self.draft
        keep = asked in chosen
        updates: list[tuple[str, FieldValue | None, bool, Source]] = [] if keep else [
            (asked.field_id, None, False, "rettelse")]
        updates += [(c.field_id, c.value, False, "rettelse") for c in chosen  # chosen by name: also a filled one
                    if c is not asked and d.values.get(c.field_id) != c.value]
        changes = d.apply(updates)
        if not keep:
            d.current, d.editing = asked.field_id, False
        if not changes:
            return self._reply([msg.move_kept(self.schema, asked)])
        return self._reply([msg.stored(self.schema, changes, verb="Flyttet" if not keep else "Gemt i udkastet")],
                           stored=changes)

    # --- side questions -----------------------------------------------------------------------------------
    def _side(self, question: str, field: TemplateField | None, notes: list[str], *, tail: str | None = None,
              stored: Sequence[Change] = ()) -> Reply:
        if _GENERIC_GUIDE.match(question.strip()) and field is not None:
            question = field.guide_query or field.question
        answer = None
        if self.guide is not None:
            try:
                answer = self.guide.ask(question, [])
            except Exception:  # the draft must survive a failing lookup
                log.exception("side question failed: %r", question)
        parts = [n for n in notes if n]
        citations: list[Citation] = []
        if answer is None:
            parts.append(msg.NO_GUIDE)
        else:
            parts.append(msg.side_answer(str(answer.text)))
            citations = list(getattr(answer, "citations", []) or [])
        if tail is not None:
            parts.append(tail)
            return Reply(message="\n\n".join(parts), citations=citations, awaiting="prefill",
                         side_question=question, stored=list(stored))
        if self.draft.overwrite:
            parts.append(msg.overwrite_question(self.schema, self.draft, self.draft.overwrite))
            return Reply(message="\n\n".join(parts), citations=citations, awaiting="overwrite",
                         side_question=question, stored=list(stored))
        prompt = self.prompt()
        if prompt is not None:
            parts += [msg.back_to(prompt.field), prompt.bare]
        return Reply(message="\n\n".join(parts), citations=citations, prompt=prompt, side_question=question,
                     stored=list(stored), done=prompt is None)

    # --- «nej vent, det er 15. marts»: a correction of the previous answer -----------------------------------
    def _amend(self, text: str, notes: list[str], *, same_message: bool = False) -> Reply | None:
        """Correct a filled field: the one the correction names («nej vent, startdatoen er 1. april»), the one a cue
        in it points to («nej vent, vi starter først 1. april»), else the field the previous turn filled, when the
        new value fits it. None when ``text`` is no correction or fits no such field: then it is an ordinary
        message. What follows a corrected name or typed value is read as an ordinary answer (:func:`_correction`).
        ``same_message``: the correction ends an answer («…, Discord og skolernes intra. Nej vent, ikke intra …»), so
        an unnamed one is about that answer, never about what the previous message stored."""
        amend = parse_amend(text)
        d = self.draft
        bare_no = _BARE_NO.match(text) if amend is None else None
        if bare_no:  # «nej, partnerens kontaktperson hedder …»: a correction only when it names a filled field
            amend = Amend(bare_no.group("rest"), weak=True)
        if amend is None or not d.turns:
            return None
        named = _NAMED_VALUE.match(amend.value)
        target = match_field(named.group("head"), self.schema) if named else None
        if target is not None and target.id in d.values:  # «nej vent, startdatoen er 1. april»: that field
            reply = self._corrected(target, named.group("rest"), notes)
            if reply is not None:
                return reply
        mentioned = self._mentioned_person(amend.value)
        if mentioned is not None:  # «nej vent, det er ikke Kasper der er ansvarlig, det er Lone Kristiansen»
            field, after = mentioned  # the new person: the whole correction («det er Lene Dam»), else after the old
            reply = self._corrected(field, amend.value, notes) or (self._corrected(field, after, notes) if after
                                                                   else None)
            # a correction of a stored person that names no one new is never stored elsewhere: ask for the value
            return reply or self._reply([*notes, msg.correction_unclear(self.schema, field, d.values.get(field.id))])
        if bare_no:
            return None  # a bare «nej, …» that names no filled field is an ordinary answer
        first, _ = _correction(amend.value)
        cued = [f.field_id for f in self.extractor.extract(self.schema, first, current=None, known=d.values).found
                if f.field_id in d.values]
        # an unnamed correction corrects what the previous message stored; when that message stored nothing
        # («en gang om året» was no partner), «nej vent, to gange om året» is an answer, not a change of an older turn
        previous = [c.field_id for c in d.turns[-1] if c.after is not None] \
            if self._previous_stored and not same_message else []
        for field_id in dict.fromkeys([*cued, *previous]):
            field = self.schema.field(field_id)
            if amend.weak and field.type in FREE_TEXT and field.capture != "name":
                continue
            reply = self._corrected(field, amend.value, notes)
            if reply is not None:
                return reply
        return None

    def _mentioned_person(self, text: str) -> tuple[TemplateField, str] | None:
        """The one filled person field whose first name the correction mentions («… ikke Kasper der er ansvarlig,
        det er Lone Kristiansen», «Morten hedder Lassen til efternavn»), and the text after that clause (the new
        person, if any); None when no stored person or several are mentioned."""
        hits = people_mentioned(self.schema, self.draft.values, text, ignore_case=False)
        if len(hits) != 1:
            return None
        field, m = hits[0]
        after = text[m.end():]
        clause = after.find(",")
        return field, (after[clause + 1:] if clause >= 0 else "").strip()

    def _corrected(self, field: TemplateField, text: str, notes: list[str]) -> Reply | None:
        """Store the corrected value of ``field`` read from ``text`` (None when it does not fit), then handle what
        follows it as an ordinary message, all in one undoable turn."""
        d = self.draft
        used, rest = (text, "") if field.type in ("longtext", "list") else _correction(text)
        new = self._amended_value(field, d.values.get(field.id), used)
        if new is None or self._order_problem(field.id, new):
            return None
        changes = d.apply([(field.id, new, False, "rettelse")])
        if d.current == field.id:
            d.editing = False
        first = self._reply([*notes, msg.stored(self.schema, changes, verb="Rettet")], stored=changes)
        return self._and_then(first, rest, len(d.turns) - 1) if rest else first

    def _and_then(self, first: Reply, rest: str, turns_before: int) -> Reply:
        """``first`` (a correction) and then ``rest`` handled as an ordinary message: one reply that asks the next
        question once, and one undoable turn."""
        head = first.message.removesuffix(first.prompt.text).rstrip() if first.prompt else first.message
        after = self.handle(rest)
        self.draft.join_turns(turns_before)
        return after.model_copy(update={"message": "\n\n".join(p for p in (head, after.message) if p),
                                        "stored": [*first.stored, *after.stored],
                                        "errors": {**first.errors, **after.errors}})

    def _trailing_correction(self, text: str, field: TemplateField | None, notes: list[str]) -> Reply | None:
        """An answer with a correction after it («at 150 ældre har fået hjælp. og nej vent, startdatoen er 15.
        marts», «… besøgstallet. og ret lige budgettet til 18.000 kr»): the correction first, then the answer to
        the question asked; None when no later sentence is a correction that applies."""
        for start, _ in sentences(text)[1:]:
            answer, tail = text[:start].strip(), re.sub(r"^(?:og|men|så)\s+", "", text[start:].strip(),
                                                        flags=re.IGNORECASE)
            amend, command = parse_amend(tail), parse_command(tail, self.schema)
            if not ((amend is not None and not amend.weak) or (command is not None and command.kind == "correct")):
                continue
            turns = len(self.draft.turns)
            first = self._amend(tail, notes, same_message=True) if amend is not None else \
                self._command(command, field, notes)
            if first is None or not first.stored:
                continue
            if self.next_field() != field:  # the correction filled a field asked before: the answer is unsure
                self.draft.undo()
                return None
            return self._and_then(first, answer, turns)
        return None

    def _amended_value(self, field: TemplateField, before: FieldValue, text: str) -> FieldValue | None:
        """``text`` as a new value of ``field``; a date without a year takes the year of the value it corrects."""
        if field.type == "date":
            parsed, _ = parse_value(field, text)
            if parsed is None and isinstance(before, DateValue) and len(found := find_day_months(text)) == 1:
                try:
                    return DateValue(value=before.value.replace(month=found[0][1], day=found[0][0]))
                except ValueError:
                    return None
            return parsed
        routed = self.extractor.extract(self.schema, text, current=field, known=self.draft.values)
        found = routed.get(field.id)
        return found.value if found is not None else None

    # --- commands -----------------------------------------------------------------------------------------
    def _command(self, command: Command, field: TemplateField | None, notes: list[str]) -> Reply:
        d, schema = self.draft, self.schema
        parts = list(notes)
        if command.kind == "show_draft":
            return self._reply([*parts, draft_markdown(schema, d)])
        if command.kind == "missing":
            return self._reply([*parts, msg.missing_summary(schema, d)])
        if command.kind == "help":
            return self._reply([*parts, msg.field_help(field)])
        if command.kind == "undo":
            d.overwrite = []
            changes = d.undo()
            if not changes:
                return self._reply([*parts, msg.NOTHING_TO_UNDO])
            first = changes[0].field_id
            if first not in d.values:
                d.current, d.editing = first, False
            return self._reply([*parts, msg.undone(schema, changes)], stored=changes)
        if command.kind == "wrong":
            last = next((c.field_id for c in reversed(d.turns[-1]) if c.after is not None), None) if d.turns else None
            if last is None:
                return self._reply([*parts, msg.NOTHING_TO_UNDO])
            command = Command("edit", last)
        if command.kind == "edit" and command.field_id:
            d.current, d.editing = command.field_id, True
            now = d.values.get(command.field_id)
            text = f"Hvad skal der stå i «{msg.label(schema, command.field_id)}»?"
            if now is not None:
                text += f" Nu står der: «{msg.shown(schema, command.field_id, now)}»."
            return self._reply([*parts, text])
        if command.kind in {"skip", "none"}:
            if field is None:
                return self._reply([*parts, "Der er ikke noget spørgsmål at springe over."])
            if field.required:
                problem = f"«{field.label}» skal udfyldes og kan ikke springes over. Et kort svar er nok."
                others = [f for f in d.required_missing(schema) if f != field.id]
                if field.id not in d.deferred and others:  # «ved ikke» the first time: the other required first
                    d.deferred.append(field.id)
                    problem = (f"«{field.label}» skal udfyldes og kan ikke springes over, men vi kan vente med "
                               "det: jeg spørger igen, når de andre påkrævede felter er besvaret.")
                elif not others:  # nothing else to ask first: no promise to come back later
                    problem = (f"«{field.label}» skal udfyldes og kan ikke springes over. Et kort svar er nok; ellers "
                               "kan du parkere udkastet og vende tilbage til det senere.")
                d.editing = False
                return self._reply([*parts, problem], errors={field.id: problem})
            if command.kind == "none" and field.type in {"text", "longtext", "list"}:
                value: FieldValue = (ListValue(items=[field.none_text]) if field.type == "list"
                                     else TextValue(text=field.none_text))
                changes = d.apply([(field.id, value, False, "svar")])
            else:
                changes = d.apply([(field.id, None, True, "svar")])
            d.editing = False
            return self._reply([*parts, msg.stored(schema, changes)], stored=changes)
        if command.kind == "skip_rest":
            rest = [fid for fid in d.missing(schema) if not schema.field(fid).required]
            changes = d.apply([(fid, None, True, "svar") for fid in rest])
            text = (f"Jeg har sprunget {len(rest)} valgfrie felter over." if rest
                    else "Der var ingen valgfrie felter tilbage.")
            if d.required_missing(schema):
                text += " Disse felter skal stadig udfyldes: " + ", ".join(
                    msg.label(schema, f) for f in d.required_missing(schema)) + "."
            return self._reply([*parts, text], stored=changes)
        field_id = command.field_id or ""
        if command.kind == "clear":
            required = schema.field(field_id).required
            changes = d.apply([(field_id, None, not required, "rettelse")])
            if required:
                d.current, d.editing = field_id, False
            return self._reply([*parts, f"«{msg.label(schema, field_id)}» er tømt."], stored=changes)
        before = len(d.turns)
        problems = self.set_field(field_id, command.value or "", source="rettelse")
        if problems:
            return self._reply([*parts, f"⚠ {msg.label(schema, field_id)}: {problems[0]}"],
                               errors={field_id: problems[0]})
        changes = d.turns[-1] if len(d.turns) > before else []
        if d.current == field_id:
            d.editing = False
        return self._reply([*parts, msg.stored(schema, changes, verb="Rettet")] if changes
                           else [*parts, "Feltet havde allerede den værdi."], stored=changes)

    # --- composing --------------------------------------------------------------------------------------------
    def _reply(self, parts: Sequence[str], *, stored: Sequence[Change] = (),
               errors: dict[str, str] | None = None) -> Reply:
        had_required = any(self.schema.field(c.field_id).required for c in stored)
        prompt = self.prompt()
        texts = [p for p in parts if p]
        citations: list[Citation] = []
        if prompt is not None:
            if had_required and not self.draft.required_missing(self.schema) and not prompt.field.required:
                texts.append(msg.REQUIRED_DONE)
            texts.append(prompt.text)
            citations = prompt.citations
        else:
            problems = self.draft.problems(self.schema)
            texts.append("Udkastet har stadig problemer: " + "; ".join(
                f"{msg.label(self.schema, k)}: {v}" for k, v in problems.items()) if problems else msg.DONE)
        return Reply(message="\n\n".join(texts), citations=citations, stored=list(stored), errors=dict(errors or {}),
                     prompt=prompt, done=prompt is None)


def _marked_by(schema: TemplateSchema, value: object, empty: Sequence[str], *, asked: TemplateField) -> str | None:
    """The empty list field whose ``marker_words`` every item of a list answer holds («Facebook; Lokalavisen;
    Sparekassens nyhedsbrev» to the messages question is channels); None when the asked field's own words mark it."""
    if not isinstance(value, ListValue) or not value.items:
        return None

    def marks(f: TemplateField) -> bool:
        words = [w.casefold() for w in f.marker_words]
        return bool(words) and all(any(w in item.casefold() for w in words) for item in value.items)

    if marks(asked):
        return None
    return next((fid for fid in empty if schema.field(fid).type == "list" and marks(schema.field(fid))), None)


def _titled_person(text: str, field: TemplateField) -> bool:
    """«Camilla Nørgaard, børnebibliotekar»: nothing but a person with a lower-case job title after a comma, and
    no word of the organisation field's ``name_contains`` in the name («Hjørring Bibliotekerne, afdeling Sindal»);
    or a person's name and their workplace («Emil Sejersen, Aars Bibliotek»)."""
    head, _, title = text.partition(",")
    if names_with_word(field, head):
        return False
    title = title.strip()
    definite = re.search(r"(?:en|et|ne)$", title.split()[-1]) if title else None  # «landdistriktspuljen»
    whole_person = whole_typed_value(text) == "person"
    if bool(title) and title[:1].islower() and not definite and whole_person:
        return True
    # «Emil Sejersen, Aars Bibliotek», «det er mig Morten Kvist»: a person (a common first name and a surname),
    # maybe with where they work
    hit = person(head) if title else (person(text) if whole_person else None)
    return bool(hit) and person_shaped(hit[0].split(",")[0])


def _correction(text: str) -> tuple[str, str]:
    """A corrected name or typed value and what follows it: its first sentence without a contrast («Oldtidsugen,
    ikke oldtidsdage. formålet er …» -> «Oldtidsugen», «formålet er …»)."""
    # users type «… oldtidsdage. formålet er …» in lower case: any full stop the Danish splitter does not read as
    # an abbreviation or an ordinal date («1. april») ends the value
    end = next((m.end() for m in re.finditer(r"[.!?](?:\s|$)", text) if is_sentence_end(text, m.start())), len(text))
    contrast = rf"(?:\s*[,;–-]\s*|\s+){phrase_re(lexicon().correction_contrasts)}\s.*$"
    used = re.sub(contrast, "", text[:end].strip().rstrip(".!"), flags=re.IGNORECASE | re.DOTALL)
    return used.strip(), text[end:].strip()


_BARE_NO = re.compile(r"^\s*nej\b[\s,.!:;–-]+(?P<rest>\S.*)$", re.IGNORECASE | re.DOTALL)
_NAMED_VALUE = re.compile(r"^(?P<head>[\wæøåÆØÅ' -]{2,40}?)\s+(?:er|hedder|skal\s+være|bliver)\s+(?P<rest>\S.*)$",
                          re.IGNORECASE | re.DOTALL)  # «startdatoen er 1. april 2027» in a correction
_ORDINALS = {"første": 1, "anden": 2, "andet": 2, "tredje": 3, "sidste": -1}


def _clarified(text: str, options: Sequence[Candidate], schema: TemplateSchema, *,
               offered: bool = False, replacing: bool = False) -> list[int] | None:
    """The options (1-based) chosen in reply to «under A eller B?»: a field name, «1», «den første», «begge»; with
    one option («Skal jeg skrive det under «B»?») also «ja» (``[1]``) and «nej» (``[]``); after a move offer of
    one other field («Skal jeg flytte det til «B»?») «ja» moves (``[2]``) and «nej» keeps (``[1]``)."""
    yes_no = len(options) == 1 or ((offered or replacing) and len(options) == 2)
    decision = parse_decision(text) if yes_no else None
    if decision is not None and (decision.accept_all or decision.reject_all):
        if len(options) == 1 or replacing:  # «nej» to a replacement: nothing is stored, the old value stays
            return [] if decision.reject_all else [len(options)]
        return [1] if decision.reject_all else [2]
    said = re.sub(r"^(?:skriv\s+det\s+|det\s+skal\s+stå\s+|det\s+hører\s+til\s+|gem\s+det\s+)?(?:under|i|som)\s+",
                  "", text.strip().casefold().rstrip(".!"))
    if said in {"begge", "begge dele", "begge steder"}:
        return list(range(1, len(options) + 1))
    said = re.sub(r"^(?:den|det|nr\.?|nummer)\s+", "", said)
    number = int(said) if said.isdigit() else _ORDINALS.get(said)
    if number is not None and -1 <= number <= len(options) and number != 0:
        return [number if number > 0 else len(options)]
    field = match_field(said, schema) if len(said.split()) <= 5 else None
    ids = [c.field_id for c in options]
    return [ids.index(field.id) + 1] if field is not None and field.id in ids else None


def _chosen(pending: list[Candidate], decision: Decision) -> list[Candidate]:
    if decision.accept_all:
        return list(pending)
    if decision.reject_all:
        return []
    numbered = dict(enumerate(pending, start=1))
    if decision.accept:
        return [numbered[n] for n in sorted(set(decision.accept)) if n in numbered and n not in decision.reject]
    return [c for n, c in numbered.items() if n not in decision.reject]

