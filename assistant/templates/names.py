"""Typed extractors for names in Danish answers: the name of an organisation, and a person with a job title.

An answer to a name question is a name or it is nothing: «Det er Hjørring Bibliotekerne – vi er i gang med …»
gives «Hjørring Bibliotekerne», «vi skal arbejde sammen med Københavns Universitet» gives «Københavns
Universitet», and «at få flere familier til at bruge havnen» gives None (the question is asked again). A person
is «name, title» wherever the title is written: «formand Erik Sønderby» and «Erik Sønderby, formand» are the same
person; a date, an e-mail or a sentence is never a person. The Danish word lists are in ``danish.yaml``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from assistant.templates.validation import INTERJECTION_RE, MONTHS, find_dates, split_list
from assistant.units import is_abbreviation, is_sentence_end

UPPER = "A-ZÆØÅ"
_NAME_WORD = rf"(?:[{UPPER}0-9][\wæøåÆØÅ&'’.-]*(?:/[{UPPER}][\wæøåÆØÅ]*)?)"  # «A/S», «I/S» end a firm's name
_CONNECT = r"(?:for|i|på|af|og|de|du|til|ved|&|-)"
NAME_RE = re.compile(rf"{_NAME_WORD}(?:\s+(?:{_CONNECT}\s+)?{_NAME_WORD})*")
_CONNECT_END = re.compile(rf"\s+{_CONNECT}$")
MAX_NAME_WORDS = 8  # an organisation's name; a longer answer is a sentence
SHORT_NAME_WORDS = 4  # a name in lower case ("silkeborg bibliotekerne") is at most this long
MAX_TITLE_WORDS = 6

FILLER_RE = re.compile(
    r"^(?:ja[,.]?\s+|nej[,.]?\s+|ok[,.]?\s+|okay[,.]?\s+|øh[,.]?\s+|hmm[,.]?\s+)?"
    r"(?:det\s+(?:er|bliver|skal være|må være|må blive|skal blive)|den\s+hedder|de\s+hedder|hun\s+hedder|han\s+hedder|"
    r"vi\s+tænker|jeg\s+tænker|navnet\s+er|svaret\s+er|(?:det\s+er\s+)?mig(?:\s+selv)?\s*(?:[,:–-]|\.{2,}))\s*",
    re.IGNORECASE,
)
_NAME_LEAD_RE = re.compile(r"^(?:vi\s+er|vi\s+hedder|vi\s+kommer\s+fra|jeg\s+er\s+fra|jeg\s+arbejder\s+(?:på|hos|i)|"
                           r"det\s+er|det\s+bliver|det\s+hedder|mig\s+selv|mig)\s*[,:–-]?\s+", re.IGNORECASE)
_CONTACT_LABEL_RE = re.compile(r"(?<![\wæøå])(?:tlf|telefon(?:nummer)?|mobil|e-?mail|mail)\.?:?(?=\s|$|,)",
                               re.IGNORECASE)
# where a name ends and a new clause begins: a dash, a full stop, a semicolon, or a comma/«og» before a subject
_CLAUSE_RE = re.compile(r"\s+[–—-]\s+|[.;:!?](?:\s+|$)|\n|,\s*(?=(?:og|men|så|som|der|hvor|mens|vi|jeg|de|det|"
                        r"den|hun|han|man)\s)", re.IGNORECASE)


def first_clause(text: str) -> str:
    """``text`` up to its first clause break; the full stop of an abbreviation is none («Sdr. Omme Friskole»)."""
    for m in _CLAUSE_RE.finditer(text):
        if m.group().startswith(".") and is_abbreviation(text[:m.start()].rsplit(None, 1)[-1] + "."):
            continue
        return text[:m.start()]
    return text


@dataclass(frozen=True)
class Lexicon:
    """The word lists of ``danish.yaml``."""

    sentence_words: frozenset[str]
    not_title: frozenset[str]
    not_title_start: frozenset[str]
    hedges: tuple[str, ...]
    negations: tuple[str, ...]
    not_yet_or_past: tuple[str, ...]
    correction_markers: tuple[str, ...]
    correction_leads: tuple[str, ...]
    correction_contrasts: tuple[str, ...]
    question_verbs: frozenset[str]
    question_subjects: frozenset[str]
    wrong_answer: tuple[str, ...]
    indefinite_articles: frozenset[str]
    definite_endings: dict[str, tuple[str, ...]]
    title_prepositions: frozenset[str]
    workplace_prepositions: frozenset[str]
    place_adverbs: frozenset[str]
    first_names: frozenset[str]
    clause_openers: frozenset[str]
    organisation_nouns: tuple[str, ...]
    modal_verbs: tuple[str, ...]
    prepositions: frozenset[str]
    not_place_names: frozenset[str]
    quantity_words: frozenset[str]
    title_endings: tuple[str, ...]


@lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    raw = yaml.safe_load(Path(__file__).with_name("danish.yaml").read_text(encoding="utf-8"))
    longest = lambda key: tuple(sorted(raw[key], key=len, reverse=True))  # noqa: E731
    return Lexicon(frozenset(raw["sentence_words"]), frozenset(raw["not_title"]), frozenset(raw["not_title_start"]),
                   longest("hedges"), longest("negations"), longest("not_yet_or_past"),
                   longest("correction_markers"),
                   longest("correction_leads"), longest("correction_contrasts"), frozenset(raw["question_verbs"]),
                   frozenset(raw["question_subjects"]), longest("wrong_answer"),
                   frozenset(raw["indefinite_articles"]),
                   {k: tuple(v) for k, v in sorted(raw["definite_endings"].items(), key=lambda kv: -len(kv[0]))},
                   frozenset(raw["title_prepositions"]), frozenset(raw["workplace_prepositions"]),
                   frozenset(raw["place_adverbs"]),
                   frozenset(raw["first_names"]), frozenset(raw["clause_openers"]),
                   tuple(raw["organisation_nouns"]), longest("modal_verbs"), frozenset(raw["prepositions"]),
                   frozenset(raw["not_place_names"]), frozenset(raw["quantity_words"]),
                   tuple(raw["title_endings"]))


def phrase_re(phrases: tuple[str, ...]) -> str:
    """An alternation of word phrases (longest first), matching whole words only."""
    return "(?:" + "|".join(r"\s+".join(re.escape(w) for w in p.split()) for p in phrases) + r")(?![\wæøå])"


def words(text: str) -> list[str]:
    return re.findall(r"[\wæøåÆØÅ@.'’&-]+", text)


def _bare(word: str) -> str:
    return word.casefold().strip(".,:;!?()«»\"'")


def strip_fillers(text: str) -> str:
    """Without lead-ins ("det er", "vi er", "mig selv –"), interjections ("øh") and hedges ("vist", "vel")."""
    hedges = phrase_re(lexicon().hedges)
    lead_hedge = re.compile(rf"^{hedges}[,]?\s*", re.IGNORECASE)
    tail_hedge = re.compile(rf"(?<!\sog)[\s,]+{hedges}\s*[.?!]*$", re.IGNORECASE)  # «… før og nu» is a title
    prev = None
    value = text.strip()
    while prev != value:
        prev = value
        for pattern in (INTERJECTION_RE, FILLER_RE, _NAME_LEAD_RE, lead_hedge):
            value = pattern.sub("", value).strip()
        value = tail_hedge.sub("", value).strip()
    return value


def _is_function_word(word: str) -> bool:
    return _bare(word) in lexicon().sentence_words | lexicon().not_title


def name_runs(text: str) -> list[re.Match[str]]:
    """Proper names in ``text`` (capitalised words), without a sentence-initial «Vi», «Det», «Hos» …, nor «Vi på»
    before a name («Vi på Rebild Bibliotekerne»; «Den Gamle By» keeps its «Den»)."""
    runs: list[re.Match[str]] = []
    pos = 0
    while (found := NAME_RE.search(text, pos)) is not None:
        m: re.Match[str] | None = found
        pos = found.end()
        cut = _sentence_end_in(found.group(0))
        if cut:  # «Rebild. Vi på Rebild Bibliotekerne»: two sentences, the second is read on its own
            m, pos = NAME_RE.match(text, found.start(), found.start() + cut), found.start() + cut + 1
        first = m.group(0).split()[0] if m else ""
        if m is not None and _is_function_word(first):
            lead = _FUNCTION_LEAD.match(text, m.start())
            if lead is not None:
                m = NAME_RE.match(text, lead.end())
            elif len(m.group(0).split()) == 1:
                continue
        if m is None or not re.search(r"[^\W\d]", m.group(0)):
            continue
        runs.append(m)
    return runs


_FUNCTION_LEAD = re.compile(rf"[\wæøåÆØÅ]+\s+(?:{_CONNECT})\s+(?=[{UPPER}])")
# Inside a person's name only these join words («Karen de Vries», «Hans-Jørgen»); «Kilder og Kritik», «Skolebørn i
# 3» are no one's name, «Anders Bering og Mette Holm» is two people (the first is taken)
_PERSON_BREAK = re.compile(r"\s+(?:for|i|på|og|til|ved|&)\s+.*$|\s+\d.*$")


_SENTENCE_STOP = re.compile(r"(?<=\w)[.!?](?=\s)")


def _sentence_end_in(name: str) -> int | None:
    """Where a sentence ends inside a name run («Bibliotekerne. Sidste …», «Jens Lau. Han er …»); an initial
    («Jens P. Hansen») or an abbreviation does not end it («Skt. Knud»; «Hej. Tønder Bibliotek» is two sentences)."""
    for m in _SENTENCE_STOP.finditer(name):
        if not is_sentence_end(name, m.start()):  # the project's splitter: abbreviations, initials, dates
            continue
        word, following = name[:m.start()].split()[-1], name[m.end():].split()[0]
        if m.group(0) != "." or not is_abbreviation(word) or _is_function_word(following):  # «Skt. Knud», not «Hej.»
            return m.start()
    return None


def trim_name(name: str) -> str:
    """A name run without what follows a sentence end inside it, nor a trailing connector or full stop, nor the
    town after a complete name («Viby Bibliotek i Aarhus» -> «Viby Bibliotek»)."""
    cut = _sentence_end_in(name)
    name = name[:cut] if cut is not None else name
    prev = None
    while prev != name:  # «Samsø Bibliotek, og» -> «Samsø Bibliotek»
        prev, name = name, _CONNECT_END.sub("", name.rstrip(".-–—,;: ")).strip()
    return _without_location(name)


_LOCATION_TAIL = re.compile(rf"\s+(?:i|på)\s+{_NAME_WORD}$")


def _without_location(name: str) -> str:
    """A name that is complete before «i/på <Place>» — a proper name and its organisation's noun, «Hurup Bibliotek
    i Thy», «Aakirkeby Bibliotek på Bornholm» — without the place. A name that needs its place keeps it
    («Ungdomsskolen i Lemvig», «Foreningen Norden i Vejle»), and so does one whose tail is an organisation
    («Skoletjenesten i Hjørring Kommune»)."""
    m = _LOCATION_TAIL.search(name)
    if m is None:
        return name
    head = name[:m.start()].split()
    tail = m.group(0).split()[1:]
    if len(head) >= 2 and organisation_noun_in(head[-1]) and not organisation_noun_in(head[0]) and \
            not any(organisation_noun_in(w) for w in tail):
        return name[:m.start()]
    return name


_GENITIVE_HEAD = re.compile(r"\s+([a-zæøå][a-zæøå-]{2,})(?![\wæøå])")


def with_genitive_head(name: str, after: str) -> str:
    """A name of two or more words that ends in a genitive takes the lower-case noun after it: «Ballerup Kommunes»
    + « skoler» -> «Ballerup Kommunes skoler» (a genitive alone names no one)."""
    m = _GENITIVE_HEAD.match(after)
    if len(name.split()) < 2 or not name.endswith("s") or not m or _is_function_word(m.group(1)) or \
            re.fullmatch(_CONNECT, m.group(1)) or m.group(1) in lexicon().indefinite_articles:
        return name
    return name + m.group(0)


def definite_forms(name: str) -> set[str]:
    """How a text refers to an organisation by its head noun: «Lemvig Gymnasium» -> {«gymnasiet», …},
    «Skoletjenesten i Hjørring Kommune» -> {«skoletjenesten», «kommunen», …} (lower case)."""
    ws = [w for w in re.findall(r"[\wæøåÆØÅ-]+", name) if not w.isupper()]
    heads = ws[-1:]
    m = re.match(r"^\s*([\wæøåÆØÅ-]+)\s+(?:i|på|ved|for)\s", name)
    if m:
        heads.append(m.group(1))
    elif ws and organisation_noun_in(ws[0]) and ws[0].casefold() not in {h.casefold() for h in heads}:
        heads.append(ws[0])  # «Foreningen Lektiecafé Viby» -> «foreningen»
    # a compound's organisation noun names it too: «Vejen Kunstmuseum» -> «museet», «Lillebælt Naturskole» -> «skolen»
    heads += [h[i:] for h in heads for org in lexicon().organisation_nouns
              if len(org) >= 4 and (i := h.casefold().find(org)) > 0]
    out: set[str] = set()
    for head in (h.casefold() for h in heads if len(h) >= 4):
        out.add(head)
        for ending, forms in lexicon().definite_endings.items():
            if head.endswith(ending):
                stem = head[: len(head) - len(ending)]
                out |= {stem + f for f in forms}
                if not ending and re.search(r"[^aeiouyæøå][aeiouyæøå][bdfgklmnprst]$", head):
                    out |= {head + head[-1] + f for f in forms}  # klub -> klubben
                break
    return out


def name_like(text: str) -> bool:
    """True for a plausible organisation name: short, no sentence words, capitalised unless very short."""
    ws = words(text)
    if not ws or len(ws) > MAX_NAME_WORDS or "@" in text or not re.search(r"[a-zæøå]", text, re.IGNORECASE):
        return False
    joins = {i for i, w in enumerate(ws[:-1]) if re.fullmatch(_CONNECT, w) and ws[i + 1][:1].isupper()}
    if any(w[:1].islower() and _bare(w) in lexicon().sentence_words and i not in joins
           for i, w in enumerate(ws) if i) or \
            _bare(ws[0]) in lexicon().sentence_words:  # a capitalised «Vi» inside a name is part of it; «Teatret
        return False  # ved Stranden»: «ved» before a capital joins the name
    if ws[0] in lexicon().indefinite_articles:  # «et plejehjem» is some party, not a name
        return False
    if len(ws) > 1 and ws[0].casefold() in lexicon().prepositions and ws[1][:1].islower():
        return False  # «Efter sommersæsonen», «På biblioteket» say when or where
    if len(ws) >= 2 and ws[0].casefold() in lexicon().first_names and \
            ws[1] in lexicon().workplace_prepositions | {"fra"}:
        return False  # «Ole fra biblioteket» is a person
    if _bare(ws[0]) in lexicon().clause_openers:  # «Om fortællevandringerne når nye brugere» is a sentence
        return False
    if len(ws) == 1 and _bare(ws[0]) in MONTHS:  # «august: plakater; september: …» is a plan, not a party
        return False
    if _bare(ws[0]) in lexicon().quantity_words and any(w[:1].islower() for w in ws[1:]):
        return False  # «To trænere fra foreningen», «Mindst 50 sangere» count people; «Tre Musketerer Teater» is a name
    # a capitalised first word and three lower-case words beside connectors and genitives is a sentence («Din tekst
    # fortjener en læser»); «Museum for moderne kunst», «Odense Kommunes skoletjeneste» are names
    lower = [w for i, w in enumerate(ws[1:], 1) if w[:1].islower() and len(w) >= 4 and not ws[i - 1].endswith("s")
             and not re.fullmatch(_CONNECT, w)]
    if ws[0][:1].isupper() and len(lower) >= 3:
        return False
    if len(ws) > 1 and ws[0][:1].isupper() and _is_definite_noun(ws[0].casefold()) and ws[1][:1].islower() and \
            not re.fullmatch(_CONNECT, ws[1]) and not organisation_noun_in(ws[1]):
        return False  # a subject and its verb: «Gymnasiet giver lærertimer»; «Museet for Samtidskunst» is a name
    if len(ws) >= 3 and ws[0][:1].isupper() and not any(w[:1].isupper() for w in ws[1:]) and \
            not any(organisation_noun_in(w) for w in ws):
        return False  # only a sentence's first capital and no organisation's noun: «Elever på 1.g og 2.g»
    if all(w.islower() and is_abbreviation(w) for w in ws):  # «ca. 50 unge …» names no one
        return False
    if re.fullmatch(r"\d+[.,]?", ws[0]) and not any(re.match(rf"[{UPPER}]", w) for w in ws):
        return False  # a count in lower case («25 faste medlemmer») names no one; «3F Aarhus» does
    return len(ws) <= SHORT_NAME_WORDS or any(re.match(rf"[{UPPER}]", w) for w in ws)


def org_name(text: str) -> str | None:
    """The organisation named in an answer to a name question, or None when the answer names none."""
    name = _org_name(text)
    if name is None or find_dates(name):
        return None  # «den 15/9 2027» is a date
    ws = name.split()
    if name == name.lower() and len(ws) >= 2 and not any(organisation_noun_in(w) for w in ws) and \
            any(re.fullmatch(r"[\d.,/-]*\d[\d.,/-]*", w) for w in ws):
        return None  # «elever på 4.-6. klassetrin» in lower case describes people; «hurup bibliotek» names one
    return name


def _org_name(text: str) -> str | None:
    value = strip_fillers(text).strip(" ,?.!\"'«»")
    first = first_clause(value)
    first = strip_fillers(first).strip(" ,?.!\"'«»")
    lead = re.match(rf"[a-zæøå][\wæøå-]+\s+(?=[{UPPER}])", first)  # «e-sportsforeningen RKS Gaming» -> «RKS Gaming»
    if lead and _is_definite_noun(lead.group(0).strip()) and organisation_noun_in(lead.group(0).strip()):
        first = first[lead.end():]
    # «Læsekredse i frikvartererne, en forfatteraften og en festivaldag», «Nybagte forældre på Lolland; sundheds-
    # plejersker og dagplejere; lokalpressen» list activities or audiences, not a party
    if any(len(listed) >= 3 and any(len(i.split()) > 1 and i == i.lower() for i in listed[1:])
           for listed in (split_list(first), split_list(value, enumerations=False))):
        return None
    if name_like(first):
        return trim_name(first)  # «læsø bibliotek og» -> «læsø bibliotek»
    head = re.split(r"\s+og\s+(?=[a-zæøå])", first, maxsplit=1)[0]  # «Roskilde Bibliotekerne og aftalen er med …»
    if head != first and name_like(head) and (len(head.split()) > 1 or organisation_noun_in(head) or head.isupper()):
        # one capitalised word before «og en kort …» starts a sentence («Publikumstælling og en kort QR-undersøgelse»)
        return trim_name(head)
    runs = name_runs(first)
    sentence_capital = bool(runs) and runs[0].start() == 0 and " " not in runs[0].group(0) and \
        not runs[0].group(0).isupper() and re.match(r"\s+[a-zæøå]", first[runs[0].end():]) is not None
    # «To trænere fra foreningen»: the capital starts a sentence; «KØS, museum for …» is a name
    if len(runs) == 1 and name_like(runs[0].group(0)) and not sentence_capital:
        return trim_name(runs[0].group(0))
    return None


def _title_before(before: str) -> str:
    """Job-title words written just before a name ("Musikskolens leder Torben Ravn", "kultur- og fritidschef")."""
    ws = before.split()
    kept: list[str] = []
    for i in range(len(ws) - 1, -1, -1):
        w = ws[i]
        joins = _bare(w) == "og" and kept and i > 0 and ws[i - 1].endswith("-")
        joins = joins or (_bare(w) in lexicon().title_prepositions and kept and i > 0
                          and not _is_function_word(ws[i - 1])
                          and not re.search(r"[\d@,:;]", ws[i - 1]))  # «lektor i dansk Birthe Juul»
        if not joins and (_is_function_word(w) or re.search(r"[\d@]", w) or not re.search(r"\w", w)
                          or (w[-1] in ",:;" and i < len(ws) - 1)):  # "formidlingschef, Lars Kure" is fine
            break
        kept.insert(0, w)
    title = " ".join(kept).strip(" ,:–-")
    return title if 0 < len(title.split()) <= SHORT_NAME_WORDS else ""


_TITLE_AFTER = (re.compile(r"\s*,\s*([^,()–—;]+)"), re.compile(r"\s*\(\s*([^()@\d]+?)\s*\)"),
                re.compile(r"\s+[–—-]\s+([^,()–—;]+)"), re.compile(r"\s+(?:som|der)\s+er\s+([^,()–—;]+)"),
                # «… Holm. Jeg er bibliotekar og …», «Karen Juhl hun er bibliotekar»: one word as the whole sentence
                # or before «og», so «Jeg er glad for det» gives no title
                re.compile(r"\s*[.!,]?\s+(?:jeg|hun|han)\s+er\s+([\wæøå]+(?:-\s+og\s+[\wæøå]+|(?:\s+(?!(?:for|til|med|i|på|af|om|det|den|de|et|en|at|og|så)\b)[\wæøå]+){1,2}(?=\s*[.!]?\s*$))?)"
                           r"(?=\s*(?:[.!,;]|$)|\s+(?:og|men|så)\s)", re.IGNORECASE),
                # «Jeg hedder Ida Brøndum og er projektleder på Struer Bibliotek»
                re.compile(r"\s+og\s+er\s+([a-zæøå][\wæøå-]+)(?=\s+(?:på|hos|i|ved)\s|\s*[.,;!]|\s*$)"),
                # «Dorthe Lykke bibliotekar, dl@vejen.dk»: one lower-case word that ends the clause
                re.compile(r"\s+([a-zæøå][\wæøå-]{3,})(?=\s*(?:[,;]|$))"))


def _title_after(after: str) -> tuple[str, int]:
    """A title after a comma, in parentheses, after a dash or in the next sentence ("Erik Sønderby, formand",
    "Karin Kofoed (bibliotekar)", "Sofie Lindholm – jeg er ungdomsbibliotekar", "Jens Lau. Han er lektor og …")
    and where it ends."""
    for pattern in _TITLE_AFTER:
        m = pattern.match(after)
        if m:
            found = _title_in(m)
            if found[0]:
                return found
    return "", 0


def _title_in(m: re.Match[str]) -> tuple[str, int]:
    cand = m.group(1)
    stop = next((s for s in re.finditer(r"[.!?](?=\s|$)|\s-\s", cand)  # «filialleder - hun har mailen …»
                 if not (s.group() == "." and s.end() < len(cand) and is_abbreviation(cand[:s.end()].split()[-1]))),
                None)  # «adm. direktør» is one title
    cand, end = (cand[:stop.start()], m.start(1) + stop.start()) if stop else (cand, m.end(1))
    cand = cand.strip()
    said = re.match(r"^(?:(?:jeg|hun|han|som|der)\s+)?er\s+(.+?)(?:\s+(?:her|derude|derovre|hos\s+(?:os|dem)|"
                    r"på\s+biblioteket))?[.!]?$", cand, re.IGNORECASE)  # «Fatima Ali, som er studievejleder»
    if said:
        cand = said.group(1)
    elif cand.split() and _bare(cand.split()[0]) in lexicon().not_title_start:
        return "", 0
    cand = cand.strip(" .–—-")  # «daglig leder - henrik@…»
    while len(cand.split()) > 1 and _is_function_word(cand.split()[-1]):  # «som er lærer der» -> «lærer»
        cand = cand.rsplit(None, 1)[0]
    if not cand or len(cand.split()) > MAX_TITLE_WORDS or re.search(r"[\d@]", cand):
        return "", 0
    if any(_bare(w) in lexicon().sentence_words for w in cand.split()) or \
            re.fullmatch(phrase_re(lexicon().hedges), cand, re.IGNORECASE) or \
            (len(cand.split()) == 1 and _is_function_word(cand)):  # «Anne Holm, vist», «Anne Holm selv»
        return "", 0
    return cand, end


_ORGANISATION_AFTER = re.compile(rf"\s+(?:fra|hos|på|i|ved)\s+(?P<org>{NAME_RE.pattern})")
_AFFILIATION_RE = re.compile(r"\s+(?:fra|hos|på)\s+[\wæøåÆØÅ-]+(?=\s*[,(])", re.IGNORECASE)


@lru_cache(maxsize=1)
def _definite_suffixes() -> tuple[str, ...]:
    return tuple({f for fs in lexicon().definite_endings.values() for f in fs} | {"erne", "ene"})


def organisation_word(word: str) -> bool:
    """An organisation's noun as a whole word, in any form («Kommune», «Bibliotekerne», «Museum», «Teater»; not
    «Kirkegaard»): «Vordingborg Kommune» is no one's name."""
    return _bare(word) in _organisation_words()


