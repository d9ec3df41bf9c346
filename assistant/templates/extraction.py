"""Routing a user message to template fields, so that no value lands in the wrong field.

The rules (issue 10), in order:

1. A value goes to a field other than the one just asked about only through an explicit **cue** declared for that
   field in the schema YAML ("formålet er …"), placed at the start of a clause ("…, og vi står for lokalerne"),
   or through a **typed** scanner (e-mail, phone, date, amount) whose context words are that field's cues.
2. Everything else in the message is the **answer** to the question just asked (``current``).
3. Question sentences are never values (unless the field collects questions, ``accepts_questions``).

In the earlier chat (:meth:`RuleExtractor.prefill`, ``current=None``) cues count anywhere; those values are only
proposals that the user confirms. Nothing is ever produced that is not literally in the user's text.
Hand-written rather than a library: Danish cue phrases with party placeholders have no off-the-shelf parser.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from assistant.templates.commands import match_field
from assistant.templates.draft import Source
from assistant.templates.names import (
    FILLER_RE,
    UPPER,
    appositive_names,
    compound_ends_in,
    definite_forms,
    lexicon,
    lower_organisation_at,
    name_runs,
    negated,
    not_yet_or_past,
    org_name,
    organisation_noun_in,
    person,
    person_shaped,
    phrase_re,
    project_name_at,
    speaker,
    starts_as_question,
    strip_fillers,
    trim_name,
    without_party,
    words,
    workplace_of_person_at,
)
from assistant.templates.reading import (
    _QUOTED,
    MAX_QUOTED_WORDS,
    OPENING_QUOTES,
    capitalise,
    clean,
    corrected_tail,
    cue_regex,
    is_question_sentence,
    name_at,
    name_error,
    names_party,
    people_mentioned,
    quoted_text,
    sentences,
    several_people_error,
)
from assistant.templates.schema import TemplateField, TemplateSchema
from assistant.templates.validation import (
    EMAIL_RE,
    find_amounts,
    find_bare_amounts,
    find_dates,
    find_phones,
    split_list,
    without_dates,
)
from assistant.templates.values import FieldValue, PersonValue, TextValue, format_value, parse_value

_CLAUSE_BREAK = re.compile(r"[;:,\n]|[.!?]\s|\s[–—-]\s|\s(?:og|men|samt|mens|så)\s", re.IGNORECASE)
MAX_LABEL_WORDS = 3  # «bibliotekets kontaktperson:»; a longer head before a colon is a sentence, not a field's name
_LABEL = re.compile(r"\s*(?P<head>[\wæøåÆØÅ][\wæøåÆØÅ -]{0,40}?)\s*(?P<sep>:|\.(?=\s|$))")
LEAD_WORDS = 2  # a cue for another field may follow at most this many words at the start of its clause
MIN_REST_WORDS = 2  # after values for other fields, a shorter remainder is not an answer ("og", "ja")
TYPED = ("email", "phone", "date", "amount")
FREE_TEXT = ("text", "longtext", "list")
# where a project's name ends in an answer: a clause after a comma («Bøger på kajen, og det er os …», «Makerspace
# Kalundborg, et samarbejde mellem …»), a dash or a sentence end; «Sund krop, sundt sind» stays one name
_NAME_CLAUSE_END = re.compile(r",\s*(?:og|men|som|der|hvor|et|en|det|den|vi|jeg|de|hun|han|altså)\s|\s+[–—-]\s+|"
                              r"(?<!\d)[.!?]\s+", re.IGNORECASE)
_ROLE_CLAUSE = re.compile(r"(?:[^,;]|,(?!\s*og\s)|(?<=-)\s+og\s)+?(?=,\s*og\s|(?<!-)\s+og\s+(?!\s*$)|;|$)",
                          re.IGNORECASE)  # a sentence's clauses joined by «og», «, og», «;» («børne- og» joins words)
# where the clause naming a person begins
_PERSON_CLAUSE = re.compile(r"[,.;:]\s+(?=\S)|\s[–—-]\s|\s(?:og|men)\s", re.IGNORECASE)
_PLACE_PREPOSITIONS = {"på", "i", "til", "fra", "om"}  # «Folk på Biblioteket» is held at a library
_LEAD_IN = re.compile(r"(?:^|(?<=[.!?])\s+|\n)[^.!?\n]*:\s*$")  # the last sentence, when it ends in a colon
_NOT_ANSWERS = {"ja", "jo", "ok", "okay", "jep", "tak", "ja tak", "hej", "hmm", "øh"}


@dataclass
class Found:
    """One value for one field, with the words it came from."""

    field_id: str
    value: FieldValue
    source: Source
    evidence: str


@dataclass
class Routed:
    """What one message gives: values per field, typed values without a field, and parse errors."""

    found: list[Found] = field(default_factory=list)
    unplaced: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    clarify: list[Found] = field(default_factory=list, metadata={"doc": (
        "One text that may belong to either of these fields (the asked one first): the interview asks which.")})
    store_first: bool = field(default=True, metadata={"doc": (
        "With two or more ``clarify`` options: store the first (the answer to the asked question) and offer a move "
        "to the others; False: store nothing until the user chooses (the asked field cannot sensibly hold it).")})

    def get(self, field_id: str) -> Found | None:
        return next((f for f in self.found if f.field_id == field_id), None)


def names_with_word(field: TemplateField, text: str) -> bool:
    """True when a word of ``text`` is one of ``field.name_contains`` in any form («Viborg Bibliotekerne» for the
    library; not «Bibliotekarens Bord»), or a longer name ends with it as a compound («Aarhus Hovedbibliotek»; not
    the projects «Naturbiblioteket», «Strandbiblioteket 2027»)."""
    ws = text.split()
    return any(w.casefold().startswith(tuple(field.name_contains)) and _compound_of(field, w) for w in ws) or (
        len(ws) > 1 and _compound_of(field, ws[-1]))  # the compound ends the name: not «Strandbiblioteket 2027»


def _compound_of(field: TemplateField, word: str) -> bool:
    return any(compound_ends_in(word, c) for c in field.name_contains)


def names_organisation(field: TemplateField, name: str) -> bool:
    """True when ``name`` is the name of an organisation of ``field`` («Tønder Bibliotek»); «Folk på Biblioteket»
    names something held at a library (its ``name_contains`` word comes after a preposition)."""
    words = name.split()
    return names_with_word(field, name) and not any(
        (names_with_word(field, w) or _compound_of(field, w)) and words[i - 1] in _PLACE_PREPOSITIONS
        for i, w in enumerate(words) if i)


class Extractor(Protocol):
    """Turns the user's words into field values; must never invent a value."""

    def extract(self, schema: TemplateSchema, text: str, *, current: TemplateField | None,
                known: Mapping[str, FieldValue]) -> Routed: ...

    def prefill(self, schema: TemplateSchema, texts: Sequence[str],
                known: Mapping[str, FieldValue]) -> list[Found]: ...


def _finite_clause(ws: list[str]) -> bool:
    """«Det står Mette Kofoed for», «Den handler om …»: a pronoun and a verb in the present tense (Danish puts the
    verb second) make a sentence, not a project's name («Det gode liv» has no verb)."""
    return len(ws) >= 3 and ws[0].casefold() in {"det", "den", "der", "de"} and \
        re.fullmatch(r"[a-zæøå]{2,}r", ws[1]) is not None


