"""CLI: ``python -m evals run [--fast] [--modes ...]``, ``python -m evals bench [--scales 1,10,100]`` and
``python -m evals readme`` (copy the latest numbers into README.md)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


def _names(values: list[str]) -> list[str]:
    """Accept ``--modes a b`` as well as ``--modes a,b``."""
    return [name for value in values for name in value.split(",") if name]


def build_parser() -> argparse.ArgumentParser:
    from evals.runner import DEFAULT_VARIANTS, VARIANTS

    parser = argparse.ArgumentParser(prog="python -m evals", description="Evalueringer og benchmarks.")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="mål søge- og svarkvalitet på guldsættet")
    run.add_argument("--fast", action="store_true", help="kun det hurtige udsnit (samme som CI)")
    run.add_argument("--modes", nargs="+", default=list(DEFAULT_VARIANTS),
                     help=f"varianter (standard: {' '.join(DEFAULT_VARIANTS)}; mulige: {' '.join(VARIANTS)})")
    run.add_argument("--heldout", action="store_true",
                     help="det tilbageholdte sæt (heldout_*.yaml) i stedet for guldsættet; skriver eval-heldout.*")
    run.add_argument("--retrieval-only", action="store_true", help="spring svar, afvisning og citater over")
    run.add_argument("--data-dir", type=Path, help="hvor evalueringsindeksene bygges (standard: <data_dir>/evals)")
    run.add_argument("--out", type=Path, help="mappe til JSON/Markdown (standard: evals/results)")

    bench = sub.add_parser("bench", help="mål hastighed, hukommelse og skalering")
    bench.add_argument("--scales", default="1,10", help="syntetiske korpusstørrelser, fx 1,10,100")
    bench.add_argument("--queries", type=int, default=40, help="antal spørgsmål pr. latensmåling")
    bench.add_argument("--skip-server", action="store_true", help="spring sammenligningen med Chroma-server over")
    bench.add_argument("--no-browser", action="store_true",
                       help="spring målingen i Chromium over (kold start, klar-status, svartider i browseren)")
    bench.add_argument("--reuse-vectors", action="store_true",
                       help="skalaer fra 100x: embed kun kildeteksterne og genbrug vektorerne til kopierne "
                            "(embedding ikke med i ingest-tiden)")
    bench.add_argument("--merge", action="store_true",
                       help="kør kun skaleringen og flet rækkerne ind i den eksisterende bench.json/bench.md")
    bench.add_argument("--out", type=Path, help="mappe til bench.json/bench.md (standard: evals/results)")

    tpl = sub.add_parser("templates", help="kun de scriptede skabelondialoger (intet indeks nødvendigt)")
    tpl.add_argument("--guide", action="store_true", help="besvar sidespørgsmål fra det rigtige indeks")
    tpl.add_argument("--out", type=Path, help="mappe til templates.json (standard: evals/results)")

    sub.add_parser("readme", help="skriv de seneste tal fra evals/results ind i README.md")
    from evals.attacks import add_parser as add_attacks_parser

    add_attacks_parser(sub)
    return parser


def cmd_run(args: argparse.Namespace) -> int:
    from assistant.settings import get_settings
    from evals import report
    from evals.dataset import load_gold, load_heldout
    from evals.runner import VARIANTS, run_evals

    names = _names(args.modes)
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        print(f"Ukendte varianter: {', '.join(unknown)} (mulige: {', '.join(VARIANTS)})", file=sys.stderr)
        return 2
    base = get_settings()
    gold = (load_heldout() if args.heldout else load_gold()).subset(args.fast)
    root = args.data_dir or base.data_dir / "evals"
    started = time.perf_counter()
    result = run_evals(base, gold, names, root=root, answers=not args.retrieval_only)
    result = {"meta": {"fast": args.fast, "counts": gold.counts(), "variants": names,
                       "duration_s": round(time.perf_counter() - started, 1),
                       "environment": report.environment()}, **result}
    title = "Evaluering" + (" (hurtigt udsnit)" if args.fast else "") + (" (tilbageholdt sæt)" if args.heldout else "")
    report.print_table(report.eval_table(result, title))
    from evals.templates_eval import summary_lines

    if result["templates"]:
        print("\n".join(summary_lines(result["templates"])))
    stem = "eval" + ("-heldout" if args.heldout else "") + ("-fast" if args.fast else "")
    paths = report.write_results(result, stem, report.eval_markdown(result), args.out or report.RESULTS_DIR)
    print("Skrev " + " og ".join(str(p) for p in paths))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from evals import bench, report

    scales = [int(s) for s in args.scales.split(",") if s.strip()]
    out_dir = args.out or report.RESULTS_DIR
    previous = out_dir / "bench.json"
    if args.merge and not previous.exists():
        print(f"--merge kræver en tidligere {previous}", file=sys.stderr)
        return 2
    result = bench.run_bench(scales=scales, n_queries=args.queries, server=not args.skip_server,
                             reuse_vectors=args.reuse_vectors, scales_only=args.merge,
                             browser=not args.no_browser)
    if args.merge:
        result = bench.merge_scaling(json.loads(previous.read_text(encoding="utf-8")), result)
    report.print_table(bench.bench_table(result))
    paths = report.write_results(result, "bench", bench.bench_markdown(result), out_dir)
    print("Skrev " + " og ".join(str(p) for p in paths))
    return 0


def cmd_templates(args: argparse.Namespace) -> int:
    from assistant.settings import get_settings
    from evals import report
    from evals.dataset import load_gold
    from evals.templates_eval import evaluate_templates, load_holdout, summary_lines

    settings = get_settings()
    guide = None
    if args.guide:
        from assistant.core import Assistant

        guide = Assistant.from_settings(settings)
    result = evaluate_templates(load_gold().dialogues, settings, guide=guide, holdout=load_holdout())
    print("\n".join(summary_lines(result)))
    out = (args.out or report.RESULTS_DIR) / "templates.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    print(f"Skrev {out}")
    return 0 if result["misrouted"] == 0 and result["lost"] == 0 else 1


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from assistant.index import exit_code_on_store_error

    return exit_code_on_store_error(lambda: _run(args))


def _run(args: argparse.Namespace) -> int:
    if args.command == "attacks":
        from evals.attacks import cmd_attacks

        return cmd_attacks(args)
    if args.command == "templates":
        return cmd_templates(args)
    if args.command == "readme":
        from evals.readme import update_readme

        print("README.md opdateret." if update_readme() else "README.md var allerede opdateret.")
        return 0
    return cmd_run(args) if args.command == "run" else cmd_bench(args)


if __name__ == "__main__":
    sys.exit(main())
