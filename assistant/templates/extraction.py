"""Rule-based extraction of field values from the user's Danish text.

``RuleExtractor`` takes only values that literally occur in the text: the phrase after a cue from the schema
("formålet er ..."), e-mail addresses, phone numbers, dates and amounts (placed by the cue words before them),
proper names, and the answer to the question just asked. Structured LLM extraction lives in ``llm_extraction``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from assistant.templates.schema import TemplateField, TemplateSchema
from assistant.templates.validation import (
    EMAIL_RE,
    Value,
    bare_number,
    find_amounts,
    find_dates,
    find_phones,
    split_list,
)

UPPER = "A-ZÆØÅ"
WORD = r"[\wæøåÆØÅ]"
_NAME_WORD = rf"(?:[{UPPER}][\wæøåÆØÅ&'’.-]*|[{UPPER}]{{2,}})"
_CONNECT = r"(?:for|i|på|af|og|de|du|til|ved|&|-)"
NAME_RE = re.compile(rf"{_NAME_WORD}(?:\s+(?:{_CONNECT}\s+)?{_NAME_WORD})*")
_TITLE_RE = re.compile(r",\s*([a-zæøå][a-zæøå-]*(?:\s+[a-zæøå-]+){0,3})\s*(?=,|\(|\.|$|\s+og\b)")
_TITLE_STOP = {"og", "som", "der", "men", "hun", "han", "de", "vi", "e-mail", "mail", "tlf", "telefon", "tlf.",
               "kontaktperson", "kontaktpersonen", "mens", "hvor"}
_FILLER_RE = re.compile(
    r"^(?:ja[,.]?\s+|nej[,.]?\s+|ok[,.]?\s+|okay[,.]?\s+)?(?:det\s+(?:er|bliver|skal være)|den\s+hedder|de\s+hedder|"
    r"hun\s+hedder|han\s+hedder|vi\s+tænker|jeg\s+tænker|navnet\s+er)\s+",
    re.IGNORECASE,
)
_CONTACT_LABEL_RE = re.compile(r"(?<![\wæøå])(?:tlf|telefon(?:nummer)?|mobil|e-?mail|mail)\.?:?(?=\s|$|,)", re.IGNORECASE)  # noqa: E501
_TRAIL_RE = re.compile(r"[\s,;:–-]*(?:\b(?:og|samt|men|mens)\b)?[\s,;:–-]*$", re.IGNORECASE)
_SENTENCE_END = re.compile(rf"[.!?](?=\s+[{UPPER}\"«(])|[.!?]\s*$|\n+")
_GENERIC_CONTACT = ["kontaktpersonen er", "kontaktperson er", "kontaktpersonen bliver", "kontaktperson bliver",
                    "kontaktpersonen", "kontaktperson", "kontakt"]
_GROUP_WORDS: dict[str, list[str]] = {
    "partner": [r"partner\w*", r"samarbejdspartner\w*", r"deres", r"dem"],
    "bibliotek": [r"\w*bibliotek\w*", r"vores", r"vi", r"os", r"jeg", r"min", r"mit", r"mig"],
}


@dataclass
class Extracted:
    """One value found in the user's text."""

    field_id: str
    value: Value
    explicit: bool = True  # stated directly (cue, answer, correction): may overwrite an existing value
    source: Literal["regel", "llm", "svar"] = "regel"


class Extractor(Protocol):
    """Turns user messages into field values; must never invent values."""

    def extract(
        self,
        schema: TemplateSchema,
        texts: Sequence[str],
        *,
        current: TemplateField | None = None,
        known: Mapping[str, Value] | None = None,
    ) -> list[Extracted]: ...


# --- rule-based extraction --------------------------------------------------------------------------------


@dataclass
class _Match:
    field: TemplateField | None  # None: generic contact cue, field decided by context
    start: int
    end: int
    cue: str


def _cue_regex(cue: str) -> re.Pattern[str]:
    body = r"\s+".join(re.escape(w) for w in cue.split())
    return re.compile(rf"(?<![\wæøåÆØÅ@]){body}(?![\wæøåÆØÅ])", re.IGNORECASE)


def _resolve_cue(cue: str, known: Mapping[str, Value]) -> str | None:
    """Fill ``{field}`` placeholders from known values; None when a placeholder is unknown."""
    missing = False

    def repl(m: re.Match[str]) -> str:
        nonlocal missing
        value = known.get(m.group(1))
        if not value or isinstance(value, list):
            missing = True
            return ""
        return str(value)

    resolved = re.sub(r"\{(\w+)\}", repl, cue)
    return None if missing else resolved