@lru_cache(maxsize=1)
def _organisation_words() -> frozenset[str]:
    return frozenset(org + end for org in lexicon().organisation_nouns for end in _ORGANISATION_ENDINGS)


def compound_ends_in(word: str, noun: str) -> bool:
    """``word`` is a compound whose last part is ``noun`` in one of an organisation noun's forms
    («Hovedbiblioteket», «Folkebibliotek» for «bibliotek»; not «Skolebibliotekar»)."""
    w = _bare(word)
    return any(w.endswith(noun + end) for end in _ORGANISATION_ENDINGS)


def organisation_noun_in(word: str) -> bool:
    """An organisation's noun, also as the end of a compound («ungdomsskole», «lokalbibliotek», «friskolen»)."""
    return any(compound_ends_in(word, org) for org in lexicon().organisation_nouns if len(org) >= 4) or \
        organisation_word(word)


def workplace_of_person_at(text: str) -> str | None:
    """The organisation of a person named at the start of ``text`` («sognepræst Karen Munk fra Skjern Kirke» ->
    «Skjern Kirke»): after a partner hint the party is the workplace, not the person."""
    m = re.match(rf"\s*(?:[a-zæøå-]+\s+){{0,2}}?(?P<who>[{UPPER}]\S*\s+[{UPPER}]\S*)", text)
    if m is None or not person_shaped(m.group("who")):
        return None
    org = _ORGANISATION_AFTER.match(text, m.end())
    return trim_name(org.group("org")) if org else None


