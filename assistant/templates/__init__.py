"""Toolkit templates (samarbejdsaftale, kommunikationsplan, evalueringsplan) drafted through dialogue.

- ``schema``: the YAML schemas (fields, cues, clauses); ``values``: typed values and Danish formatting;
- ``draft``: :class:`Draft`, the plain serialisable draft (values, undo history, pending proposals);
- ``extraction``: routing a message to fields (never misrouting); ``interview``: what to ask next and what a
  message does; ``messages``: the Danish texts; ``export``: Markdown/DOCX; ``service``: drafts per conversation.
See docs/ARCHITECTURE.md, "Templates".
"""

from assistant.templates.advice import Advice, AdviceSource
from assistant.templates.draft import Candidate, Change, Draft
from assistant.templates.export import draft_markdown, export_docx, export_markdown
from assistant.templates.extraction import Extractor, Found, Routed, RuleExtractor
from assistant.templates.interview import FieldPrompt, Guide, Interview, Reply
from assistant.templates.llm_extraction import LLMExtractor, default_extractor
from assistant.templates.schema import TemplateError, TemplateField, TemplateSchema, list_templates, load_template
from assistant.templates.values import FieldValue, format_value, parse_value

__all__ = [
    "Advice", "AdviceSource", "Candidate", "Change", "Draft", "Extractor", "FieldPrompt", "FieldValue", "Found",
    "Guide", "Interview", "LLMExtractor", "Reply", "Routed", "RuleExtractor", "TemplateError", "TemplateField",
    "TemplateSchema", "default_extractor", "draft_markdown", "export_docx", "export_markdown", "format_value",
    "list_templates", "load_template", "parse_value",
]
