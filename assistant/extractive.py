"""Extractive, section-aware Danish answers (no LLM), every line cited and every quote exact.

The corpus headings are the questions librarians ask, and a chunk is one section (or a part of a long one).
So the answer is built around sections, not loose sentences:

1. **Lead.** Among the best-ranked passages, the one whose heading path *and* text both match the question
   leads (question ↔ heading + question ↔ passage cosine). Its answering content is shown whole: every unit
   of the passage (a lead-in with all of its list items; a list is never cut). When the lead (or the top
   passage) opens a section with subsections, each subsection follows under its heading: whole when retrieval
   found it too, else its first sentence.
2. **The top passage is never lost.** When the lead is not the top-ranked passage, the top passage follows
   it whole, so the answer always covers at least what the single best passage says.
3. **Every part of the question.** A multi-part question ("… og hvordan …?", two questions in one) gets the
   best passage for each of its parts, searched alone (a part that refers back borrows the topic of the parts
   before it).
4. **Sections beside the lead.** Retrieved passages from the lead's sibling sections (same parent heading)
   are shown whole under their headings: the answer spans the parent topic the question is about. Under a
   heading that only groups sections (no text of its own), all of its sections are listed.
5. **Complementary points.** At most ``MAX_EXTRA_POINTS`` units, one per further passage, that are as close to
   the question as the lead's median unit and bring mostly new content words (novelty against what is
   already chosen, not similarity to the question's names).

Units come from :mod:`assistant.units`; their vectors come from the index when it has them (computed at
ingest), otherwise they are embedded once and cached.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from assistant.conversation import contextualize
from assistant.lexical import tokenize
from assistant.models import Citation, RetrievedChunk, Turn
from assistant.prompts import looks_like_injection
from assistant.units import Unit, list_items, split_units, unit_embedding_text, with_requirements

MAX_EXTRA_POINTS = 3
MAX_SUBSECTIONS = 8  # display limit for the subsections listed under a lead section
MIN_NOVELTY = 0.5  # a complementary point must bring mostly (more than half) new content words
MIN_NEW_WORDS = 0.2  # a unit of a shown section that brings fewer new content words only repeats the answer
QUOTE_LIMIT = 1200  # longest exact quote of one citation; a chunk is at most ~900 characters
_QUESTION_END = re.compile(r"\?[\"”»]?(?:\s*\([^)]*\))?[\s.]*$")
# Within one sentence: a second question joined by "og"/"samt"/"eller" or after a dash ("… – hvad skal …?").
_PART_SPLIT = re.compile(r"(?:,?\s+(?:og|samt|eller)|\s+[–-])\s+(?=(?:hv\w+|hvordan|skal|kan|må|bør)\b)",
                         re.IGNORECASE)


@dataclass
class _Passage:
    """A retrieved chunk with its units and how close each unit is to the question."""

    rank: int
    chunk: RetrievedChunk
    units: list[Unit]
    cosines: np.ndarray
    heading_cosine: float
    stems: list[frozenset[str]] = field(default_factory=list)

    @property
    def lead_score(self) -> float:
        """Question ↔ heading path plus question ↔ passage (both cosines on the same scale)."""
        return self.heading_cosine + (self.chunk.dense_score or 0.0)

    def text(self, i: int) -> str:
        return self.units[i].text(self.chunk.text)

    def usable(self, i: int) -> bool:
        return not looks_like_injection(self.text(i))


@dataclass(frozen=True)
class Block:
    """One cited block of the answer: units ``indices`` of ``passage``, rendered as paragraph or list."""

    passage: _Passage
    indices: tuple[int, ...]
    role: str  # "lead" | "part" | "point"


@dataclass
class Composition:
    """The composed answer: its blocks, in the order shown."""

    blocks: list[Block]

    @property
    def lead(self) -> _Passage | None:
        return self.blocks[0].passage if self.blocks else None


def question_parts(question: str) -> list[str]:
    """The parts of a multi-part question (the question itself when it has one part): two questions in one
    ("… og hvordan …?", "…? Hvordan …?"), a background statement before the question ("Vi har mange bud på
    partnere. Hvordan prioriterer vi?"), or a question after a dash ("… gymnasium – hvad skal den indeholde?")."""
    sentences = [u.text(question) for u in split_units(question)]  # the Danish splitter: "bl.a." stays whole
    parts = [p.strip(" ,.?") for s in sentences for p in _PART_SPLIT.split(s) if p.strip(" ,.?")]
    parts = [p for p in parts if len(tokenize(p)) >= 1]
    return parts if len(parts) > 1 else [question]


def part_queries(question: str) -> list[str]:
    """Every part of a multi-part question as a query of its own (none for a one-part question): the whole
    question's search leans towards whichever part has the rarer words, so each part is searched alone. A part
    that refers back ("… og hvor længe kørte det?") borrows the topic words of the parts before it."""
    parts = question_parts(question)
    if len(parts) < 2:
        return []
    return [contextualize(part, [Turn(role="user", content=p) for p in parts[:i]]) for i, part in enumerate(parts)]


class ExtractiveAnswerer:
    """Composes a cited answer from retrieved chunks, reusing the retriever's embedding model."""

    def __init__(self, retriever, cache_size: int = 4000) -> None:
        self.retriever = retriever
        self.sections = SectionMap.from_records(
            zip(retriever.lexical.chunk_ids, retriever.lexical.texts, retriever.lexical.metadatas, strict=True))
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    # --- vectors ---------------------------------------------------------------------------------------
    def passage_vectors(self, texts: Sequence[str]) -> np.ndarray:
        """Passage vectors of ``texts``: stored in the index (units, computed at ingest) or, for text the index
        does not hold, embedded once and cached."""
        found: list[np.ndarray | None] = [None] * len(texts)
        with self._lock:
            for i, text in enumerate(texts):
                if found[i] is None and text in self._cache:
                    found[i] = self._cache[text]
                    self._cache.move_to_end(text)
        missing = [i for i, v in enumerate(found) if v is None]
        if missing:
            fresh = self.retriever.embed_passages([texts[i] for i in missing])
            with self._lock:
                for i, vec in zip(missing, fresh, strict=True):
                    found[i] = vec
                    self._cache[texts[i]] = vec
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return np.stack(found) if found else np.zeros((0, 0), dtype=np.float32)  # type: ignore[arg-type]

    def _passages(self, qvec: np.ndarray, chunks: Sequence[RetrievedChunk]) -> list[_Passage]:
        units = [split_units(c.text) for c in chunks]
        texts = [unit_embedding_text(c.text, us, i) for c, us in zip(chunks, units, strict=True)
                 for i in range(len(us))]
        cos_all = self.passage_vectors(texts) @ qvec if texts else np.zeros(0)
        headings = self.heading_cosines(qvec, chunks)
        out: list[_Passage] = []
        offset = 0
        for rank, (chunk, us) in enumerate(zip(chunks, units, strict=True)):
            cos = cos_all[offset:offset + len(us)]
            offset += len(us)
            stems = [frozenset(tokenize(u.text(chunk.text))) for u in us]
            out.append(_Passage(rank, chunk, us, cos, headings[rank], stems))
        return out

    def heading_cosines(self, qvec: np.ndarray, chunks: Sequence[RetrievedChunk]) -> list[float]:
        """Question ↔ heading path of each chunk: from the retrieval when it scored them, else computed."""
        todo = [c for c in chunks if c.heading_score is None]
        computed = dict(self.retriever.headings(qvec, [c.chunk_id for c in todo])) if todo else {}
        return [c.heading_score if c.heading_score is not None else computed.get(c.chunk_id, 0.0) for c in chunks]

    # --- composition -------------------------------------------------------------------------------------
    def compose(self, query: str, chunks: Sequence[RetrievedChunk], *, extra: Sequence[RetrievedChunk] = (),
                search=None) -> Composition:
        """The blocks of the answer to ``query`` (see the module docstring). ``extra``: further candidates
        after ``chunks`` (the dense hits that fusion left out), used like any retrieved passage."""
        chunks = [c for c in chunks if c.text.strip()]
        if not chunks:
            return Composition([])
        chunks = [*chunks, *(c for c in extra if c.text.strip())]
        passages = self._passages(self.retriever.embed_query(query), chunks)
        passages = [p for p in passages if any(p.usable(i) for i in range(len(p.units)))]
        if not passages:
            return Composition([])
        lead = max(_lead_candidates(passages), key=lambda p: p.lead_score)
        blocks = [_whole(lead, "lead")]
        top = passages[0]
        retrieved = {p.chunk.chunk_id: p for p in passages}
        mains = [lead] if top is lead else [lead, top]  # the two passages shown whole with their subsections
        shown = {lead.chunk.chunk_id}
        for main in mains:
            if main.chunk.chunk_id not in shown:
                shown.add(main.chunk.chunk_id)
                blocks.append(_whole(main, "part"))
            for child in self.sections.children(main.chunk):  # a retrieved subsection is shown whole
                if child.chunk_id in shown:
                    continue
                shown.add(child.chunk_id)
                found = retrieved.get(child.chunk_id)
                blocks.append(_whole(found, "subsection") if found else _first_unit(_plain(child), "subsection"))
        # retrieved sections beside the lead, shown whole
        blocks.extend(_whole(p, "sibling") for p in passages
                      if p.chunk.chunk_id not in shown and _parent(lead.chunk) is not None
                      and _parent(p.chunk) == _parent(lead.chunk))
        shown = {b.passage.chunk.chunk_id for b in blocks}  # the rest of a heading that only groups sections
        for main in mains:
            for c in self.sections.grouped_with(main.chunk):
                if c.chunk_id not in shown:
                    shown.add(c.chunk_id)
                    blocks.append(_whole(retrieved[c.chunk_id], "sibling") if c.chunk_id in retrieved
                                  else _first_unit(_plain(c), "subsection"))
        for part in part_queries(query):
            blocks.extend(self._part_block(part, passages, blocks, search))
        blocks = _without_repeats(blocks)
        blocks.extend(_points(passages, blocks))
        return Composition([b for b in blocks if b.indices])

    def _part_block(self, part: str, passages: list[_Passage], blocks: list[Block], search) -> list[Block]:
        """The top passage retrieved for one further part of the question, unless it is already shown."""
        if search is None:
            return []
        found = search(part)
        if not found or any(b.passage.chunk.chunk_id == found[0].chunk_id for b in blocks):
            return []
        known = {p.chunk.chunk_id: p for p in passages}
        best = known.get(found[0].chunk_id) or self._passages(self.retriever.embed_query(part), found[:1])[0]
        return [_whole(best, "part")]

    def passage_answer(self, chunk: RetrievedChunk) -> tuple[str, list[Citation]]:
        """The passage verbatim under its opening (the baseline the composed answer must beat)."""
        passage = _plain(chunk)
        return render(Composition([_whole(passage, "lead")]), opening_for(chunk))

    def answer(self, query: str, chunks: Sequence[RetrievedChunk], *, extra: Sequence[RetrievedChunk] = (),
               search=None, opening: str | None = None) -> tuple[str, list[Citation]]:
        """Answer text with ``[n]`` after every block, and the matching citations."""
        composition = self.compose(query, chunks, extra=extra, search=search)
        if not composition.blocks:
            return "", []
        return render(composition, opening or opening_for(composition.blocks[0].passage.chunk))


class SectionMap:
    """The heading tree of the indexed documents: which chunks open the direct subsections of a section."""

    def __init__(self, first_chunks: dict[tuple[str, str], RetrievedChunk], order: dict[str, list[str]]) -> None:
        self._first = first_chunks  # (doc_id, section) -> its first chunk
        self._order = order  # doc_id -> sections in reading order

    @classmethod
    def from_records(cls, records) -> SectionMap:
        """From ``(chunk_id, text, metadata)`` triples of the whole index."""
        first: dict[tuple[str, str], RetrievedChunk] = {}
        ranked: dict[tuple[str, str], int] = {}
        for chunk_id, text, meta in records:
            key = (str(meta.get("doc_id", "")), str(meta.get("section", "")))
            position = int(meta.get("chunk_index", 0))
            if key not in ranked or position < ranked[key]:
                ranked[key] = position
                first[key] = RetrievedChunk(chunk_id=chunk_id, text=text, metadata=dict(meta), score=0.0)
        order: dict[str, list[str]] = {}
        for doc_id, section in sorted(first, key=lambda k: (k[0], ranked[k])):
            order.setdefault(doc_id, []).append(section)
        return cls(first, order)

    def grouped_with(self, chunk: RetrievedChunk) -> list[RetrievedChunk]:
        """When ``chunk``'s parent heading has no text of its own and is not the document title -- a heading
        that only groups sections ("Hvilke værktøjer er der i værktøjskassen?") -- the first chunks of all of
        its subsections, in reading order; else nothing."""
        parent = _parent(chunk)
        if parent is None or SECTION_SEP not in parent[1] or parent in self._first:
            return []
        return self._subsections(*parent)

    def children(self, chunk: RetrievedChunk) -> list[RetrievedChunk]:
        """First chunks of the direct subsections of ``chunk``'s section, in reading order (only when
        ``chunk`` opens its section: a later part of a long section has no subsections of its own)."""
        doc_id, section = chunk.doc_id, str(chunk.metadata.get("section", ""))
        if self._first.get((doc_id, section), chunk).chunk_id != chunk.chunk_id:
            return []
        return self._subsections(doc_id, section)

    def _subsections(self, doc_id: str, section: str) -> list[RetrievedChunk]:
        prefix, depth = section + SECTION_SEP, section.count(SECTION_SEP) + 1
        kids = [s for s in self._order.get(doc_id, []) if s.startswith(prefix) and s.count(SECTION_SEP) == depth]
        return [self._first[(doc_id, s)] for s in kids[:MAX_SUBSECTIONS]]


SECTION_SEP = " > "


def _plain(chunk: RetrievedChunk) -> _Passage:
    """A passage shown for its structure only (no similarity needed)."""
    units = split_units(chunk.text)
    return _Passage(-1, chunk, units, np.zeros(len(units)), 0.0,
                    [frozenset(tokenize(u.text(chunk.text))) for u in units])


def _first_unit(passage: _Passage, role: str) -> Block:
    usable = [i for i in range(len(passage.units)) if passage.usable(i)]
    return Block(passage, tuple(with_requirements(passage.units, usable[:1])), role)


def _parent(chunk: RetrievedChunk) -> tuple[str, str] | None:
    """``(doc_id, parent section path)``; None for a top-level section."""
    section = str(chunk.metadata.get("section", ""))
    if SECTION_SEP not in section:
        return None
    return chunk.doc_id, section.rsplit(SECTION_SEP, 1)[0]


# --- selection helpers ---------------------------------------------------------------------------------------
def _whole(passage: _Passage, role: str) -> Block:
    """All usable units of a passage (with what they depend on), in reading order."""
    usable = [i for i in range(len(passage.units)) if passage.usable(i)]
    return Block(passage, tuple(with_requirements(passage.units, usable)), role)


def _is_question_list(passage: _Passage) -> bool:
    """Every usable unit is a question (a checklist section, a tool's list of questions to ask); a question
    may end with a pointer in brackets ("… ? (værktøjet …)")."""
    texts = [passage.text(i) for i in range(len(passage.units)) if passage.usable(i)]
    lines = [line for t in texts for line in t.splitlines() if line.strip() and not line.rstrip().endswith(":")]
    return bool(lines) and all(_QUESTION_END.search(line) for line in lines)


def _lead_candidates(passages: Sequence[_Passage]) -> list[_Passage]:
    """The passages that may lead: a list of questions asks rather than answers, so it leads only when
    retrieval ranks it first (the top passage); it can still follow as a section or the top passage."""
    return [p for p in passages if p.rank == 0 or not _is_question_list(p)] or list(passages)


def _without_repeats(blocks: Sequence[Block]) -> list[Block]:
    """Blocks after the lead without the units that only repeat what is already shown (the same list in a
    tool and in the guide chapter): a unit stays when at least ``MIN_NEW_WORDS`` of its content words are
    new, or when a unit that stays refers back to it."""
    out: list[Block] = []
    known: set[str] = set()
    for n, block in enumerate(blocks):
        p = block.passage
        if n == 0:
            kept = list(block.indices)
        else:
            fresh = [i for i in block.indices
                     if not p.stems[i] or len(p.stems[i] - known) / len(p.stems[i]) >= MIN_NEW_WORDS]
            kept = with_requirements(p.units, fresh) if fresh else []
        known |= set().union(*(p.stems[i] for i in kept)) if kept else set()
        out.append(Block(p, tuple(kept), block.role))
    return out


def _points(passages: Sequence[_Passage], blocks: Sequence[Block]) -> list[Block]:
    """Complementary units from passages not shown whole: relevant and mostly new."""
    shown = {b.passage.chunk.chunk_id for b in blocks}
    lead = blocks[0].passage
    lead_cos = [float(lead.cosines[i]) for i in blocks[0].indices]
    bar = float(np.median(lead_cos)) if lead_cos else 0.0
    known: set[str] = set().union(*(b.passage.stems[i] for b in blocks for i in b.indices))
    candidates = sorted(
        ((float(p.cosines[i]), p, i) for p in passages if p.chunk.chunk_id not in shown
         for i in range(len(p.units)) if p.usable(i) and not p.text(i).rstrip().endswith("?")),
        key=lambda c: -c[0],
    )
    points: list[Block] = []
    used: set[str] = set()  # one point per passage: the points come from different sections
    for cos, passage, i in candidates:
        if len(points) >= MAX_EXTRA_POINTS or cos < bar:
            break
        if passage.chunk.chunk_id in used:
            continue
        indices = with_requirements(passage.units, [i])
        stems = set().union(*(passage.stems[j] for j in indices))
        if not stems or len(stems - known) / len(stems) < MIN_NOVELTY:
            continue
        known |= stems
        used.add(passage.chunk.chunk_id)
        points.append(Block(passage, tuple(indices), "point"))
    return points


# --- rendering --------------------------------------------------------------------------------------------------
OPENINGS = {
    "guide": "Ifølge guiden:",
    "tool": "Ifølge værktøjet »{title}« i guiden:",
    "case": "Guidens eksempel »{title}« fortæller:",
    "about": "Om guiden og projektet bag den:",
    "template": "Partnerskabsassistentens skabelon »{title}« (assistentens egen vejledning, ikke guidens tekst):",
    "dokument": "Jeres dokument »{title}« (ikke en del af guiden):",
}


def opening_for(chunk: RetrievedChunk) -> str:
    """The opening line that says what kind of text the answer quotes."""
    kind = str(chunk.metadata.get("kind", "guide"))
    return OPENINGS.get(kind, OPENINGS["guide"]).format(title=chunk.metadata.get("title", ""))


def render(composition: Composition, opening: str) -> tuple[str, list[Citation]]:
    """Markdown answer and citations: one citation per block, numbered in order of appearance."""
    citations: list[Citation] = []
    number: dict[str, int] = {}
    parts: list[str] = [opening]
    points: list[str] = []
    previous_role, previous_chunk = "", ""
    for block in (run for b in composition.blocks for run in _clean_runs(b)):
        chunk = block.passage.chunk
        spans = [block.passage.units[i] for i in block.indices]
        key = f"{chunk.chunk_id}:{spans[0].start}:{spans[-1].end}"
        if key not in number:
            number[key] = len(citations) + 1
            citations.append(_citation(number[key], chunk, _quote(chunk.text, spans)))
        body = _render_units(block.passage, block.indices, number[key])
        if block.role == "point":
            points.append(body if body.startswith("- ") else f"- {body}")
        elif block.role == "subsection":
            first, *rest = body.removeprefix("- ").split("\n")
            line = "\n".join([f"- **{_label(chunk)}** {first}", *(f"  {r}" for r in rest if r.strip())])
            if previous_role == "subsection":
                parts[-1] += "\n" + line
            else:
                parts.append(line)
        elif (block.role == "sibling" or (block.role == "part" and composition.lead is not None
                                          and _section(chunk) != _section(composition.lead.chunk))) \
                and chunk.chunk_id != previous_chunk:
            parts.append(f"**{_label(chunk)}**\n{body}")  # a block from another section says which one
        else:
            parts.append(body)
        previous_role, previous_chunk = block.role, chunk.chunk_id
    if points:
        parts.append("Guiden nævner også:\n" + "\n".join(points))
    if composition.lead is not None:
        main = citations[0]
        parts.append(f"Læs mere i »{main.title}« [{main.n}].")
    return "\n\n".join(parts), citations


def _section(chunk: RetrievedChunk) -> tuple[str, str]:
    return chunk.doc_id, str(chunk.metadata.get("section", ""))


def _label(chunk: RetrievedChunk) -> str:
    """A section's own heading as a label: "Formål og mål:", "Hvem stod bag?"."""
    heading = str(chunk.metadata.get("section", "")).rsplit(SECTION_SEP, 1)[-1].strip()
    return heading if heading.endswith(("?", ":", "!")) else f"{heading}:"


def _clean_runs(block: Block) -> list[Block]:
    """A block split where a left-out unit (an injection attempt) lies between its units, so that no quote
    ever spans text that is not shown."""
    runs: list[list[int]] = []
    for i in block.indices:
        if runs and i == runs[-1][-1] + 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    return [Block(block.passage, tuple(r), block.role if n == 0 or block.role != "lead" else "part")
            for n, r in enumerate(runs)]


def _quote(text: str, spans: Sequence[Unit]) -> str:
    """The exact stretch of ``text`` covering the used units (cut to the first unit when too long)."""
    start, end = min(s.start for s in spans), max(s.end for s in spans)
    if end - start > QUOTE_LIMIT:
        first = min(spans, key=lambda s: s.start)
        end = first.end
    return text[start:end]


def _render_units(passage: _Passage, indices: Sequence[int], n: int) -> str:
    """Units as Markdown: sentences of one paragraph joined, lists as lead-in + items; ``[n]`` ends every paragraph."""
    text = passage.chunk.text
    paragraphs: list[list[str]] = []
    previous_end: int | None = None
    for i in indices:
        unit = passage.units[i]
        piece = unit.text(text)
        same_paragraph = previous_end is not None and "\n\n" not in text[previous_end:unit.start]
        if unit.kind == "list":
            lead, items = list_items(piece)
            paragraphs.append([lead + "\n" + "\n".join(f"- {item}" for item in items)])
        elif unit.kind == "item":
            if paragraphs and paragraphs[-1][-1].startswith("- ") and same_paragraph:
                paragraphs[-1].append(f"- {piece}")
            else:
                paragraphs.append([f"- {piece}"])
        elif paragraphs and same_paragraph and _is_prose(paragraphs[-1][-1]):
            paragraphs[-1].append(piece)
        else:
            paragraphs.append([piece])
        previous_end = unit.end
    rendered = ["\n".join(p) if p[0].startswith("- ") or "\n" in p[0] else " ".join(p) for p in paragraphs]
    rendered = [cite(paragraph, n) for paragraph in rendered]  # every paragraph of the block carries [n]
    return "\n\n".join(rendered)


def _is_prose(rendered: str) -> bool:
    return not rendered.startswith("- ") and "\n" not in rendered


def cite(text: str, n: int) -> str:
    """Put ``[n]`` before the final punctuation of ``text``: "… tid [1]."."""
    match = re.search(r"[.!?:]+[\"”»)]?$", text)
    if match:
        return f"{text[:match.start()]} [{n}]{text[match.start():]}"
    return f"{text} [{n}]."


def _citation(n: int, chunk: RetrievedChunk, quote: str) -> Citation:
    meta = chunk.metadata
    return Citation(
        n=n, doc_id=chunk.doc_id, title=str(meta.get("title", "")), section=str(meta.get("section", "")),
        source_url=str(meta.get("source_url", "")), quote=quote, chunk_id=chunk.chunk_id,
        kind=str(meta.get("kind", "guide")),
    )


def citation_for(n: int, chunk: RetrievedChunk, spans: Sequence[Unit] = ()) -> Citation:
    """A citation of ``chunk`` quoting the stretch covering ``spans`` (the whole passage when none is given)."""
    return _citation(n, chunk, _quote(chunk.text, spans) if spans else chunk.text)


__all__ = ["Composition", "ExtractiveAnswerer", "citation_for", "cite", "opening_for", "question_parts", "render"]