def person_shaped(name: str) -> bool:
    """A person's name: two or three capitalised words, the first a common first name, none an organisation's
    noun («Sofie Hald», «Emil Sejersen»; not «Karen Blixen Museet»)."""
    ws = name.split()
    return 2 <= len(ws) <= 3 and ws[0].casefold() in lexicon().first_names and \
        all(w[:1].isupper() for w in ws) and not any(organisation_word(w) for w in ws)


def lower_organisation_at(text: str) -> str | None:
    """An organisation's name written in lower case at the start of ``text`` («struer ungdomsskole og …», «hurup
    bibliotek», «Holmsland bibliotek»: the first word may have a capital): two to SHORT_NAME_WORDS words, none a
    function word or a plain adjective («det lokale bibliotek»), the last an organisation's noun. Users on a phone
    write names this way; a single noun («skolen») is no name."""
    ws: list[str] = []
    for m in re.finditer(r"\S+", text):
        w = m.group(0)
        if not re.fullmatch(rf"[a-zæøå{UPPER if not ws else ''}][\wæøå.'-]*", w) or len(ws) >= SHORT_NAME_WORDS:
            break
        ws.append(w)
    for n in range(len(ws), 1, -1):
        cand = ws[:n]
        if organisation_noun_in(cand[-1]) and not any(
                _is_function_word(w) or _bare(w) in lexicon().not_place_names or _bare(w) in lexicon().prepositions
                for w in cand):
            return " ".join(cand).rstrip(".,")
    return None


