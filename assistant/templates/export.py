"""Render a draft as a document a library can send: Markdown and DOCX from one block layout.

The layout reads as an agreement: numbered sections (§) written as clauses from each field's ``clause`` template
in the schema YAML, the parties and the signature block each kept on one page, a section whose field was answered
«ingen» or skipped still stated (``none_text`` / ``skip_text``) instead of vanishing, page numbers in the footer
and Danish (da-DK) as the language of every DOCX style, so Word spell-checks the text as Danish.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from assistant.templates.draft import Draft
from assistant.templates.messages import status_line
from assistant.templates.schema import TemplateField, TemplateSchema, TemplateSection
from assistant.templates.values import MISSING, ListValue, PersonValue, TextValue, format_date, format_value

BLANK = "______________________"
LANG = "da-DK"
FOOTER = ("Udkast udarbejdet med Partnerskabsassistenten på grundlag af guiden «Byg partnerskaber» "
          "(Ud af boksen!, 2010–2012).")


@dataclass
class Span:
    text: str
    bold: bool = False
    missing: bool = False


@dataclass
class Block:
    kind: Literal["title", "subtitle", "note", "heading", "para", "bullets", "signatures"]
    spans: list[Span] = field(default_factory=list)
    items: list[list[Span]] = field(default_factory=list)
    signers: list[dict[str, str]] = field(default_factory=list)
    keep: bool = False  # keep with the next block (same page)


def _party_name(schema: TemplateSchema, draft: Draft, group: str) -> str:
    """The party's name from the draft, else «biblioteket» / «partneren»."""
    named = next((f for f in schema.fields if f.group == group and f.type == "text" and f.capture == "name"), None)
    value = draft.values.get(named.id) if named else None
    if isinstance(value, TextValue) and value.text:
        return value.text
    return schema.parties.get(group, group)


def _fill(template: str, schema: TemplateSchema, draft: Draft) -> str:
    out = template
    for group in schema.parties:
        out = out.replace("{" + group + "}", _party_name(schema, draft, group))
    return out


def _clause(schema: TemplateSchema, draft: Draft, f: TemplateField) -> list[Block]:
    """One field as clause text: ``clause`` with the value, or the skip/missing text."""
    value = draft.values.get(f.id)
    template = _fill(f.clause or (f.label + ": {value}"), schema, draft)
    head, _, tail = template.partition("{value}")
    if value is None:
        if f.id in draft.skipped:
            if not f.skip_text:
                return []
            generic = f.skip_text == type(f).model_fields["skip_text"].default
            text = head + f.skip_text[:1].lower() + f.skip_text[1:] if generic and head.strip() else f.skip_text
            return [Block("para", [Span(_fill(text, schema, draft))])]
        return [Block("para", [Span(head), Span(MISSING, missing=True), Span(tail)])]
    if isinstance(value, ListValue) and len(value.items) > 1:
        lead = head.rstrip(" :") + ":" if head.strip() else ""
        blocks = [Block("para", [Span(lead)], keep=True)] if lead else []
        return [*blocks, Block("bullets", items=[[Span(item)] for item in value.items])]
    text = format_value(f, value)
    sentence = head + text + tail
    if f.type not in {"email", "phone"} and not sentence.rstrip().endswith((".", "!", "?", ":")):
        sentence = sentence.rstrip() + "."
    return [Block("para", [Span(head), Span(text), Span(sentence[len(head) + len(text):])])]


def build_blocks(schema: TemplateSchema, draft: Draft, *, today: date | None = None,
                 status: str | None = None) -> list[Block]:
    """The document layout: title, parties, numbered clauses, signatures."""
    today = today or date.today()
    blocks = [Block("title", [Span(schema.document_title)])]
    title_field = next((f for f in schema.fields if f.id == schema.title_field), None) if schema.title_field else None
    if title_field is not None and draft.values.get(title_field.id) is not None:
        blocks.append(Block("subtitle", [Span(format_value(title_field, draft.values[title_field.id]))]))
    note = f"Udkast dannet {format_date(today)}."
    if draft.missing(schema):
        note += f" Felter markeret {MISSING} skal udfyldes, før dokumentet er færdigt."
    blocks.append(Block("note", [Span(note)]))
    if status:
        blocks.append(Block("note", [Span(status)]))
    number = 0
    for section in schema.sections:
        fields = [f for f in schema.fields_in(section.id) if title_field is None or f.id != title_field.id]
        if section.kind == "signatures":
            blocks.extend(_signature_blocks(schema, section, draft))
            continue
        if not fields:
            continue
        if section.kind == "parties":
            blocks.extend(_party_blocks(schema, section, fields, draft))
            continue
        number += 1
        blocks.append(Block("heading", [Span(_section_number(schema, number, section))], keep=True))
        for f in fields:
            blocks.extend(_clause(schema, draft, f))
    return blocks


