"""Scanners for typed values in Danish text: dates, amounts, phone numbers, list items (see ``values``)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation

MONTHS: dict[str, int] = {
    "januar": 1, "jan": 1, "februar": 2, "feb": 2, "marts": 3, "mar": 3, "april": 4, "apr": 4, "maj": 5,
    "juni": 6, "jun": 6, "juli": 7, "jul": 7, "august": 8, "aug": 8, "september": 9, "sep": 9, "sept": 9,
    "oktober": 10, "okt": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
}
MONTH_NAMES = ["januar", "februar", "marts", "april", "maj", "juni", "juli", "august", "september",
               "oktober", "november", "december"]
_MONTH_RE = "|".join(sorted(MONTHS, key=len, reverse=True))
# Days written as ordinal words before a month name («første februar 2027», «den femtende maj»).
ORDINAL_DAYS: dict[str, int] = {w: i for i, w in enumerate(
    ["første", "anden", "tredje", "fjerde", "femte", "sjette", "syvende", "ottende", "niende", "tiende", "ellevte",
     "tolvte", "trettende", "fjortende", "femtende", "sekstende", "syttende", "attende", "nittende", "tyvende",
     "enogtyvende", "toogtyvende", "treogtyvende", "fireogtyvende", "femogtyvende", "seksogtyvende",
     "syvogtyvende", "otteogtyvende", "niogtyvende", "tredivte", "enogtredivte"], start=1)}
_DAY_RE = r"\d{1,2}|" + "|".join(sorted(ORDINAL_DAYS, key=len, reverse=True))

# Each pattern yields groups (day, month, year) or (year, month, day) for ISO.
DATE_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b"), "ymd"),
    (re.compile(rf"\b({_DAY_RE})\.?\s*({_MONTH_RE})\.?\s+(\d{{4}})\b", re.IGNORECASE), "dMy"),
    (re.compile(r"\b(\d{1,2})[-./](\d{1,2})[-./](\d{4})\b"), "dmy"),
    (re.compile(r"\b(\d{1,2})/(\d{1,2})[\s-]+(\d{4})\b"), "dmy"),
    # a two-digit year after a month name or «d/m-»: «1. februar 27», «1/2-27» (this century)
    (re.compile(rf"\b({_DAY_RE})\.?\s*({_MONTH_RE})\.?\s+'?(\d{{2}})\b(?![\d.:])", re.IGNORECASE), "dMyy"),
    (re.compile(r"\b(\d{1,2})/(\d{1,2})-(\d{2})\b(?![\d/-]|\.\d)"), "dmyy"),  # «1/8-27.» ends a sentence
    (re.compile(r"(?<![\d.])(\d{1,2})\.(\d{1,2})\.(\d{2})\b(?![\d.]\d)"), "dmyy"),  # «1.12.26»
]

EMAIL_RE = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b")
PHONE_RE = re.compile(r"(?<![\d.,])(?:\+45[\s-]?|0045[\s-]?)?(?:\d{2}[\s-]?){3}\d{2}(?![\d.,]*\d)")
_NUM = r"\d{1,3}(?:\.\d{3})+(?:,\d{1,2})?|\d+(?:,\d{1,2})?"
AMOUNT_RES = [
    re.compile(rf"(?P<neg>-\s*)?\b(?:kr\.?|dkk)\s*(?P<num>-?\s*(?:{_NUM}))(?![\d.])", re.IGNORECASE),
    re.compile(rf"(?P<neg>-\s*)?(?<![\d.,])(?P<num>{_NUM})(?:,-)?\s*(?P<mult>mio\.?|millioner|tusind|t\.?(?=\s?kr))?\s*"
               r"(?:kr\.?|kroner|dkk)(?![a-zæøå])", re.IGNORECASE),
]


def _safe_date(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def day_number(day: str) -> int:
    """«15» -> 15, «femtende» -> 15."""
    return int(day) if day.isdigit() else ORDINAL_DAYS[day.casefold()]


def find_dates(text: str) -> list[tuple[int, int, date | None]]:
    """All date-like spans in ``text`` as (start, end, date); date is None when the span is not a real date."""
    found: list[tuple[int, int, date | None]] = []
    taken: list[tuple[int, int]] = []
    for pattern, order in DATE_PATTERNS:
        for m in pattern.finditer(text):
            if any(s < m.end() and m.start() < e for s, e in taken):
                continue
            a, b, c = m.groups()
            if order == "ymd":
                value = _safe_date(int(a), int(b), int(c))
            elif order.startswith("dMy"):
                value = _safe_date(int(c) + (2000 if order == "dMyy" else 0), MONTHS[b.lower()], day_number(a))
            else:
                value = _safe_date(int(c) + (2000 if order == "dmyy" else 0), int(b), int(a))
            taken.append((m.start(), m.end()))
            found.append((m.start(), m.end(), value))
    for m in _RANGE_START_RE.finditer(text):  # «fra 1. februar til 30. september 2027»: the start shares the year
        end = next((d for s, _, d in found if s == m.end() and d is not None), None)
        if end is not None and not any(s < m.end() and m.start() < e for s, e in taken):
            month, day = MONTHS[m.group(3).lower()], day_number(m.group(2))
            start = _safe_date(end.year, month, day)
            start = start if start is None or start <= end else _safe_date(end.year - 1, month, day)  # «1. december
            if start is not None:  # til 31. januar 2028»
                found.append((m.start(), m.start() + len(m.group("date")), start))
    return sorted(found, key=lambda t: t[0])


_RANGE_START_RE = re.compile(rf"\b(?P<date>({_DAY_RE})\.?\s*({_MONTH_RE})\b\.?)\s*(?:til(?:\s+og\s+med)?|[–-])\s*"
                             r"(?:d\.\s*|den\s+)?", re.IGNORECASE)


_DAY_MONTH_RES = [
    (re.compile(rf"\b({_DAY_RE})\.?\s*({_MONTH_RE})\b\.?(?!\s*\d{{4}})", re.IGNORECASE), True),
    (re.compile(r"(?<![\d./-])(\d{1,2})[./](\d{1,2})\.?(?![\d./-])"), False),
]


def find_day_months(text: str) -> list[tuple[int, int]]:
    """(day, month) of dates written without a year ("15. marts", "d. 15/9"), for a correction of a date."""
    found = []
    for pattern, named in _DAY_MONTH_RES:
        for m in pattern.finditer(text):
            day, month = day_number(m.group(1)), (MONTHS[m.group(2).lower()] if named else int(m.group(2)))
            if 1 <= day <= 31 and 1 <= month <= 12:
                found.append((day, month))
    return found


def without_dates(text: str) -> str:
    """``text`` without its dates, also those written without a year («vi starter først 1. april» -> «vi starter
    først»)."""
    for start, end, _ in sorted(find_dates(text), reverse=True):
        text = text[:start] + " " + text[end:]
    for pattern, _ in _DAY_MONTH_RES:
        text = pattern.sub(" ", text)
    return " ".join(text.split())


def parse_date(text: str) -> date | None:
    """The single date in ``text`` (Danish formats or ISO), or None."""
    dates = [d for _, _, d in find_dates(text) if d is not None]
    return dates[0] if len(dates) == 1 else None


def format_date(value: date) -> str:
    """Danish long form: ``1. marts 2027``."""
    return f"{value.day}. {MONTH_NAMES[value.month - 1]} {value.year}"


def _to_decimal(num: str) -> Decimal | None:
    cleaned = num.replace(" ", "").replace(".", "").replace(",", ".")
    try:
        return Decimal(cleaned)
    except InvalidOperation:
        return None


_BARE_AMOUNT_RE = re.compile(rf"(?<![\d.,])(?P<num>{_NUM})\s*(?P<mult>mio\.?|millioner|tusind)(?![a-zæøå])",
                             re.IGNORECASE)


def find_bare_amounts(text: str) -> list[Decimal]:
    """Amounts written with a multiplier but no currency («vi har fået 15 tusind fra puljen»): read only in the
    answer to an amount question, where «15 tusind besøgende» cannot be meant."""
    out = []
    for m in _BARE_AMOUNT_RE.finditer(text):
        value = _to_decimal(m.group("num"))
        if value is not None:
            out.append(_multiplied(value, m.group("mult")))
    return out


def _multiplied(value: Decimal, mult: str | None) -> Decimal:
    """``value`` times its written multiplier: «mio.», «millioner», «tusind», «t.» (in «50 t.kr.»), or none."""
    mult = (mult or "").lower()
    if mult.startswith("mio") or mult.startswith("million"):
        return value * 1_000_000
    if mult.startswith("t"):
        return value * 1000
    return value


def find_amounts(text: str) -> list[tuple[int, int, Decimal]]:
    """Amounts in kroner in ``text`` ("25.000 kr.", "kr. 10.000", "10000 kroner", "2 mio. kr.")."""
    found: list[tuple[int, int, Decimal]] = []
    for pattern in AMOUNT_RES:
        for m in pattern.finditer(text):
            if any(s < m.end() and m.start() < e for s, e, _ in found):
                continue
            num = m.group("num")
            negative = bool(m.group("neg")) or num.lstrip().startswith("-")
            value = _to_decimal(num.lstrip(" -"))
            if value is None:
                continue
            value = _multiplied(value, m.groupdict().get("mult"))
            found.append((m.start(), m.end(), -value if negative else value))
    return sorted(found, key=lambda t: t[0])


def format_amount(value: Decimal) -> str:
    """Danish notation: ``25.000 kr.`` / ``1.250,50 kr.``."""
    whole = int(abs(value))
    cents = abs(value) - whole
    text = f"{whole:,}".replace(",", ".")
    if cents:
        text += "," + f"{cents:.2f}"[2:]
    return ("-" if value < 0 else "") + text + " kr."


_BARE_NUMBER = re.compile(rf"\s*(?:ca\.?|cirka|omkring|knap|godt)?\s*(?P<neg>-)?\s*(?P<num>{_NUM})(?:,-)?\s*"
                          r"(?P<mult>mio\.?|millioner|million|tusind|t\.?)?\s*", re.IGNORECASE)


def bare_number(text: str) -> Decimal | None:
    """The number an answer to an amount question consists of, without «kr.» («15.000», «15 tusind», «ca. 1,5
    mio.»)."""
    m = _BARE_NUMBER.fullmatch(text)
    if not m:
        return None
    value = _to_decimal(m.group("num"))
    if value is None:
        return None
    mult = (m.group("mult") or "").lower()
    value *= 1_000_000 if mult.startswith("mio") or mult.startswith("million") else 1000 if mult else 1
    return -value if m.group("neg") else value


def find_phones(text: str) -> list[tuple[int, int, str]]:
    """Danish phone numbers (8 digits, optional +45) with normalised form ``12 34 56 78``."""
    found = []
    dates = [(s, e) for s, e, _ in find_dates(text)]
    for m in PHONE_RE.finditer(text):
        if any(s < m.end() and m.start() < e for s, e in dates):
            continue
        digits = re.sub(r"\D", "", m.group(0))
        prefix = ""
        if digits.startswith("0045") and len(digits) == 12:
            digits, prefix = digits[4:], "+45 "
        elif digits.startswith("45") and len(digits) == 10:
            digits, prefix = digits[2:], "+45 "
        if len(digits) != 8:
            continue
        found.append((m.start(), m.end(), prefix + " ".join(digits[i:i + 2] for i in range(0, 8, 2))))
    return found


_STRONG_SEP_RE = re.compile(r"\s*(?:\n|;|•)\s*|(?<=[a-zæøå]{3}[.!])\s+(?=[A-ZÆØÅ])")  # also between sentences
_INLINE_NUMBER_RE = re.compile(r"(?:^|\s)\d{1,2}\)\s+")
# «1. bogkasser 2. forfatterbesøg 3. …»: numbers with a full stop count only as 1., 2., 3. …, not after «og» and not
# before a month or a counted noun («1. gang i uge 3 og 2. gang …»)
_INLINE_ORDINAL_RE = re.compile(rf"(?:^|(?<!\bog)(?<!\beller)\s)(\d{{1,2}})\.\s+"
                                rf"(?!(?:{_MONTH_RE}|gang|klasse|sal|halvår|kvartal|plads|del)\b)", re.IGNORECASE)
_COMMA_RE = re.compile(r"\s*(?:(?<!\d),|,(?!\d))\s*")  # not a decimal comma (1.250,50)
_SAMT_RE = re.compile(r"\s+samt\s+", re.IGNORECASE)
_FINAL_OG_RE = re.compile(r"^(.*\S)\s+og\s+(\S.*)$", re.IGNORECASE | re.DOTALL)
_LEADING_CONJ_RE = re.compile(r"^(?:og|samt)\s+", re.IGNORECASE)
_QUESTION_END_RE = re.compile(r"(?<=\?)\s+")
# A comma part starting like this continues a sentence rather than naming a new item.
_CLAUSE_START_RE = re.compile(
    r"^(?:som|der|hvis|hvor|hvilket|fordi|men|mens|så|når|da|især|fx|f\.eks\.|bl\.a\.|eksempelvis|herunder|"
    r"heraf|både|dvs\.?|altså|og\s+(?:at|som|der|hvor|så))\b",
    re.IGNORECASE,
)
_MAX_ITEM_WORDS = 8


# A word that opens a message and says nothing («øh, unge voksne og pensionister»), also greetings («hej, det er …»).
INTERJECTION_RE = re.compile(r"^(?:øh|øhm|hmm|tja|ja|jo|ok|okay|altså|nå|hej|hejsa|hallo|goddag|godmorgen)\b[,.!]*"
                             r"(?:\s+så\b)?\s*",  # «ok så det bliver nok mig.. morten kjær»
                             re.IGNORECASE)


def _strip_item(item: str) -> str:
    """One list item without bullet/number marker, leading interjection («øh»), leading conjunction or final full
    stop."""
    item = INTERJECTION_RE.sub("", re.sub(rf"^[-*•]\s*|^\d+\)\s+|^\d+\.\s+(?!(?:{_MONTH_RE})\b)", "", item.strip(),
                                          flags=re.IGNORECASE))  # «8. juni selve dagen» keeps its day
    return _LEADING_CONJ_RE.sub("", item).strip().rstrip(".").strip()


def _split_enumeration(line: str) -> list[str]:
    """Split one line written as an enumeration: "a, b og c", "a; b", "a samt b".

    A bare "x og y" without commas stays one item ("børn og unge"); a line that reads as a sentence (long
    parts, or a part starting a subordinate clause like ", som ...") is not split on commas.
    """
    if "?" in line:  # questions keep their inner commas; one item per question
        return [q for q in _QUESTION_END_RE.split(line) if q.strip()]
    parts = [p for p in _COMMA_RE.split(line) if p.strip()]
    if len(parts) > 1:
        tail = _FINAL_OG_RE.match(parts[-1])
        if tail and not _CLAUSE_START_RE.match("og " + tail.group(2)):
            parts[-1:] = [tail.group(1), tail.group(2)]
        if any(_CLAUSE_START_RE.match(p) or len(p.split()) > _MAX_ITEM_WORDS for p in parts):
            parts = [line]
    return [item for p in parts for item in _SAMT_RE.split(p)]


def split_list(raw: str, *, enumerations: bool = True) -> list[str]:
    """Split a list answer into items: new lines, semicolons and bullets always separate items.

    With ``enumerations`` (free text), a single line is also split on commas, a final " og " after commas,
    and " samt " (see ``_split_enumeration``); without it (items already separated), only strong separators.
    """
    lines = [p for p in _STRONG_SEP_RE.split(raw.strip()) if p.strip()]
    if len(lines) == 1 and len(_INLINE_NUMBER_RE.findall(" " + lines[0])) >= 2:  # "1) a 2) b 3) c"
        lines = [p for p in _INLINE_NUMBER_RE.split(" " + lines[0]) if p.strip()]
    elif len(lines) == 1:
        numbers = [int(n) for n in _INLINE_ORDINAL_RE.findall(" " + lines[0])]
        if len(numbers) >= 2 and numbers == list(range(1, len(numbers) + 1)):  # "1. a 2. b 3. c"
            lines = [p for p in _INLINE_ORDINAL_RE.split(" " + lines[0])[::2] if p.strip()]
    if enumerations and len(lines) == 1:
        lines = _split_enumeration(lines[0])
    items = [_strip_item(p) for p in lines]
    return [i for i in items if i]