_ORGANISATION_ENDINGS = ("", "e", "en", "et", "er", "erne", "ne", "s", "um", "ums", "ets", "ens")


def _is_definite_noun(word: str) -> bool:
    """A lower-case noun in its definite form («biblioteket», «musikskolen», «museet», «afdelingerne»)."""
    return word.islower() and len(word) >= 5 and word.endswith(_definite_suffixes())


_OBJECT_PRONOUNS = {"dig", "os", "mig", "jer", "dem"}  # part of a title: «Skriv dig ind», «Tegn med os»
MAX_PROJECT_WORDS = 6  # a project's name («Ord og toner i Sankt Knud»); a longer run is a sentence
_PROJECT_STOP = re.compile(r"[,;:!?()]|\s[–—-]\s|\.(?:\s|$)")
_NAME_TAIL = re.compile(rf"(?:\s+{_CONNECT})+$")


def project_name_at(text: str) -> str | None:
    """A project's name at the start of ``text``: a capitalised word and the words after it up to a clause break,
    a sentence word («vi», «skal»), a hedge, an article, a month, a date or a second «og» («Tro og tvivl», «Bøger på
    kajen, og …» -> «Bøger på kajen», «Læs og sejl og starter vist …» -> «Læs og sejl»). Unlike an organisation's
    name (:data:`NAME_RE`), a project's name keeps lower-case words («Når havet stiger»)."""
    text = text.lstrip()
    if not re.match(rf"[{UPPER}]", text):  # «12.000 kr.» after «projektet er» names nothing
        return None
    stop = _PROJECT_STOP.search(text)
    region = text[:stop.start()] if stop else text
    dates = find_dates(region)
    region = region[:dates[0][0]] if dates else region
    lex = lexicon()
    kept: list[str] = []
    ands = 0
    ws = region.split()
    for i, word in enumerate(ws):
        bare = _bare(word)
        ands += bare == "og"
        rest = " ".join(_bare(w) for w in ws[i:])
        if i and ((bare in lex.sentence_words and bare not in _OBJECT_PRONOUNS) or bare in lex.indefinite_articles
                  or bare in MONTHS or bare == "sammen" or ands > 1
                  or (_bare(ws[i - 1]) != "og" and any(rest == h or rest.startswith(h + " ") for h in lex.hedges))):
            break
        kept.append(word)
    name = _NAME_TAIL.sub("", " ".join(kept)).strip(" .")
    return name if name and len(name.split()) <= MAX_PROJECT_WORDS else None


