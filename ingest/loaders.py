"""Load one file into a ``LoadedDocument`` whose body is Markdown-like text with ``#`` headings.

Supported: ``.md``/``.markdown`` (YAML front matter optional), ``.txt``, ``.html``/``.htm``, ``.pdf``, ``.docx``.
Every problem raises ``IngestError`` with a Danish reason; the pipeline reports it and skips the file.

Text encoding: ``.md`` and ``.txt`` must be UTF-8 (a BOM is allowed). Anything else is *rejected* with a clear
message instead of guessing cp1252/latin-1, because a wrong guess would silently store garbled quotes.
HTML: the encoding is detected by BeautifulSoup's ``UnicodeDammit`` (BOM, ``<meta charset>``, UTF-8, cp1252).

Bounded work per input (the limits are declared in ``InputLimits``):

* the size is checked with ``stat`` before anything is read, and at most the limit (+1 byte) is ever read;
* front matter goes through a YAML loader that refuses alias bombs (``assistant.corpus.load_yaml_bounded``);
* HTML is parsed by libxml2 in linear time and walked once (``lxml.etree.iterwalk``); its built-in depth limit
  (256) is reported as an error instead of silently truncating. (The earlier BeautifulSoup code inserted a
  separator before/after every block tag, and each insert walks to the tag's last descendant: quadratic in the
  nesting depth, minutes for 1 MB of nested ``<div>``.)
* DOCX: the ZIP directory is checked (members, declared unpacked sizes; ``zipfile`` never inflates a member past
  its declared size) before python-docx opens it; PDF: page count before any text is extracted;
* the extracted text is capped (``max_text_chars``), and so is the number of headings (``max_sections``): every
  section becomes at least one chunk to embed, so 1.9 MB of ``## x`` lines would otherwise be 100,000 chunks
  (two minutes and 1 GB even with the fake embeddings, hours with the real model).

``load_file_isolated`` runs the same loader in a child process with a memory (``RLIMIT_AS``) and time budget, for
untrusted uploads checked inside the serving process.

Untrusted text is made inert at load time:

* ``trusted`` is True only for files inside ``settings.corpus_dir``. Any other file (uploads, extra paths) is a
  ``kind: dokument`` with ``chapter: 0`` and an empty ``source_url``, whatever its front matter claims (so only
  ``corpus/`` can hold guide content or link to the guide's pages), and its sentences that look like prompt
  injection are replaced by ``(tekst udeladt)``; each override is noted in ``LoadedDocument.warnings``.
* citation-like markers (``[1]``, ``[2, 3]``, ``［4］``) in any document are rewritten as ``(1)``, ``(2, 3)``, ``(4)``:
  answers use ``[n]`` for their own sources, so a marker copied from a passage could otherwise pose as one.
  Parentheses keep the number readable (a Danish text may really refer to item 1) and cannot be mistaken for a
  citation by ``assistant.core``/``assistant.llm``.
* a file that is (or lies under) a symbolic link pointing outside its ingest root is skipped (``outside_root``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from assistant.corpus import CorpusMeta, FrontMatterError, corpus_meta, first_heading, parse_front_matter, slugify
from assistant.prompts import REDACTED, looks_like_injection, redact_injection
from assistant.settings import Settings

MARKDOWN_EXTS = (".md", ".markdown")
SUPPORTED_EXTS: tuple[str, ...] = (*MARKDOWN_EXTS, ".txt", ".html", ".htm", ".pdf", ".docx")
#: Files in the corpus folders that are data, not documents (template schemas): ignored silently.
IGNORED_EXTS: tuple[str, ...] = (".yaml", ".yml", ".json", ".toml")
#: The kind every document from outside ``settings.corpus_dir`` gets.
UNTRUSTED_KIND = "dokument"


@dataclass(frozen=True)
class InputLimits:
    """Upper bounds of the work one input file may cause (besides ``settings.max_file_mb``)."""

    max_text_chars: int = 5_000_000  # extracted text of one document (~2,500 pages)
    max_sections: int = 5_000  # headings of one document: each section is at least one chunk to embed
    max_pdf_pages: int = 2_000
    max_zip_members: int = 2_000
    max_unzipped_mb: float = 200.0  # all members of a .docx together, as declared in the ZIP directory
    max_unzipped_xml_mb: float = 50.0  # the XML parts that python-docx parses into a tree


LIMITS = InputLimits()


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
    trusted: bool = False  # True only for files inside settings.corpus_dir
    mtime: float = 0.0  # modification time of the file (duplicate rule: the newer file wins)
    date: str = ""  # the document's date (ISO day): front matter ``updated``/``date``, else the file's mtime
    source_file: str = ""  # absolute path of the file as found (not resolved)


def load_file(path: Path, settings: Settings, *, root: Path | None = None,
              limits: InputLimits = LIMITS) -> LoadedDocument:
    """Read and normalise one file. Raises ``IngestError`` (Danish reason) for anything unusable."""
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in SUPPORTED_EXTS:
        raise IngestError(
            f"filtypen '{ext or '(ingen)'}' understøttes ikke (brug {', '.join(SUPPORTED_EXTS)})"
        )
    reason = outside_root(path, root if root is not None else path.parent)
    if reason:
        raise IngestError(reason)
    try:
        stat = path.stat()
    except OSError as exc:
        raise IngestError(f"filen kan ikke læses ({exc.strerror or exc})") from exc
    limit = int(settings.max_file_mb * 1024 * 1024)
    if stat.st_size > limit:
        raise IngestError(_too_large(stat.st_size, settings))
    if stat.st_size == 0:
        raise IngestError("filen er tom")
    data = _read_at_most(path, limit)
    if len(data) > limit:  # grew after stat
        raise IngestError(_too_large(len(data), settings))
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
        meta_title, body = _pdf_to_text(path, limits)
    else:
        raw = {}
        meta_title, body = _docx_to_markdown(path, limits)

    if len(body) > limits.max_text_chars:
        raise IngestError(
            f"filen indeholder for meget tekst ({len(body):,} tegn; grænsen er {limits.max_text_chars:,})"
            .replace(",", ".")
        )
    body = neutralise_citation_markers(_normalise(body))
    if not body.strip():
        raise IngestError("filen indeholder ingen tekst")
    sections = len(_HEADING_LINE.findall(body))
    if sections > limits.max_sections:
        count, limit = (f"{n:,}".replace(",", ".") for n in (sections, limits.max_sections))
        raise IngestError(f"filen har for mange overskrifter ({count}; grænsen er {limit}), og hvert afsnit skal "
                          "beregnes for sig")
    if meta_title and not raw.get("title"):
        raw["title"] = meta_title
    trusted = is_trusted(path, settings)
    warnings: list[str] = []
    if not trusted:
        raw, warnings = _untrusted_meta(raw)
        body, redacted = _redact_untrusted(body)
        if redacted:
            warnings.append(
                f"{redacted} sætning(er), der ligner forsøg på at ændre assistentens instruktioner, er erstattet "
                f"med «{REDACTED}»"
            )
    try:
        meta = corpus_meta(raw, path=path, body=body)
    except FrontMatterError as exc:
        raise IngestError(str(exc)) from exc
    extra = meta.model_dump(exclude={"id", "title", "kind", "chapter", "source_url"}, mode="json")
    title = meta.title
    if not trusted and looks_like_injection(title):
        title = path.stem
        warnings.append(f"titlen ligner et forsøg på at ændre assistentens instruktioner; filnavnet «{title}» bruges")
    return LoadedDocument(
        doc_id=meta.id,
        title=title,
        kind=meta.kind,
        chapter=int(meta.chapter or 0),
        source_url=meta.source_url,
        path=rel,
        body=body,
        file_hash=file_hash,
        extra=extra,
        warnings=warnings,
        trusted=trusted,
        mtime=stat.st_mtime,
        date=document_date(meta, stat.st_mtime),
        source_file=str(path.absolute()),
    )


def document_date(meta: CorpusMeta, mtime: float) -> str:
    """The date shown beside a source: front matter ``updated`` (or ``date``), else the file's modification day."""
    for claimed in (meta.updated, (meta.model_extra or {}).get("date")):
        try:
            return dt.date.fromisoformat(str(claimed)[:10]).isoformat()
        except ValueError:  # missing or not a date: try the next source
            continue
    return dt.datetime.fromtimestamp(mtime).date().isoformat()


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


