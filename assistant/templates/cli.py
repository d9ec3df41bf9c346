"""Terminal interview: ``python -m assistant template NAME [--resume draft.json] [--out draft.docx]``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assistant.templates.export import export_docx, export_markdown
from assistant.templates.schema import TemplateError, list_templates, load_template
from assistant.templates.session import TemplateSession

QUIT_WORDS = {"afslut", "stop", "gem og afslut", "quit", "exit"}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m assistant template",
        description="Udfyld en skabelon fra værktøjskassen (fx en samarbejdsaftale) i en dialog i terminalen.",
    )
    p.add_argument("name", nargs="?", help="skabelonens navn, fx samarbejdsaftale")
    p.add_argument("--list", action="store_true", help="vis de tilgængelige skabeloner")
    p.add_argument("--resume", type=Path, help="fortsæt et gemt udkast (JSON)")
    p.add_argument("--draft", type=Path, help="hvor udkastet gemmes som JSON (standard: udkast-NAVN.json)")
    p.add_argument("--out", type=Path, help="eksportér til .docx eller .md, når dialogen slutter")
    p.add_argument("--no-guide", action="store_true", help="hent ikke råd fra guiden (intet indeks nødvendigt)")
    return p


def _load_assistant(settings: Any) -> Any:
    """The QA core (for guide advice), or None when it or its index is not available."""
    try:
        from assistant.core import Assistant  # type: ignore[import-not-found]

        return Assistant.from_settings(settings)
    except Exception:
        try:
            from assistant.retrieval import Retriever

            return Retriever.from_settings(settings)
        except Exception:
            return None


def write_export(session: TemplateSession, out: Path) -> Path:
    """Write DOCX (default) or Markdown (``.md``) to ``out``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() in {".md", ".markdown"}:
        out.write_text(export_markdown(session), encoding="utf-8")
    else:
        out.write_bytes(export_docx(session))
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
    """Run the interview; returns the exit code. The draft JSON is saved after every answer."""
    args = build_parser().parse_args(argv)
    from assistant.settings import get_settings

    settings = get_settings()
    show = output or _printer()
    if args.list:
        for schema in list_templates(settings):
            show(f"- **{schema.id}** – {schema.title}: {schema.description}")
        return 0
    try:
        if assistant is None and not args.no_guide:
            assistant = _load_assistant(settings)
        if args.resume:
            session = TemplateSession.from_json(args.resume.read_text(encoding="utf-8"), settings=settings,
                                                assistant=assistant)
            if args.name and args.name != session.schema.id:
                show(f"Udkastet hører til skabelonen «{session.schema.id}»; den bruges.")
        elif args.name:
            session = TemplateSession.start(load_template(args.name, settings), assistant=assistant)
        else:
            show("Angiv en skabelon (fx `samarbejdsaftale`) eller `--list`.")
            return 2
    except (TemplateError, OSError, ValueError) as exc:
        show(f"Fejl: {exc}")
        return 1

    draft = args.draft or args.resume or Path(f"udkast-{session.schema.id}.json")
    show(f"# {session.schema.title}\n\n{session.schema.description}\n\nUdkastet gemmes løbende i `{draft}`. "
         "Skriv «afslut» for at stoppe; du kan fortsætte senere med `--resume`.")
    prompt = session.next_question()
    if prompt is not None:
        show(prompt.text)
    done = prompt is None
    while not done:
        try:
            text = input_fn("> ")
        except (EOFError, KeyboardInterrupt):
            show("\nUdkastet er gemt.")
            break
        if text.strip().lower() in QUIT_WORDS:
            break
        reply = session.handle(text)
        draft.write_text(session.to_json(), encoding="utf-8")
        show(reply.message)
        for c in reply.citations:
            show(f"[{c.n}] {c.title} – {c.section} ({c.source_url})")
        done = reply.done
    draft.write_text(session.to_json(), encoding="utf-8")
    if args.out:
        path = write_export(session, args.out)
        show(f"Dokumentet er gemt i `{path}`.")
    problems = session.validate()
    if problems:
        show("Mangler eller fejl: " + "; ".join(f"{session.schema.field(k).label}: {v}" for k, v in problems.items()))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