def appositive_names(text: str) -> list[re.Match[str]]:
    """Names written after a common noun in its definite form or after «vores»/«jeres» and a noun, which says what
    they name: «læseklubben Bogorme», «foredragsrækken Tro og tvivl», «vores seniorprojekt Kunst og kaffe» (the
    match's ``name`` group is where the name starts); not after an organisation's noun («museet Kunsthal Aarhus»,
    «vores partner Sorø Kunstmuseum», ``organisation_nouns``)."""
    found = re.finditer(rf"(?<![\wæøå])(?P<own>(?:vores|jeres|deres|vort)\s+)?(?P<noun>[a-zæøå]+)\s+"
                        rf"(?P<name>[{UPPER}])", text)
    return [m for m in found if (m.group("own") or _is_definite_noun(m.group("noun")))
            and not any(org in m.group("noun") for org in lexicon().organisation_nouns)]


def workplace_word(word: str) -> bool:
    """A word of a common-noun workplace reference that :func:`without_workplace` drops («på», «museet», «os»)."""
    return word in lexicon().workplace_prepositions or word == "os" or _is_definite_noun(word)


def without_workplace(title: str) -> str:
    """A title without a reference to a party by a common noun: «formidler på biblioteket» -> «formidler»,
    «bibliotekar hos os» -> «bibliotekar». The person's party is stated by the field, so the reference adds nothing
    to a document; a proper name («frivilligkoordinator i Ældre Sagen»), a subject («lektor i dansk») or a genitive
    before the title («foreningens formand») stays."""
    ws = title.split()
    if len(ws) >= 2 and ws[-1].casefold() in lexicon().place_adverbs:  # «projektleder her»
        ws = ws[:-1]
    if len(ws) >= 3 and ws[-2].casefold() in lexicon().workplace_prepositions and workplace_word(ws[-1]) and \
            ws[-1] not in lexicon().workplace_prepositions:
        ws = ws[:-2]
    return _indefinite(" ".join(ws))