def _sentences(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        if m.end() > start:
            spans.append((start, m.end()))
        start = m.end()
    if start < len(text):
        spans.append((start, len(text)))
    return [(s, e) for s, e in spans if text[s:e].strip()]


def _clean(value: str) -> str:
    value = value.strip().strip("\"'«»“”")
    value = value.lstrip(":– -").strip()
    prev = None
    while prev != value:
        prev = value
        value = _TRAIL_RE.sub("", value).rstrip(".").strip()
    return value


def _capitalise(value: str) -> str:
    return value[:1].upper() + value[1:] if value else value


def _name_at(text: str, *, with_title: bool) -> tuple[str, int] | None:
    """A proper name at the start of ``text`` (after optional filler), plus the end offset."""
    lead = re.match(r"\s*(?:er\s+|hedder\s+|bliver\s+|:\s*|det\s+er\s+)?[\"'«“]?", text, re.IGNORECASE)
    offset = lead.end() if lead else 0
    m = NAME_RE.match(text, offset)
    if not m:
        return None
    name = m.group(0).rstrip(".-")
    # trailing connector words such as "og" are not part of a name
    name = re.sub(rf"\s+{_CONNECT}$", "", name)
    end = m.start() + len(name)
    if with_title:
        t = _TITLE_RE.match(text, end)
        if t and t.group(1).split()[0] not in _TITLE_STOP and "@" not in t.group(1):
            return f"{name}, {t.group(1).strip()}", t.end(1)
    return name, end



def _overlaps(start: int, end: int, spans: Sequence[tuple[int, int]]) -> bool:
    return any(s < end and start < e for s, e in spans)


class RuleExtractor:
    """Literal, cue-driven extraction: never produces a value that is not in the text."""

    def extract(
        self,
        schema: TemplateSchema,
        texts: Sequence[str],
        *,
        current: TemplateField | None = None,
        known: Mapping[str, Value] | None = None,
    ) -> list[Extracted]:
        """Values in ``texts`` (oldest first); later messages see the values found in earlier ones."""
        state: dict[str, Value] = dict(known or {})
        out: list[Extracted] = []
        for text in texts:
            found = _Message(schema, text, current, state).extract()
            for item in found:
                if item.explicit or not state.get(item.field_id):
                    state[item.field_id] = item.value
            out.extend(found)
        return out


@dataclass
class _Message:
    """Extraction state for one user message."""

    schema: TemplateSchema
    text: str
    current: TemplateField | None
    known: Mapping[str, Value]
    results: list[Extracted] = field(default_factory=list)
    consumed: list[tuple[int, int]] = field(default_factory=list)  # spans already used for a value

    def __post_init__(self) -> None:
        self.sentences = _sentences(self.text)
        self.questions = [(s, e) for s, e in self.sentences if self.text[s:e].rstrip().endswith("?")]
        self.indicators = self._group_indicators()

    # --- driver ---------------------------------------------------------------------------------------------
    def extract(self) -> list[Extracted]:
        self._cued_phrases()
        cue_spans = list(self.consumed)
        self._typed("email", [(m.start(), m.end(), m.group(0).lower()) for m in EMAIL_RE.finditer(self.text)])
        self._typed("phone", find_phones(self.text))
        self._by_cue_window("date", [(s, e) for s, e, _ in find_dates(self.text)])
        self._by_cue_window("amount", [(s, e) for s, e, _ in find_amounts(self.text)])
        if self.current is None:  # weak guesses only when reading the conversation, never in an answer
            self._sentence_cues(cue_spans)
            self._library_name()
        if self.current is not None and not self.assigned(self.current.id):
            answer = self._answer(self.current)
            if answer:
                self.results.append(Extracted(self.current.id, answer, source="svar"))
        return self.results

    def assigned(self, field_id: str) -> bool:
        return any(r.field_id == field_id for r in self.results)

    def _add(self, f: TemplateField, value: Value, span: tuple[int, int], *, explicit: bool = True) -> None:
        self.results.append(Extracted(f.id, value, explicit=explicit))
        self.consumed.append(span)

    def _in_question(self, pos: int) -> bool:
        return any(s <= pos < e for s, e in self.questions)

    def _sentence_of(self, pos: int) -> tuple[int, int]:
        return next(((s, e) for s, e in self.sentences if s <= pos < e), (0, len(self.text)))

    # --- "formålet er ...": the phrase after a cue ----------------------------------------------------------
    def _cued_phrases(self) -> None:
        matches = [m for m in self._cue_matches() if not self._in_question(m.start)]
        for i, m in enumerate(matches):
            stop = min([self._sentence_of(m.start)[1]] + [n.start for n in matches[i + 1:] if n.start >= m.end])
            f = m.field or self._contact_field(self._group_before(m.start))
            if f is None and m.field is None and self.current is not None and self.current.type == "person":
                f = self.current
            if f is None or self.assigned(f.id):
                continue
            value, used = _capture(f, self.text[m.end:stop], m.cue)
            if value:
                self._add(f, value, (m.start, m.end + used))
                if f.group:
                    self.indicators = sorted([*self.indicators, (m.start, f.group)])

    def _cue_matches(self) -> list[_Match]:
        raw: list[_Match] = []
        for f in self.schema.fields:
            if f.type in {"date", "amount", "email", "phone"}:
                continue  # their cues are context words before the value, see _by_cue_window
            for cue in f.cues:
                resolved = _resolve_cue(cue, self.known)
                if resolved:
                    raw += [_Match(f, m.start(), m.end(), resolved) for m in _cue_regex(resolved).finditer(self.text)]
        if any(f.type == "person" and f.group for f in self.schema.fields):
            for cue in _GENERIC_CONTACT:
                raw += [_Match(None, m.start(), m.end(), cue) for m in _cue_regex(cue).finditer(self.text)]
        raw.sort(key=lambda m: (-(m.end - m.start), m.start))  # overlapping cues: the longest wins
        kept: list[_Match] = []
        for m in raw:
            if not _overlaps(m.start, m.end, [(k.start, k.end) for k in kept]):
                kept.append(m)
        return sorted(kept, key=lambda m: m.start)

    # --- which party ("vores", "partneren", the partner's name) a phrase is about ---------------------------
    def _group_indicators(self) -> list[tuple[int, str]]:
        found: list[tuple[int, str]] = []
        for group, words in _GROUP_WORDS.items():
            patterns = list(words)
            name = self.known.get(group)
            if isinstance(name, str) and name:
                patterns.append(re.escape(name))
                last = name.split()[-1]
                if len(last) >= 6:  # "Roskilde Gymnasium" -> "gymnasiet"
                    patterns.append(re.escape(last[:6]) + r"\w*")
            for pat in patterns:
                found += [(m.start(), group) for m in
                          re.finditer(rf"(?<![\wæøå@.]){pat}(?![\wæøå])", self.text, re.IGNORECASE)]
        return sorted(found)

    def _group_before(self, pos: int, since: int = 0) -> str | None:
        before = [g for p, g in self.indicators if since <= p < pos]
        return before[-1] if before else None

    def _contact_field(self, group: str | None) -> TemplateField | None:
        return next((f for f in self.schema.fields if group and f.type == "person" and f.group == group
                     and f.section != "underskrifter"), None)

    # --- e-mail and phone: placed by party ----------------------------------------------------------------
    def _typed(self, kind: str, found: Sequence[tuple[int, int, str]]) -> None:
        fields = [f for f in self.schema.fields if f.type == kind]
        for start, end, value in found:
            group = self._group_before(start, self._sentence_of(start)[0]) or self._group_before(start)
            target = self._field_for_group(fields, kind, group)
            if target is not None and not self.assigned(target.id):
                self._add(target, value, (start, end))

    def _field_for_group(self, fields: list[TemplateField], kind: str, group: str | None) -> TemplateField | None:
        current = self.current
        if current is not None and current.type == kind and group in (None, current.group):
            return current
        group = group or (current.group if current is not None else None)
        by_group = next((f for f in fields if group and f.group == group), None)
        return by_group or (fields[0] if len(fields) == 1 else None)

    # --- dates and amounts: placed by the cue words just before them ---------------------------------------
    def _by_cue_window(self, kind: str, spans: Sequence[tuple[int, int]]) -> None:
        fields = [f for f in self.schema.fields if f.type == kind]
        prev_end, prev_field = 0, None
        for start, end in spans:
            if not fields or self._in_question(start):
                continue
            window = self.text[max(self._sentence_of(start)[0], prev_end, start - 80):start]
            target = _last_cued_field(fields, window)
            if target is None and prev_field is not None and re.fullmatch(r"\s*[-–]\s*", window):
                target = next((f for f in fields if f.after == prev_field.id), None)  # "1. marts – 30. juni"
            if target is None and self.current is not None and self.current.type == kind:
                target = self.current
            if target is None and len(fields) == 1:
                target = fields[0]
            if target is not None and not self.assigned(target.id):
                self._add(target, self.text[start:end], (start, end))
            prev_end, prev_field = end, target

    # --- weak guesses from the conversation -----------------------------------------------------------------
    def _sentence_cues(self, cue_spans: list[tuple[int, int]]) -> None:
        """A sentence mentioning e.g. "styregruppe" or "evaluering" becomes that field's value."""
        for s, e in self.sentences:
            if (s, e) in self.questions or _overlaps(s, e, cue_spans):
                continue
            sentence = self.text[s:e]
            for f in self.schema.fields:
                if self.assigned(f.id) or not f.sentence_cues:
                    continue
                if any(re.search(rf"(?<![\wæøå]){re.escape(c)}", sentence, re.IGNORECASE) for c in f.sentence_cues):
                    value = _capitalise(_clean(sentence))
                    if len(value.split()) >= 3:
                        self._add(f, [value] if f.type == "list" else value, (s, e), explicit=False)
                    break

    def _library_name(self) -> None:
        """A proper name containing "bibliotek" names the library when nothing else did."""
        has_field = any(f.id == "bibliotek" and f.capture == "name" for f in self.schema.fields)
        if not has_field or self.assigned("bibliotek") or self.known.get("bibliotek"):
            return
        for m in NAME_RE.finditer(self.text):
            name = re.sub(rf"\s+{_CONNECT}$", "", m.group(0))
            words = name.split()
            if any("bibliotek" in w.lower() for w in words) and (
                    len(words) > 1 or words[0].lower() not in {"biblioteket", "bibliotekerne", "bibliotek"}):
                self._add(self.schema.field("bibliotek"), name, (m.start(), m.end()), explicit=False)
                return

    # --- the answer to the question just asked --------------------------------------------------------------
    def _answer(self, f: TemplateField) -> Value | None:
        """The message (minus parts used for other fields) as the answer to the current question."""
        text, found_other = self.text, bool(self.results)
        if f.type in {"date", "amount", "email", "phone"}:
            if f.type == "amount" and bare_number(text) is not None:
                return text.strip()
            return None if found_other else text.strip()  # normalise() reports a clear error
        rest = text
        for s, e in sorted(self.consumed, reverse=True):
            rest = rest[:s] + " " + rest[e:]
        rest = rest.strip()
        if found_other and len(re.findall(WORD + "+", rest)) < 3:
            return None
        rest = _FILLER_RE.sub("", rest).strip()
        if not rest:
            return None
        if f.type == "person" or f.capture == "name":
            rest = _CONTACT_LABEL_RE.sub(" ", rest).strip()  # "tlf." / "e-mail:" left from a consumed value
            hit = _name_at(rest, with_title=f.type == "person")
            return hit[0] if hit and not rest[hit[1]:].strip(" .,") else _clean(rest)
        if f.type == "list":
            return [_capitalise(i) for i in split_list(rest)] or None
        value = _clean(rest)
        return _capitalise(value) if f.type == "longtext" else value


def _last_cued_field(fields: list[TemplateField], window: str) -> TemplateField | None:
    """The field whose cue ends last in ``window`` (longest cue on ties)."""
    best: tuple[int, int, TemplateField] | None = None
    for f in fields:
        for cue in f.cues:
            for m in _cue_regex(cue).finditer(window):
                if best is None or (m.end(), len(cue)) > best[:2]:
                    best = (m.end(), len(cue), f)
    return best[2] if best else None


def _capture(f: TemplateField, region: str, cue: str) -> tuple[Value | None, int]:
    """The value after a cue, and how much of ``region`` it used."""
    if f.capture == "name" or (f.capture == "auto" and f.type == "person"):
        hit = _name_at(region, with_title=f.type == "person")
        if hit:
            return hit
        if cue.split()[-1].lower() == "med" or f.type == "person":
            return None, 0
        clause = re.split(r"[,(]", region, maxsplit=1)[0]
        if not clause.split() or len(clause.split()) > 8:
            return None, 0
        return _clean(clause), len(clause)
    value = _clean(region)
    if len(value) < 2:
        return None, 0
    if f.type == "list":
        items = [_capitalise(_clean(i)) for i in split_list(region.lstrip().removeprefix(":")) if _clean(i)]
        return (items or None), len(region)
    return (_capitalise(value) if f.type == "longtext" else value), len(region)