_DROP_TAGS = frozenset(("script", "style", "iframe", "noscript", "object", "embed", "template", "svg", "canvas",
                        "form", "button", "input", "select", "textarea", "nav", "footer", "head", "title"))
_BLOCK_TAGS = frozenset(("p", "div", "li", "ul", "ol", "table", "tr", "section", "article", "main", "header",
                         "blockquote", "pre", "dl", "dt", "dd", "figure", "figcaption", "br", "hr", "td", "th"))
_LINE_TAGS = frozenset(("li", "td", "th", "br", "dt", "dd"))  # a single line break instead of a blank line
_HEADING_TAGS = {f"h{n}": n for n in range(1, 7)}


def _html_to_markdown(data: bytes) -> tuple[str | None, str]:
    """Visible text of an HTML page; ``<h1>``-``<h6>`` become ``#`` headings. Scripts etc. are dropped.

    One linear pass over libxml2's tree; libxml2 stops at depth 256, which we report instead of truncating.
    """
    from bs4.dammit import UnicodeDammit
    from lxml import etree
    from lxml import html as lxml_html

    # libxml2 would assume latin-1 without <meta charset>; BeautifulSoup's detector (BOM, meta, UTF-8, cp1252)
    encoding = UnicodeDammit(data, is_html=True).original_encoding
    if not encoding:
        raise IngestError("HTML-filens tegnsæt kan ikke bestemmes; gem den som UTF-8")
    parser = lxml_html.HTMLParser(encoding=encoding, remove_comments=True, remove_pis=True, no_network=True,
                                  huge_tree=False)
    try:
        root = lxml_html.document_fromstring(data, parser=parser)
    except (etree.LxmlError, ValueError) as exc:  # libxml2 also reports a failed allocation this way
        raise IngestError(f"HTML-filen kan ikke læses ({_first_line(exc)})") from exc
    if any(err.type_name == "ERR_RESOURCE_LIMIT" for err in parser.error_log):
        raise IngestError("HTML-filen er indlejret for dybt (mere end 256 niveauer) og kan ikke læses sikkert")
    title_el = root.find(".//title")
    title = " ".join((title_el.text_content() if title_el is not None else "").split()) or None
    body = root.find("body")
    parts: list[str] = []
    heading: list[str] | None = None  # text of the open heading
    heading_level = 0
    skip = 0  # > 0 inside a dropped element
    for event, el in etree.iterwalk(body if body is not None else root, events=("start", "end")):
        tag = el.tag.lower() if isinstance(el.tag, str) else ""
        out = heading if heading is not None else parts
        if event == "start":
            if skip or tag in _DROP_TAGS:
                skip += 1
                continue
            if tag in _HEADING_TAGS and heading is None:
                heading, heading_level = [], _HEADING_TAGS[tag]
                out = heading
            elif tag in _BLOCK_TAGS:
                out.append("\n" if tag in _LINE_TAGS else "\n\n")
            if el.text:
                out.append(el.text)
            continue
        if skip:
            skip -= 1
            if skip:
                continue
        elif tag in _HEADING_TAGS and heading is not None and _HEADING_TAGS[tag] == heading_level:
            text = " ".join("".join(heading).split())
            heading = None
            out = parts
            parts.append(f"\n\n{'#' * heading_level} {text}\n\n" if text else "\n")
            if not title and heading_level == 1:
                title = text or None
        elif tag in _BLOCK_TAGS:
            out.append("\n" if tag in _LINE_TAGS else "\n\n")
        if el.tail and el is not body:
            out.append(el.tail)
    if heading:
        parts.append(" ".join(heading))
    return title, "".join(parts)