def without_party(title: str, party: str) -> str:
    """A title without its party's own name after a workplace preposition: «afdelingsleder hos FOF» as the contact
    of «FOF Midtjylland» is «afdelingsleder» (the document states whose person it is); another organisation's name
    stays."""
    ws = party.split()
    refs = tuple(sorted({" ".join(ws[:n]) for n in range(1, len(ws) + 1)} | definite_forms(party), key=len,
                        reverse=True))  # «FOF Midtjylland» is also «FOF»; «Hurup Skole» is also «skolen»
    m = re.search(rf"\s+{phrase_re(tuple(lexicon().workplace_prepositions))}\s+{phrase_re(refs)}$", title,
                  re.IGNORECASE)
    return title[:m.start()].strip() if m and m.start() > 0 else title


def _indefinite(title: str) -> str:
    """A one-word title in the definite form reads as the title: «formanden» -> «formand», «lederen» -> «leder»,
    «kokken» -> «kok» (a document names a role, «Bo Clausen, formand»)."""
    if " " in title or not re.fullmatch(r"[a-zæøå]{4,}en", title):
        return title
    stem = title[:-2]
    return stem[:-1] if len(stem) >= 3 and stem[-1] == stem[-2] and stem[-1] not in "aeiouyæøå" else stem


def person(text: str, *, affiliation: bool = False) -> tuple[str, int] | None:
    """«name, title» of the person in an answer (title from before or after the name), and where it ends. With
    ``affiliation`` a person without a job title takes the organisation written after the name as the title
    («Inge Bonde på Skjern Bibliotek» -> «Inge Bonde, Skjern Bibliotek»)."""
    blank = lambda m: " " * len(m.group(0))  # noqa: E731 - offsets stay those of ``text``
    value = re.sub(r"\(\s*[,;]?\s*\)", blank, _CONTACT_LABEL_RE.sub(blank, text))
    offset = len(value) - len(value.lstrip())
    stripped = strip_fillers(value)
    offset = value.find(stripped) if stripped else offset
    trimmed = [(r, _PERSON_BREAK.sub("", r.group(0))) for r in name_runs(stripped)]
    runs = [(r, t) for r, t in trimmed if len(t.split()) >= 2 and not r.group(0)[0].isdigit()
            and not organisation_word(t.split()[-1])]
    if runs:
        run, name = runs[0]
        name = trim_name(name)
        end = run.start() + len(name)
        where = _AFFILIATION_RE.match(stripped, end)  # «Trine Mølgaard fra museet, hun er formidlingschef»
        where = where or re.compile(rf"\s+{phrase_re(tuple(lexicon().place_adverbs))}", re.IGNORECASE).match(
            stripped, end)  # «Sara Kjeldsen derovre, hun er musikpædagog»: a place is no title
        title, title_end = _title_after(stripped[where.end() if where else end:])
        if title:
            return f"{name}, {without_workplace(title)}", offset + (where.end() if where else end) + title_end
        title = without_workplace(_title_before(stripped[:run.start()]))
        ws = name.split()  # «Læsevejleder Birthe Kirkegaard»: a capitalised title before a first name
        if not title and len(ws) >= 3 and _title_words_before_first_name(ws, most=1) == 1:
            title, name = _indefinite(ws[0][:1].lower() + ws[0][1:]), " ".join(ws[1:])  # «Formanden Bent Frost»
        org = _ORGANISATION_AFTER.match(stripped, end) if affiliation and not title else None
        if org is not None and org_name(org.group("org")):
            return f"{name}, {trim_name(org.group('org'))}", offset + org.end()
        return (f"{name}, {title}" if title else name), offset + end
    bare = stripped.strip(" ,.!\"'«»")
    first = first_clause(bare).split(",")[0].strip(" –—-")  # «Bjarne – bjth@thisted.dk»
    first = re.split(r"\s+(?=(?:hun|han|jeg|der|som)\s+er\s)", first, maxsplit=1)[0]  # «sofie lund hun er …»
    said = _SAID_PERSON.search(first) if first[:1].islower() else None  # «til daglig er det ole bak, lektor»
    if said is not None and said.group("first").casefold() in lexicon().first_names:
        first = first[said.start("first"):]
    ws = first.split()
    mixed = len({w[:1].isupper() for w in ws}) > 1  # «Ung scene», «Teatret betaler dramatikeren»: no one's name
    follows = stripped[stripped.find(first) + len(first):] if first else ""
    if re.match(r"\.?\s*\d", follows):  # «kr. 8.000,-», «uge 12»: a number follows, no one is named
        return None
    lead = ""  # «forstander jens kirk», «lektor i fysik ole bak»: a lower-case title before a first name
    at = _title_words_before_first_name(ws, most=3)
    if at and len(ws) - at <= 3:
        lead, ws = " ".join(ws[:at]), ws[at:]
        first = " ".join(ws)
    if ws and ws[0].casefold() not in lexicon().first_names:  # «frivillige it-hjælpere» is no one
        return None
    if 1 <= len(ws) <= SHORT_NAME_WORDS and not mixed and all(
            re.fullmatch(r"[\wæøåÆØÅ'’.-]+", w) and not re.search(r"\d", w) for w in ws) and \
            not any(_is_function_word(w) for w in ws):
        start = stripped.find(first)
        title, title_end = _title_after(stripped[start + len(first):])
        end = start + len(first) + (title_end if title else 0)
        title = title or lead
        return (f"{first}, {title}" if title else first), offset + end
    return None


