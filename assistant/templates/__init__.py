"""Toolkit templates (samarbejdsaftale, kommunikationsplan, evalueringsplan): schemas, guided interview,
extraction from the conversation, validation and export to Markdown/DOCX. See docs/ARCHITECTURE.md, "Templates API".
"""

from assistant.templates.advice import Advice, AdviceSource
from assistant.templates.export import export_docx, export_markdown
from assistant.templates.extraction import Extracted, Extractor, RuleExtractor
from assistant.templates.llm_extraction import LLMExtractor, default_extractor
from assistant.templates.schema import TemplateError, TemplateField, TemplateSchema, list_templates, load_template
from assistant.templates.session import FieldPrompt, TemplateReply, TemplateSession

__all__ = [
    "Advice", "AdviceSource", "Extracted", "Extractor", "FieldPrompt", "LLMExtractor", "RuleExtractor",
    "TemplateError", "TemplateField", "TemplateReply", "TemplateSchema", "TemplateSession", "default_extractor",
    "export_docx", "export_markdown", "list_templates", "load_template",
]