def _pdf_to_text(path: Path, limits: InputLimits) -> tuple[str | None, str]:
    """Text of each page; the page count is checked first, and extraction stops at ``max_text_chars``."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            raise IngestError("PDF-filen er krypteret/beskyttet med adgangskode")
        count = len(reader.pages)
        if count > limits.max_pdf_pages:
            raise IngestError(f"PDF-filen har for mange sider ({count}; grænsen er {limits.max_pdf_pages})")
        pages: list[str] = []
        chars = 0
        for page in reader.pages:
            text = page.extract_text() or ""
            chars += len(text)
            if chars > limits.max_text_chars:
                raise IngestError(
                    f"PDF-filen indeholder for meget tekst (mere end {limits.max_text_chars:,} tegn)".replace(",", ".")
                )
            pages.append(text)
        info = reader.metadata
        title = (info.title if info and info.title else None)
    except IngestError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, OSError, AttributeError, IndexError, RecursionError) as exc:
        raise IngestError(f"PDF-filen er beskadiget eller kan ikke læses ({type(exc).__name__})") from exc
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    if not text.strip():
        raise IngestError("PDF-filen indeholder ingen udtrækkelig tekst (måske en scannet PDF)")
    return (str(title).strip() or None) if title else None, text


def _check_docx_zip(path: Path, limits: InputLimits) -> None:
    """Refuse a .docx whose ZIP directory promises too much work (a "zip bomb") before python-docx opens it."""
    damaged = "Word-filen (.docx) er beskadiget eller kan ikke læses"
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise IngestError(f"{damaged} ({type(exc).__name__})") from exc
    if len(infos) > limits.max_zip_members:
        raise IngestError(f"Word-filen (.docx) består af for mange dele ({len(infos)}; grænsen er "
                          f"{limits.max_zip_members})")
    total = sum(info.file_size for info in infos)
    xml = sum(info.file_size for info in infos if info.filename.lower().endswith((".xml", ".rels")))
    for size, limit, what in ((total, limits.max_unzipped_mb, "i alt"), (xml, limits.max_unzipped_xml_mb, "XML")):
        if size > limit * 1024 * 1024:
            raise IngestError(
                f"Word-filen (.docx) fylder {size / 1024 / 1024:,.0f} MB udpakket ({what}; grænsen er {limit:g} MB) "
                "– den ligner en «zip-bombe» og læses ikke"
            )


_HEADING_STYLE = re.compile(r"^(?:heading|overskrift)\s*(\d)$", re.IGNORECASE)


def _docx_to_markdown(path: Path, limits: InputLimits) -> tuple[str | None, str]:
    """Paragraphs of a Word file; ``Heading n``/``Overskrift n`` styles become headings, ``Title`` the title."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    _check_docx_zip(path, limits)
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
_HEADING_LINE = re.compile(r"^#{1,6}[ \t]", re.MULTILINE)  # a section of ingest.chunking's header splitter


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


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _too_large(size: int, settings: Settings) -> str:
    return f"filen er for stor ({size / 1024 / 1024:.1f} MB; grænsen er {settings.max_file_mb:g} MB)"