def _acronym(word: str) -> bool:
    """An organisation's acronym («SVAN», «FOF», «KULT»): three or more capitals; no person is written so."""
    return len(word) >= 3 and word.isalpha() and word.isupper()


def _words(text: str) -> int:
    return len(re.findall(r"[\wæøåÆØÅ@.-]+", text))


def _resolve(cue: str, known: Mapping[str, FieldValue], schema: TemplateSchema) -> list[str]:
    """``cue`` with its ``{field}`` placeholders filled from known text values, each also by the name's head noun
    in the definite form («{partner} står for» -> «Lemvig Gymnasium står for», «gymnasiet står for») and by the
    party's ``pronouns``; empty when a placeholder is unknown."""
    names = re.findall(r"\{(\w+)\}", cue)
    if not names:
        return [cue]
    variants = [cue]
    for name in dict.fromkeys(names):
        value = known.get(name)
        if not isinstance(value, TextValue):
            return []
        group = next((f.group for f in schema.fields if f.id == name), None)
        refs = [value.text, *sorted(definite_forms(value.text)), *schema.pronouns.get(group or "", [])]
        variants = [v.replace("{" + name + "}", ref) for v in variants for ref in refs]
    return variants


_NAME_AHEAD = re.compile(rf"\s*(?:[{OPENING_QUOTES}]|(?:(?:en|et|den|det|de)\s+)?[\w-]*\s*[{UPPER}0-9])")


def _ascii_spellings(name: str) -> set[str]:
    """How a Danish name is written in an e-mail domain: «Søby» -> «soeby», «soby»; «Grønby» -> «groenby», «gronby»."""
    low = name.casefold()
    return {low.translate(str.maketrans({"æ": "ae", "ø": "oe", "å": "aa"})),
            low.translate(str.maketrans({"æ": "e", "ø": "o", "å": "a"}))}


def _vague(f: TemplateField, value: FieldValue) -> bool:
    """True when ``value`` starts with one of ``f.vague_heads`` after an article («et projekt for børn»)."""
    ws = [w.casefold() for w in words(format_value(f, value))]
    ws = ws[1:] if ws and ws[0] in lexicon().indefinite_articles else ws
    return bool(ws) and ws[0] in {h.casefold() for h in f.vague_heads}


def _may_occur(cue: str, lowered: str) -> bool:
    """A cheap test before a cue's patterns run: each of its longer words (not a placeholder) is in the text. A
    schema has hundreds of cues (the role cues alone), and most messages hold few of their words."""
    for word in cue.casefold().split():
        word = word.strip(",")
        if len(word) < 4 or "{" in word:
            continue
        stem = word[:-1] if word.endswith("er") else word  # «kalder» is also read as «vil kalde» (cue_regex)
        if stem not in lowered:
            return False
    return True


def _only_a_date(f: TemplateField, value: FieldValue) -> bool:
    """True when a text or list value found after a hint is a date and at most one more word («vi starter først
    1. april» names a start, not an activity)."""
    text = format_value(f, value)
    rest = without_dates(text)
    return f.type in ("list", "longtext") and rest != " ".join(text.split()) and len(words(rest)) <= 1


def _overlaps(start: int, end: int, spans: Sequence[tuple[int, int]]) -> bool:
    return any(s < end and start < e for s, e in spans)


@dataclass
class _Cue:
    field: TemplateField
    start: int
    end: int
    hint: bool = False
    proper_name: bool = False  # only a capitalised proper name may follow (a hint far into a clause, a question)
    to_end: bool = False  # the value is the rest of the message («nå ja formålet. at nye borgere …»)
    organisation: bool = False  # only an organisation's name may follow (``organisation_hints``)
    tentative: bool = False  # after a plan or the past («vi overvejer at samarbejde med …»; earlier chat only)


class RuleExtractor:
    """The deterministic router described in the module docstring."""

    def extract(self, schema: TemplateSchema, text: str, *, current: TemplateField | None,
                known: Mapping[str, FieldValue]) -> Routed:
        return _Message(schema, text, current, dict(known), prefill=False).run()

    def prefill(self, schema: TemplateSchema, texts: Sequence[str],
                known: Mapping[str, FieldValue]) -> list[Found]:
        """Proposals from earlier chat messages (oldest first); the first value per field wins, and one found after
        a plan or the past («vi overvejede at samarbejde med …») only when no plain statement names it. A person field's
        ``self_cues`` («jeg er selv ansvarlig») take the person who introduced themselves («jeg er Niels Brix,
        bibliotekschef»)."""
        state = dict(known)
        out: list[Found] = []
        weaker: list[Found] = []  # after a plan or the past: proposed only when nothing plain names the field
        me: str | None = None
        for text in texts:
            message = _Message(schema, text, None, dict(state), prefill=True)
            routed = message.run()
            found = [item for item in routed.found if item.field_id not in message.tentative]
            weaker += [item for item in routed.found if item.field_id in message.tentative]
            me = speaker(text) or me
            mine = [Found(f.id, value, "udsagn", m.group(0)) for f in schema.fields if f.self_cues
                    for m in [_first_cue(f.self_cues, text)] if m is not None
                    for who in [me or _signed_after(text, m.end())] if who is not None
                    for value in [parse_value(f, who)[0]] if value is not None]
            found += mine + _own_contact_details(schema, mine, routed.unplaced)
            for item in found:
                if item.field_id not in state:
                    state[item.field_id] = item.value
                    out.append(item)
        for item in weaker:  # «vi overvejede Aarhus Teater …, nu har vi et partnerskab med Bora Bora»
            if item.field_id not in state:
                state[item.field_id] = item.value
                out.append(item)
        return out


def _signed_after(text: str, end: int) -> str | None:
    """The user's name signed right after their self cue, after a dash or a colon («jeg står selv for den – Kirsten
    Holm, Lemvig Bibliotek»), or None."""
    sign = re.match(r"[^.!?\n:–—]{0,30}?[–—:]\s*|\s*-\s+", text[end:])  # «… på projektet: Emil Rask»
    hit = person(text[end + sign.end():]) if sign else None
    return hit[0] if hit and len(hit[0].split(",")[0].split()) >= 2 else None


def _own_contact_details(schema: TemplateSchema, people: Sequence[Found], unplaced: Sequence[str]) -> list[Found]:
    """The e-mail and phone number left unplaced in a message where a self cue named the user («Jeg er selv
    kontaktperson på det, ring på 61 22 33 48 eller skriv til caro@frdbib.dk»): the user's party's."""
    groups = [g for p in people if (g := schema.field(p.field_id).group)]
    out: list[Found] = []
    for raw in unplaced if len(set(groups)) == 1 else []:
        for f in (f for f in schema.fields if f.type in ("email", "phone") and f.group == groups[0]):
            value, _ = parse_value(f, raw)
            if value is not None and all(o.field_id != f.id for o in out):
                out.append(Found(f.id, value, "typet", raw))
                break
    return out


def _first_cue(cues: Sequence[str], text: str) -> re.Match[str] | None:
    """The first self cue in a sentence where the user speaks («… og står for al kommunikation» after «jeg er …»;
    «Bogense Marina står for kommunikationen» is someone else)."""
    spans = sentences(text)
    for cue in cues:
        for m in cue_regex(cue).finditer(text):
            start = max([s for s, _ in spans if s <= m.start()] + [0])
            if re.search(r"\bjeg\b", text[start:m.end()], re.IGNORECASE):
                return m
    return None


