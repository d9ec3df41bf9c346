"""CLI: ``python -m ingest [PATHS...] [--dry-run] [--rebuild] [--if-missing] [--prune] [--stats]``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ingest",
        description=(
            "Indlæs korpus og uploads i søgeindekset (Chroma + BM25). Uden stier indlæses standardkilderne "
            "(korpusmappen og data/uploads), og dokumenter, der ikke længere findes der, slettes fra indekset. "
            "Kun ændrede tekststykker beregnes igen."
        ),
    )
    parser.add_argument("paths", nargs="*", type=Path, help="filer eller mapper (standard: korpus + uploads)")
    parser.add_argument("--dry-run", action="store_true", help="vis hvad der ville ændre sig, uden at ændre noget")
    parser.add_argument("--rebuild", action="store_true", help="slet indekset og byg det helt forfra")
    parser.add_argument("--if-missing", action="store_true",
                        help="byg kun, hvis indekset mangler eller en indlæsning blev afbrudt (gør den færdig)")
    parser.add_argument("--prune", action="store_true",
                        help="slet også dokumenter, der ikke findes i de angivne stier (altid ved standardkilderne)")
    parser.add_argument("--stats", action="store_true", help="vis kun statistik for indekset")
    parser.add_argument("--quiet", "-q", action="store_true", help="ingen statuslinje")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from assistant.index import exit_code_on_store_error

    return exit_code_on_store_error(lambda: _run(args))


def _run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from assistant.settings import get_settings
    from ingest.pipeline import IngestBusyError, IngestReport, ensure_default_index, index_stats, run_ingest

    console = Console(stderr=False)
    settings = get_settings()

    if args.stats:
        _print_stats(console, index_stats(settings))
        return 0
    if args.if_missing and not args.rebuild and not args.paths:
        try:
            built = ensure_default_index(settings)
        except IngestBusyError as exc:
            console.print(f"[red]{exc}[/red]")
            return 3
        if built is None:
            stats = index_stats(settings)
            console.print(f"Indekset findes allerede ({stats.documents} dokumenter, {stats.chunks} tekststykker).")
            return 0
        _print_report(console, built)
        return 0

    paths = args.paths or None
    kwargs = dict(dry_run=args.dry_run, rebuild=args.rebuild, prune=True if args.prune else None)
    try:
        if args.quiet:
            report: IngestReport = run_ingest(paths, settings, **kwargs)
        else:
            columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
            with Progress(*columns, console=console, transient=True) as bar:
                task = bar.add_task("Starter …", total=None)

                def progress(done: float, total: float, message: str = "") -> None:
                    bar.update(task, completed=done, total=total, description=message[:60])

                report = run_ingest(paths, settings, progress=progress, **kwargs)
    except IngestBusyError as exc:
        console.print(f"[red]{exc}[/red]")
        return 3
    _print_report(console, report)
    return 0


def _print_report(console: Any, report: Any) -> None:
    from rich.table import Table

    table = Table(title="Prøvekørsel – intet er ændret" if report.dry_run else "Indlæsning færdig")
    table.add_column("Status")
    table.add_column("Dokumenter", justify="right")
    table.add_column("Dokument-id'er")
    for label, docs in (("Tilføjet", report.added), ("Ændret", report.changed), ("Slettet", report.deleted),
                        ("Uændret", report.unchanged)):
        limit = len(docs) if report.dry_run else 6  # a dry run is a diff: list every document
        shown = ", ".join(docs[:limit]) + (f" … (+{len(docs) - limit})" if len(docs) > limit else "")
        table.add_row(label, str(len(docs)), shown if label != "Uændret" else "")
    table.add_row("Sprunget over", str(len(report.skipped)), "")
    console.print(table)
    verb = "ville blive" if report.dry_run else "blev"
    console.print(
        f"Tekststykker: {report.chunks_added} {verb} beregnet, {report.chunks_updated} opdateret, "
        f"{report.chunks_deleted} slettet; i alt {report.chunks_total} i {report.documents_total} dokumenter. "
        f"Embeddings beregnet: {report.embedded} tekststykker, {report.units_embedded} svarenheder. "
        f"Tid: {report.duration_s:.1f} s."
    )
    for path, reason in report.skipped:
        console.print(f"[yellow]Sprunget over[/yellow] {path}: {reason}")
    for message in report.messages:
        if not message.startswith("Sprunget over"):
            console.print(message)


STATE_LABELS = {
    "complete": "fuldstændigt",
    "writing": "en indlæsning er i gang (den forrige generation bruges imens)",
    "interrupted": "en indlæsning blev afbrudt – kør python -m ingest for at gøre den færdig",
    "damaged": "BM25-filerne mangler – kør python -m ingest --if-missing",
    "missing": "findes ikke endnu",
}


def _print_stats(console: object, stats: object) -> None:
    from rich.table import Table

    table = Table(title="Indeks")
    table.add_column("Felt")
    table.add_column("Værdi")
    for label, key in (("Dokumenter", "documents"), ("Tekststykker", "chunks"), ("Seneste indlæsning", "last_ingest"),
                       ("Embeddingmodel", "embedding_model"), ("Samling", "collection"), ("Mappe", "index_dir"),
                       ("Generation", "generation"), ("Tilstand", "state"), ("BM25 i takt", "lexical_in_sync")):
        value = getattr(stats, key)
        table.add_row(label, STATE_LABELS.get(value, value) if key == "state" else str(value))
    for kind, count in stats.per_kind.items():
        table.add_row(f"  {kind}", str(count))
    console.print(table)  # type: ignore[attr-defined]


if __name__ == "__main__":
    sys.exit(main())
