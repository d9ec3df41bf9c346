"""The interview's Danish messages (Markdown). Pure functions of the schema, the draft and what changed."""

from __future__ import annotations

from collections.abc import Sequence

from assistant.templates.draft import Candidate, Change, Draft
from assistant.templates.schema import TemplateField, TemplateSchema
from assistant.templates.values import format_value

COMMANDS_HINT = ("Du kan skrive «fortryd», «ret <felt>» (fx «ret formålet»), «spring over», «vis udkast» eller "
                 "«hvad mangler?» – og du kan stille spørgsmål til guiden undervejs.")
NOTHING_TO_UNDO = "Der er ikke noget at fortryde."
EMPTY_ANSWER = "Skriv et svar på spørgsmålet."
NO_GUIDE = "Jeg kan ikke slå op i guiden lige nu, men udkastet er gemt, og vi fortsætter."
NOT_USED = "Jeg kunne ikke bruge svaret til feltet."
PREFILL_HELP = ("Skriv «ja» for at bruge dem alle, «nej» for ingen af dem, eller fx «ja til 1 og 3, nej til 2».")
DONE = ("Alle felter er udfyldt eller sprunget over. Skriv «vis udkast» for at se dokumentet, eller ret et felt, "
        "fx «ret slutdato til 1. juni 2027».")
REQUIRED_DONE = ("Alle felter, der skal udfyldes, er nu udfyldt. De næste spørgsmål er valgfrie – skriv «færdig» "
                 "for at springe resten over.")


def label(schema: TemplateSchema, field_id: str) -> str:
    return schema.field(field_id).label


def shown(schema: TemplateSchema, field_id: str, value: object) -> str:
    return format_value(schema.field(field_id), value)  # type: ignore[arg-type]


def question_text(field: TemplateField, advice: str | None = None) -> str:
    parts = [f"**{field.question}**"]
    extra = field.help
    if not field.required:
        extra = (f"{extra} (Valgfrit – skriv «spring over», hvis det ikke er relevant, «ingen», hvis svaret er "
                 "ingen, eller «færdig» for at springe alle valgfrie felter over.)").strip()
    if extra:
        parts.append(f"_{extra}_")
    if advice:
        parts.append(advice)
    return "\n\n".join(parts)


def stored(schema: TemplateSchema, changes: Sequence[Change], *, verb: str = "Gemt i udkastet") -> str:
    """Exactly what this turn stored, field by field, with how to undo or correct it."""
    rows = []
    for c in changes:
        if c.after is not None:
            rows.append(f"- **{label(schema, c.field_id)}:** {shown(schema, c.field_id, c.after)}")
        elif c.skipped_after:
            rows.append(f"- **{label(schema, c.field_id)}:** sprunget over")
        else:
            rows.append(f"- **{label(schema, c.field_id)}:** tømt")
    first = schema.field(changes[0].field_id).aliases[:1] or [label(schema, changes[0].field_id).lower()]
    return (f"{verb}:\n" + "\n".join(rows) +
            f"\n\n_Forkert? Skriv «fortryd» eller «ret {first[0]}»._")


def undone(schema: TemplateSchema, changes: Sequence[Change]) -> str:
    rows = []
    for c in changes:
        before = shown(schema, c.field_id, c.before) if c.before is not None else "tomt"
        rows.append(f"- **{label(schema, c.field_id)}:** {before}")
    return "Fortrudt. Felterne er sat tilbage til:\n" + "\n".join(rows)


PREFILL_UNUSED = "Jeg bruger ikke noget fra samtalen."


def prefill_list(schema: TemplateSchema, candidates: Sequence[Candidate]) -> str:
    rows = [f"{i}. **{label(schema, c.field_id)}:** {shown(schema, c.field_id, c.value)}"
            + (f" _(du skrev: «{c.evidence}»)_" if c.evidence else "")
            for i, c in enumerate(candidates, start=1)]
    return ("Fra den tidligere samtale har jeg fundet disse oplysninger. Skal jeg bruge dem i udkastet?\n\n"
            + "\n".join(rows) + "\n\n" + PREFILL_HELP)


def no_prefill() -> str:
    return "Jeg har ikke fundet oplysninger i samtalen, som kan bruges i udkastet endnu."


def overwrite_question(schema: TemplateSchema, draft: Draft, candidates: Sequence[Candidate]) -> str:
    rows = [f"- **{label(schema, c.field_id)}:** «{shown(schema, c.field_id, draft.values.get(c.field_id))}» → "
            f"«{shown(schema, c.field_id, c.value)}»" for c in candidates]
    return ("Disse felter er allerede udfyldt. Skal jeg erstatte dem?\n" + "\n".join(rows) +
            "\n\nSkriv «ja» for at erstatte eller «nej» for at beholde det, der står.")


def overwrite_kept(schema: TemplateSchema, candidates: Sequence[Candidate]) -> str:
    names = ", ".join(label(schema, c.field_id) for c in candidates)
    return f"Jeg har beholdt det, der stod i forvejen: {names}."


def _numbered(names: Sequence[str]) -> str:
    """«1 = «A», 2 = «B»» for the terminal, where the user answers with a number."""
    return ", ".join(f"{i} = {n}" for i, n in enumerate(names, start=1))


