"""The template eval gate: the scripted dialogues (evals/data/template_dialogues.yaml) through the real interview,
and the held-out set (template_dialogues_heldout.yaml) reported beside them."""

from __future__ import annotations

import pytest
from conftest import make_settings

from assistant.templates import load_template
from evals.dataset import load_gold
from evals.templates_eval import _correct, evaluate_templates, load_holdout, summary_lines


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> dict:
    # the rules alone (fast tier); with the real fit check: tests/test_templates_fit.py
    return evaluate_templates(load_gold().dialogues, make_settings(tmp_path_factory.mktemp("tpl-eval")),
                              holdout=load_holdout(), fit=False)


def test_dialogues_cover_the_three_templates_and_the_hard_cases(result: dict) -> None:
    dialogues = load_gold().dialogues
    assert result["dialogues"] >= 25 and set(result["by_template"]) == {
        "samarbejdsaftale", "kommunikationsplan", "evalueringsplan"}
    answers = [a for d in dialogues for a in d.answers]
    assert sum(a == "@parkér" for a in answers) >= 3, "leave and resume"
    assert sum(a == "fortryd" for a in answers) >= 3, "undo"
    assert sum(a.startswith("ret ") for a in answers) >= 3, "corrections"
    assert sum(bool(d.prefill) for d in dialogues) >= 5, "pre-fill from a preceding chat"
    assert result["side_questions"] >= 6


def test_nothing_misrouted_nothing_lost(result: dict) -> None:
    assert not result["errors"], result["errors"]
    bad = {d["id"]: (d["misrouted"], d["lost"]) for d in result["per_dialogue"] if d["misrouted"] or d["lost"]}
    assert result["misrouted"] == 0 and result["lost"] == 0, bad
    assert result["accuracy"] >= 0.98, [r for r in result["rows"] if not r["correct"]]


def test_cooperative_user_and_prefill(result: dict) -> None:
    assert result["cooperative_unfinished"] == 0 and result["turns_to_finish_max"] <= 15
    assert result["prefill_found"] == result["prefill_expected"] > 0
    assert result["prefill_invented"] == 0
    museum = next(d for d in result["per_dialogue"] if d["id"] == "t-aftale-02-museum-prefill")
    assert set(museum["prefill_found"]) == {"partner", "aktiviteter"} and not museum["unexpected_proposals"]
    assert any("fejlplacerede værdier: 0" in line for line in summary_lines(result))


def test_the_held_out_set_is_reported_beside_the_scripted_one_per_batch(result: dict) -> None:
    holdout = result["holdout"]
    assert not holdout["errors"], holdout["errors"]
    assert set(holdout["by_template"]) == {"samarbejdsaftale", "kommunikationsplan", "evalueringsplan"}
    assert holdout["batches"]["hb1"]["dialogues"] >= 20 and holdout["batches"]["hb2"]["dialogues"] >= 8
    assert holdout["batches"]["hb3"]["dialogues"] >= 10 and "asked" in holdout["batches"]["hb3"]
    assert sum(b["fields"] for b in holdout["batches"].values()) == holdout["fields"]
    ids = {d.id for d in load_gold().dialogues}
    assert not ids & {d.id for d in load_holdout()}, "the two sets share no dialogue"
    lines = summary_lines(result)
    assert any(line.startswith("Holdout") for line in lines) and any("hb2:" in line for line in lines)


def test_the_comparison_of_people_and_lists(tmp_path) -> None:
    schema = load_template("samarbejdsaftale", make_settings(tmp_path))
    person, activities = schema.field("kontakt_partner"), schema.field("aktiviteter")
    assert _correct(person, "Museumsinspektør Jonas Holm", "Jonas Holm, museumsinspektør")
    assert not _correct(person, "Jonas Holm", "Jonas Holm, museumsinspektør")
    assert _correct(activities, ["Koncerter og værksteder"], ["Koncerter", "Værksteder"])
    assert not _correct(activities, ["Koncerter", "Værksteder", "Forældre"], ["Koncerter", "Værksteder"])


def test_an_answered_move_offer_counts_and_an_ignored_one_leaves_the_value_where_it_was_asked(tmp_path) -> None:
    from evals.dataset import TemplateDialogue
    from evals.templates_eval import run_dialogue

    answers = ["Lemvig Bibliotek", "Lemvig Gymnasium", "at eleverne bliver bedre til kilder", "alle 2.g'ere",
               "kildekursus", "gymnasiet sender en dansklærer med", "@hvis spurgt: bidrag_partner",
               "to bibliotekarer"]
    expected = {"bibliotek": "Lemvig Bibliotek", "partner": "Lemvig Gymnasium", "formaal": "kilder",
                "maal": "2.g'ere", "aktiviteter": ["Kildekursus"], "bidrag_partner": "sender en dansklærer med",
                "bidrag_bibliotek": "to bibliotekarer"}
    settings = make_settings(tmp_path)
    answered = run_dialogue(TemplateDialogue(id="x-1", template="samarbejdsaftale", answers=answers,
                                             expected=expected), settings)
    assert answered["asked"] == 1 and answered["asked_answered"] == 1
    assert not answered["misrouted"] and not answered["lost"] and all(r["correct"] for r in answered["rows"])
    unanswered = run_dialogue(TemplateDialogue(id="x-2", template="samarbejdsaftale",
                                               answers=[a for a in answers if not a.startswith("@")],
                                               expected=expected), settings)
    assert unanswered["asked"] == 1 and unanswered["asked_answered"] == 0
    assert unanswered["final"]["bidrag_bibliotek"] == "Gymnasiet sender en dansklærer med", "stored as asked"
    assert set(unanswered["misrouted"]) == {"bidrag_bibliotek", "bidrag_partner"} and not unanswered["lost"], \
        "the eval counts what the offer could not prevent: the script answered the next question"
    skipped = run_dialogue(TemplateDialogue(id="x-3", template="samarbejdsaftale",
                                            answers=["Lemvig Bibliotek", "@hvis spurgt: formaal", "Lemvig Gymnasium"],
                                            expected={"bibliotek": "Lemvig Bibliotek", "partner": "Lemvig Gymnasium"}),
                           settings)
    assert skipped["turns"] == 2 and not skipped["misrouted"], "a directive the interview did not ask for is skipped"


def test_a_proposal_is_invented_only_when_it_holds_a_word_never_written() -> None:
    from evals.templates_eval import _invented

    history = ["Tak! Formanden Bent Frost har svaret ja, og han bliver foreningens kontaktperson."]
    assert not _invented("Bent Frost, formand", history)  # the title in its indefinite form
    assert _invented("Bent Frost, direktør", history)
    assert _invented("Bente Frost", history)
