"""``python -m evals readme`` puts the numbers of the latest results into the README block, and nothing else."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from evals.readme import END, START, update_readme
from evals.report import RESULTS_DIR, fmt


def test_readme_block_is_rendered_from_the_results(tmp_path: Path) -> None:
    results = tmp_path / "results"
    shutil.copytree(RESULTS_DIR, results)
    readme = tmp_path / "README.md"
    readme.write_text(f"# Titel\n\nFør.\n\n{START}\ngamle tal\n{END}\n\nEfter.\n", encoding="utf-8")

    assert update_readme(readme, results) is True
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("# Titel\n\nFør.") and text.rstrip().endswith("Efter.")
    assert "gamle tal" not in text
    evaluation = json.loads((results / "eval.json").read_text(encoding="utf-8"))
    for name, variant in evaluation["variants"].items():
        row = next(line for line in text.splitlines() if line.startswith(f"| {name} |"))
        assert f"| {fmt(variant['summary']['hit@5'])} |" in row
    bench = json.loads((results / "bench.json").read_text(encoding="utf-8"))
    assert f"{bench['ingest']['ingest_chunks_per_s']} ({bench['ingest']['raw_embed_texts_per_s']})" in text
    assert update_readme(readme, results) is False  # idempotent
