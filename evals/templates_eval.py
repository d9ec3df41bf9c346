"""Scripted template dialogues (``evals/data/template_dialogues.yaml``) played through the real interview.

A second, held-out set (``evals/data/template_dialogues_heldout.yaml``, written by a tester who did not write the
routing rules) is reported beside it as ``holdout``, per batch (id prefix ``hb1-``, ``hb2-``, ...).

Per dialogue: the earlier chat becomes pre-fill proposals, then every scripted user message is one turn
(``@parkér`` saves the draft as JSON and resumes it in a new interview, as leaving and coming back does;
``@hvis spurgt: <field>`` answers «Skal jeg skrive det under «A» eller «B»?» with that field's label when the
interview has just asked it with that field among the options, and is skipped otherwise).
Measured over all dialogues (definitions in ``evals/README.md``):

- **field accuracy**: expected fields whose final value is right (names of parties and people exactly, other
  text by containment, list items one by one);
- **misrouted**: fields holding a value they should not (an unexpected field filled, or a wrong value);
- **lost**: expected fields left empty;
- **asked**: «under A eller B?» questions the interview asked instead of storing (no misroute; the value still
  counts as lost when it is not stored by the end of the dialogue);
- **turns to finish**: user turns a cooperative user needs until every required field is filled;
- **pre-fill**: expected proposals found, and proposals whose value the user never wrote (invented).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from assistant.settings import Settings
from evals import metrics as m
from evals.dataset import DATA_DIR, TemplateDialogue

PARK = "@parkér"
IF_ASKED = re.compile(r"^@hvis\s+spurgt:\s*(?P<field>\w+)\s*$")
HOLDOUT_FILE = DATA_DIR / "template_dialogues_heldout.yaml"


def load_holdout(path: Path = HOLDOUT_FILE) -> list[TemplateDialogue]:
    """The held-out dialogues (empty when the file does not exist); ids must be unique."""
    if not path.is_file():
        return []
    dialogues = [TemplateDialogue(**x) for x in yaml.safe_load(path.read_text(encoding="utf-8")) or []]
    ids = [d.id for d in dialogues]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{path.name}: dublerede ids")
    return dialogues


_INFLECTIONS = ("", "e", "n", "t", "en", "et", "ne", "erne", "s", "ens", "ets")  # «Formanden» -> «formand»


def _invented(value: object, history: Sequence[str]) -> bool:
    """True when a proposed value holds a word the user never wrote (case-insensitive; a person's name and title
    may come in either order: «musikpædagog Line Vestergaard» -> «Line Vestergaard, musikpædagog»; a title in its
    definite form is written in the indefinite one: «Formanden Bent Frost» -> «Bent Frost, formand»)."""
    said = _tokens(" ".join(history))
    items = value if isinstance(value, list) else [value]
    return any(not all(any(w + end in said for end in _INFLECTIONS) for w in _tokens(i))
               for i in items if not _typed_shape(str(i)))


def _tokens(value: object) -> set[str]:
    return {w.strip(".,;:!?()«»\"'-") for w in re.split(r"[\s'\"«»“”]+", m.normalise_value(value))} - {""}


def _typed_shape(value: str) -> bool:
    """Dates and amounts are normalised (ISO date, "25.000 kr."), so they are compared by the scanners instead."""
    return (value[:4].isdigit() and "-" in value) or value.endswith(" kr.")


def _words(value: object) -> list[str]:
    return sorted(m.normalise_value(value).replace(",", " ").rstrip(".").split())


def _atoms(items: Sequence[object]) -> list[str]:
    """List items split at commas and «og», so «a og b» as one item equals the items «a» and «b»; a final «?» or
    «.» does not count («Hvad har I lært» = «Hvad har I lært?»)."""
    return sorted(a.strip().rstrip(".?!") for i in items for a in re.split(r",\s+|\s+og\s+", m.normalise_value(i))
                  if a.strip())


def _correct(field: Any, actual: object, expected: str | list[str]) -> bool:
    """Party names must be exactly right, people exactly (name and title, in either order: «Jonas Holm,
    museumsinspektør» = «Museumsinspektør Jonas Holm»); lists exactly the expected items, no item more or less
    (item by item, or as :func:`_atoms`, each expected item contained in its own item); amounts by digits, phone
    numbers by their eight national digits (with or without +45);
    other text must contain the expected words."""
    if isinstance(expected, str) and field.type == "person":
        return bool(_words(expected)) and _words(actual) == _words(expected)
    if isinstance(expected, str) and field.capture == "name":
        return m.normalise_value(actual).rstrip(".") == m.normalise_value(expected)
    if isinstance(expected, str) and field.type == "phone":  # «+45 39 98 57 00» = «39 98 57 00»: the same number
        return re.sub(r"\D", "", str(actual or ""))[-8:] == re.sub(r"\D", "", expected)[-8:] != ""
    if isinstance(expected, str) and field.type == "amount":  # «40000» = «40.000 kr.»
        return re.sub(r"\D", "", str(actual or "")) == re.sub(r"\D", "", expected) != ""
    if isinstance(expected, list):
        return bool(expected) and isinstance(actual, list) and (
            _items_match([m.normalise_value(a).rstrip(".?!") for a in actual],
                         [m.normalise_value(e).rstrip(".?!") for e in expected])
            or _items_match(_atoms(actual), _atoms(expected)))  # «Unge mellem 12 og 17» is one item
    return m.field_correct(actual, expected)


def _items_match(actual: list[str], expected: list[str]) -> bool:
    """As many items as expected, each expected item contained in its own actual item (the containment rule of
    text fields, item by item: «Sangværksteder om lørdagen» holds «sangværksteder»); no item more or less."""
    if len(actual) != len(expected):
        return False
    free = list(actual)
    for want in sorted(expected, key=len, reverse=True):
        hit = next((a for a in free if want in a), None)
        if hit is None:
            return False
        free.remove(hit)
    return True


def fit_check(settings: Settings, enabled: bool = True) -> Any:
    """The semantic fit check over the configured embedding model (what the app uses; no index needed), or off."""
    from assistant.embeddings import get_embeddings
    from assistant.templates.fit import FieldFit

    return FieldFit(get_embeddings(settings) if enabled else None)


def run_dialogue(dialogue: TemplateDialogue, settings: Settings, guide: Any = None, fit: Any = None) -> dict[str, Any]:
    """Play one dialogue with the rule-based router (and ``fit``, the semantic fit check; off when None); rows
    per expected field plus the dialogue's counts."""
    from assistant.templates import Draft, Interview, RuleExtractor, load_template
    from assistant.templates.fit import FieldFit
    from assistant.templates.values import plain

    schema = load_template(dialogue.template, settings)
    fit = fit or FieldFit(None)
    interview = Interview.start(schema, dialogue.history, guide=guide, extractor=RuleExtractor(), fit=fit)
    proposals = {c.field_id: plain(c.value) for c in interview.draft.prefill}
    finished_at: int | None = None
    side_questions = side_answered = asked = answered = 0
    turns = 0
    for text in dialogue.answers:
        if text.strip() == PARK:
            interview = Interview(schema, Draft.from_json(interview.draft.to_json(), schema), guide=guide,
                                  extractor=RuleExtractor(), fit=fit)
            continue
        if_asked = IF_ASKED.match(text.strip())
        if if_asked:
            field = schema.field(if_asked.group("field"))
            if field.id not in [c.field_id for c in interview.draft.clarify]:
                continue  # the interview did not ask: the user has nothing to answer
            text, answered = field.label, answered + 1
        turns += 1
        reply = interview.handle(text)
        asked += reply.awaiting == "clarify"
        if reply.side_question:
            side_questions += 1
            side_answered += bool(reply.citations)
        if finished_at is None and not interview.draft.required_missing(schema):
            finished_at = turns
    final = {fid: plain(v) for fid, v in interview.draft.values.items()}
    rows = [{"dialogue": dialogue.id, "field": fid, "expected": want, "actual": final.get(fid, ""),
             "correct": _correct(schema.field(fid), final.get(fid), want)} for fid, want in dialogue.expected.items()]
    misrouted = [fid for fid in final if fid not in dialogue.expected]
    misrouted += [r["field"] for r in rows if r["actual"] and not r["correct"]]
    lost = [r["field"] for r in rows if not r["actual"]]
    prefill_found = [fid for fid, want in dialogue.prefill.items()
                     if _correct(schema.field(fid), proposals.get(fid), want)]
    invented = [fid for fid, value in proposals.items() if _invented(value, dialogue.history)]
    return {"id": dialogue.id, "template": dialogue.template, "rows": rows, "misrouted": misrouted, "lost": lost,
            "turns": turns, "finished_at": finished_at if dialogue.cooperative else None,
            "prefill_expected": len(dialogue.prefill), "prefill_found": prefill_found, "invented": invented,
            "unexpected_proposals": [f for f in proposals if f not in dialogue.prefill] if dialogue.prefill else [],
            "side_questions": side_questions, "side_answered": side_answered, "asked": asked,
            "asked_answered": answered, "final": final}


