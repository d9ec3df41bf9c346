"""Typed field values: parse user text into normalised values, format them in Danish, validate a draft.

A value is stored normalised (``date``, ``Decimal``, digits, lists, name + title) and turned into Danish text only
by :func:`format_value` when a draft or document is rendered.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from assistant.templates.schema import TemplateField, TemplateSchema
from assistant.templates.validation import (
    EMAIL_RE,
    bare_number,
    find_amounts,
    find_dates,
    find_day_months,
    find_phones,
    format_amount,
    format_date,
    split_list,
)

MISSING = "[mangler]"
MAX_PERSON = 120


class TextValue(BaseModel):
    kind: Literal["text"] = "text"
    text: str


class ListValue(BaseModel):
    kind: Literal["list"] = "list"
    items: list[str]


class DateValue(BaseModel):
    kind: Literal["date"] = "date"
    value: date


class AmountValue(BaseModel):
    kind: Literal["amount"] = "amount"
    value: Decimal


class EmailValue(BaseModel):
    kind: Literal["email"] = "email"
    address: str


class PhoneValue(BaseModel):
    kind: Literal["phone"] = "phone"
    digits: str = Field(pattern=r"^\d{8}$")
    country: bool = Field(False, description="Written with +45.")


class PersonValue(BaseModel):
    kind: Literal["person"] = "person"
    name: str
    title: str = ""


FieldValue = Annotated[
    TextValue | ListValue | DateValue | AmountValue | EmailValue | PhoneValue | PersonValue,
    Field(discriminator="kind"),
]


def _person(text: str) -> PersonValue:
    name, _, title = text.partition(",")
    return PersonValue(name=name.strip(), title=title.strip().rstrip("."))


def parse_value(field: TemplateField, raw: str | list[str]) -> tuple[FieldValue | None, list[str]]:
    """Parse ``raw`` for ``field``: (typed value, Danish errors). Empty input gives (None, [])."""
    given_as_list = isinstance(raw, list)
    text = "\n".join(str(x) for x in raw) if isinstance(raw, list) else str(raw)
    text = text.strip()
    if not text:
        return None, []
    kind = field.type
    if kind == "date":
        dates = [d for _, _, d in find_dates(text)] or _dated_by_its_year(text)
        if any(d is None for d in dates):
            return None, [f"«{text}» er ikke en gyldig dato. Skriv fx 1. marts 2027 eller 01-03-2027."]
        if len(dates) != 1:
            return None, [f"Jeg kunne ikke læse én dato i «{text}». Skriv fx 1. marts 2027 eller 01-03-2027."]
        return DateValue(value=dates[0]), []
    if kind == "amount":
        amounts = [a for _, _, a in find_amounts(text)]
        if not amounts:
            bare = bare_number(text)
            amounts = [bare] if bare is not None else []
        if len(amounts) != 1:
            return None, [f"Jeg kunne ikke læse ét beløb i «{text}». Skriv fx 25.000 kr."]
        if amounts[0] < 0:
            return None, ["Beløbet kan ikke være negativt."]
        return AmountValue(value=amounts[0]), []
    if kind == "email":
        emails = EMAIL_RE.findall(text)
        if len(emails) != 1 or len(text) > len(emails[0]) + 40:
            return None, [f"«{text}» er ikke en gyldig e-mailadresse. Skriv fx navn@bibliotek.dk."]
        return EmailValue(address=emails[0].lower()), []
    if kind == "phone":
        phones = find_phones(text)
        if len(phones) != 1:
            return None, [f"«{text}» er ikke et gyldigt telefonnummer. Skriv 8 cifre, fx 12 34 56 78."]
        shown = phones[0][2]
        return PhoneValue(digits=re.sub(r"\D", "", shown)[-8:], country=shown.startswith("+45")), []
    if kind == "list":
        items = split_list(text, enumerations=not given_as_list)
        return (ListValue(items=items) if items else None), []
    if kind == "person":
        value = re.sub(r"\s+", " ", text).strip(" .")
        if len(value) > MAX_PERSON:
            return None, [f"Skriv kun navn og evt. titel på personen (højst {MAX_PERSON} tegn)."]
        return _person(value), []
    value = text if kind == "longtext" else re.sub(r"\s+", " ", text)
    return TextValue(text=value.strip()), []


def _dated_by_its_year(text: str) -> list[date | None]:
    """«uge 2 i 2027, mandag d. 11. januar»: one day and month written without a year, and exactly one year
    elsewhere in the same answer, make one date (nothing is guessed: both are the user's words)."""
    day_months, years = find_day_months(text), set(re.findall(r"(?<!\d)20\d\d(?!\d)", text))
    if len(day_months) != 1 or len(years) != 1:
        return []
    try:
        return [date(int(years.pop()), day_months[0][1], day_months[0][0])]
    except ValueError:
        return [None]


def format_value(field: TemplateField | None, value: FieldValue | None) -> str:
    """A value as Danish text for drafts, documents and forms (dates in long form, amounts ``25.000 kr.``)."""
    if value is None:
        return MISSING
    match value:
        case TextValue(text=text):
            return text
        case ListValue(items=items):
            return "; ".join(items)
        case DateValue(value=d):
            return format_date(d)
        case AmountValue(value=a):
            return format_amount(a)
        case EmailValue(address=address):
            return address
        case PhoneValue(digits=digits, country=country):
            return ("+45 " if country else "") + " ".join(digits[i:i + 2] for i in range(0, 8, 2))
        case PersonValue(name=name, title=title):
            return f"{name}, {title}" if title else name
    return str(value)


def edit_text(field: TemplateField, value: FieldValue | None) -> str:
    """The text shown in an edit box: list items one per line, everything else as :func:`format_value`."""
    if value is None:
        return ""
    if isinstance(value, ListValue):
        return "\n".join(value.items)
    return format_value(field, value)


def plain(value: FieldValue | None) -> str | list[str]:
    """A value as plain data for evals and JSON reports (ISO dates, list items)."""
    if value is None:
        return ""
    if isinstance(value, ListValue):
        return list(value.items)
    if isinstance(value, DateValue):
        return value.value.isoformat()
    return format_value(None, value)


def order_problem(schema: TemplateSchema, values: Mapping[str, FieldValue], field_id: str) -> str | None:
    """A Danish message when a date field with ``after`` does not come after its reference date."""
    field = schema.field(field_id)
    if not field.after:
        return None
    first, second = values.get(field.after), values.get(field_id)
    if isinstance(first, DateValue) and isinstance(second, DateValue) and second.value <= first.value:
        other = schema.field(field.after)
        return (f"«{field.label}» ({format_date(second.value)}) skal ligge efter «{other.label.lower()}» "
                f"({format_date(first.value)}).")
    return None


def validate_values(schema: TemplateSchema, values: Mapping[str, FieldValue]) -> dict[str, str]:
    """Problems of a whole draft: field id -> Danish message (missing required fields, date order)."""
    problems: dict[str, str] = {}
    for field in schema.fields:
        if values.get(field.id) is None:
            if field.required:
                problems[field.id] = f"«{field.label}» skal udfyldes."
            continue
        problem = order_problem(schema, values, field.id)
        if problem:
            problems[field.id] = problem
    return problems
