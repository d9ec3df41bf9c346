"""CLI: ``python -m assistant ask "spørgsmål" [--json] [--mode M] [--k N] [--kind K] [--chapter C]``,
``python -m assistant template NAME ...`` (template interview) and ``python -m assistant calibrate``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


KINDS = ("guide", "tool", "case", "about", "template", "dokument")


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("skal være mindst 1")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m assistant", description="Partnerskabsassistenten.")
    sub = parser.add_subparsers(dest="command", required=True)

    ask = sub.add_parser("ask", help="stil et spørgsmål til guiden")
    ask.add_argument("question", help="spørgsmålet (på dansk)")
    ask.add_argument("--json", action="store_true", help="udskriv svaret som JSON (stabilt format)")
    ask.add_argument("--mode", choices=["hybrid", "dense", "bm25"], help="søgemetode (standard: fra indstillinger)")
    ask.add_argument("--k", type=_positive_int, help="antal kildeafsnit")
    ask.add_argument("--kind", choices=KINDS, help="kun denne slags dokument")
    ask.add_argument("--chapter", type=int, help="kun dette kapitel (1-8)")

    sub.add_parser("template", help="udfyld en skabelon (se: python -m assistant template --help)", add_help=False)
    cal = sub.add_parser("calibrate", help="tilpas dækningsmodellen til det aktuelle indeks")
    cal.add_argument("--no-save", action="store_true", help="vis kun resultatet; gem ikke modellen")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "template":
        from assistant.templates.cli import main as template_main

        return int(template_main(argv[1:]) or 0)
    args = build_parser().parse_args(argv)
    from assistant.index import exit_code_on_store_error

    return exit_code_on_store_error(lambda: _run(args))


def _run(args: argparse.Namespace) -> int:
    from assistant.settings import get_settings

    settings = get_settings()
    _ensure_index(settings)
    if args.command == "calibrate":
        from assistant import calibration

        result = calibration.run(settings, save=not args.no_save)
        print(json.dumps(result.summary(), ensure_ascii=False, indent=2))
        if not args.no_save:
            print("Dækningsmodellen er gemt i assistant/coverage_model.json.", file=sys.stderr)
        return 0
    return _ask(args, settings)


def _ensure_index(settings: Any) -> None:
    """Make the index servable before answering. Building it belongs to the ingest entry point, which this
    runs as a subprocess (``python -m ingest --if-missing``): the ``assistant`` package never imports ``ingest``."""
    import subprocess

    from assistant.index import check

    if check(settings).servable:
        return
    print(f"Søgeindekset er ikke klar – bygger det fra {settings.corpus_dir} …", file=sys.stderr)
    done = subprocess.run([sys.executable, "-m", "ingest", "--if-missing", "-q"], stdout=sys.stderr, check=False)
    if done.returncode != 0:
        raise SystemExit(done.returncode)


def _ask(args: argparse.Namespace, settings: Any) -> int:
    from assistant.core import Assistant
    from assistant.prompts import source_label

    filters = {key: value for key, value in (("kind", args.kind), ("chapter", args.chapter)) if value is not None}
    assistant = Assistant.from_settings(settings)
    answer = assistant.ask(args.question, mode=args.mode, k=args.k, filters=filters or None)
    if args.json:
        print(json.dumps(answer.public_dict(), ensure_ascii=False, indent=2))
        return 0

    from rich.console import Console
    from rich.markdown import Markdown
    from rich.table import Table

    console = Console()
    console.print(Markdown(answer.text))
    if answer.citations:
        table = Table(title="Kilder", show_lines=True, expand=True)
        table.add_column("#", justify="right", no_wrap=True)
        table.add_column("Dokument / afsnit", ratio=1)
        table.add_column("Citat", ratio=2)
        for c in answer.citations:
            original = f"\n[dim]Original side: {c.source_url}[/dim]" if c.source_url else ""
            table.add_row(str(c.n), f"[bold]{c.title}[/bold]\n{c.section}\n[italic]{source_label(c.kind)}[/italic]"
                          f"{original}", c.quote)
        console.print(table)
    timings = ", ".join(f"{k} {v:.0f} ms" for k, v in answer.timings_ms.items())
    console.print(f"[dim]{timings}[/dim]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
