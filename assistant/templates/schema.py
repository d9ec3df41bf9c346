"""Template schemas: pydantic models validated from ``corpus/templates/<name>.schema.yaml``."""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from assistant.settings import Settings

FieldType = Literal["text", "longtext", "date", "amount", "email", "phone", "list", "person"]
SCHEMA_SUFFIX = ".schema.yaml"
log = logging.getLogger(__name__)


class TemplateError(Exception):
    """A template is missing or invalid (message in Danish)."""


ROLE_VERBS = ("er", "hedder")  # how a role cue names its person («kontakten derovre hedder Karsten Ulv»)
TRAILING_ROLE_VERBS = ("er", "bliver", "skal være")  # after the person: «Malene Kjær … bliver kontaktperson hos dem»


class TemplateField(BaseModel):
    """One field of a template: what to ask, how to validate it, where it goes in the document."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str
    question: str
    help: str = ""
    describes: list[str] = Field(default_factory=list, description=(
        "What answers to this field look like, in a user's words: a few lines, long and short (a string is one "
        "line). assistant.templates.fit compares a free-text answer with them to notice an answer given to the "
        "wrong question."))
    required: bool = False
    type: FieldType = "text"
    section: str
    guide_query: str | None = None
    examples: list[str] = Field(default_factory=list)
    # routing (assistant.templates.extraction): how a value reaches this field other than as the answer to its
    # own question. Nothing about fields is hard-coded in Python; it is all declared here, per field.
    cues: list[str] = Field(default_factory=list, description=(
        "Explicit phrases after which this field's value follows ('formålet er'); for dates, amounts, e-mails "
        "and phone numbers: the words just before the value ('starter', 'budgettet er')."))
    hints: list[str] = Field(default_factory=list, description=(
        "Weaker phrases that usually introduce this field's value ('vi står for', 'samarbejde med'). A hint only "
        "splits a message: it never takes the whole answer away from the question just asked, reaches a filled "
        "field only as a question, and is ignored while the field is filled and nothing else answers the question."))
    organisation_hints: list[str] = Field(default_factory=list, description=(
        "Hints that take only an organisation's name, one with an organisation's noun ('med' in «vi starter noget op "
        "med Grønby Boligforening», not in «møde med Sofie Hald»); otherwise as ``hints``."))
    until: list[str] = Field(default_factory=list, description="Words that end a value captured after a cue.")
    aliases: list[str] = Field(default_factory=list, description="Other names used in «ret <felt>».")
    capture: Literal["auto", "name", "clause"] = "auto"
    name_contains: list[str] = Field(default_factory=list, description=(
        "A proper name in the earlier chat containing one of these words is proposed for this field."))
    role_nouns: list[str] = Field(default_factory=list, description=(
        "For a person of a party (``group``): the role's nouns in the forms users write («kontakt», «kontakten»). "
        "With the schema's ``party_places`` and ``party_owners`` they make cues («kontakten derovre hedder», "
        "«kontaktpersonen på museet er», «deres kontaktperson er»), so no field lists those combinations."))
    role_verbs: list[str] = Field(default_factory=list, description=(
        "For a person of a party: what the role does, in the present tense («skriver under»). After the person and "
        "before one of the party's plain ``party_places`` they make trailing cues («Bo Lindberg skriver under for "
        "os»; also «skal skrive under for os», see ``cue_regex``)."))
    trailing_cues: list[str] = Field(default_factory=list, description=(
        "For a person: phrases written right after the person's name that make them this field's («Ane Poulsen, "
        "uddannelsesleder, der har ansvaret»)."))
    self_cues: list[str] = Field(default_factory=list, description=(
        "For a person: phrases by which the user says they are this person («jeg er selv ansvarlig»); in the earlier "
        "chat they propose the person who introduced themselves («jeg er Niels Brix, bibliotekschef»)."))
    affiliation_as_title: bool = Field(False, description=(
        "For a person: without a job title, the organisation written after the name is the title («Inge Bonde på "
        "Skjern Bibliotek» -> «Inge Bonde, Skjern Bibliotek»), for a field that asks for name and organisation."))
    marker_words: list[str] = Field(default_factory=list, description=(
        "Words that mark a list item as this field's: an answer to another list question whose every item holds one "
        "of them is offered for this field while it is empty («facebook; lokalavisen; plakater» for the channels)."))
    vague_heads: list[str] = Field(default_factory=list, description=(
        "A value found after a hint whose first noun is one of these is too vague to propose («samarbejde med "
        "Faaborg Sejlklub om et projekt for børn» names no activity; «om et gamingprojekt» does)."))
    quoted_name: bool = Field(False, description=(
        "A short quoted name in the earlier chat («vi skal evaluere 'Små naturforskere'») is proposed for this field."))
    accepts_questions: bool = Field(False, description="Answers are questions (they are not side questions).")
    none_text: str = Field("Ingen.", description="Stored when the user answers «ingen» to an optional field.")
    group: str | None = Field(None, description="Party the field belongs to (its e-mail/phone follow a person).")
    clause: str | None = Field(None, description=(
        "How the field reads in the document: text with {value} and the party names {bibliotek} / {partner}."))
    skip_text: str = Field("Ikke aftalt.", description="What the document says when the field was skipped.")
    after: str | None = Field(None, description="Date field this date must come after.")
    counterpart: str | None = Field(None, description=(
        "The same question for the other party (the library's contribution <-> the partner's): an answer to this "
        "field that starts by naming that party («gymnasiet sender en lærer med») is asked about first."))

    @field_validator("describes", mode="before")
    @classmethod
    def _one_line_is_a_list(cls, value: object) -> object:
        lines = [value] if isinstance(value, str) else value
        return [line.strip() for line in lines if line.strip()] if isinstance(lines, list) else lines


class TemplateSection(BaseModel):
    """A section of the exported document."""

    id: str
    title: str
    kind: Literal["parties", "clause", "signatures"] = "clause"


class TemplateSchema(BaseModel):
    """A whole template: metadata, document sections and fields in interview order."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    version: int = 1
    title: str
    document_title: str
    description: str = ""
    guide_doc: str | None = None
    numbering: Literal["paragraph", "decimal"] = "paragraph"
    title_field: str | None = Field(None, description="Field shown as the document's subtitle.")
    request_words: list[str] = Field(default_factory=list, description=(
        "Words besides the id that name the template in a request ('lav en partnerskabsaftale')."))
    parties: dict[str, str] = Field(default_factory=dict, description=(
        "Party group -> how the document names the party when its name is not known, e.g. «biblioteket»."))
    pronouns: dict[str, list[str]] = Field(default_factory=dict, description=(
        "Party group -> words a message uses for the party besides its name, read for a {placeholder} of that "
        "party's name field in a cue («en aftale med dem om motion» with «{partner}»: «dem»)."))
    party_places: dict[str, list[str]] = Field(default_factory=dict, description=(
        "Party group -> words that place a person at the party («hos os», «derovre», «på {partner}»); see "
        "``TemplateField.role_nouns``."))
    party_owners: dict[str, list[str]] = Field(default_factory=dict, description=(
        "Party group -> possessives that make a role the party's («bibliotekets», «deres», «{partner}s»); also what "
        "says whose a person is («deres dansklærer Sofie Hald»)."))
    sections: list[TemplateSection]
    fields: list[TemplateField]

    @property
    def name(self) -> str:
        return self.id

    @model_validator(mode="after")
    def _check_references(self) -> TemplateSchema:
        section_ids = {s.id for s in self.sections}
        field_ids = [f.id for f in self.fields]
        if len(set(field_ids)) != len(field_ids):
            raise ValueError("field ids must be unique")
        for f in self.fields:
            if f.section not in section_ids:
                raise ValueError(f"field {f.id}: unknown section {f.section}")
            if f.after and f.after not in field_ids:
                raise ValueError(f"field {f.id}: unknown 'after' field {f.after}")
            if f.counterpart and f.counterpart not in field_ids:
                raise ValueError(f"field {f.id}: unknown counterpart {f.counterpart}")
        if self.title_field and self.title_field not in field_ids:
            raise ValueError(f"unknown title_field {self.title_field}")
        return self

    @model_validator(mode="after")
    def _add_role_cues(self) -> TemplateSchema:
        """Each ``role_nouns`` field gets the cues its party's places and owners make with them: «<noun> <place>
        <verb>» and «<owner> <noun> <verb>» («min kontakt derovre hedder …»: an owner before a place needs no cue
        of its own, the cue is found inside). The verb «er» also reads «bliver», «skal være» (``cue_regex``). The
        same words after a person make trailing cues («er vores kontakt derude»); a placeholder there would need
        the party's name before the person is read, so only plain places and owners are used."""
        for f in self.fields:
            if not (f.role_nouns or f.role_verbs) or not f.group:
                continue
            made = [f"{noun} {place} {verb}" for noun in f.role_nouns for place in self.party_places.get(f.group, [])
                    for verb in ROLE_VERBS]
            made += [f"{owner} {noun} {verb}" for owner in self.party_owners.get(f.group, []) for noun in f.role_nouns
                     for verb in ROLE_VERBS]
            f.cues = [*f.cues, *(c for c in dict.fromkeys(made) if c not in f.cues)]
            # the same words after the person: «Bente Holm er vores kontakt derude», «… der er deres kontaktperson»
            after = [f"{verb} {mine}{noun} {place}" for verb in TRAILING_ROLE_VERBS for mine in ("", "min ", "vores ")
                     for noun in f.role_nouns for place in self.party_places.get(f.group, []) if "{" not in place]
            after += [f"{verb} {owner} {noun}" for verb in TRAILING_ROLE_VERBS
                      for owner in self.party_owners.get(f.group, []) if "{" not in owner for noun in f.role_nouns]
            after += [f"{verb} {place}" for verb in f.role_verbs for place in self.party_places.get(f.group, [])
                      if "{" not in place]
            f.trailing_cues = [*f.trailing_cues, *(c for c in dict.fromkeys(after) if c not in f.trailing_cues)]
        return self

    def field(self, field_id: str) -> TemplateField:
        for f in self.fields:
            if f.id == field_id:
                return f
        raise KeyError(field_id)

    def fields_in(self, section_id: str) -> list[TemplateField]:
        return [f for f in self.fields if f.section == section_id]

    @property
    def required_ids(self) -> list[str]:
        return [f.id for f in self.fields if f.required]

    def party_fields(self, section_id: str) -> list[TemplateField]:
        """The fields of a ``parties`` section that name a party (they have a ``group``)."""
        return [f for f in self.fields_in(section_id) if f.group]