@dataclass
class _Message:
    schema: TemplateSchema
    raw: str
    current: TemplateField | None
    known: dict[str, FieldValue]
    prefill: bool
    use_hints: bool = True
    routed: Routed = field(default_factory=Routed)
    consumed: list[tuple[int, int]] = field(default_factory=list)
    typed_bounds: list[int] = field(default_factory=list)  # clause starts of typed values given to a field
    later: list[tuple[int, int, str]] = field(default_factory=list)  # e-mails/phones without a field yet
    spans: dict[str, tuple[int, int]] = field(default_factory=dict)  # field id -> where its value was found
    hinted: set[str] = field(default_factory=set)  # fields whose value came after a hint
    tentative: set[str] = field(default_factory=set)  # fields whose value came after a plan or the past

    def __post_init__(self) -> None:
        keep_questions = self.current is not None and self.current.accepts_questions
        text = self.raw
        self.questions: list[tuple[int, int]] = []
        for s, e in sentences(text):  # mask question sentences (keeps offsets)
            if not keep_questions and is_question_sentence(text[s:e]):
                text = text[:s] + " " * (e - s) + text[e:]
                self.questions.append((s, e))
        self.text = text
        # in the earlier chat a question can still name the partner ("hvordan evaluerer vi samarbejdet med X?")
        self.cue_text = self.raw if self.prefill else text
        self.sentences = sentences(self.cue_text)
        starts = {0} | {m.end() for m in _CLAUSE_BREAK.finditer(self.cue_text)} | {s for s, _ in self.sentences}
        self.clause_starts = sorted(starts)
        self.initial = set(self.known)
        self.lowered = self.cue_text.casefold()

    # --- driver ---------------------------------------------------------------------------------------------
    def run(self) -> Routed:
        self._typed_values()
        self._cued_phrases()
        self._people_before_trailing_cues()
        self._contact_details_of_named_people(final=not self.prefill)
        if self.prefill:
            self._quoted_names()
            self._appositive_projects()
            self._proper_names()
            self._cued_phrases()  # cues with a placeholder the names just found («mellem {bibliotek} og …»)
            self._people_in_role_sentences()
            self._contact_details_of_named_people()  # … and the e-mail of the person such a cue named
        elif self.current is not None:
            if self.current.capture == "name" or self.current.quoted_name:  # naming the parties or the project:
                self._quoted_names()  # a quoted name is the project's, and so is «koncertrækken Musik på Biblioteket»
                self._appositive_projects()
            self._proper_names(only_empty=True)  # «… som vi på Viborg Bibliotekerne har sammen med …»
            self._cued_phrases()  # «mellem {bibliotek} og …» with the library just found
            if not self.routed.get(self.current.id):
                self._answer(self.current)
        return self._hints_never_take_the_answer()

    def _hints_never_take_the_answer(self) -> Routed:
        """A hint splits a message but never takes all of it from the question just asked: without an answer
        left, a hint for a filled field is ignored (the words are the answer), and one for an empty field makes
        the interview ask which of the two fields is meant (``Routed.clarify``)."""
        cur = self.current
        hinted = [f for f in self.routed.found if f.field_id in self.hinted]
        if (self.prefill or cur is None or not hinted or self.routed.get(cur.id) is not None
                or cur.type not in FREE_TEXT or cur.capture == "name"):
            return self.routed
        redo = _Message(self.schema, self.raw, cur, {k: v for k, v in self.known.items() if k in self.initial},
                        prefill=False, use_hints=False).run()
        answer = redo.get(cur.id)
        open_fields = [f for f in hinted if f.field_id not in self.initial]
        if answer is not None and open_fields:
            redo.found.remove(answer)
            redo.clarify = [answer, *open_fields]
        return redo

    def _own_party_dropped(self, f: TemplateField, value: FieldValue) -> FieldValue:
        """A party's person without the party's own name in the title («Henrik Dam, afdelingsleder hos FOF» as
        FOF's contact); a field that takes the organisation as its title keeps it."""
        party = self.known.get(f.group or "")
        if isinstance(value, PersonValue) and value.title and isinstance(party, TextValue) and \
                not f.affiliation_as_title:
            return value.model_copy(update={"title": without_party(value.title, party.text)})
        return value

    def _add(self, f: TemplateField, value: FieldValue, span: tuple[int, int], source: Source) -> None:
        value = self._own_party_dropped(f, value)
        self.routed.found.append(Found(f.id, value, source, self.raw[span[0]:span[1]].strip()))
        self.consumed.append(span)
        self.spans[f.id] = span
        self.known.setdefault(f.id, value)

    def _sentence_end(self, pos: int) -> int:
        return next((e for s, e in self.sentences if s <= pos < e), len(self.cue_text))

    def _clause_start(self, pos: int, since: int = 0) -> int:
        return max([s for s in self.clause_starts if s <= pos] + [since])

    def _leading(self, pos: int, since: int = 0) -> bool:
        """True when ``pos`` is at most LEAD_WORDS words after the start of its clause (or ``since``)."""
        return _words(self.cue_text[self._clause_start(pos, since):pos]) <= LEAD_WORDS

    def _allowed(self, f: TemplateField, pos: int, since: int = 0) -> bool:
        if self.prefill or (self.current is not None and f.id == self.current.id):
            return True
        return self._leading(pos, since)

    # --- "formålet er …": the phrase after a cue ------------------------------------------------------------
    def _cue_kind(self, f: TemplateField, start: int, hint: bool) -> _Cue | None:
        """Whether a cue at ``start`` counts, and how: the asked field's own cue only at the very start of the
        message (elsewhere it does not cut the answer), another field's at the start of a clause, a hint for an
        empty name field anywhere when a proper name follows; in the earlier chat anywhere."""
        in_question = _overlaps(start, start + 1, self.questions)
        named = hint and f.quoted_name  # a project's name after a hint is a proper name («læseklubben Bogorme»)
        if self.prefill:
            return _Cue(f, start, 0, hint, proper_name=in_question or named) \
                if not in_question or f.capture == "name" else None
        if self.current is not None and f.id == self.current.id:
            if hint and f.quoted_name:
                return None  # the asked project's name is read as the answer («det hedder Bøger på kajen, og …»)
            if _words(self.cue_text[:start]) <= LEAD_WORDS:
                return _Cue(f, start, 0, hint, proper_name=named)
            # a project's own naming cue later in the answer names it («…, vi kalder det Naturbiblioteket»)
            return _Cue(f, start, 0, hint, proper_name=True) if f.quoted_name else None
        if self._leading(start):  # a filled name only yields to a proper name («biblioteket er byens scene»), and a
            # hint gives a name only when a proper name follows («… om samarbejdet med skolen fungerer» names no one)
            return _Cue(f, start, 0, hint, proper_name=named or (f.capture == "name" and (f.id in self.known or hint)))
        if hint and (f.capture == "name" or f.quoted_name) and f.id not in self.known:
            return _Cue(f, start, 0, hint, proper_name=True)
        return None

    def _cue_matches(self) -> list[_Cue]:
        raw: list[_Cue] = []
        for f in self.schema.fields:
            if f.type in TYPED:
                continue  # their cues are context words before a typed value
            hints = f.hints if self.use_hints else []
            organisations = f.organisation_hints if self.use_hints else []
            for phrases, hint, organisation in ((f.cues, False, False), (hints, True, False),
                                                (organisations, True, True)):
                for cue in phrases:
                    if not _may_occur(cue, self.lowered):
                        continue
                    for m in (m for resolved in _resolve(cue, self.known, self.schema)
                              for m in cue_regex(resolved, tenses=not hint).finditer(self.cue_text)):
                        before = self.cue_text[self._clause_start(m.start()):m.start()]
                        if negated(before, self.cue_text[m.end():]):
                            continue  # "partneren er ikke …"
                        tentative = not_yet_or_past(before)
                        if tentative and not self.prefill:
                            continue  # "vi har tidligere prøvet at samarbejde med …" states no fact
                        kind = self._cue_kind(f, m.start(), hint)
                        rest = self.cue_text[m.end():]
                        if organisation and not (re.match(rf"\s*[{UPPER}]", rest) or lower_organisation_at(rest)):
                            continue  # «med et samarbejde mellem …»: an organisation's name right after it, or none
                        if kind is not None and kind.proper_name and hint and not _NAME_AHEAD.match(
                                self.cue_text, m.end()) and not self._lower_name_at(f, m.end()):
                            continue  # «… og vi laver plakater»: a hint without a name after it cuts no other value
                        if kind is not None:
                            kind.end, kind.organisation, kind.tentative = m.end(), organisation, tentative
                            raw.append(kind)
        raw += self._label_cues()
        raw.sort(key=lambda m: (-(m.end - m.start), m.start))  # overlapping cues: the longest wins
        kept: list[_Cue] = []
        for m in raw:
            if not _overlaps(m.start, m.end, [(k.start, k.end) for k in kept]):
                kept.append(m)
        return sorted(kept, key=lambda m: m.start)

    def _lower_name_at(self, f: TemplateField, pos: int) -> bool:
        """A name written in lower case right after ``pos`` that ``f`` takes: an organisation («struer
        ungdomsskole») for a name field, a person («: henrik dahl, it-bibliotekar») for a person field."""
        rest = self.cue_text[pos:]
        if f.capture == "name":
            return lower_organisation_at(rest) is not None
        return f.type == "person" and person(rest.lstrip(" :")) is not None

    def _label_cues(self) -> list[_Cue]:
        """A field's own name at the start of a clause, before a colon, is a cue for that field («formål: …», «ok
        aktiviteterne: …»); at the start of the message a name alone in its sentence is one too, and its value is
        the rest of the message («nå ja formålet. at nye borgere …»). The names are the schema's labels, aliases
        and ids (exact, with or without the definite ending), so no field needs a cue list for this; not for typed
        fields (their cue words stand before the value) and not in the earlier chat."""
        if self.prefill:
            return []
        cues: list[_Cue] = []
        for start in self.clause_starts:
            m = _LABEL.match(self.cue_text, start)
            if m is None or (m.group("sep") == "." and m.start() != len(self.cue_text) - len(self.cue_text.lstrip())):
                continue
            head = strip_fillers(m.group("head"))
            f = match_field(head, self.schema, cutoff=1.0) if 0 < len(head.split()) <= MAX_LABEL_WORDS else None
            if f is not None and f.type not in TYPED and self._leading(m.start("head")):
                cues.append(_Cue(f, m.start("head"), m.end(), to_end=m.group("sep") == "."))
        return cues

    def _cued_phrases(self) -> None:
        for _ in range(2):  # a second pass resolves "{partner}" placeholders found in the first
            matches = [m for m in self._cue_matches() if not any(s < m.end <= e for s, e in self.consumed)]
            for i, m in enumerate(matches):
                if self.routed.get(m.field.id):
                    continue
                end = len(self.cue_text) if m.to_end else self._sentence_end(m.start)
                stop = min([end] + [n.start for n in matches[i + 1:] if n.start >= m.end]
                           + [b for b in self.typed_bounds if b > m.end])
                value, used = self._capture(m.field, self.cue_text[m.end:stop], proper_name=m.proper_name)
                if value is not None and m.hint and (_vague(m.field, value) or _only_a_date(m.field, value)):
                    continue
                if value is not None and m.organisation and not any(
                        organisation_noun_in(w) or _acronym(w) for w in words(format_value(m.field, value))):
                    continue  # «møde med Sofie Hald» names no organisation; «møde med SVAN» does
                if value is not None:
                    source: Source = "svar" if self.current is not None and m.field.id == self.current.id else "udsagn"
                    self._add(m.field, value, (m.start, m.end + used), source)
                    if m.hint:
                        self.hinted.add(m.field.id)
                    if m.tentative:
                        self.tentative.add(m.field.id)

    def _capture(self, f: TemplateField, region: str, *, proper_name: bool = False) -> tuple[FieldValue | None, int]:
        """The value after a cue (cut at the field's ``until`` words), and how much of ``region`` it used; a
        project's name written with a capital keeps its «og» («vi kalder det Læs og sejl og starter …»)."""
        if f.quoted_name and f.capture != "name":
            hit = name_at(region, project=True)
            if hit:
                value, _ = parse_value(f, hit[0])
                return value, hit[1]
            if proper_name:
                return None, 0
        for word in f.until:
            m = cue_regex(word).search(region)
            if m and region[:m.start()].strip():
                region = region[:m.start()]
        if f.type == "person":
            named = region.lstrip(" :")  # «jeg er selv kontaktperson: henrik dahl, it-bibliotekar»
            hit = person(named, affiliation=f.affiliation_as_title)
            if hit is None:
                return None, 0
            value, _ = parse_value(f, hit[0])
            return value, len(region) - len(named) + hit[1]
        if f.capture == "name" or proper_name:
            workplace = workplace_of_person_at(region) if f.group else None
            if workplace:  # «snakket med sognepræst Karen Munk fra Skjern Kirke»: the party is the church
                value, _ = parse_value(f, workplace)
                return value, region.find(workplace) + len(workplace)
            hit = name_at(region)
            if hit:
                value, _ = parse_value(f, hit[0])
                return value, hit[1]
            lower = lower_organisation_at(region)  # «samarbejde med struer ungdomsskole»
            if lower:
                value, _ = parse_value(f, lower)
                return value, region.find(lower) + len(lower)
            if proper_name:
                return None, 0
            first = re.split(r"[,(]", region, maxsplit=1)[0]
            name = org_name(clean(first))
            if name is None:
                return None, 0
            value, _ = parse_value(f, name)
            return value, len(first)
        text = clean(region)
        if len(text) < 2:
            return None, 0
        if f.type == "list":
            if _QUOTED.search(region):  # «vi skal lave 'Naturdetektiverne' sammen med …», «om skrivekonkurrencen
                return None, 0  # 'Ord i Vestsjælland'» name the project, not an activity
            items = [capitalise(clean(i)) for i in split_list(region.lstrip().removeprefix(":")) if clean(i)]
            items = [i for i in items if not all(w.casefold() in lexicon().indefinite_articles for w in i.split())]
            if not items:
                return None, 0  # «vi skal lave et | samarbejde med …»: an article alone is no activity
            value, _ = parse_value(f, items)
            return value, len(region)
        value, _ = parse_value(f, capitalise(text) if f.type == "longtext" else text)
        return value, len(region)

    # --- «Hos os bliver bibliotekar Anders Bruun kontaktperson»: a role, a person and a party in one clause ------
    def _people_in_role_sentences(self) -> None:
        """A sentence in the earlier chat that names a role («kontaktperson») gives it to each person of a clause
        that also names the role and exactly one party by its place or owner words («hos os», «fra Vestbo»,
        «foreningens»). A clause without the role counts when the next one says it of the person by pronoun
        («formand Grethe Bak fra DSF Thy, og hun bliver foreningens kontaktperson»), and so does every clause of a
        sentence that gives the role to people of both parties («Kontaktpersoner bliver Marianne Lykke fra os og
        Jonas Brix fra Vestbo»). Word order does not matter here, unlike for cues."""
        roles = [f for f in self.schema.fields if f.type == "person" and f.group and f.role_nouns]
        if not roles:
            return
        nouns = phrase_re(tuple(sorted({n for f in roles for n in f.role_nouns}, key=len, reverse=True)))
        for start, end in self.sentences:
            if re.search(rf"(?<![\wæøå]){nouns}", self.cue_text[start:end], re.IGNORECASE) is None:
                continue
            clauses = [(start + m.start(), start + m.end()) for m in _ROLE_CLAUSE.finditer(self.cue_text[start:end])]
            read = [self._role_clause(a, b, nouns) for a, b in clauses]
            both = len({group for _, _, group, _ in read if group}) >= 2
            for i, (who, has_role, group, span) in enumerate(read):
                if who is None or group is None:
                    continue
                follow = read[i + 1] if i + 1 < len(read) else None
                by_pronoun = follow is not None and follow[0] is None and follow[1] and re.match(
                    r"\s*(?:og\s+)?(?:hun|han)\b", self.cue_text[follow[3][0]:follow[3][1]], re.IGNORECASE)
                if by_pronoun and follow[2] not in (None, group):
                    continue
                if not (has_role or by_pronoun or both):
                    continue
                target = next((f for f in roles if f.group == group), None)
                if target is None or self.routed.get(target.id) or target.id in self.known:
                    continue
                value, _ = parse_value(target, who)
                if value is not None:
                    self._add(target, value, span, "udsagn")

    def _role_clause(self, start: int, end: int, nouns: str) -> tuple[str | None, bool, str | None,
                                                                            tuple[int, int]]:
        """One clause of a role sentence: its person («Name, title») if one, whether it names the role, the one
        party it places someone at by place or owner words, else by an e-mail domain that spells the party's name
        (None for none or two), and its span."""
        text = self.cue_text[start:end]
        hit = person(text)
        who = hit[0] if hit and person_shaped(hit[0].split(",")[0]) else None
        if who is not None and _overlaps(start, end, [sp for fid, sp in self.spans.items()
                                                      if self.schema.field(fid).type == "person"]):
            who = None  # already someone's
        has_role = re.search(rf"(?<![\wæøå]){nouns}", text, re.IGNORECASE) is not None
        groups = {group for group in self.schema.party_places if self._names_party_place(group, text)}
        if not groups:  # «min kontakt er Rasmus Tønnesen, afdelingsleder, rt@faxeungdomsskole.dk»: the address says
            groups = {g for m in EMAIL_RE.finditer(text) if (g := self._party_of_domain(m.group(0)))}
        return who, has_role, (groups.pop() if len(groups) == 1 else None), (start, end)

    def _names_party_place(self, group: str, text: str) -> bool:
        """True when ``text`` places someone at ``group``'s party: its places or owners, placeholders filled."""
        words_ = sorted({w for p in self.schema.party_places.get(group, []) + self.schema.party_owners.get(group, [])
                         for w in _resolve(p, self.known, self.schema)}, key=len, reverse=True)
        return bool(words_) and re.search(rf"(?<![\wæøå]){phrase_re(tuple(words_))}", text, re.IGNORECASE) is not None

    # --- «Ane Poulsen, uddannelsesleder, der har ansvaret»: a person before a field's trailing cue ------------
    def _people_before_trailing_cues(self) -> None:
        for f in self.schema.fields:
            if f.type != "person" or not f.trailing_cues or self.routed.get(f.id) or f.id in self.known:
                continue
            cues = [cue for cue in f.trailing_cues if _may_occur(cue, self.lowered)]
            for m in (m for cue in cues for m in cue_regex(cue).finditer(self.cue_text)):
                if _overlaps(m.start(), m.end(), self.consumed):
                    continue
                since = max([s for s, _ in self.sentences if s <= m.start()] + [0])
                runs = [r for r in name_runs(self.cue_text[since:m.start()]) if len(r.group(0).split()) >= 2]
                if not runs:
                    continue
                run_start = since + runs[-1].start()  # the person named last before the cue, from its clause on
                breaks = [b.end() for b in _PERSON_CLAUSE.finditer(self.cue_text, since, run_start)]
                start = max([since, *breaks])
                if self._of_another_party(f, self.cue_text[start:run_start], self.cue_text[m.end():]):
                    continue  # «deres dansklærer Sofie Hald bliver kontaktperson på gymnasiet» is the partner's
                target = f
                placed = self._placed_at_another_party(f, self.cue_text[start:m.start()])
                if placed is not None:  # «Sara Kjeldsen derovre, hun … bliver kontaktperson»: the same role there
                    other = self._same_role(f, placed)
                    if other is None or self.routed.get(other.id) or other.id in self.known:
                        continue
                    target = other
                hit = person(self.cue_text[start:m.start()], affiliation=target.affiliation_as_title)
                if hit is not None:
                    value, _ = parse_value(target, hit[0])
                    if value is not None:
                        self._add(target, value, (start, m.end()), "udsagn")
                        break

    def _of_another_party(self, f: TemplateField, before: str, after: str) -> bool:
        """True when a person before a trailing cue belongs to another party than ``f``'s: «deres» before them, or
        the other party named right after the cue («… bliver kontaktperson på gymnasiet / hos dem»)."""
        others = {o.group for o in self.schema.fields if o.group and o.group != f.group}
        if not f.group or not others:
            return False
        named = re.sub(rf"^\s*{phrase_re(tuple(lexicon().workplace_prepositions))}\s+", "", after)
        owners = [o for group in others for o in self.schema.party_owners.get(group, []) if "{" not in o]
        return bool(owners and re.search(rf"(?<![\wæøå]){phrase_re(tuple(owners))}", before, re.IGNORECASE)) or any(
            names_party(self.schema, named, group, self.known) or any(
                re.match(rf"\s*{re.escape(pronoun)}\b", named) for pronoun in self.schema.pronouns.get(group, []))
            for group in others)

    def _placed_at_another_party(self, f: TemplateField, between: str) -> str | None:
        """The other party whose plain place words («derovre», «hos dem», «hos foreningen») stand in the clause of
        the person before ``f``'s trailing cue, or None."""
        for group, places in self.schema.party_places.items():
            plain = tuple(p for p in places if "{" not in p)
            if f.group and group != f.group and plain and \
                    re.search(rf"(?<![\wæøå]){phrase_re(plain)}", between, re.IGNORECASE):
                return group
        return None

    def _same_role(self, f: TemplateField, group: str) -> TemplateField | None:
        """The person field of ``group`` with ``f``'s role (the partner's contact for the library's contact)."""
        return next((o for o in self.schema.fields if o.group == group and o.type == "person" and o.role_nouns
                     and o.role_nouns == f.role_nouns), None)

    # --- e-mail, phone, date, amount ----------------------------------------------------------------------
    def _typed_values(self) -> None:
        spans: list[tuple[int, int, str]] = []
        spans += [(m.start(), m.end(), "email") for m in EMAIL_RE.finditer(self.text)]
        spans += [(s, e, "phone") for s, e, _ in find_phones(self.text)]
        dates = {(s, e): d for s, e, d in find_dates(self.text)}  # a range's start takes its end's year
        spans += [(s, e, "date") for s, e in dates]
        spans += [(s, e, "amount") for s, e, _ in find_amounts(self.text)]
        prev_end, prev_field = 0, None
        for start, end, kind in sorted(spans):
            if _overlaps(start, end, self.consumed) or not self.text[start:end].strip():
                continue
            target, cue_start = self._typed_target(kind, start, prev_end, prev_field)
            prev_end, prev_field = end, target
            if target is None:
                if kind in {"email", "phone"}:
                    self.later.append((start, end, kind))  # may follow a person named by a cue (next pass)
                elif self.current is None or self.current.type in TYPED or self.current.type == "person":
                    self.routed.unplaced.append(self.raw[start:end])
                continue
            if self.routed.get(target.id):
                continue
            written = dates.get((start, end)) if kind == "date" else None
            value, errors = parse_value(target, written.isoformat() if written else self.text[start:end])
            if value is None:
                if errors and self.current is not None and target.id == self.current.id:
                    self.routed.errors[target.id] = errors[0]
                continue
            is_answer = self.current is not None and target.id == self.current.id
            clause = max(s for s in self.clause_starts if s <= cue_start)
            lead = clause if cue_start < start and self._leading(cue_start) else cue_start  # "vi starter …"
            self._add(target, value, (lead, end), "svar" if is_answer else "typet")
            self.typed_bounds.append(clause)

    def _typed_target(self, kind: str, start: int, prev_end: int,
                      prev_field: TemplateField | None) -> tuple[TemplateField | None, int]:
        fields = [f for f in self.schema.fields if f.type == kind]
        if not fields:
            return None, start
        sentence_start = max([s for s, _ in self.sentences if s <= start] + [0])
        since = max(sentence_start, prev_end)
        window = self.text[since:start]
        best: tuple[int, int, TemplateField, int] | None = None  # cue end, cue length, field, cue start
        cued: set[str] = set()  # fields with a cue in the window
        for f in fields:
            for cue in f.cues:
                for m in cue_regex(cue).finditer(window):
                    cued.add(f.id)
                    key = (m.end(), len(cue), f, since + m.start())
                    if best is None or key[:2] > best[:2]:
                        best = key
        current = self.current
        if current is not None and current.id in cued and not self.routed.get(current.id):
            return current, start  # «vi starter til september, 1.9.2027» asked for the start: the asked field's cue
        # a cue of two or more words or a verb right before the value («det skal løbe til og med 31. december
        # 2028», «vi kunne godt tænke os at starte 1/3-27») names its field wherever it stands in the clause; a
        # preposition («fra», «til») or a cue further away only at the start of its clause («… med tre måneders
        # varsel fra 1. januar 2028» is no start date)
        cue_words = window[best[3] - since:best[0]].split() if best is not None else []
        adjacent = best is not None and (len(cue_words) >= 2 or (
            cue_words and cue_words[0].casefold() not in lexicon().prepositions)) and re.fullmatch(
            r"\s*(?:(?:d\.|den|ca\.)\s*)?", window[best[0]:], re.IGNORECASE) is not None
        if best is not None and (adjacent or self._allowed(best[2], best[3],
                                                           since=prev_end if prev_end > sentence_start else 0)):
            return best[2], best[3]
        if prev_field is not None and (re.fullmatch(r"\s*[-–]\s*", window) or re.search(
                r"\btil(?:\s+og\s+med)?\s*$", window, re.IGNORECASE)):  # «1. marts – 30. juni», «fra 10. august
            # og så i første omgang til 30. juni»: the field after the one the sentence's previous date went to
            follower = next((f for f in fields if f.after == prev_field.id), None)
            if follower is not None:
                return follower, start
        if kind == "email":  # «ah@fjordbymuseum.dk»: the party whose name the address's domain spells
            address = EMAIL_RE.match(self.text, start)
            owner = self._party_of_domain(address.group(0)) if address else None
            by_domain = next((f for f in fields if owner and f.group == owner and not self.routed.get(f.id)), None)
            if by_domain is not None:
                return by_domain, start
        if kind in {"email", "phone"}:
            group = self._person_named_in(window) or (  # «mortens mail er …», «sara har …»
                prev_field.group if prev_field is not None and since == prev_end else None)  # «… og hans mobil …»
            by_name = next((f for f in fields if group and f.group == group and not self.routed.get(f.id)), None)
            if by_name is not None:
                return by_name, start
        if current is not None and current.type == kind and not self.routed.get(current.id):
            return current, start
        if kind == "email":  # not asked for an e-mail: the party of the person whose name the address spells
            address = EMAIL_RE.match(self.text, start)
            owner = self._party_of_local_part(address.group(0)) if address else None
            by_person = next((f for f in fields if owner and f.group == owner and not self.routed.get(f.id)), None)
            if by_person is not None:
                return by_person, start
        if kind in {"email", "phone"}:
            group = self._group_in_focus()
            by_group = next((f for f in fields if group and f.group == group), None)
            if by_group is not None:
                return by_group, start
        if kind in {"email", "phone"} and len(fields) == 1:  # an amount without a cue stays in the answer
            return fields[0], start
        return None, start

    def _party_of_domain(self, address: str) -> str | None:
        """The party (``group``) whose name the e-mail domain spells as two or more of its words run together
        («frivilligcenterhedeby.dk»: Frivilligcenter Hedeby, «fjordbymuseum.dk»: Fjordby Museum rather than Fjordby
        Bibliotek) or as the whole of a one-word name («svan.dk»: SVAN); a town alone in a longer name («faxe.dk»
        for Faxe Bibliotek) names no party. None on a tie or no match."""
        label = address.rsplit("@", 1)[-1].split(".")[0].casefold()
        scores: dict[str, int] = {}
        for f in self.schema.fields:
            value = self.known.get(f.id)
            if f.capture != "name" or not f.group or not isinstance(value, TextValue):
                continue
            for spelt in _ascii_spellings(value.text):
                parts = [p for p in re.findall(r"[a-z0-9]+", spelt) if len(p) >= 2]  # not the «a», «s» of «A/S»
                runs = ["".join(parts[i:j]) for i in range(len(parts)) for j in range(i + 2, len(parts) + 1)]
                runs += parts if len(parts) == 1 else []  # a one-word name spelt whole («lise@svan.dk»: SVAN)
                hits = [len(run) for run in runs if run in label]
                scores[f.group] = max([scores.get(f.group, 0), *hits])
        ranked = sorted(scores.items(), key=lambda kv: -kv[1])
        if not ranked or not ranked[0][1] or (len(ranked) > 1 and ranked[1][1] == ranked[0][1]):
            return None
        return ranked[0][0]

    def _party_of_local_part(self, address: str) -> str | None:
        """The party of the one person in the draft whose name the address's local part spells the way public
        e-mail addresses are made: first name, «first.last», or the first letters of first and last name
        («jve@lemvig.dk»: Jeppe Vestergaard, «bkv@…»: Birthe Kvist). None for no one or people of two parties."""
        local = address.split("@", 1)[0].casefold()
        groups = set()
        for f in self.schema.fields:
            value = self.known.get(f.id)
            if f.type != "person" or not f.group or not isinstance(value, PersonValue):
                continue
            parts = [p for p in re.findall(r"[\wæøå]+", value.name.casefold()) if len(p) >= 2]
            if len(parts) < 2:
                continue
            first, last = parts[0], parts[-1]
            for a in _ascii_spellings(first):
                for b in _ascii_spellings(last):
                    made = {a, f"{a}.{b}", a + b} | {a[:i] + b[:j] for i in range(1, 4) for j in range(1, 4)}
                    if local in {m for m in made if len(m) >= 2}:
                        groups.add(f.group)
        return groups.pop() if len(groups) == 1 else None

    def _person_named_in(self, window: str) -> str | None:
        """The party (``group``) of a person already in the draft whose first name ``window`` mentions («mortens
        mail er», «sara har»); None when no one or people of two parties are named."""
        groups = {f.group for f, _ in people_mentioned(self.schema, self.known, window) if f.group}
        return groups.pop() if len(groups) == 1 else None

    def _contact_details_of_named_people(self, *, final: bool = True) -> None:
        """E-mails and phone numbers written after a person that a cue named ("jeg hedder …, tlf …"): they go to
        that person's party (``group``); the nearest person before them in the same sentence decides. Not
        ``final``: what finds no one yet waits for the earlier chat's second pass («Min kontaktperson i
        kunstforeningen er …» once the partner is known)."""
        waiting = []
        people_spans = {span for fid, span in self.spans.items() if self.schema.field(fid).type == "person"}
        taken = [span for span in self.consumed if span not in people_spans]  # «Lise Brodersen (lise@svan.dk) …
        # og hun er vores kontakt derovre»: the person's span holds their own e-mail
        for start, end, kind in self.later:
            sentence = max([s for s, _ in self.sentences if s <= start] + [0])
            people = [(span[0], self.schema.field(fid).group) for fid, span in self.spans.items()
                      if self.schema.field(fid).type == "person" and sentence <= span[0] <= start]
            group = max(people, key=lambda p: p[0])[1] if people else None
            target = next((f for f in self.schema.fields if f.type == kind and group and f.group == group), None)
            if target is None or self.routed.get(target.id) or _overlaps(start, end, taken):
                if not final:
                    waiting.append((start, end, kind))
                elif self.current is None or self.current.type in TYPED or self.current.type == "person":
                    self.routed.unplaced.append(self.raw[start:end])
                continue
            value, _ = parse_value(target, self.text[start:end])
            if value is not None:
                self._add(target, value, (start, end), "typet")
        self.later = waiting

    def _group_in_focus(self) -> str | None:
        """The party a person just named belongs to (the asked person field, or one found in this message)."""
        if self.current is not None and self.current.type == "person" and self.current.group:
            return self.current.group
        for item in self.routed.found:
            f = self.schema.field(item.field_id)
            if f.type == "person" and f.group:
                return f.group
        return None

    # --- quoted names in the earlier chat (fields with ``quoted_name``) ---------------------------------------
    def _quoted_names(self) -> None:
        for f in self.schema.fields:
            if not f.quoted_name or self.routed.get(f.id) or f.id in self.known:
                continue
            for m in _QUOTED.finditer(self.raw):
                name = quoted_text(m)
                if _overlaps(m.start(), m.end(), self.consumed) or not 1 <= len(name.split()) <= MAX_QUOTED_WORDS:
                    continue
                value, _ = parse_value(f, name)
                if value is not None:
                    self._add(f, value, (m.start(), m.end()), "udsagn")
                    break

    def _appositive_projects(self) -> None:
        """«læseklubben Bogorme», «foredragsrækken Tro og tvivl»: a name after a common noun in its definite form
        names the project (an empty ``quoted_name`` field), unless it is an organisation's («biblioteket Aarhus
        Hovedbibliotek»: a ``name_contains`` word)."""
        for f in self.schema.fields:
            if not f.quoted_name or self.routed.get(f.id) or f.id in self.known:
                continue
            for m in appositive_names(self.text):
                name = project_name_at(self.text[m.start("name"):])
                end = m.start("name") + len(name or "")
                if not name or _overlaps(m.start(), end, self.consumed) or person_shaped(name) or \
                        name.casefold() in lexicon().first_names or \
                        any(names_organisation(o, name) for o in self.schema.fields if o.name_contains):
                    continue  # «deres dansklærer Sofie Hald», «boghandleren Jan» are people, «biblioteket Aarhus
                    # Hovedbibliotek» a party
                value, _ = parse_value(f, name)
                if value is not None:
                    source: Source = "svar" if self.current is not None and f.id == self.current.id else "udsagn"
                    self._add(f, value, (m.start(), end), source)
                    break

    # --- proper names in the earlier chat (fields with ``name_contains``) ----------------------------------
    def _inside_the_project_answer(self, name: str) -> bool:
        """True when ``name`` is only part of a reply that answers the project question as one phrase: the reply is
        the project's name («Pop-up bibliotek i forsamlingshusene»); a reply that is nothing but a library's name
        («Glamsbjerg Bibliotek») still names the library."""
        cur = self.current
        reply = clean(self.text).strip(" .!")
        return cur is not None and bool(cur.quoted_name) and cur.capture != "name" and not self.consumed and \
            name != reply and name in reply and _NAME_CLAUSE_END.search(reply) is None and \
            len(reply.split()) <= MAX_QUOTED_WORDS

    def _proper_names(self, only_empty: bool = False) -> None:
        """A proper name with one of a field's ``name_contains`` words («Viborg Bibliotekerne») for that field: in
        the earlier chat always (a proposal), in the interview only while the field is empty and not the one asked
        (its own answer is read as such)."""
        for f in self.schema.fields:
            if not f.name_contains or self.routed.get(f.id) or f.id in self.known:
                continue
            if only_empty and self.current is not None and f.id == self.current.id:
                continue
            # a person's workplace stays readable («Jeg er Mette Bang fra Kolding Bibliotekerne, og jeg står for …»),
            # and so does a name inside loose text after a hint («… om gaming for unge her på Skive Bibliotek»)
            loose = {span for fid, span in self.spans.items() if self.schema.field(fid).type == "person" or (
                fid in self.hinted and self.schema.field(fid).type in ("list", "longtext"))}
            taken = [span for span in self.consumed if span not in loose]
            for m in name_runs(self.text):  # «Vi på Rebild Bibliotekerne» -> «Rebild Bibliotekerne»
                if _overlaps(m.start(), m.end(), taken):
                    continue
                name = trim_name(m.group(0))
                # two names joined by «og» («Randers Bibliotek og Sundhedsplejen»): the one with the word; a
                # hyphen before «og» joins one name («Fiskeri- og Søfartsmuseet»)
                parts = [p for p in re.split(r"(?<!-)\s+og\s+", name) if names_with_word(f, p)]
                offset = m.start() + (name.find(parts[0]) if parts else 0)
                name = trim_name(parts[0]) if parts else name
                words = name.split()
                hit = names_organisation(f, name)
                generic = len(words) == 1 and words[0].lower().rstrip("s") in {c.lower() for c in f.name_contains}
                if only_empty and self._inside_the_project_answer(name):
                    break  # «Pop-up bibliotek i forsamlingshusene» answers the project question as a whole
                if hit and not generic and len(words) > 1:
                    value, _ = parse_value(f, name)
                    if value is not None:
                        self._add(f, value, (offset, offset + len(name)), "udsagn")
                        break
            else:  # no capitalised name: one written in lower case («det er os på hurup bibliotek»)
                for w in re.finditer(r"(?<![\wæøåÆØÅ.@-])[\wæøåÆØÅ]", self.text):
                    lower = lower_organisation_at(self.text[w.start():])
                    end = w.start() + len(lower or "")
                    if lower and names_organisation(f, lower.casefold()) and \
                            not _overlaps(w.start(), end, self.consumed):
                        value, _ = parse_value(f, lower)
                        if value is not None:
                            self._add(f, value, (w.start(), end), "udsagn")
                        break

    # --- the answer to the question just asked --------------------------------------------------------------
    def _answer(self, f: TemplateField) -> None:
        rest = self.text
        for s, e in sorted(self.consumed, reverse=True):
            rest = rest[:s] + " " + rest[e:]
        rest = re.sub(r"\(\s*[,;]?\s*\)", " ", rest)  # "(lb@kk.dk)" taken for the e-mail field
        rest = re.sub(r"[^\S\n]+", " ", rest)  # one item per line stays a list
        rest = re.sub(r" ?\n[\s]*", "\n", rest).strip()
        if not rest or not re.search(r"[\wæøå]", rest):
            return
        rest = corrected_tail(rest)  # «Hanne Skovgaard - nej vent, det bliver Mikkel Due»: the corrected value
        if self.routed.found:  # a lead-in to the value taken elsewhere is no answer («før jeg glemmer det: budgettet
            rest = _LEAD_IN.sub("", rest).strip()  # er …», «…. og så har jeg lige talt med Marianne: målet er …»)
        if self.routed.found and _words(clean(rest)) < MIN_REST_WORDS and not (f.type == "person" and person(rest)):
            return  # a word left beside a value taken elsewhere is no answer, unless it is a first name («Bjarne – …»)
        if f.type == "person" or f.capture == "name":
            self._name_answer(f, rest)
            return
        prev = None
        while prev != rest:  # "det er …" before an answer
            prev, rest = rest, FILLER_RE.sub("", rest).strip()
        if clean(rest).casefold() in _NOT_ANSWERS:
            return
        if f.type in TYPED:
            if not self.routed.found:
                value, errors = parse_value(f, rest)  # what the scanners cannot place: «uge 2 i 2027, d. 11. januar»
                bare = find_bare_amounts(rest) if f.type == "amount" and value is None else []
                if len(bare) == 1:  # «Vi har fået 15 tusind fra integrationspuljen»
                    value, errors = parse_value(f, f"{bare[0]} kr.")
                if value is not None:
                    self._add_answer(f, value, rest)
                    return
                self.routed.errors[f.id] = errors[0] if errors else "Jeg kunne ikke bruge svaret til feltet."
            return
        if f.type == "list":
            items = [capitalise(i) for i in split_list(rest)]
            if f.accepts_questions:  # "Hvad skal vi ændre" is a question in a list of questions
                items = [i if i.endswith("?") or not starts_as_question(i) else i + "?" for i in items]
            value, _ = parse_value(f, items)
            if value is not None:
                self._add_answer(f, value, rest)
            return
        if f.quoted_name:  # a project name: the quoted name, else the first clause without «det hedder»
            quoted = _QUOTED.search(rest)
            rest = quoted_text(quoted) if quoted else \
                _NAME_CLAUSE_END.split(strip_fillers(rest), maxsplit=1)[0]
            ws = rest.split()
            count = bool(ws) and re.fullmatch(r"\d+[.,]?", ws[0]) is not None and not any(w[:1].isupper() for w in ws)
            items = split_list(rest)  # «Lectio, bibliotekets Instagram og plakater»; not «Læs, leg og lær»
            listed = re.search(r"[;\n]", rest) is not None or (
                len(items) >= 3 and any(len(i.split()) > 1 for i in items))
            if not quoted and _finite_clause(ws):  # «Det drejer sig om Bogens Dag i Grenaa»: the name inside it
                named = [re.split(r"[,;:!?]\s|[.!?]?$", rest[m.start():], maxsplit=1)[0] for m in name_runs(rest)[:1]
                         if not person_shaped(m.group(0))]  # to the end of its clause: «…, Skriv ved havet»
                rest = named[0].strip() if named else ""
                ws = rest.split()
            sentence = not ws or (len(ws) > MAX_QUOTED_WORDS and not any(w[:1].isupper() for w in ws[1:]))
            if not quoted and (sentence or ws[0].casefold() in lexicon().clause_openers or count or listed):
                # a sentence («at skabe kendskab …», «øge kendskabet til læseklubberne og få ca. 100 nye medlemmer»),
                # a count («15 faste børn i klubben») or a list is no project name
                self.routed.errors[f.id] = name_error(f)
                return
        raw = capitalise(clean(rest)) if f.type == "longtext" else clean(rest).rstrip("?")
        value, errors = parse_value(f, raw)
        if value is not None:
            self._add_answer(f, value, rest)
        elif errors:
            self.routed.errors[f.id] = errors[0]

    def _name_answer(self, f: TemplateField, rest: str) -> None:
        """A name question is answered by a name (typed extractor) or not at all: the question is asked again."""
        if clean(rest).casefold().rstrip("!.") in _NOT_ANSWERS:
            return
        if f.type == "person":
            listed = [i for i in re.split(r"[;\n]", rest) if person(i) is not None]
            if len(listed) >= 2:  # «Birthe Kjær; to af deltagerne; Kirsten Holm» lists people, not the one asked
                self.routed.errors[f.id] = several_people_error(f)
                return
            hit = person(rest, affiliation=f.affiliation_as_title)
            name = hit[0] if hit else None
        else:
            name = org_name(rest)
            described = re.match(r"([^,()]+),\s+[a-zæøå]", name or "")  # «Viborg Bibliotekerne, hovedbiblioteket»
            if described and f.name_contains and names_with_word(f, described.group(1)):
                name = described.group(1)  # the library is the party; the branch meant is a detail
            if name is not None and name == name.lower() and f.name_contains and \
                    not any(word in name for word in f.name_contains):
                name = None  # «gymnasieelever» is no library: a name in lower case must say «bibliotek»
        if name is None:
            self.routed.errors[f.id] = name_error(f)
            return
        value, errors = parse_value(f, name)
        if value is not None:
            self._add_answer(f, value, rest)
        elif errors:
            self.routed.errors[f.id] = errors[0]

    def _add_answer(self, f: TemplateField, value: FieldValue, evidence: str) -> None:
        self.routed.found.append(Found(f.id, self._own_party_dropped(f, value), "svar", evidence))


def describe(schema: TemplateSchema, found: Found) -> str:
    """``Label: value`` in Danish (for messages and logs)."""
    f = schema.field(found.field_id)
    return f"{f.label}: {format_value(f, found.value)}"