def evaluate_templates(dialogues: Sequence[TemplateDialogue], settings: Settings, guide: Any = None, *,
                       holdout: Sequence[TemplateDialogue] = (), fit: bool = True) -> dict[str, Any]:
    """All dialogues: field accuracy, misrouted and lost values, turns to finish, pre-fill recall and inventions;
    with ``holdout`` the same for the held-out set under ``result["holdout"]``, also per batch. ``fit``: with the
    semantic fit check over ``settings``' embedding model, as in the app (``result["fit_check"]``)."""
    check = fit_check(settings, fit)
    result = _evaluate(dialogues, settings, guide, check)
    result["fit_check"] = getattr(check.embeddings, "model_name", None) if check.enabled else None
    if holdout:
        result["holdout"] = _evaluate(holdout, settings, guide, check)
        result["holdout"]["batches"] = {
            batch: _aggregate([d for d in result["holdout"]["per_dialogue"] if _batch(d["id"]) == batch],
                              [r for r in result["holdout"]["rows"] if _batch(r["dialogue"]) == batch])
            for batch in sorted({_batch(d.id) for d in holdout}, key=_batch_order)}
    return result


def _batch(dialogue_id: str) -> str:
    return dialogue_id.split("-", 1)[0]


def _batch_order(batch: str) -> tuple[int, str]:
    """hb2 before hb10."""
    digits = "".join(c for c in batch if c.isdigit())
    return (int(digits) if digits else 0, batch)


