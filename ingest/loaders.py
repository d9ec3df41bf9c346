"""Load one file into a ``LoadedDocument`` whose body is Markdown-like text with ``#`` headings.

Supported: ``.md``/``.markdown`` (YAML front matter optional), ``.txt``, ``.html``/``.htm``, ``.pdf``, ``.docx``.
Every problem raises ``IngestError`` with a Danish reason; the pipeline reports it and skips the file.

Text encoding: ``.md`` and ``.txt`` must be UTF-8 (a BOM is allowed). Anything else is *rejected* with a clear
message instead of guessing cp1252/latin-1, because a wrong guess would silently store garbled quotes.
HTML is decoded by BeautifulSoup, which honours ``<meta charset>``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.corpus import FrontMatterError, corpus_meta, first_heading, parse_front_matter, slugify
from assistant.settings import Settings

MARKDOWN_EXTS = (".md", ".markdown")
SUPPORTED_EXTS: tuple[str, ...] = (*MARKDOWN_EXTS, ".txt", ".html", ".htm", ".pdf", ".docx")
#: Files in the corpus folders that are data, not documents (template schemas): ignored silently.
IGNORED_EXTS: tuple[str, ...] = (".yaml", ".yml", ".json", ".toml")


class IngestError(Exception):
    """A file that cannot be ingested; ``str(exc)`` is a Danish reason for the maintainer."""


@dataclass
class LoadedDocument:
    """One source document, normalised: metadata plus a Markdown body (``#`` headings = sections)."""

    doc_id: str
    title: str
    kind: str
    chapter: int
    source_url: str
    path: str  # relative to the ingest root, POSIX separators
    body: str
    file_hash: str
    extra: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def load_file(path: Path, settings: Settings, *, root: Path | None = None) -> LoadedDocument:
    """Read and normalise one file. Raises ``IngestError`` (Danish reason) for anything unusable."""
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in SUPPORTED_EXTS:
        raise IngestError(
            f"filtypen '{ext or '(ingen)'}' understøttes ikke (brug {', '.join(SUPPORTED_EXTS)})"
        )
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise IngestError(f"filen kan ikke læses ({exc.strerror or exc})") from exc
    if size > settings.max_file_mb * 1024 * 1024:
        raise IngestError(
            f"filen er for stor ({size / 1024 / 1024:.1f} MB; grænsen er {settings.max_file_mb:g} MB)"
        )
    if size == 0:
        raise IngestError("filen er tom")
    data = path.read_bytes()
    rel = _relative(path, root)
    file_hash = hashlib.sha256(data).hexdigest()

    if ext in MARKDOWN_EXTS:
        raw, body = _read_markdown(data)
        meta_title = None
    elif ext == ".txt":
        raw, body, meta_title = {}, _decode_utf8(data), None
    elif ext in (".html", ".htm"):
        raw = {}
        meta_title, body = _html_to_markdown(data)
    elif ext == ".pdf":
        raw = {}
        meta_title, body = _pdf_to_text(path)
    else:
        raw = {}
        meta_title, body = _docx_to_markdown(path)

    body = _normalise(body)
    if not body.strip():
        raise IngestError("filen indeholder ingen tekst")
    if meta_title and not raw.get("title"):
        raw["title"] = meta_title
    try:
        meta = corpus_meta(raw, path=path, body=body)
    except FrontMatterError as exc:
        raise IngestError(str(exc)) from exc
    extra = meta.model_dump(exclude={"id", "title", "kind", "chapter", "source_url"}, mode="json")
    return LoadedDocument(
        doc_id=meta.id,
        title=meta.title,
        kind=meta.kind,
        chapter=int(meta.chapter or 0),
        source_url=meta.source_url,
        path=rel,
        body=body,
        file_hash=file_hash,
        extra=extra,
    )


def fallback_doc_id(path: Path) -> str:
    """The doc_id a file without front matter gets (file name slug)."""
    return slugify(Path(path).stem)


# --- formats -------------------------------------------------------------------------------------------
def _decode_utf8(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IngestError(
            f"teksten er ikke gyldig UTF-8 (byte {exc.start}); gem filen som UTF-8 og prøv igen"
        ) from exc


def _read_markdown(data: bytes) -> tuple[dict[str, Any], str]:
    text = _decode_utf8(data)
    try:
        return parse_front_matter(text)
    except FrontMatterError as exc:
        raise IngestError(str(exc)) from exc


_DROP_TAGS = ("script", "style", "iframe", "noscript", "object", "embed", "template", "svg", "canvas",
              "form", "button", "input", "select", "textarea", "nav", "footer", "head")
_BLOCK_TAGS = ("p", "div", "li", "ul", "ol", "table", "tr", "section", "article", "main", "header",
               "blockquote", "pre", "dl", "dt", "dd", "figure", "figcaption", "br", "hr", "td", "th")


def _html_to_markdown(data: bytes) -> tuple[str | None, str]:
    """Visible text of an HTML page; ``<h1>``-``<h6>`` become ``#`` headings. Scripts etc. are dropped."""
    from bs4 import BeautifulSoup, Comment

    try:
        soup = BeautifulSoup(data, "html.parser")
    except Exception as exc:
        raise IngestError(f"HTML-filen kan ikke læses ({exc})") from exc
    title_tag = soup.find("title")
    title = title_tag.get_text(" ", strip=True) if title_tag else None
    for tag in soup.find_all(_DROP_TAGS):
        tag.decompose()
    for comment in soup.find_all(string=lambda s: isinstance(s, Comment)):
        comment.extract()
    for tag in soup.find_all(True):
        for attr in [a for a in tag.attrs if a.lower().startswith("on") or a.lower() in ("style", "href", "src")]:
            del tag[attr]
    h1 = soup.find("h1")
    if not title and h1:
        title = h1.get_text(" ", strip=True)
    for heading in soup.find_all(re.compile(r"^h[1-6]$")):
        level = int(heading.name[1])
        text = heading.get_text(" ", strip=True)
        heading.replace_with(f"\n\n{'#' * level} {text}\n\n" if text else "\n")
    for tag in soup.find_all(_BLOCK_TAGS):
        tag.insert_before("\n\n" if tag.name not in ("li", "td", "th", "br", "dt", "dd") else "\n")
        tag.insert_after("\n\n" if tag.name not in ("li", "td", "th", "br", "dt", "dd") else "\n")
    root = soup.body or soup
    return (title or None), root.get_text()


def _pdf_to_text(path: Path) -> tuple[str | None, str]:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            raise IngestError("PDF-filen er krypteret/beskyttet med adgangskode")
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata
        title = (info.title if info and info.title else None)
    except IngestError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, OSError, AttributeError, IndexError) as exc:
        raise IngestError(f"PDF-filen er beskadiget eller kan ikke læses ({type(exc).__name__})") from exc
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    if not text.strip():
        raise IngestError("PDF-filen indeholder ingen udtrækkelig tekst (måske en scannet PDF)")
    return (str(title).strip() or None) if title else None, text


_HEADING_STYLE = re.compile(r"^(?:heading|overskrift)\s*(\d)$", re.IGNORECASE)


def _docx_to_markdown(path: Path) -> tuple[str | None, str]:
    """Paragraphs of a Word file; ``Heading n``/``Overskrift n`` styles become headings, ``Title`` the title."""
    import zipfile

    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise IngestError(f"Word-filen (.docx) er beskadiget eller kan ikke læses ({type(exc).__name__})") from exc
    except Exception as exc:
        raise IngestError(f"Word-filen (.docx) er beskadiget eller kan ikke læses ({type(exc).__name__})") from exc
    title = (document.core_properties.title or "").strip() or None
    lines: list[str] = []
    for para in document.paragraphs:
        text = para.text.strip()
        if not text:
            continue
        style = (para.style.name if para.style is not None else "") or ""
        match = _HEADING_STYLE.match(style.strip())
        if style.strip().lower() in ("title", "titel"):
            title = title or text
            lines.append(f"# {text}")
        elif match:
            lines.append(f"{'#' * min(6, max(1, int(match.group(1))))} {text}")
        else:
            lines.append(text)
    for table in document.tables:
        for row in table.rows:
            cells = [c.text.strip() for c in row.cells if c.text.strip()]
            if cells:
                lines.append(" | ".join(dict.fromkeys(cells)))
    return title or first_heading("\n".join(lines)), "\n\n".join(lines)


# --- helpers --------------------------------------------------------------------------------------------
def _normalise(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    lines = [re.sub(r"[ \t\f\v]+", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


def _relative(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            pass
    return path.name