def _section_number(schema: TemplateSchema, n: int, section: TemplateSection) -> str:
    return f"§ {n}. {section.title}" if schema.numbering == "paragraph" else f"{n}. {section.title}"


def _party_blocks(schema: TemplateSchema, section: TemplateSection, fields: list[TemplateField],
                  draft: Draft) -> list[Block]:
    blocks = [Block("heading", [Span(section.title)], keep=True)]
    parties = [f for f in fields if f.group and f.capture == "name"]
    if len(parties) == 2:
        intro = "Denne aftale er indgået mellem:" if schema.numbering == "paragraph" else "Partnerskabet består af:"
        blocks.append(Block("para", [Span(intro)], keep=True))
        items = []
        for f in parties:
            value = draft.values.get(f.id)
            role = schema.parties.get(f.group or "", f.label.lower())
            shown = format_value(f, value)
            items.append([Span(shown, bold=value is not None, missing=value is None),
                          Span(f" (i det følgende «{role}»)")])
        blocks.append(Block("bullets", items=items))
    for f in fields:
        if f in parties and len(parties) == 2:
            continue
        blocks.extend(_clause(schema, draft, f))
    return blocks


def _signature_blocks(schema: TemplateSchema, section: TemplateSection, draft: Draft) -> list[Block]:
    fields = schema.fields_in(section.id)
    date_field = next((f for f in fields if f.type == "date"), None)
    signed = BLANK
    if date_field and draft.values.get(date_field.id) is not None:
        signed = format_value(date_field, draft.values[date_field.id])
    signers = []
    for group in schema.parties:
        person = next((f for f in fields if f.type == "person" and f.group == group), None)
        if person is None:
            continue
        value = draft.values.get(person.id)
        name = value.name if isinstance(value, PersonValue) else ""
        title = value.title if isinstance(value, PersonValue) else ""
        signers.append({"party": f"For {_party_name(schema, draft, group)}", "name": name or BLANK,
                        "title": title or BLANK, "date": signed})
    if not signers:
        return []
    return [Block("heading", [Span(section.title)], keep=True),
            Block("para", [Span("Parterne har læst og godkendt aftalen.")], keep=True),
            Block("signatures", signers=signers)]


# --- Markdown ----------------------------------------------------------------------------------------------
def _md(spans: list[Span]) -> str:
    out = []
    for s in spans:
        text = s.text.replace("\n", "  \n")
        if s.missing or (s.bold and text.strip()):
            text = f"**{text}**"
        out.append(text)
    return "".join(out)


def render_markdown(blocks: list[Block]) -> str:
    lines: list[str] = []
    for b in blocks:
        if b.kind == "title":
            lines += [f"# {_md(b.spans)}", ""]
        elif b.kind == "subtitle":
            lines += [f"**{_md(b.spans)}**", ""]
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


def export_markdown(schema: TemplateSchema, draft: Draft, *, today: date | None = None) -> str:
    """The document as Markdown (missing fields shown as ``[mangler]``)."""
    return render_markdown(build_blocks(schema, draft, today=today))


def draft_markdown(schema: TemplateSchema, draft: Draft) -> str:
    """The live draft with a status line (for the chat and the panel)."""
    return render_markdown(build_blocks(schema, draft, status=status_line(schema, draft)))


# --- DOCX --------------------------------------------------------------------------------------------------
def _add_runs(paragraph, spans: list[Span]) -> None:  # type: ignore[no-untyped-def]
    from docx.enum.text import WD_COLOR_INDEX

    for s in spans:
        if not s.text:
            continue
        run = paragraph.add_run(s.text)
        run.bold = s.bold or s.missing
        if s.missing:
            run.font.highlight_color = WD_COLOR_INDEX.YELLOW


