"""The corpus document model: YAML front matter of the guide's Markdown files.

Front matter is optional for uploaded files: without it, ``doc_id`` comes from the file name slug,
the title from the first heading (else the file name) and ``kind`` is ``"dokument"``.

Front matter is untrusted input (uploads), so it is parsed with bounded work: PyYAML's ``SafeLoader`` (no Python
objects) extended to refuse more than ``MAX_YAML_ALIASES`` aliases (a 400-byte "billion laughs" alias bomb
otherwise expands to gigabytes as soon as anything walks the value), a size limit (``MAX_FRONT_MATTER_CHARS``) and
a nesting limit (``MAX_YAML_DEPTH``). Our own corpus uses no aliases at all.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

Kind = Literal["guide", "tool", "case", "about", "template", "dokument"]
KINDS: tuple[str, ...] = ("guide", "tool", "case", "about", "template", "dokument")
DOC_ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

#: Limits for the YAML front matter (see the module docstring).
MAX_YAML_ALIASES = 10
MAX_YAML_DEPTH = 20
MAX_FRONT_MATTER_CHARS = 16_384
_FM_BOUNDARY = re.compile(r"^-{3,}[ \t]*$", re.MULTILINE)


class FrontMatterError(ValueError):
    """Front matter that cannot be parsed or does not follow the contract (message in Danish)."""


class CorpusMeta(BaseModel):
    """Validated front matter of one corpus document."""

    model_config = ConfigDict(extra="allow")

    id: str
    title: str
    kind: Kind = "dokument"
    chapter: int | None = Field(None, ge=0, le=99)
    source_url: str = ""
    updated: dt.date | None = None
    tags: list[str] = Field(default_factory=list)

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if not DOC_ID_RE.match(value):
            raise ValueError("id må kun indeholde a-z, 0-9 og bindestreger")
        return value

    @field_validator("source_url", mode="before")
    @classmethod
    def _none_to_empty(cls, value: Any) -> Any:
        return "" if value is None else value

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value: Any) -> Any:
        if value is None:
            return []
        return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def slugify(text: str) -> str:
    """ASCII slug for doc ids: ``"Aftale om Rock & Roskilde.pdf"`` stem → ``"aftale-om-rock-roskilde"``."""
    text = text.lower().replace("æ", "ae").replace("ø", "oe").replace("å", "aa")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-") or "dokument"


def first_heading(markdown: str) -> str | None:
    """Text of the first Markdown heading (any level)."""
    for line in markdown.splitlines():
        match = re.match(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", line)
        if match:
            return match.group(1).strip()
    return None


def has_front_matter(text: str) -> bool:
    return text.lstrip("\ufeff").startswith("---")


class _BoundedSafeLoader(yaml.SafeLoader):
    """``SafeLoader`` that refuses alias bombs and deep nesting before anything is constructed."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._aliases = 0
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_YAML_ALIASES:
                raise FrontMatterError(
                    f"front matter bruger for mange YAML-aliasser (mere end {MAX_YAML_ALIASES}); skriv værdierne ud"
                )
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise FrontMatterError(f"front matter er indlejret for dybt (mere end {MAX_YAML_DEPTH} niveauer)")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def load_yaml_bounded(text: str) -> Any:
    """Parse untrusted YAML with ``_BoundedSafeLoader``. Raises ``FrontMatterError`` (Danish)."""
    if len(text) > MAX_FRONT_MATTER_CHARS:
        raise FrontMatterError(
            f"front matter er for lang ({len(text)} tegn; grænsen er {MAX_FRONT_MATTER_CHARS})"
        )
    loader = _BoundedSafeLoader(text)
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        raise FrontMatterError(f"ugyldig YAML i front matter ({_first_line(exc)})") from exc
    finally:
        loader.dispose()


def parse_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """Split raw front matter (a dict, possibly empty) from the body. Raises ``FrontMatterError``.

    The ``---`` split follows python-frontmatter's YAML handler; the YAML itself goes through
    ``load_yaml_bounded`` (python-frontmatter would call the unbounded ``SafeLoader``).
    """
    text = text.lstrip("\ufeff")
    if not has_front_matter(text):
        return {}, text
    parts = _FM_BOUNDARY.split(text.strip(), 2)
    if len(parts) < 3:  # no closing '---': plain text that starts with a rule (as python-frontmatter does)
        return {}, text
    _, fm, content = parts
    metadata = load_yaml_bounded(fm)
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        raise FrontMatterError("front matter skal være en YAML-ordbog (nøgle: værdi)")
    return dict(metadata), content.strip()


def corpus_meta(raw: dict[str, Any], *, path: Path, body: str) -> CorpusMeta:
    """Validate front matter, filling defaults from the file (slug id, first heading / file name title)."""
    data = dict(raw)
    data.setdefault("id", slugify(path.stem))
    if not data.get("title"):
        data["title"] = first_heading(body) or path.stem.replace("_", " ").replace("-", " ").strip() or path.name
    if data.get("kind") is None:
        data["kind"] = "dokument"
    try:
        return CorpusMeta.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'front matter'}: {_danish_error(err)}" for err in exc.errors()
        )
        raise FrontMatterError(f"ugyldig front matter ({problems})") from exc


def _danish_error(err: dict[str, Any]) -> str:
    kind = err.get("type", "")
    if kind == "literal_error":
        return f"skal være en af {', '.join(KINDS)}"
    if kind.startswith("int"):
        return "skal være et helt tal"
    if kind in ("greater_than_equal", "less_than_equal"):
        return "skal være mellem 0 og 99"
    if kind.startswith("date"):
        return "skal være en dato (ÅÅÅÅ-MM-DD)"
    if kind == "value_error":
        return str(err.get("msg", "")).removeprefix("Value error, ")
    return str(err.get("msg", kind))


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