def _read_at_most(path: Path, limit: int) -> bytes:
    """At most ``limit + 1`` bytes of ``path`` (one more than allowed, so growth after ``stat`` is noticed)."""
    try:
        with path.open("rb") as handle:
            return handle.read(limit + 1)
    except OSError as exc:
        raise IngestError(f"filen kan ikke læses ({exc.strerror or exc})") from exc


def _is_within(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except (ValueError, OSError, RuntimeError):
        return False
    return True


# --- trust and inert text ---------------------------------------------------------------------------------
def outside_root(path: Path, root: Path) -> str | None:
    """A Danish reason when ``path`` (after following symbolic links) lies outside ``root``, else ``None``.

    Catches a link ``passwd.txt -> /etc/passwd`` in the corpus and files under a linked folder. The pipeline may
    call it during discovery; ``load_file`` calls it for every file anyway.
    """
    if _is_within(path, root):
        return None
    try:
        target = os.path.realpath(path)
    except OSError:
        target = "?"
    return f"filen er et symbolsk link, der peger uden for mappen ({target}); den springes over af sikkerhedshensyn"


def is_trusted(path: Path, settings: Settings) -> bool:
    """Only files inside ``settings.corpus_dir`` may carry guide metadata (kind, chapter, source_url)."""
    return _is_within(path, settings.corpus_dir)


#: ``[1]``, ``[ 2, 3 ]``, ``[4-5]``, fullwidth ``［6］``: anything a reader (or ``assistant.llm``) could take for an
#: answer's citation.
_CITATION_MARKER = re.compile(r"[\[［]\s*(\d{1,4}(?:\s*[,;–-]\s*\d{1,4})*)\s*[\]］](?!\()")


def neutralise_citation_markers(text: str) -> str:
    """Rewrite citation-like markers as plain parentheses: ``"se [1]"`` → ``"se (1)"``. Markdown links stay."""
    return _CITATION_MARKER.sub(lambda m: f"({m.group(1).strip()})", text)


_GUIDE_ONLY_KEYS: tuple[tuple[str, Any], ...] = (("kind", UNTRUSTED_KIND), ("chapter", 0), ("source_url", ""))


def _untrusted_meta(raw: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Front matter of a file outside the corpus with the guide-only keys forced to a plain document's values."""
    data = dict(raw)
    warnings = []
    for key, value in _GUIDE_ONLY_KEYS:
        claimed = data.get(key)
        if claimed not in (None, "", value):
            warnings.append(f"front matter '{key}: {claimed}' ignoreret – kun guidens egne filer kan angive det")
        data[key] = value
    return data, warnings


def _redact_untrusted(body: str) -> tuple[str, int]:
    """The body with injection-like sentences replaced (``assistant.prompts.redact_injection``), and their count."""
    if not looks_like_injection(body):
        return body, 0
    redacted = redact_injection(body)
    return redacted, redacted.count(REDACTED) - body.count(REDACTED)


# --- skipped files and duplicates (called by the pipeline) --------------------------------------------------
_FRONT_MATTER_ID = re.compile(r"^id:\s*['\"]?([A-Za-z0-9_-]+)", re.MULTILINE)
CLAIM_HEAD_BYTES = 4096


def claimed_doc_ids(path: Path, root: Path, settings: Settings) -> set[str]:
    """doc_ids a file that failed to load may stand for (file name slug, front matter ``id:``).

    Reads at most ``CLAIM_HEAD_BYTES``, and nothing at all from a file above ``settings.max_file_mb`` or outside
    ``root`` (a symbolic link). The pipeline adds the stored documents with the same path.
    """
    ids = {fallback_doc_id(path)}
    if outside_root(path, root) is not None:
        return ids
    try:
        if Path(path).stat().st_size > settings.max_file_mb * 1024 * 1024:
            return ids
        with Path(path).open("rb") as handle:
            head = handle.read(CLAIM_HEAD_BYTES).decode("utf-8", "ignore")
    except OSError:
        return ids
    match = _FRONT_MATTER_ID.search(head)
    if match:
        ids.add(match.group(1))
    return ids


#: File names that an operating system gives a copy: "x - Kopi.md", "x - Copy (2).md", "Kopi af x.md", "x (1).md".
_COPY_NAME = re.compile(
    r"^(?:(?:kopi af|copy of)\s+)?(?P<stem>.+?)(?:\s*-\s*(?:kopi|copy)(?:\s*\(\d+\))?|\s+\(\d+\))?$", re.IGNORECASE
)


def copy_base_name(path: str) -> str:
    """The name a copy was made from: ``"cases/case-krimicafe - Kopi.md"`` → ``"cases/case-krimicafe.md"``."""
    posix = Path(path)
    match = _COPY_NAME.match(posix.stem)
    stem = match.group("stem") if match else posix.stem
    return (posix.parent / f"{stem}{posix.suffix}").as_posix()


def _dup_rank(doc: LoadedDocument) -> tuple[bool, float, bool, str]:
    """Sort key of the duplicate rule; the *largest* key wins (see ``resolve_duplicates``)."""
    is_copy = copy_base_name(doc.path) != doc.path
    return (doc.trusted, doc.mtime, not is_copy, _reverse_key(doc.path))


def _reverse_key(text: str) -> str:
    """A key that sorts ``text`` in reverse, so on a full tie the path that sorts first wins."""
    return "".join(chr(0x10FFFF - ord(c)) for c in text)


def resolve_duplicates(
    docs: Sequence[LoadedDocument],
) -> tuple[list[LoadedDocument], list[tuple[str, str]]]:
    """Keep one document per doc_id and per "copy" group; report each one dropped as ``(path, Danish reason)``.

    Two documents are duplicates when they have the same ``doc_id``, or when one file's name is an operating
    system copy of the other's in the same folder ("case-krimicafe - Kopi.md", "Kopi af …", "… (1).md"). The
    rule, in order: a file from the corpus beats one from outside it (an upload can never replace guide text);
    then the newer file (modification time), because the newer file is the one somebody edited; then the
    file whose name is not a copy name; then the path that sorts first. The order of ``docs`` is kept.
    """
    parent = list(range(len(docs)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_by_key: dict[tuple[str, str], int] = {}
    for i, doc in enumerate(docs):
        for key in (("id", doc.doc_id), ("name", copy_base_name(doc.source_file or doc.path))):
            j = first_by_key.setdefault(key, i)
            parent[find(i)] = find(j)
    groups: dict[int, list[int]] = {}
    for i in range(len(docs)):
        groups.setdefault(find(i), []).append(i)
    dropped: dict[int, str] = {}
    for members in groups.values():
        if len(members) < 2:
            continue
        winner = max(members, key=lambda i: _dup_rank(docs[i]))
        kept = docs[winner]
        for i in members:
            if i == winner:
                continue
            doc = docs[i]
            why = "samme doc_id" if doc.doc_id == kept.doc_id else "en kopi af samme fil"
            rule = _rule_text(kept, doc)
            dropped[i] = (f"dublet ({why} '{doc.doc_id}' som {kept.path}); {kept.path} bruges, fordi {rule}")
    kept_docs = [doc for i, doc in enumerate(docs) if i not in dropped]
    reports = [(docs[i].path, reason) for i, reason in sorted(dropped.items())]
    return kept_docs, reports


def _rule_text(kept: LoadedDocument, other: LoadedDocument) -> str:
    if kept.trusted != other.trusted:
        return "guidens egne filer går forud for uploads"
    if kept.mtime != other.mtime:
        return "den er ændret senest"
    if (copy_base_name(kept.path) == kept.path) != (copy_base_name(other.path) == other.path):
        return "den anden har et kopinavn"
    return "stien kommer først alfabetisk"


# --- loading untrusted files in a child process with a budget ---------------------------------------------
#: Settings the child process needs to load a file exactly as the serving process would.
_CHILD_SETTINGS = ("corpus_dir", "data_dir", "max_file_mb")
_CHILD_CODE = "from ingest.loaders import _isolated_child_main; _isolated_child_main()"


def load_file_isolated(
    path: Path,
    settings: Settings,
    *,
    root: Path | None = None,
    time_limit_s: float = 30.0,
    memory_limit_mb: int = 1024,
) -> LoadedDocument:
    """``load_file`` in a child process limited to ``memory_limit_mb`` of address space and ``time_limit_s``.

    Whatever the file does to the parser (a bomb we did not foresee, a ``MemoryError``, a hang, a crash of a C
    extension), the caller only gets an ``IngestError`` with a Danish reason; the calling process and everything
    it has stored are untouched, because the child writes nothing.
    """
    request = {
        "path": str(Path(path).absolute()),
        "root": str(Path(root).absolute()) if root is not None else None,
        "settings": settings.model_dump(mode="json", include=set(_CHILD_SETTINGS)),
        "memory_limit_mb": memory_limit_mb,
        "cpu_limit_s": max(1, int(time_limit_s + 0.999)),
    }
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (_project_root(), os.environ.get("PYTHONPATH"))
                                                        if p)}
    try:
        done = subprocess.run(
            [sys.executable, "-c", _CHILD_CODE], input=json.dumps(request), capture_output=True, text=True,
            timeout=time_limit_s, env=env, check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise IngestError(
            f"filen tog for lang tid at læse (mere end {time_limit_s:g} sekunder) og er afvist"
        ) from exc
    except OSError as exc:
        raise IngestError(f"filen kunne ikke kontrolleres ({exc.strerror or exc})") from exc
    try:
        answer = json.loads(done.stdout.strip().splitlines()[-1]) if done.stdout.strip() else None
    except ValueError:
        answer = None
    if done.returncode == 0 and isinstance(answer, dict) and "doc" in answer:
        return LoadedDocument(**answer["doc"])
    if isinstance(answer, dict) and "error" in answer:
        raise IngestError(str(answer["error"]))
    if done.returncode < 0 or "MemoryError" in done.stderr:
        raise IngestError(
            f"filen krævede mere hukommelse eller tid end tilladt ({memory_limit_mb} MB / {time_limit_s:g} s) "
            "og er afvist"
        )
    raise IngestError(f"filen kunne ikke læses (kontrollen stoppede med kode {done.returncode})")


def _project_root() -> str:
    return str(Path(__file__).resolve().parent.parent)


def _isolated_child_main() -> None:
    """Entry point of the child process of ``load_file_isolated``: JSON request on stdin, JSON answer on stdout."""
    import resource

    request = json.loads(sys.stdin.read())
    memory = int(request["memory_limit_mb"]) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = int(request["cpu_limit_s"])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    try:
        settings = Settings(**request["settings"])
        root = Path(request["root"]) if request["root"] else None
        doc = load_file(Path(request["path"]), settings, root=root)
        answer: dict[str, Any] = {"doc": asdict(doc)}
    except IngestError as exc:
        answer = {"error": str(exc)}
    except MemoryError:
        answer = {"error": f"filen krævede mere end {request['memory_limit_mb']} MB hukommelse og er afvist"}
    except RecursionError:
        answer = {"error": "filen er indlejret for dybt og kan ikke læses sikkert"}
    except Exception as exc:  # a parser bug must not look like success
        answer = {"error": f"uventet fejl ved indlæsning ({type(exc).__name__})"}
    sys.stdout.write("\n" + json.dumps(answer, ensure_ascii=False) + "\n")
    sys.stdout.flush()