# a lower-case person after the verb that names them, anywhere in the clause («til daglig er det ole bak»)
_SAID_PERSON = re.compile(r"(?<![\wæøå])(?:er|bliver|hedder)(?:\s+det)?\s+(?P<first>[a-zæøå]+)(?=\s+[a-zæøå])")


_INTRODUCTION = re.compile(r"\b(?:[Jj]eg\s+(?:hedder|er)|[Mm]it\s+navn\s+er|[Jj]eg,)\s+"  # «og jeg, Henrik Vinther, …»
                           r"(?P<said>(?:[a-zæøå-]+\s+)?)(?=[A-ZÆØÅ])")  # a title may come first


def _title_words_before_first_name(ws: list[str], *, most: int) -> int:
    """How many of ``ws`` (at most ``most``) are a job title written before a first name: the title's first word
    ends like one (``title_endings``: «forstander», «lektor i fysik», «Læsevejleder») and holds no function word but a
    title preposition; 0 when there is none («Randers Freja Fodbold», «i dag ole bak»)."""
    lex = lexicon()
    at = next((i for i, w in enumerate(ws[:most + 1]) if w.casefold() in lex.first_names), 0)
    if not at or organisation_noun_in(ws[0]) or not _indefinite(ws[0].casefold()).endswith(lex.title_endings):
        return 0
    if any((_is_function_word(w) and not (i and w in lex.title_prepositions)) or not w.isalpha()
           for i, w in enumerate(ws[:at])):
        return 0
    return at


