"""Render a template session as a document: Markdown and DOCX from one block layout."""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Literal

from assistant.templates.schema import TemplateField, TemplateSchema, TemplateSection
from assistant.templates.validation import MISSING, Value, display, format_date

if TYPE_CHECKING:
    from assistant.templates.session import TemplateSession

BLANK = "______________________"
FOOTER = ("Udkast udarbejdet med Partnerskabsassistenten på grundlag af guiden «Byg partnerskaber» "
          "(Ud af boksen!, 2010–2012).")


@dataclass
class Span:
    text: str
    bold: bool = False
    missing: bool = False


@dataclass
class Block:
    kind: Literal["title", "note", "heading", "para", "bullets", "signatures"]
    spans: list[Span] = field(default_factory=list)
    items: list[list[Span]] = field(default_factory=list)
    signers: list[dict[str, str]] = field(default_factory=list)


def _value_spans(f: TemplateField, value: Value | None) -> list[Span]:
    text = display(f, value)
    return [Span(text, missing=text == MISSING)]


def _section_number(schema: TemplateSchema, n: int, section: TemplateSection) -> str:
    return f"§{n} {section.title}" if schema.numbering == "paragraph" else f"{n}. {section.title}"


def _party_name(schema: TemplateSchema, values: Mapping[str, Value], group: str) -> str:
    ids = {f.id for f in schema.fields}
    if group in ids and values.get(group):
        return str(values[group])
    return "biblioteket" if group == "bibliotek" else "partneren"


def _split_person(value: Value | None) -> tuple[str, str]:
    if not value:
        return "", ""
    name, _, title = str(value).partition(",")
    return name.strip(), title.strip()


def build_blocks(schema: TemplateSchema, values: Mapping[str, Value], skipped: set[str] | frozenset[str],
                 *, today: date | None = None, status: str | None = None) -> list[Block]:
    """The document layout: title, parties, numbered sections, signatures. Skipped fields are left out."""
    today = today or date.today()
    title = schema.document_title
    if values.get("titel"):
        title = f"{schema.document_title}: {values['titel']}"
    blocks = [Block("title", [Span(title)])]
    note = f"Udkast dannet {format_date(today)}."
    if any(not values.get(f.id) and f.id not in skipped for f in schema.fields):
        note += f" Felter markeret {MISSING} skal udfyldes, før dokumentet er færdigt."
    blocks.append(Block("note", [Span(note)]))
    if status:
        blocks.append(Block("note", [Span(status)]))
    number = 0
    for section in schema.sections:
        fields = [f for f in schema.fields_in(section.id) if f.id not in skipped]
        if section.kind == "signatures":
            blocks.extend(_signature_blocks(schema, section, values, skipped))
            continue
        if not fields:
            continue
        if section.kind == "parties":
            blocks.extend(_party_blocks(schema, section, fields, values))
            continue
        number += 1
        blocks.append(Block("heading", [Span(_section_number(schema, number, section))]))
        labelled = len(schema.fields_in(section.id)) > 1  # a one-field clause needs no label
        for f in fields:
            value = values.get(f.id)
            label = [Span(f"{f.label}: ", bold=True)] if labelled else []
            if f.type == "list" and isinstance(value, list) and value:
                if label:
                    blocks.append(Block("para", label))
                blocks.append(Block("bullets", items=[[Span(item)] for item in value]))
            else:
                blocks.append(Block("para", label + _value_spans(f, value)))
    return blocks


def _party_blocks(schema: TemplateSchema, section: TemplateSection, fields: list[TemplateField],
                  values: Mapping[str, Value]) -> list[Block]:
    blocks = [Block("heading", [Span(section.title)])]
    parties = [f for f in fields if f.id in {"bibliotek", "partner"}]
    if len(parties) == 2:
        blocks.append(Block("para", [Span("Denne aftale er indgået mellem:")]
                            if schema.numbering == "paragraph" else [Span("Partnerskabet består af:")]))
        items = []
        for f in parties:
            role = "biblioteket" if f.id == "bibliotek" else "partneren"
            items.append([*_value_spans(f, values.get(f.id)), Span(f" (i det følgende «{role}»)")])
        blocks.append(Block("bullets", items=items))
    for f in fields:
        if f in parties and len(parties) == 2:
            continue
        blocks.append(Block("para", [Span(f"{f.label}: ", bold=True), *_value_spans(f, values.get(f.id))]))
    return blocks


