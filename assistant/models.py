"""Data models shared by retrieval, answers, the CLI, the UI and the evals."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator


class RetrievedChunk(BaseModel):
    """One passage found by retrieval, with how each retriever ranked it."""

    chunk_id: str
    text: str
    metadata: dict[str, Any]
    score: float = Field(description="Fused score (RRF) or the single retriever's score.")
    dense_score: float | None = Field(None, description="Cosine similarity from the dense retriever.")
    dense_rank: int | None = None
    bm25_rank: int | None = None
    heading_score: float | None = Field(None, description="Cosine of the question to the section heading path.")
    heading_rank: int | None = None

    @property
    def doc_id(self) -> str:
        return str(self.metadata.get("doc_id", ""))


class Citation(BaseModel):
    """A numbered source of an answer: points to one chunk and quotes it exactly."""

    n: int
    doc_id: str
    title: str
    section: str
    source_url: str
    quote: str
    chunk_id: str
    kind: str = Field("guide", description="Document kind: guide | tool | case | about | template | dokument.")

    def public_dict(self) -> dict[str, Any]:
        """The stable JSON shape read by benchmarks and evals."""
        return self.model_dump(include={"n", "doc_id", "title", "section", "source_url", "quote"})


class Turn(BaseModel):
    """One message of a conversation."""

    role: Literal["user", "assistant"]
    content: str


class Answer(BaseModel):
    """The assistant's reply to one question."""

    text: str
    citations: list[Citation] = Field(default_factory=list)
    refused: bool = False
    timings_ms: dict[str, float] = Field(default_factory=dict)
    suggestions: list[str] = Field(default_factory=list, description="Closest topics, when refused.")
    retrieval_query: str | None = Field(None, description="The query actually searched (after follow-up folding).")
    coverage: Literal["answered", "partial", "refused"] = Field(
        "answered", description="Whether the guide answers the question, only touches it, or does not cover it.")

    @model_validator(mode="after")
    def _refused_is_a_coverage(self) -> Answer:
        if self.refused:
            self.coverage = "refused"
        elif self.coverage == "refused":
            self.refused = True
        return self

    def public_dict(self) -> dict[str, Any]:
        """Exactly the JSON contract of `python -m assistant ask --json`."""
        return {
            "answer": self.text,
            "refused": self.refused,
            "coverage": self.coverage,
            "citations": [c.public_dict() for c in self.citations],
            "timings_ms": self.timings_ms,
        }