def speaker(text: str) -> str | None:
    """The person who introduces themselves in ``text`` («jeg er Niels Brix, bibliotekschef»), as «name, title»."""
    for m in _INTRODUCTION.finditer(text):
        hit = person(text[m.start("said"):])  # «jeg er kommunikationsmedarbejder Signe Falk»
        name = hit[0].split(",")[0] if hit else ""
        if hit is not None and text[m.end():].startswith(name) and len(name.split()) >= 2:
            return hit[0]
    return None


def negated(before: str, after: str) -> bool:
    """True when a cue is negated: a negation in its clause before it, or right after it ("er ikke …")."""
    negs = phrase_re(lexicon().negations)
    return bool(re.search(rf"(?<![\wæøå]){negs}", before, re.IGNORECASE)
                or re.match(rf"\s*{negs}", after, re.IGNORECASE))


def not_yet_or_past(before: str) -> bool:
    """True when a cue's clause before it states a plan or the past ("vi overvejer at samarbejde med …")."""
    return bool(re.search(rf"(?<![\wæøå]){phrase_re(lexicon().not_yet_or_past)}", before, re.IGNORECASE))


_QUESTION_WORD = re.compile(r"^(?:hvad|hvordan|hvorfor|hvem|hvornår|hvilke[nt]?|hvor(?:mange|meget|når)?)\b",
                            re.IGNORECASE)


def question_shaped(item: str) -> bool:
    """An item that reads as a question: a question mark, a question word, «om …», or a verb and then its subject
    («Nåede vi …», «Er arbejdsdelingen fair»); «Jannie», «to frivillige», «fremmøde og trivsel» are not."""
    item = item.strip()
    if item.endswith("?") or starts_as_question(item):
        return True
    first = re.findall(r"[\wæøå]+", item.casefold())[:2]
    if first[:1] == ["om"]:
        return True
    lex = lexicon()
    return len(first) == 2 and (first[0] in lex.question_verbs or first[0].endswith(("ede", "te"))) and \
        (first[1] in lex.question_subjects or _is_definite_noun(first[1]))


def starts_as_question(text: str) -> bool:
    """A question without a question mark: a question word first, or a verb and then its subject
    ("skal det være kommunen …", "må vi bruge deres logo")."""
    if _QUESTION_WORD.match(text.strip()):
        return True
    first = re.findall(r"[\wæøå]+", text.casefold())[:2]
    lex = lexicon()
    return len(first) == 2 and first[0] in lex.question_verbs and first[1] in lex.question_subjects