def _set_language(doc) -> None:  # type: ignore[no-untyped-def]
    """da-DK as the language of the document defaults and of every style (python-docx has no API for it)."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    styles = doc.styles.element
    holders = [styles.find(qn("w:docDefaults")), *list(styles.iter(qn("w:style")))]
    for holder in holders:
        if holder is None:
            continue
        if holder.tag == qn("w:docDefaults"):
            rpr_default = holder.find(qn("w:rPrDefault"))
            if rpr_default is None:
                rpr_default = OxmlElement("w:rPrDefault")
                holder.insert(0, rpr_default)
            rpr = rpr_default.find(qn("w:rPr"))
            if rpr is None:
                rpr = OxmlElement("w:rPr")
                rpr_default.append(rpr)
        else:
            rpr = holder.find(qn("w:rPr"))
            if rpr is None:
                if holder.get(qn("w:type")) not in {"paragraph", "character"}:
                    continue
                rpr = OxmlElement("w:rPr")
                holder.append(rpr)
        lang = rpr.find(qn("w:lang"))
        if lang is None:
            lang = OxmlElement("w:lang")
            rpr.append(lang)
        for attr in ("w:val", "w:eastAsia"):
            lang.set(qn(attr), LANG)
    settings = doc.settings.element
    theme = settings.find(qn("w:themeFontLang"))
    if theme is not None:
        theme.set(qn("w:val"), LANG)


def _page_field(paragraph, instruction: str) -> None:  # type: ignore[no-untyped-def]
    """A PAGE / NUMPAGES field (Word and LibreOffice fill in the number)."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    run = paragraph.add_run()
    for kind, text in (("begin", None), (None, instruction), ("separate", None), (None, "1"), ("end", None)):
        if kind:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
        elif text == instruction:
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = f" {instruction} "
        else:
            el = OxmlElement("w:t")
            el.text = text
        run._r.append(el)


def _keep_table_together(table) -> None:  # type: ignore[no-untyped-def]
    from docx.oxml import OxmlElement

    for row in table.rows:
        row._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
        for cell in row.cells:
            for p in cell.paragraphs:
                p.paragraph_format.keep_with_next = True


def render_docx(blocks: list[Block], *, title: str) -> bytes:
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt

    doc = Document()
    section = doc.sections[0]  # A4 with Danish-standard margins (python-docx defaults to US Letter)
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.left_margin = section.right_margin = Cm(2.5)
    section.top_margin, section.bottom_margin = Cm(2.5), Cm(2.2)
    doc.core_properties.title = title
    doc.core_properties.author = "Partnerskabsassistenten"
    doc.core_properties.language = LANG
    doc.styles["Normal"].font.name = "Calibri"
    doc.styles["Normal"].font.size = Pt(11)
    _set_language(doc)
    for b in blocks:
        paragraph = None
        if b.kind == "title":
            paragraph = doc.add_heading(level=0)
            _add_runs(paragraph, b.spans)
        elif b.kind == "subtitle":
            paragraph = doc.add_paragraph(style="Subtitle")
            _add_runs(paragraph, b.spans)
        elif b.kind == "note":
            paragraph = doc.add_paragraph()
            _add_runs(paragraph, b.spans)
            for run in paragraph.runs:
                run.italic = True
        elif b.kind == "heading":
            paragraph = doc.add_heading(level=1)
            _add_runs(paragraph, b.spans)
        elif b.kind == "para":
            paragraph = doc.add_paragraph()
            _add_runs(paragraph, b.spans)
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
            _keep_table_together(table)
        if paragraph is not None and b.keep:
            paragraph.paragraph_format.keep_with_next = True
    footer = doc.sections[0].footer
    note = footer.paragraphs[0]
    note.text = FOOTER
    pages = footer.add_paragraph()
    pages.alignment = WD_ALIGN_PARAGRAPH.CENTER
    pages.add_run("Side ")
    _page_field(pages, "PAGE")
    pages.add_run(" af ")
    _page_field(pages, "NUMPAGES")
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def export_docx(schema: TemplateSchema, draft: Draft, *, today: date | None = None) -> bytes:
    """The document as DOCX bytes (python-docx)."""
    blocks = build_blocks(schema, draft, today=today)
    title = blocks[0].spans[0].text
    if len(blocks) > 1 and blocks[1].kind == "subtitle":
        title += ": " + blocks[1].spans[0].text
    return render_docx(blocks, title=title)