def clarify_question(schema: TemplateSchema, options: Sequence[Candidate], asked: str | None = None) -> str:
    """«Skal jeg skrive det under … eller …?» for one text that may belong to two fields, numbered for the
    terminal; with one option (the asked field ``asked`` cannot take the text) «Skal jeg skrive det under …?»."""
    names = [f"«{label(schema, c.field_id)}»" for c in options]
    shown_text = options[0].evidence or shown(schema, options[0].field_id, options[0].value)
    if len(options) == 1:
        why = f"«{shown_text}» passer ikke som {label(schema, asked).lower()}" if asked else f"«{shown_text}»"
        return (f"{why}, så jeg har ikke gemt det. Skal jeg skrive det under {names[0]}? Skriv «ja» eller «nej» "
                "– eller svar på spørgsmålet.")
    numbers = _numbered(names)
    return (f"Jeg er ikke sikker på, hvor «{shown_text}» hører til, så jeg har ikke gemt det endnu. "
            f"Skal jeg skrive det under {' eller '.join(names)}? Skriv feltets navn, fx «{names[0].strip('«»')}», "
            f"eller nummeret ({numbers}).")


def move_offer(schema: TemplateSchema, options: Sequence[Candidate]) -> str:
    """The answer was stored under the asked field (the first option); the others are offered as a move."""
    names = [f"«{label(schema, c.field_id)}»" for c in options]
    numbers = _numbered(names)
    how = "«ja» eller «nej»" if len(names) == 2 else "feltets navn"
    return (f"Svaret ligner mere noget til {' eller '.join(names[1:])} end til {names[0]}. Skal jeg flytte det? "
            f"Skriv {how} eller nummeret ({numbers}) – eller svar bare på næste spørgsmål, så bliver det stående.")


def split_offer(schema: TemplateSchema, moved: Candidate) -> str:
    """One sentence of the answer was left out of the asked field because it fits another field better."""
    return (f"Sætningen «{moved.evidence}» har jeg ikke gemt, for den ligner mere noget til "
            f"«{label(schema, moved.field_id)}». Skal jeg gemme den dér? Skriv «ja» eller «nej» – eller svar bare "
            "på næste spørgsmål.")


def replace_or_asked(schema: TemplateSchema, draft: Draft, options: Sequence[Candidate]) -> str:
    """«Formål» is filled and the message names it while «Mål» was asked: replace, or store under the asked one?"""
    asked, other = options[0], options[1]
    now = shown(schema, other.field_id, draft.values.get(other.field_id))
    return (f"«{label(schema, other.field_id)}» er allerede udfyldt («{now}»). Skal jeg erstatte det med "
            f"«{shown(schema, other.field_id, other.value)}»? Skriv «ja» for at erstatte, «nej» for at beholde det, "
            f"der står, eller «{label(schema, asked.field_id)}», hvis det er svaret på spørgsmålet "
            f"({_numbered([f'«{label(schema, c.field_id)}»' for c in options])}).")


def move_kept(schema: TemplateSchema, asked: Candidate) -> str:
    return f"Det bliver stående under «{label(schema, asked.field_id)}»."


def clarify_dropped(options: Sequence[Candidate]) -> str:
    text = options[0].evidence if options else ""
    return f"Jeg har ikke gemt «{text}»." if text else ""


def unplaced(values: Sequence[str]) -> str:
    joined = ", ".join(f"«{v}»" for v in values)
    return (f"Jeg fandt {joined}, men ved ikke, hvilket felt det hører til, så jeg har ikke gemt det. "
            "Skriv fx «ret slutdato til …».")


def side_answer(text: str) -> str:
    return f"**Fra guiden:** {text}"


def back_to(field: TemplateField) -> str:
    return f"Tilbage til udkastet – {field.label.lower()}:"


def status_line(schema: TemplateSchema, draft: Draft) -> str:
    text = f"Status: {len(draft.filled(schema))} af {len(schema.fields)} felter udfyldt."
    missing = draft.required_missing(schema)
    if missing:
        text += " Skal udfyldes: " + ", ".join(label(schema, f) for f in missing) + "."
    return text


def missing_summary(schema: TemplateSchema, draft: Draft) -> str:
    required = [label(schema, f) for f in draft.missing(schema) if schema.field(f).required]
    optional = [label(schema, f) for f in draft.missing(schema) if not schema.field(f).required]
    parts = []
    if required:
        parts.append("Skal udfyldes: " + ", ".join(required) + ".")
    if optional:
        parts.append("Valgfrie felter uden svar: " + ", ".join(optional) + ".")
    return "\n\n".join(parts) or "Der mangler ikke noget."


def field_help(field: TemplateField | None) -> str:
    if field is None:
        return COMMANDS_HINT
    text = f"Om «{field.label}»: {field.help}".strip()
    if field.examples:
        text += "\n\nEksempler: " + "; ".join(field.examples) + "."
    return text + "\n\n" + COMMANDS_HINT


def correction_unclear(schema: TemplateSchema, field: TemplateField, value: object) -> str:
    """A correction of a stored person that does not say the new name: nothing is stored anywhere."""
    return (f"Jeg kan se, at du vil rette «{field.label}» (nu: {shown(schema, field.id, value)}), men ikke hvad der "
            f"skal stå, så jeg har ikke gemt noget. Skriv fx «ret {field.label.lower()} til Anna Holm, projektleder».")
