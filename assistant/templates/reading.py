"""How a user's message reads, for the template router and the interview: its sentences and questions, cue
phrases as patterns (any spacing, other tenses), a name at a position, the people it mentions, and the typed value
(a person, a date, an e-mail, a phone number) a whole answer is. Pure functions of the text and the schema; the
routing itself is :mod:`assistant.templates.extraction`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

from assistant.templates.names import (
    NAME_RE,
    UPPER,
    definite_forms,
    lexicon,
    person,
    phrase_re,
    project_name_at,
    strip_fillers,
    trim_name,
    with_genitive_head,
    words,
    workplace_word,
)
from assistant.templates.schema import TemplateField, TemplateSchema
from assistant.templates.validation import EMAIL_RE, find_dates, find_phones
from assistant.templates.values import FieldValue, TextValue
from assistant.units import is_abbreviation, is_sentence_end

_SENTENCE_END = re.compile(r"[.!?](?=\s)|\?(?=;)|[.!?]\s*$|\n+")  # «Nåede vi nye brugere?; Hvad fik …?»


_TRAIL_RE = re.compile(r"[\s,;:–-]*(?:\b(?:og|samt|men|mens)\b)?[\s,;:–-]*$", re.IGNORECASE)


MAX_QUOTED_WORDS = 6  # a quoted project name; a longer quotation is a sentence


# the quotation marks users type: '…', "…", «…», “…” and the Danish »…«
_QUOTED = re.compile(r"(?<![\wæøå])(?:'(?P<a>[^'\n]+)'|\"(?P<b>[^\"\n]+)\"|«(?P<c>[^»\n]+)»|“(?P<d>[^”\n]+)”|"
                     r"»(?P<e>[^«\n]+)«)")
OPENING_QUOTES = "\"'«“»"
# between a cue's words: spaces, and a quotation mark that closes or opens a name the cue holds («'Bøger på bænken'
# med Strandlyst» for the hint «{partnerskab} med»)
_BETWEEN_WORDS = r"[\s\"'«»“”]*\s[\s\"'«»“”]*"


def quoted_text(match: re.Match[str]) -> str:
    """The text inside one of the quotation marks of ``_QUOTED``."""
    return next(g for g in match.groups() if g).strip()


# --- small text helpers -----------------------------------------------------------------------------------
_COPULAS = r"(?:er|bliver|vil\s+være|skal\s+være)"  # «vores kontaktperson er / bliver / skal være …»


@lru_cache(maxsize=4096)  # the same schema cues are compiled for every message
def cue_regex(cue: str, *, tenses: bool = True) -> re.Pattern[str]:
    """A cue as a pattern: any spacing (and quotation marks) between words, any case; «er» after a cue's first word
    also reads «bliver», «skal være» («hos os er det» -> «hos os bliver det»); with
    ``tenses`` a verb in the present tense also reads as a modal verb and its infinitive («vi kalder det» -> «vi
    vil kalde det», «projektet hedder» -> «projektet kommer til at hedde»). Hints keep their tense: «vi evaluerer»
    (when) is not «vi skal evaluere Læsefrø» (which project)."""
    ws = cue.split()
    parts = [_COPULAS if (i > 0 and w == "er") else _cue_word(w, tenses) for i, w in enumerate(ws)]
    body = _BETWEEN_WORDS.join(parts)
    return re.compile(rf"(?<![\wæøåÆØÅ@]){body}(?![\wæøåÆØÅ])", re.IGNORECASE)


def _cue_word(word: str, tenses: bool) -> str:
    """One word of a cue as a pattern: «med» also as its abbreviation «m.» («aftale m. Kalundborg Gymnasium»)."""
    if word == "med":
        return r"(?:med|m\.)"
    return _present_or_modal(word) if tenses else re.escape(word)


def _present_or_modal(word: str) -> str:
    """A cue word; one that may be a verb in the present tense (ends in «-er», «hedder») also as «<modal>
    <infinitive>». A noun ending in «-er» («partner») gets an alternative that never occurs in text."""
    if len(word) < 5 or not word.endswith("er") or not word.isalpha():
        return re.escape(word)
    modals = phrase_re(lexicon().modal_verbs)
    return rf"(?:{re.escape(word)}|{modals}\s+{re.escape(word[:-1])})"


def sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans of a user message. Users type in lower case («… på biblioteket. det er især unge …»), so a
    full stop ends a sentence before any word, unless the project's Danish splitter reads it as an abbreviation or
    an ordinal date (:func:`assistant.units.is_sentence_end`) or it follows a number before a lower-case word
    («0.-9. klasse», «3. sal»)."""
    spans, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        if m.group().startswith(".") and not _ends_sentence(text, m.start()):
            continue
        if m.end() > start:
            spans.append((start, m.end()))
        start = m.end()
    if start < len(text):
        spans.append((start, len(text)))
    return [(s, e) for s, e in spans if text[s:e].strip()]


