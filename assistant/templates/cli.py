"""Terminal interview: ``python -m assistant template NAME`` and the drafts of the app.

Drafts are kept in the app's SQLite file (``settings.app_db_path``, the same store the chat UI uses), so a draft
started in the browser can be listed (``--drafts``) and resumed here (``--conversation ID``) and vice versa.
``--resume FILE.json`` / ``--draft FILE.json`` read and write a draft as a JSON file as well.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assistant.templates.draft import Draft
from assistant.templates.export import export_docx, export_markdown
from assistant.templates.interview import Interview
from assistant.templates.schema import TemplateError, TemplateSchema, list_templates, load_template
from assistant.templates.service import DraftService, parse_choice, read_draft

QUIT_WORDS = {"afslut", "stop", "gem og afslut", "quit", "exit", "parkér", "parker"}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m assistant template",
        description="Udfyld en skabelon fra værktøjskassen (fx en samarbejdsaftale) i en dialog i terminalen.",
    )
    p.add_argument("name", nargs="?", help="skabelonens navn, fx samarbejdsaftale")
    p.add_argument("--list", action="store_true", help="vis de tilgængelige skabeloner")
    p.add_argument("--drafts", action="store_true", help="vis de gemte udkast (også dem fra chatten)")
    p.add_argument("--conversation", help="fortsæt (eller start forfra på) udkastet i denne samtale (id)")
    p.add_argument("--resume", type=Path, help="fortsæt et udkast gemt som JSON-fil")
    p.add_argument("--draft", type=Path, help="gem også udkastet som JSON i denne fil")
    p.add_argument("--out", type=Path, help="eksportér til .docx eller .md, når dialogen slutter")
    p.add_argument("--no-guide", action="store_true", help="hent ikke svar og råd fra guiden (intet indeks nødvendigt)")
    return p


def _load_assistant(settings: Any) -> Any:
    """The QA core (side questions and advice), or None when its index is not available."""
    try:
        from assistant.core import Assistant

        return Assistant.from_settings(settings)
    except Exception:
        return None


def _store(settings: Any) -> Any:
    """The app's draft store (the same SQLite file as the chat), opened at the entry point."""
    from assistant.storage import Storage

    return Storage(settings.app_db_path)


def write_export(schema: TemplateSchema, draft: Draft, out: Path) -> Path:
    """Write DOCX (default) or Markdown (``.md``) to ``out``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() in {".md", ".markdown"}:
        out.write_text(export_markdown(schema, draft), encoding="utf-8")
    else:
        out.write_bytes(export_docx(schema, draft))
    return out


def _printer() -> Callable[[str], None]:
    try:
        from rich.console import Console
        from rich.markdown import Markdown

        console = Console()
        return lambda text: console.print(Markdown(text))
    except Exception:  # pragma: no cover - rich is a dependency, but stay usable without it
        return print


def main(argv: list[str] | None = None, *, input_fn: Callable[[str], str] = input,
         output: Callable[[str], None] | None = None, assistant: Any = None) -> int:
    """Run the interview; returns the exit code. The draft is saved after every answer."""
    args = build_parser().parse_args(argv)
    from assistant.settings import get_settings

    settings = get_settings()
    show = output or _printer()
    if args.list:
        for schema in list_templates(settings):
            show(f"- **{schema.id}** – {schema.title}: {schema.description}")
        return 0
    if assistant is None and not args.no_guide and not args.drafts:
        assistant = _load_assistant(settings)
    store = _store(settings)
    service = DraftService(store, settings, guide=assistant)
    if args.drafts:
        drafts = service.drafts()
        if not drafts:
            show("Der er ingen gemte udkast.")
        for info in drafts:
            show(f"- `{info.conversation_id}` {info.summary}, senest ændret {info.updated_at[:16].replace('T', ' ')}")
        return 0

    try:
        conv_id = args.conversation
        if args.resume:
            raw = args.resume.read_text(encoding="utf-8")
            data = json.loads(raw)
            schema = load_template(args.name or str(data.get("template") or data.get("schema_id")), settings)
            interview = Interview(schema, read_draft(raw, schema), guide=assistant)
            conv_id = conv_id or store.create_conversation(f"Terminal: {schema.title}")
            service.save(conv_id, interview)
            opening = service.resume(conv_id, schema.id)
        elif args.name:
            schema = load_template(args.name, settings)
            if conv_id and store.get_conversation(conv_id) is None:
                show(f"Fejl: Samtalen «{conv_id}» findes ikke. Se `--drafts`.")
                return 1
            conv_id = conv_id or store.create_conversation(f"Terminal: {schema.title}")
            opening = service.start(conv_id, schema.id)
            while opening.choice:
                show(opening.message)
                choice = parse_choice(input_fn("> "))
                if choice == "resume":
                    opening = service.resume(conv_id, schema.id)
                elif choice == "restart":
                    opening = service.restart(conv_id, schema.id)
        else:
            show("Angiv en skabelon (fx `samarbejdsaftale`), `--list` eller `--drafts`.")
            return 2
    except (TemplateError, OSError, ValueError) as exc:
        show(f"Fejl: {exc}")
        return 1
    except EOFError:
        show("Udkastet er ikke ændret.")
        return 0

    interview = opening.interview
    assert interview is not None
    show(f"# {schema.title}\n\nUdkastet gemmes løbende (samtale `{conv_id}`). Skriv «afslut» for at parkere det; "
         f"fortsæt senere med `--conversation {conv_id}`.")
    show(opening.message)
    done = opening.reply.done if opening.reply else False
    while not done:
        try:
            text = input_fn("> ")
        except (EOFError, KeyboardInterrupt):
            break
        if text.strip().lower() in QUIT_WORDS:
            break
        reply = service.turn(conv_id, interview, text)
        if args.draft:
            args.draft.write_text(interview.draft.to_json(), encoding="utf-8")
        show(reply.message)
        for c in reply.citations:
            show(f"[{c.n}] {c.title} – {c.section} ({c.source_url})")
        done = reply.done
    show(service.park(conv_id, interview))
    if args.draft:
        args.draft.write_text(interview.draft.to_json(), encoding="utf-8")
    if args.out:
        path = write_export(schema, interview.draft, args.out)
        show(f"Dokumentet er gemt i `{path}`.")
    problems = interview.draft.problems(schema)
    if problems:
        show("Mangler eller fejl: " + "; ".join(f"{schema.field(k).label}: {v}" for k, v in problems.items()))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
