"""Structured extraction with a LangChain chat model, guarded so that it never invents a value.

The model fills a pydantic model (one optional field per template field) through ``with_structured_output``;
models without tool calling (our llama.cpp wrapper) are asked for a JSON object instead. Every value is then
checked against the user's own words (:func:`is_supported`) and dropped when the conversation does not contain it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.utils.json import parse_json_markdown
from pydantic import BaseModel, Field, create_model

from assistant.lexical import tokenize
from assistant.templates.commands import norm_text
from assistant.templates.extraction import Extractor, Found, Routed, RuleExtractor
from assistant.templates.schema import TemplateField, TemplateSchema
from assistant.templates.validation import find_amounts, find_dates, find_phones
from assistant.templates.values import FieldValue, parse_value

Value = str | list[str]

log = logging.getLogger(__name__)

SYSTEM_PROMPT = (
    "Du udfylder felter i en dansk skabelon ({title}) ud fra brugerens egne beskeder. "
    "Udfyld KUN et felt, når brugeren selv har skrevet værdien. Gæt aldrig, og opfind aldrig navne, datoer, "
    "beløb eller e-mailadresser. Felter, som brugeren ikke har nævnt, skal være null. "
    "Gengiv brugerens formuleringer så ordret som muligt."
)
MIN_WORD_SUPPORT = 0.8  # share of a free-text value's words that must occur in the user's messages


def build_extraction_model(schema: TemplateSchema) -> type[BaseModel]:
    """A pydantic model with one optional field per template field (for ``with_structured_output``)."""
    definitions: dict[str, Any] = {}
    for f in schema.fields:
        annotation: Any = list[str] | None if f.type == "list" else str | None
        definitions[f.id] = (annotation, Field(None, description=f"{f.label}. {f.question} {f.help}".strip()))
    model = create_model(f"{schema.id.capitalize()}Felter", **definitions)  # type: ignore[call-overload]
    model.__doc__ = f"Felter i skabelonen {schema.title}; null når brugeren ikke har oplyst værdien."
    return model


def is_supported(field: TemplateField, value: Value, texts: Sequence[str]) -> bool:
    """True when ``value`` occurs in the user's texts (dates, amounts and phone numbers compared normalised)."""
    if isinstance(value, list):
        return bool(value) and all(is_supported(field, v, texts) for v in value)
    value = str(value).strip()
    joined = "\n".join(texts)
    if not value:
        return False
    if field.type in {"date", "amount", "phone"}:
        wanted, errors = parse_value(field, value)
        return not errors and wanted in _typed_values(field, joined)
    if field.type == "email":
        return value.casefold() in joined.casefold()
    if norm_text(value) in norm_text(joined):
        return True
    words = tokenize(value)
    have = set(tokenize(joined))
    return bool(words) and sum(w in have for w in words) / len(words) >= MIN_WORD_SUPPORT


def _typed_values(field: TemplateField, text: str) -> list[FieldValue | None]:
    """The typed dates / amounts / phone numbers written in ``text``."""
    if field.type == "date":
        spans = [text[s:e] for s, e, d in find_dates(text) if d]
    elif field.type == "phone":
        spans = [text[s:e] for s, e, _ in find_phones(text)]
    else:
        spans = [text[s:e] for s, e, _ in find_amounts(text)] + re.findall(r"\d[\d.]*(?:,\d+)?", text)
    return [parse_value(field, span)[0] for span in spans]


class LLMExtractor:
    """Rule-based values first; the chat model only adds fields the rules did not find, and only supported ones."""

    def __init__(self, chat_model: Any, *, rules: Extractor | None = None) -> None:
        self.chat_model = chat_model
        self.rules = rules if rules is not None else RuleExtractor()
        self.discarded: list[tuple[str, Value]] = []  # unsupported model values (for tests and logging)

    def extract(self, schema: TemplateSchema, text: str, *, current: TemplateField | None,
                known: Mapping[str, FieldValue]) -> Routed:
        routed = self.rules.extract(schema, text, current=current, known=known)
        routed.found += self._model_values(schema, [text], current, {f.field_id for f in routed.found} | set(known))
        return routed

    def prefill(self, schema: TemplateSchema, texts: Sequence[str], known: Mapping[str, FieldValue]) -> list[Found]:
        found = self.rules.prefill(schema, texts, known)
        return found + self._model_values(schema, texts, None, {f.field_id for f in found} | set(known))

    def _model_values(self, schema: TemplateSchema, texts: Sequence[str], current: TemplateField | None,
                      have: set[str]) -> list[Found]:
        """The model's values for fields the rules did not fill, kept only when the user's words support them."""
        try:
            raw = self.ask_model(schema, texts, current)
        except Exception:  # the rules still give a usable result
            log.exception("LLM extraction failed; using rule-based values only")
            return []
        out: list[Found] = []
        for field in schema.fields:
            value = _clean_value(raw.get(field.id))
            if field.id in have or not value:
                continue
            typed = parse_value(field, value)[0] if is_supported(field, value, texts) else None
            if typed is not None:
                out.append(Found(field.id, typed, "llm", value if isinstance(value, str) else "; ".join(value)))
            else:
                log.info("discarded unsupported LLM value for %s: %r", field.id, value)
                self.discarded.append((field.id, value))
        return out

    def ask_model(self, schema: TemplateSchema, texts: Sequence[str], current: TemplateField | None) -> dict[str, Any]:
        """The model's raw field values: structured output, or a JSON reply for models without tool calling."""
        model_cls = build_extraction_model(schema)
        convo = "\n".join(f"- {t}" for t in texts)
        hint = f"\nSpørgsmålet, brugeren svarer på: {current.question}" if current else ""
        messages: list[Any] = [SystemMessage(SYSTEM_PROMPT.format(title=schema.title)),
                               HumanMessage(f"Brugerens beskeder:\n{convo}{hint}")]
        try:
            structured = self.chat_model.with_structured_output(model_cls)
        except NotImplementedError:
            structured = None
        if structured is not None:
            result = structured.invoke(messages)
            return result.model_dump() if isinstance(result, BaseModel) else dict(result or {})
        keys = ", ".join(f'"{f.id}"' for f in schema.fields)
        messages.append(HumanMessage(f"Svar kun med ét JSON-objekt med nøglerne {keys}; brug null for ukendte felter."))
        content = self.chat_model.invoke(messages).content
        data = parse_json_markdown(content if isinstance(content, str) else str(content))
        return {k: v for k, v in data.items() if k in model_cls.model_fields} if isinstance(data, dict) else {}


def _clean_value(value: Any) -> Value | None:
    """A model value as a stripped string or list of strings; None when empty."""
    if isinstance(value, list):
        items = [str(v).strip() for v in value if v is not None and str(v).strip()]
        return items or None
    if value is None:
        return None
    text = str(value).strip()
    return text if text and text.casefold() not in {"null", "none", "ukendt"} else None


def default_extractor(settings: Any = None, chat_model: Any = None) -> Extractor:
    """Rules only, unless a chat model is given or ``settings.llm_backend`` configures one."""
    if chat_model is None and settings is not None and getattr(settings, "llm_backend", "none") != "none":
        try:
            from assistant.llm import get_chat_model

            chat_model = get_chat_model(settings)
        except Exception:
            log.exception("could not create the chat model; using rule-based extraction")
    return LLMExtractor(chat_model) if chat_model is not None else RuleExtractor()