def _ends_sentence(text: str, dot: int) -> bool:
    if not is_sentence_end(text, dot):
        return False
    token = text[:dot].rsplit(None, 1)[-1] if text[:dot].strip() else ""
    following = text[dot + 1:].lstrip()
    number = re.search(r"\d+$", token)
    return not (number and len(number.group()) <= 2 and following[:1].islower())  # an ordinal, not a year


_ASKING = re.compile(
    r"^\W*(?:og\s+|men\s+|så\s+)?(?:hv\w+|kan|skal|må|bør|er|har|vil|giver|findes|gælder|skriver|siger|anbefaler|"
    r"ved|kender|betyder|hjælper|passer|kunne|burde|ville|plejer)\b|\bguiden\b", re.IGNORECASE)


def is_question_sentence(sentence: str) -> bool:
    """A sentence ending in «?» that reads as a question (question word or verb first, or about the guide).

    A bare phrase with a question mark ("Hovedbiblioteket i Aarhus?") is a hesitant answer, not a question.
    """
    return sentence.rstrip().endswith("?") and bool(_ASKING.search(sentence.strip()))


def clean(value: str) -> str:
    """A captured value without quotes, leading dashes, trailing fillers and a final full stop (an abbreviation
    keeps its own: «1 gang pr. md.», «bøger, spil osv.»)."""
    value = value.strip().strip("\"'«»“”")  # both directions of « »
    value = value.lstrip(":– -").strip()
    prev = None
    while prev != value:
        prev = value
        value = _TRAIL_RE.sub("", value).strip()
        if value.endswith(".") and not is_abbreviation(value.split()[-1]):
            value = value.rstrip(".").strip()
    return value


def capitalise(value: str) -> str:
    return value[:1].upper() + value[1:] if value else value


def name_at(text: str, *, project: bool = False) -> tuple[str, int] | None:
    """A proper name at the start of ``text`` (after "er", "hedder", …), plus where it ends; with ``project`` a
    project's name, which may hold lower-case words (:func:`~assistant.templates.names.project_name_at`)."""
    hedges = phrase_re(lexicon().hedges)  # «partneren er faktisk Nyborg Gymnasium og HF»
    lead = re.match(rf"\s*(?:er\s+|hedder\s+|bliver\s+|:\s*|det\s+er\s+)?(?:{hedges}\s+)?[{OPENING_QUOTES}]?", text,
                    re.IGNORECASE)
    offset = lead.end() if lead else 0
    quoted = _QUOTED.match(text, offset - 1) if offset and text[offset - 1] in OPENING_QUOTES else None
    if quoted and len(quoted_text(quoted).split()) <= MAX_QUOTED_WORDS:  # «evaluere 'Små naturforskere'»
        return quoted_text(quoted), quoted.end()
    if project:
        name = project_name_at(text[offset:])
        return (name, text.find(name, offset) + len(name)) if name else None
    m = NAME_RE.match(text, offset)
    if not m or not re.match(rf"[{UPPER}]", m.group(0)):
        return None
    name = trim_name(m.group(0))
    name = with_genitive_head(name, text[m.start() + len(name):])
    return name, m.start() + len(name)


def name_error(f: TemplateField) -> str:
    example = f.examples[0] if f.examples else ("Anna Holm, projektleder" if f.type == "person" else "")
    what = "navnet på personen og gerne titlen" if f.type == "person" else "kun navnet"
    return f"Jeg kunne ikke finde et navn i svaret. Skriv {what}" + (f", fx «{example}»." if example else ".")


def no_questions_error(f: TemplateField) -> str:
    example = f" fx «{f.examples[0]}»" if f.examples else " fx «Nåede vi de rigtige deltagere?»"
    return f"Feltet «{f.label}» skal indeholde spørgsmål. Skriv dem som spørgsmål,{example}."


def several_people_error(f: TemplateField) -> str:
    return f"Svaret nævner flere personer. Skriv den ene person, der skal stå under «{f.label}»."


def people_mentioned(schema: TemplateSchema, known: Mapping[str, FieldValue], text: str, *,
                     ignore_case: bool = True) -> list[tuple[TemplateField, re.Match[str]]]:
    """The filled person fields whose first name ``text`` mentions («mortens mail er», «… ikke Kasper der er
    ansvarlig»), with where; ``ignore_case=False`` only counts the name written with its capital («1. maj» does not
    mention Maj Holm)."""
    hits = []
    for f in schema.fields:
        name = getattr(known.get(f.id), "name", "") if f.type == "person" else ""
        if name:
            m = re.search(rf"(?<![\wæøå]){re.escape(name.split()[0])}s?(?![\wæøå])", text,
                          re.IGNORECASE if ignore_case else 0)
            if m:
                hits.append((f, m))
    return hits


