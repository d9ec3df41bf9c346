"""``python -m evals attacks``: a small subset of each category passes with real files and processes (fake
embeddings), and the harness's checks do fail on a wrong expectation."""

from __future__ import annotations

import pytest

from evals.attack_inputs import BadInput, upload_attack
from evals.attack_kit import CATEGORIES, Attack, Lab
from evals.attacks import all_attacks, count_figures, figures_line, run_attacks, select

#: one ingest CLI run, one upload, one kill -9, one concurrency run: the cheapest of each category
SUBSET = ("ingest/alias-bomb", "upload/path-traversal", "crash/edit-add", "concurrency/sqlite-fresh-6-processes")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Lab:
    """One lab for the module: its base workspace (a small real index) is built once."""
    return Lab(tmp_path_factory.mktemp("attacks"), keep=True)


def test_the_registry_covers_the_issue() -> None:
    attacks = all_attacks()
    names = [a.name for a in attacks]
    assert len(names) == len(set(names))
    counts = {c: sum(a.category == c for a in attacks) for c in CATEGORIES}
    assert counts["bad_input"] >= 35 and counts["crash_point"] >= 8 and counts["concurrency"] >= 12
    quick = select(attacks, quick=True)
    assert {a.category for a in quick} == set(CATEGORIES) and len(quick) < len(attacks) / 3
    assert [a.name for a in select(attacks, only=["crash/edit-"])] == [f"crash/edit-{p}" for p in (
        "embedding", "add", "delete", "bm25", "units", "manifest")]


def test_a_small_subset_of_each_category_passes(lab: Lab) -> None:
    attacks = select(all_attacks(), only=SUBSET)
    assert [a.name for a in attacks] == list(SUBSET)
    result = run_attacks(attacks, lab=lab, progress=None)
    assert [(r["name"], r["problems"]) for r in result["attacks"] if not r["ok"]] == []
    assert result["figures_line"] == ("bad inputs tried 2, handled cleanly 2; crash points 1, consistent without a "
                                      "manual re-ingest 1 of 1; concurrency runs 1, with errors 0")
    ingest, upload = result["attacks"][:2]
    assert "YAML-aliasser" in ingest["detail"] and ingest["peak_rss_mb"] > 0
    assert ingest["extra"]["chunks_before"] == ingest["extra"]["chunks_after"] > 0
    assert upload["detail"].count("gemt som") == 3


def test_a_wrong_expectation_is_reported_not_passed(lab: Lab) -> None:
    wrong = BadInput("wrong", "a file without extension, expected (wrongly) to be refused as a zip bomb",
                     lambda: {"README": b"# Uden endelse\n"}, reason=r"zip-bombe", entries=("upload",))
    result = run_attacks([Attack("upload/wrong", "bad_input", wrong.what, upload_attack(wrong))], lab=lab,
                         progress=None)
    row = result["attacks"][0]
    assert not row["ok"] and "does not match /zip-bombe/" in row["problems"][0]
    assert "understøttes ikke" in row["problems"][0]
    assert result["figures"]["bad_inputs_handled_cleanly"] == 0


def test_figures_line_has_the_issue_form() -> None:
    rows = [{"category": "bad_input", "ok": True}, {"category": "bad_input", "ok": False},
            {"category": "crash_point", "ok": True}, {"category": "concurrency", "ok": False}]
    assert figures_line(count_figures(rows)) == (
        "bad inputs tried 2, handled cleanly 1; crash points 1, consistent without a manual re-ingest 1 of 1; "
        "concurrency runs 1, with errors 1")