def schema_path(name: str, settings: Settings) -> Path:
    return settings.templates_dir / f"{name}{SCHEMA_SUFFIX}"


def parse_schema(text: str) -> TemplateSchema:
    """Validate a schema from YAML text."""
    return TemplateSchema.model_validate(yaml.safe_load(text))


def load_template(name: str, settings: Settings) -> TemplateSchema:
    """Load and validate one template schema by name (e.g. ``"samarbejdsaftale"``)."""
    path = schema_path(name, settings)
    if not path.is_file():
        known = ", ".join(s.id for s in list_templates(settings)) or "ingen"
        raise TemplateError(f"Skabelonen «{name}» findes ikke. Tilgængelige skabeloner: {known}.")
    stat = path.stat()
    try:
        return _parsed(str(path), stat.st_mtime_ns, stat.st_size)
    except (yaml.YAMLError, ValueError) as exc:
        raise TemplateError(f"Skabelonen «{name}» kunne ikke læses: {exc}") from exc


@lru_cache(maxsize=64)
def _parsed(path: str, mtime_ns: int, size: int) -> TemplateSchema:
    """A schema file parsed once per version (keyed by modification time and size): listing a browser's drafts
    reads every draft's schema, and parsing + validating is the slow part. Callers never mutate the schema."""
    return parse_schema(Path(path).read_text(encoding="utf-8"))


def list_templates(settings: Settings) -> list[TemplateSchema]:
    """All valid template schemas in ``settings.templates_dir``, sorted by id."""
    folder = settings.templates_dir
    if not folder.is_dir():
        return []
    schemas = []
    for path in sorted(folder.glob(f"*{SCHEMA_SUFFIX}")):
        try:
            schemas.append(parse_schema(path.read_text(encoding="utf-8")))
        except (yaml.YAMLError, ValueError) as exc:  # one broken file must not hide the others
            log.warning("ignoring invalid template schema %s: %s", path.name, exc)
    return sorted(schemas, key=lambda s: s.id)
