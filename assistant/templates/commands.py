"""Control messages in the interview: «spring over», «vis udkast», «hvad mangler?», «fortryd»,
corrections («ret formålet til …», «ret formålet», «nej vent, det er 15. marts»), «ingen», and yes/no to a
proposal («ja», «nej til 2»)."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Literal

from assistant.templates.names import UPPER, lexicon, phrase_re
from assistant.templates.schema import TemplateField, TemplateSchema


@dataclass
class Command:
    """A control message: show the draft, skip, correct a field, ..."""

    kind: Literal["show_draft", "skip", "skip_rest", "missing", "help", "correct", "clear", "undo", "edit", "none",
                  "wrong"]
    field_id: str | None = None
    value: str | None = None


@dataclass
class Decision:
    """A reply to a yes/no proposal: accept all, reject all, or per numbered item."""

    accept_all: bool = False
    reject_all: bool = False
    accept: tuple[int, ...] = ()
    reject: tuple[int, ...] = ()


_SKIP_RE = re.compile(
    r"^(?:spring\s+(?:det\s+|den\s+|feltet\s+|spørgsmålet\s+)?over|skip|videre|næste|pas|"
    r"(?:det\s+)?ved\s+(?:jeg|vi)\s+ikke(?:\s+endnu)?|ikke\s+relevant|det\s+er\s+ikke\s+relevant|"
    r"det\s+har\s+vi\s+ikke\s+(?:aftalt|besluttet|fastlagt)(?:\s+endnu)?|ved\s+ikke(?:\s+helt)?(?:\s+endnu)?|ikke\s+endnu|"
    r"det\s+er\s+ikke\s+(?:besluttet|afklaret|aftalt|på\s+plads)(?:\s+endnu)?|det\s+(?:aftaler|finder)\s+vi\s+"
    r"(?:ud\s+af\s+)?senere|det\s+må\s+vente|ingen\s+anelse|ingen\s+idé|aner\s+det\s+ikke|"
    r"vent(?:er)?\s+med\s+det|senere)[\s.!]*$",
    re.IGNORECASE,
)
_SKIP_LAST_RE = re.compile(r"^(?:så\s+)?spring\s+(?:det\s+|den\s+|feltet\s+)?over[\s.!]*$", re.IGNORECASE)
# why the answer must wait: «ved ikke, skal lige høre skolelederen», «ved ikke helt endnu, det skal jeg lige høre min
# chef om», «ved ikke, det har vi ikke snakket om endnu», «det ved jeg ikke, vender tilbage»
_LATER_RE = re.compile(
    r"^(?:det\s+)?(?:(?:jeg|vi)\s+)?(?:skal|må|vil)\s+(?:(?:jeg|vi)\s+)?(?:lige\s+)?(?:høre|spørge|tjekke|undersøge|"
    r"aftale|afklare|finde\s+ud\s+af)\b|^(?:det\s+)?(?:har\s+)?(?:jeg|vi)\s+(?:har\s+)?ikke\s+(?:snakket|talt|aftalt|"
    r"besluttet|fundet\s+ud\s+af)\b|^(?:jeg|vi)?\s*vender\s+tilbage\b", re.IGNORECASE)
_SKIP_REST_RE = re.compile(
    r"^(?:spring\s+resten\s+over|spring\s+alle\s+valgfrie(?:\s+felter)?\s+over|resten\s+er\s+ikke\s+relevant|"
    r"det\s+er\s+alt|ikke\s+mere|færdig|jeg\s+er\s+færdig|afslut(?:\s+udkastet)?)[\s.!]*$",
    re.IGNORECASE,
)
_DRAFT_RE = re.compile(r"^(?:vis|se|giv\s+mig|kan\s+jeg\s+se)\s+(?:mig\s+)?(?:et\s+|hele\s+)?"
                       r"(?:udkast(?:et)?|kladde(?:n)?|aftalen|planen|dokumentet|status)\b", re.IGNORECASE)
_MISSING_RE = re.compile(r"^hvad\s+mangler(?:\s+der)?(?:\s+endnu)?\s*\??$", re.IGNORECASE)
_HELP_RE = re.compile(r"^(?:hjælp|\?|hvad\s+mener\s+du|hvad\s+betyder\s+det|forklar|giv\s+(?:mig\s+)?et\s+eksempel|"
                      r"eksempel)\s*\??$", re.IGNORECASE)
_CORRECT_RE = re.compile(r"^(?:kan\s+du\s+)?(?:ret|rette|ændr|ændre|skift|skifte|opdater|opdatere|sæt|sætte)\s+"
                         r"(?:lige\s+|venligst\s+|også\s+)?(?P<rest>.+)$", re.IGNORECASE | re.DOTALL)
_SHOULD_BE_RE = re.compile(r"^(?:nej,?\s+)?(?P<target>.{2,60}?)\s+skal\s+(?:være|hedde|ændres\s+til|rettes\s+til)"
                           r"\s*:?\s+(?P<value>.+)$", re.IGNORECASE | re.DOTALL)
_UNDO_RE = re.compile(r"^(?:fortryd|fortryd\s+(?:det|sidste|den\s+sidste|ændringen)|undo|gå\s+tilbage|"
                      r"det\s+var\s+forkert,?\s+fortryd)[\s.!]*$", re.IGNORECASE)
_NONE_RE = re.compile(r"^(?:nej[,.]?\s+)?(?:ingen|intet|ingen\s+\w+|nej|nej\s+tak|det\s+er\s+der\s+ikke|"
                      r"der\s+er\s+ingen(?:\s+\w+)?|det\s+har\s+vi\s+ikke|vi\s+har\s+ingen(?:\s+\w+)?)[\s.!]*$",
                      re.IGNORECASE)
_EDIT_RE = re.compile(r"^(?:ret|rette|ændr|ændre|skift)\s+(?P<target>.{2,60}?)[\s.!]*$", re.IGNORECASE)
_YES_RE = re.compile(r"^(?:ja|jo|ja\s+tak|jep|ok|okay|gerne|fint|godt|korrekt|det\s+er\s+rigtigt|ja,?\s+erstat|"
                     r"erstat(?:\s+den)?|ja,?\s+brug\s+(?:dem|den|det|alle)|brug\s+(?:dem|den|det|alle)|"
                     r"behold\s+(?:dem|alle)|ja\s+til\s+alle|alle)[\s.!]*$", re.IGNORECASE)
_NO_RE = re.compile(r"^(?:nej|nej\s+tak|nope|ingen\s+af\s+dem|brug\s+ingen|drop\s+(?:dem|det)|"
                    r"behold\s+den\s+(?:gamle|første|nuværende)|nej,?\s+behold(?:\s+den)?(?:\s+gamle)?|"
                    r"nej\s+til\s+alle)[\s.!]*$", re.IGNORECASE)
_PICK_RE = re.compile(r"(?P<verb>ja|behold|brug|nej|fjern|drop|ikke)\s*(?:til\s+)?(?:nr\.?\s*)?"
                      r"(?P<nums>\d+(?:\s*(?:,|og|\+|&)\s*\d+)*)", re.IGNORECASE)
_ANSWER_WITH_REASON_RE = re.compile(r"^(?P<answer>ja|nej)(?:\s+tak)?\s*[,.!–—-]\s*(?P<reason>[^\d]*[a-zæøå][^\d]*)$",
                                    re.IGNORECASE)
_EXCEPT_RE = re.compile(r"\b(?:men|ikke|undtagen|bortset|kun)\b", re.IGNORECASE)  # «ja, men ikke partneren»
_REASON_RE = re.compile(r"\s+[–—-]\s+\S|[.!;:]\s+\S")  # numbered picks, then a dash or a full stop and why
_CLEAR_RE = re.compile(r"^(?:slet|fjern|nulstil)\s+(?P<target>.+?)[\s.!]*$", re.IGNORECASE)
_ARTICLE_RE = re.compile(r"^(?:den|det|de|en|et|vores|jeres|feltet)\s+", re.IGNORECASE)


@dataclass(frozen=True)
class Amend:
    """A correction of the previous answer: the new value, and whether only a bare «nej» marked it."""

    value: str
    weak: bool


def parse_amend(text: str) -> Amend | None:
    """The new value in a correction of the previous answer («nej vent, det er 15. marts» -> «15. marts»), or None.

    A bare «nej» only counts with a lead after it («nej, det er …») and is ``weak``: it may correct a typed value
    or a name, not free text («Nej, det er kun os to» answers the question); «vent», «undskyld», «hov», … are
    strong. A message that is a command («vent med det») is no correction."""
    stripped = text.strip()
    if any(r.match(stripped) for r in (_SKIP_RE, _SKIP_REST_RE, _NONE_RE, _UNDO_RE)):
        return None
    lex = lexicon()
    markers, leads = phrase_re(lex.correction_markers), phrase_re(lex.correction_leads)
    sep = r"[\s,.!:;–-]+"
    m = re.match(rf"^\s*(?P<marker>{markers})(?:{sep}{markers})*{sep}(?P<lead>{leads}[\s,:]+)?(?P<value>\S.*)$",
                 text, re.IGNORECASE | re.DOTALL)
    if not m or (m.group("marker").casefold() == "nej" and not m.group("lead")):
        return None
    value = m.group("value").strip().rstrip(".!")
    wrong = phrase_re(lex.wrong_answer)
    if (not value or _SKIP_RE.match(value) or _NONE_RE.match(value) or _SKIP_REST_RE.match(value)
            or re.fullmatch(rf"{wrong}[\s,.!]*", value, re.IGNORECASE)):
        return None
    return Amend(value, weak=m.group("marker").casefold() == "nej")


def norm_text(text: str) -> str:
    return re.sub(r"\s+", " ", text.casefold().replace("-", " ")).strip(" .:!?\"'«»")


def _variants(name: str) -> set[str]:
    """A name plus forms without the Danish definite ending (formålet -> formål)."""
    name = norm_text(_ARTICLE_RE.sub("", name.strip()))
    out = {name}
    for suffix in ("erne", "ene", "en", "et", "ne", "n"):
        if name.endswith(suffix) and len(name) - len(suffix) >= 3:
            out.add(name[: -len(suffix)])
    return out


def match_field(target: str, schema: TemplateSchema, *, cutoff: float = 0.78) -> TemplateField | None:
    """The field a user means by ``target`` ("formålet", "partnerens e-mail"), or None."""
    wanted = _variants(target)
    best: tuple[float, int, TemplateField] | None = None
    for field in schema.fields:
        names = {field.id.replace("_", " "), field.label, *field.aliases}
        for name in names:
            cands = _variants(name)
            if wanted & cands:
                score = 1.0
            else:
                score = max(difflib.SequenceMatcher(None, w, c).ratio() for w in wanted for c in cands)
            key = (score, len(norm_text(name)), field)
            if score >= cutoff and (best is None or key[:2] > best[:2]):
                best = key
    return best[2] if best else None


def parse_decision(text: str, *, with_reason: bool = False) -> Decision | None:
    """«ja» / «nej» / «ja til 1 og 3, nej til 2» as a :class:`Decision`; None when it is something else. With
    ``with_reason`` (the pre-fill list, where nothing else is asked) a whole «ja» or «nej» may be followed by a reason
    without numbers, which is not read («nej, det er en anden aftale»); numbered picks may be followed by one after
    a dash or a full stop («nej til 2 – den er forkert»)."""
    stripped = text.strip()
    said = _ANSWER_WITH_REASON_RE.match(stripped) if with_reason else None  # «nej, det er en anden aftale»
    if said is not None and said.group("answer").lower() == "ja" and _EXCEPT_RE.search(said.group("reason")):
        return None  # «ja, men ikke partneren» accepts only some: not a whole «ja»
    if _YES_RE.match(stripped) or (said is not None and said.group("answer").lower() == "ja"):
        return Decision(accept_all=True)
    if _NO_RE.match(stripped) or said is not None:
        return Decision(reject_all=True)
    picks = list(_PICK_RE.finditer(stripped))
    head, reason = (stripped[:picks[-1].end()], stripped[picks[-1].end():]) if picks else (stripped, "")
    if _REASON_RE.match(reason):  # «ja til 1, nej til 2 – den er forkert»: the reason after the picks is no pick
        stripped = head
    leftover = _PICK_RE.sub(" ", stripped)
    if not picks or re.search(r"[a-zæøå]{3,}", leftover.replace("tak", ""), re.IGNORECASE):
        return None
    accept: list[int] = []
    reject: list[int] = []
    for m in picks:
        nums = [int(n) for n in re.findall(r"\d+", m.group("nums"))]
        (reject if m.group("verb").lower() in {"nej", "fjern", "drop", "ikke"} else accept).extend(nums)
    return Decision(accept=tuple(accept), reject=tuple(reject))


def _holds_no_value(clause: str) -> bool:
    """A clause after «ved ikke» that gives nothing to store: no number, e-mail or capitalised name («det skal jeg
    lige have afklaret med dem»; not «måske Anne Holm», «måske 10.000 kr.»)."""
    return not re.search(rf"[\d@]|(?<!^)\b[{UPPER}]", clause.strip())


def parse_command(text: str, schema: TemplateSchema) -> Command | None:
    """Recognise a control message or a correction; None for ordinary answers."""
    stripped = text.strip()
    if len(stripped) <= 60:
        if _UNDO_RE.match(stripped):
            return Command("undo")
        wrong = phrase_re(lexicon().wrong_answer)
        if re.fullmatch(rf"(?:nej[\s,.!]+)?{wrong}[\s,.!]*", stripped, re.IGNORECASE):
            return Command("wrong")
        if _SKIP_REST_RE.match(stripped):
            return Command("skip_rest")
        clauses = [c for c in re.split(r"[,.;:!]+\s*", stripped) if c.strip()]
        if _SKIP_RE.match(stripped) or (len(clauses) > 1 and (all(_SKIP_RE.match(c) for c in clauses)
                                                               or _SKIP_LAST_RE.match(clauses[-1])
                                                               or (_SKIP_RE.match(clauses[0]) and
                                                                   all(_LATER_RE.match(c) or _holds_no_value(c)
                                                                       for c in clauses[1:])))):
            return Command("skip")  # also «ved ikke helt, spring over», «hun har ikke noget nummer, spring over»,
            # «ved ikke endnu, det skal jeg lige have afklaret med dem»
        if _NONE_RE.match(stripped):
            return Command("none")
        if _DRAFT_RE.match(stripped):
            return Command("show_draft")
        if _MISSING_RE.match(stripped):
            return Command("missing")
        if _HELP_RE.match(stripped):
            return Command("help")
        m = _CLEAR_RE.match(stripped)
        if m and (field := match_field(m.group("target"), schema)):
            return Command("clear", field.id)
    m = _CORRECT_RE.match(stripped)
    if m:
        rest = m.group("rest")
        # try every " til " split; the target part must name a field
        for split in re.finditer(r"\s+til\s*:?\s+", rest, re.IGNORECASE):
            target, value = rest[: split.start()], rest[split.end():]
            field = match_field(target, schema)
            if field and value.strip():
                return Command("correct", field.id, value.strip())
    m = _SHOULD_BE_RE.match(stripped)
    if m and (field := match_field(m.group("target"), schema)):
        return Command("correct", field.id, m.group("value").strip())
    m = _EDIT_RE.match(stripped)
    if m and (field := match_field(m.group("target"), schema)):
        return Command("edit", field.id)
    return None
