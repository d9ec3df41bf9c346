"""The one Danish unit splitter: exact spans, abbreviations, ordinal dates, whole lists, back-references."""

from __future__ import annotations

import pytest

from assistant.units import list_items, split_units, unit_embedding_text, with_requirements


def _texts(text: str) -> list[str]:
    return [u.text(text) for u in split_units(text)]


@pytest.mark.parametrize("abbreviation", [
    "bl.a.", "f.eks.", "fx.", "kl.", "nr.", "ca.", "jf.", "dvs.", "evt.", "inkl.", "mht.", "pga.", "vedr.", "hhv.",
    "ift.",
])
def test_abbreviations_never_end_a_sentence(abbreviation: str) -> None:
    text = f"Biblioteket samarbejder {abbreviation} Aarhus Universitet og en forening. Det gik godt for alle parter."
    assert _texts(text) == [
        f"Biblioteket samarbejder {abbreviation} Aarhus Universitet og en forening.",
        "Det gik godt for alle parter.",
    ]


def test_clock_times_numbers_and_ordinal_dates_stay_in_their_sentence() -> None:
    text = "Mødet holdes 9. januar 2027 kl. 14 i lokale nr. 5 på biblioteket. Alle partnere er inviteret til mødet."
    assert _texts(text)[0] == "Mødet holdes 9. januar 2027 kl. 14 i lokale nr. 5 på biblioteket."
    assert len(_texts(text)) == 2


def test_closing_abbreviation_ends_a_sentence_only_before_a_capital() -> None:
    text = "Der kom foreninger, skoler osv. til mødet i salen. Mange kom med idéer, planer m.fl. Næste møde er i maj."
    assert _texts(text) == ["Der kom foreninger, skoler osv. til mødet i salen.",
                            "Mange kom med idéer, planer m.fl.", "Næste møde er i maj."]


def test_spans_are_exact_and_no_unit_is_a_fragment() -> None:
    text = "# Overskrift\n\nJa. Biblioteket har mange partnere i byen. Fx skoler.\n\n| a | b |\n\nSidste sætning her."
    units = split_units(text)
    for u in units:
        assert text[u.start:u.end] == u.text(text)
        assert len(u.text(text).split()) >= 3
    assert "Overskrift" not in " ".join(_texts(text)) and "| a |" not in " ".join(_texts(text))


def test_lead_in_list_is_one_unit_with_every_item_whatever_the_case() -> None:
    text = ("En aftale bør fastlægge:\n\n- Opgavefordelingen mellem parterne.\n- hvem der ejer resultatet?\n"
            "- Samarbejdets varighed.\n- Forholdet til tredjepart.\n- Økonomien.\n\nEfter listen kommer tekst her.")
    units = split_units(text)
    assert units[0].kind == "list"
    lead, items = list_items(units[0].text(text))
    assert lead == "En aftale bør fastlægge:" and len(items) == 5 and items[1] == "hvem der ejer resultatet?"
    assert units[1].text(text) == "Efter listen kommer tekst her."


def test_items_without_lead_in_are_single_units() -> None:
    text = "- Har vi en plan for partnerskabet?\n- Ved vi, hvem der har ansvaret?"
    assert [u.kind for u in split_units(text)] == ["item", "item"]


def test_back_reference_carries_the_sentence_it_depends_on() -> None:
    text = ("Louise Overgaard har skrevet guiden sammen med en kollega. Hun beskriver partnerskaber som strategiske. "
            "Derfor bør biblioteket have en plan. Planen skal være skriftlig og kendt af alle.")
    units = split_units(text)
    assert units[1].requires == 0 and units[2].requires == 1 and units[3].requires is None
    assert with_requirements(units, [2]) == [0, 1, 2]
    assert unit_embedding_text(text, units, 1).startswith("Louise Overgaard")


def test_question_lists_are_recognised() -> None:
    """A checklist section (every line a question, maybe with a pointer in brackets) is a list of questions;
    a lead-in with answers is not."""
    from assistant.extractive import _is_question_list, _plain
    from assistant.models import RetrievedChunk

    def passage(text: str):
        return _plain(RetrievedChunk(chunk_id="d:1", text=text, metadata={"doc_id": "d"}, score=0.0))

    checklist = ("- Har vi aftalt, hvem der gør hvad?\n- Kender vi partnerens mål? (værktøjet \"Fem hurtige\")\n"
                 "- Har vi en plan for evalueringen?")
    assert _is_question_list(passage(checklist))
    assert not _is_question_list(passage("Aftalen bør fastlægge:\n- opgaverne,\n- varigheden,\n- rettighederne."))
    assert not _is_question_list(passage("Hvad er et partnerskab? Et samarbejde, hvor begge parter bidrager."))