def names_party(schema: TemplateSchema, text: str, group: str | None, known: Mapping[str, FieldValue]) -> bool:
    """True when ``text`` starts by naming the party ``group`` as its subject: «partneren …», «Lemvig Gymnasium
    …», «gymnasiet …» (the party's name field, its head noun in the definite form, or ``schema.parties``)."""
    if not group:
        return False
    refs = {schema.parties.get(group, "")}
    for f in schema.fields:
        value = known.get(f.id)
        if f.group == group and f.capture == "name" and isinstance(value, TextValue):
            refs |= {value.text, *definite_forms(value.text)}
    alts = "|".join(r"\s+".join(re.escape(w) for w in ref.split()) for ref in sorted(refs, key=len, reverse=True)
                    if ref.strip())
    return bool(alts) and bool(re.match(rf"^\W*(?:(?:og|men|så)\s+)?(?:{alts})(?![\wæøå])", text, re.IGNORECASE))


_CONTACTS = re.compile(rf"\(?\s*(?:{EMAIL_RE.pattern})\s*\)?|\s+[–—-]\s+")  # a person with an e-mail is a person


# «… fra museet, …», «… fra Sorø Bibliotek»
_AFFILIATION = re.compile(r"\s+(?:fra|hos|på)\s+[\wæøåÆØÅ-]+(?:\s+[A-ZÆØÅ][\wæøåÆØÅ-]*)*(?=\s*,|\s*$)")


# a clause about the person just named and contact labels: «, hun godkender alle tekster.», «, der står for at den
# bliver lavet», «mail», «tlf.»
_ABOUT_THEM = re.compile(r"[,.]\s*(?:hun|han|der|som)\s+[^.,;@]*[.,;]?|(?<![\wæøå])(?:mail|e-mail|tlf\.?|telefon|mobil)"
                         r"(?![\wæøå])", re.IGNORECASE)


def whole_typed_value(text: str) -> str | None:
    """The type of the typed value the whole ``text`` is (``person``, ``date``, ``email``, ``phone``), else None:
    «Karen Bisgaard, børnebibliotekar», «1. december 2026» (a free-text answer that is nothing but that)."""
    body = text.strip().strip(".!,;: ")
    if not body:
        return None
    bare = re.sub(r"\s*\([^()]*\)\s*$", "", body).strip(".!,;: ")  # «74 92 11 05 (direkte)»: a remark after it
    dated = re.sub(r"^(?:d\.|den)\s+", "", bare, flags=re.IGNORECASE)  # «d. 1. september 2027»
    if EMAIL_RE.fullmatch(bare):
        return "email"
    for kind, value, spans in (("date", dated, find_dates(dated)), ("phone", bare, find_phones(bare))):
        if len(spans) == 1 and spans[0][0] <= 1 and spans[0][1] >= len(value) - 1:
            return kind
    body = _ABOUT_THEM.sub("", body)  # «Anja Friis fra Sorø Bibliotek, hun godkender alle tekster. mail …»
    body = _AFFILIATION.sub("", _CONTACTS.sub(" ", body).strip(" ,;–-")).strip(" ,;–-")
    hit = person(body)
    if hit and " og " not in hit[0]:
        name = hit[0].split(",")[0].split()
        said = {w.casefold() for w in words(strip_fillers(body))} - {"hun", "han", "er"}
        said -= {w.casefold() for w in words(hit[0])}
        if len(name) >= 2 and all(w[:1].isupper() for w in name) and all(workplace_word(w) for w in said):
            return "person"  # nothing but the name and the title («elever i … i Hjørring Kommune» is no person)
    return None


def corrected_tail(text: str) -> str:
    """What an answer says after correcting itself midway («Det var Hanne Skovgaard - nej vent, det bliver min
    kollega Mikkel Due» -> «min kollega Mikkel Due»; «… og skolernes intra. Nej vent, ikke intra – Aula» -> «… og
    skolernes Aula»); ``text`` itself without such a correction. A bare «nej» is no marker here («nej, ikke endnu» is
    an answer)."""
    markers = phrase_re(tuple(m for m in lexicon().correction_markers if m != "nej"))
    leads = phrase_re(lexicon().correction_leads)
    found = list(re.finditer(rf"[-–—,.;!]\s*(?:{markers})[\s,.!:–-]+(?:{leads}[\s,:]+)?", text, re.IGNORECASE))
    if not found or not text[:found[-1].start()].strip():
        return text
    before, tail = text[:found[-1].start()].strip(), text[found[-1].end():].strip()
    swap = _SWAP.match(tail)  # «…, Discord og skolernes intra. Nej vent, ikke intra – Aula hedder det jo»
    if swap and swap.group("old").casefold() in before.casefold():
        at = before.casefold().rindex(swap.group("old").casefold())
        return before[:at] + swap.group("new") + before[at + len(swap.group("old")):]
    return tail or text


# «ikke X – Y», «ikke X, men Y», «ikke X men Y hedder det»: replace X by Y in the answer the correction ends
_SWAP = re.compile(r"^ikke\s+(?P<old>[^–—,;.-]+?)\s*(?:[–—-]|,\s*(?:men\s+)?|\s+men\s+)\s*(?P<new>[^,;.]+?)"
                   r"(?:\s+(?:hedder|er)\s+det\b.*)?[.!]?$", re.IGNORECASE)