def _aggregate(per_dialogue: Sequence[dict[str, Any]], rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Accuracy, misrouted and lost over some dialogues."""
    return {"dialogues": len(per_dialogue), "fields": len(rows),
            "accuracy": sum(r["correct"] for r in rows) / len(rows) if rows else None,
            "misrouted": sum(len(d["misrouted"]) for d in per_dialogue),
            "lost": sum(len(d["lost"]) for d in per_dialogue),
            "asked": sum(d["asked"] for d in per_dialogue)}


def _evaluate(dialogues: Sequence[TemplateDialogue], settings: Settings, guide: Any = None,
              fit: Any = None) -> dict[str, Any]:
    results: list[dict[str, Any]] = []
    errors: list[str] = []
    for dialogue in dialogues:
        try:
            results.append(run_dialogue(dialogue, settings, guide, fit))
        except Exception as exc:
            errors.append(f"{dialogue.id}: {type(exc).__name__}: {exc}")
            results.append({"id": dialogue.id, "template": dialogue.template, "misrouted": [], "invented": [],
                            "lost": list(dialogue.expected), "turns": 0, "finished_at": None,
                            "prefill_expected": len(dialogue.prefill), "prefill_found": [],
                            "unexpected_proposals": [], "side_questions": 0, "side_answered": 0, "asked": 0,
                            "asked_answered": 0, "final": {},
                            "rows": [{"dialogue": dialogue.id, "field": f, "expected": w, "actual": "",
                                      "correct": False} for f, w in dialogue.expected.items()]})
    rows = [r for d in results for r in d["rows"]]
    finish = [d["finished_at"] for d in results if d["finished_at"] is not None]
    cooperative = [d for d in dialogues if d.cooperative]
    return {
        "accuracy": sum(r["correct"] for r in rows) / len(rows) if rows else None,
        "fields": len(rows),
        "dialogues": len(dialogues),
        "misrouted": sum(len(d["misrouted"]) for d in results),
        "lost": sum(len(d["lost"]) for d in results),
        "turns_to_finish_max": max(finish) if finish else None,
        "turns_to_finish_mean": sum(finish) / len(finish) if finish else None,
        "cooperative_unfinished": len(cooperative) - len(finish),
        "prefill_expected": sum(d["prefill_expected"] for d in results),
        "prefill_found": sum(len(d["prefill_found"]) for d in results),
        "prefill_invented": sum(len(d["invented"]) for d in results),
        "side_questions": sum(d["side_questions"] for d in results),
        "side_answered": sum(d["side_answered"] for d in results),
        "asked": sum(d["asked"] for d in results),
        "asked_answered": sum(d["asked_answered"] for d in results),
        "by_template": {t: sum(d["template"] == t for d in results) for t in sorted({d.template for d in dialogues})},
        "rows": rows,
        "per_dialogue": [{k: v for k, v in d.items() if k != "rows"} for d in results],
        "errors": errors,
    }


def summary_lines(result: dict[str, Any]) -> list[str]:
    """The template numbers as Danish report lines (CLI and Markdown), the held-out set after the scripted one."""
    lines = _set_lines(result)
    holdout = result.get("holdout")
    if holdout and lines:
        lines += ["Holdout (skrevet af en anden end reglerne, `template_dialogues_heldout.yaml`):",
                  *("  " + line for line in _set_lines(holdout))]
        lines += [f"  - {batch}: {b['dialogues']} dialoger, {m_pct(b['accuracy'])} % af {b['fields']} felter "
                  f"korrekte; fejlplacerede: {b['misrouted']}; tabte: {b['lost']}; "
                  f"spurgt «under A eller B?»: {b['asked']}."
                  for batch, b in holdout.get("batches", {}).items() if b["accuracy"] is not None]
    return lines


def _set_lines(result: dict[str, Any]) -> list[str]:
    if result.get("accuracy") is None:
        return []
    if "misrouted" not in result:  # a result file from before these metrics existed
        return [f"Skabelonudfyldning: {m_pct(result['accuracy'])} % af {result.get('fields')} felter korrekte."]
    per_template = ", ".join(f"{k}: {v}" for k, v in result["by_template"].items())
    lines = [
        f"Skabelonudfyldning: {result['dialogues']} dialoger ({per_template}), {m_pct(result['accuracy'])} % af "
        f"{result['fields']} forventede felter korrekte; fejlplacerede værdier: {result['misrouted']}; "
        f"tabte værdier: {result['lost']}.",
    ]
    if result["turns_to_finish_max"]:
        lines.append(f"Samarbejdsvillig bruger: alle påkrævede felter i aftalen efter højst "
                     f"{result['turns_to_finish_max']} ture (gennemsnit {result['turns_to_finish_mean']:.1f}).")
    lines += [
        f"Forslag fra samtalen: {result['prefill_found']} af {result['prefill_expected']} forventede fundet, "
        f"{result['prefill_invented']} opfundne.",
        f"Sidespørgsmål: {result['side_questions']} genkendt, {result['side_answered']} besvaret med kilder.",
        f"Spurgt «under A eller B?» i stedet for at gemme: {result.get('asked', 0)} gange "
        f"({result.get('asked_answered', 0)} besvaret af brugeren i manuskriptet).",
    ]
    return lines + [f"- fejl: {e}" for e in result.get("errors", [])]


def m_pct(value: float) -> str:
    return f"{100 * value:.1f}"