def _signature_blocks(schema: TemplateSchema, section: TemplateSection, values: Mapping[str, Value],
                      skipped: set[str] | frozenset[str]) -> list[Block]:
    fields = schema.fields_in(section.id)
    date_field = next((f for f in fields if f.type == "date"), None)
    signed = BLANK
    if date_field and values.get(date_field.id):
        signed = display(date_field, values[date_field.id])
    signers = []
    for group in ("bibliotek", "partner"):
        person = next((f for f in fields if f.type == "person" and f.group == group), None)
        if person is None:
            continue
        name, title = _split_person(values.get(person.id))
        missing = person.id not in skipped and not values.get(person.id)
        signers.append({
            "party": f"For {_party_name(schema, values, group)}",
            "name": name or (MISSING if missing else BLANK),
            "title": title or BLANK,
            "date": signed,
        })
    if not signers:
        return []
    return [Block("heading", [Span(section.title)]), Block("signatures", signers=signers)]


# --- Markdown ----------------------------------------------------------------------------------------------


def _md(spans: list[Span]) -> str:
    out = []
    for s in spans:
        text = s.text.replace("\n", "  \n")
        if s.missing:
            text = f"**{text}**"
        elif s.bold:
            text = f"**{text.rstrip()}** " if text.endswith(" ") else f"**{text}**"
        out.append(text)
    return "".join(out)


def render_markdown(blocks: list[Block]) -> str:
    lines: list[str] = []
    for b in blocks:
        if b.kind == "title":
            lines += [f"# {_md(b.spans)}", ""]
        elif b.kind == "note":
            lines += [f"*{_md(b.spans)}*", ""]
        elif b.kind == "heading":
            lines += [f"## {_md(b.spans)}", ""]
        elif b.kind == "para":
            lines += [_md(b.spans), ""]
        elif b.kind == "bullets":
            lines += [f"- {_md(item)}" for item in b.items] + [""]
        elif b.kind == "signatures":
            for s in b.signers:
                lines += [f"**{s['party']}**", "", f"Navn: {s['name']}  ", f"Titel: {s['title']}  ",
                          f"Dato: {s['date']}  ", f"Underskrift: {BLANK}", ""]
    lines += ["---", f"*{FOOTER}*", ""]
    return "\n".join(lines)


def export_markdown(session: TemplateSession, *, today: date | None = None) -> str:
    """The document as Markdown (missing fields shown as ``[mangler]``)."""
    return render_markdown(build_blocks(session.schema, session.values, session.skipped, today=today))


# --- DOCX --------------------------------------------------------------------------------------------------


def _add_runs(paragraph, spans: list[Span]) -> None:  # type: ignore[no-untyped-def]
    from docx.enum.text import WD_COLOR_INDEX

    for s in spans:
        run = paragraph.add_run(s.text)
        run.bold = s.bold or s.missing
        if s.missing:
            run.font.highlight_color = WD_COLOR_INDEX.YELLOW


def render_docx(blocks: list[Block], *, title: str) -> bytes:
    from docx import Document
    from docx.shared import Pt

    doc = Document()
    doc.core_properties.title = title
    doc.core_properties.author = "Partnerskabsassistenten"
    doc.core_properties.language = "da-DK"
    doc.styles["Normal"].font.name = "Calibri"
    doc.styles["Normal"].font.size = Pt(11)
    for b in blocks:
        if b.kind == "title":
            _add_runs(doc.add_heading(level=0), b.spans)
        elif b.kind == "note":
            p = doc.add_paragraph()
            _add_runs(p, b.spans)
            for run in p.runs:
                run.italic = True
        elif b.kind == "heading":
            _add_runs(doc.add_heading(level=1), b.spans)
        elif b.kind == "para":
            _add_runs(doc.add_paragraph(), b.spans)
        elif b.kind == "bullets":
            for item in b.items:
                _add_runs(doc.add_paragraph(style="List Bullet"), item)
        elif b.kind == "signatures":
            table = doc.add_table(rows=5, cols=len(b.signers))
            for col, s in enumerate(b.signers):
                cells = [table.cell(r, col) for r in range(5)]
                cells[0].paragraphs[0].add_run(s["party"]).bold = True
                for cell, (label, key) in zip(cells[1:4], [("Navn", "name"), ("Titel", "title"), ("Dato", "date")],
                                              strict=True):
                    _add_runs(cell.paragraphs[0], [Span(f"{label}: "), Span(s[key], missing=s[key] == MISSING)])
                cells[4].paragraphs[0].add_run(f"\n\n{BLANK}\nUnderskrift")
    footer = doc.sections[0].footer.paragraphs[0]
    footer.text = FOOTER
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def export_docx(session: TemplateSession, *, today: date | None = None) -> bytes:
    """The document as DOCX bytes (python-docx), laid out like a signed agreement/plan."""
    blocks = build_blocks(session.schema, session.values, session.skipped, today=today)
    return render_docx(blocks, title=blocks[0].spans[0].text)
