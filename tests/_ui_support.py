"""Shared helpers of the UI tests: run the app against a copy of an already built index."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from pydantic import SecretStr

from assistant.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "ui" / "app.py"
ADMIN_SECRET = "test-hemmelighed-42"


def settings_env(settings: Settings) -> dict[str, str]:
    """``PA_*`` variables that reproduce ``settings`` in another process (or a fresh ``get_settings()``)."""
    env: dict[str, str] = {}
    for name in settings.model_fields_set | {"data_dir", "corpus_dir", "embedding_backend"}:
        value = getattr(settings, name)
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        env[f"PA_{name.upper()}"] = str(value)
    env["PA_LLM_BACKEND"] = "none"
    return env


def copy_index(settings: Settings, data_dir: Path) -> Settings:
    """``settings`` moved to a new ``data_dir`` holding a copy of its index (so a test may write to it)."""
    target = settings.model_copy(update={"data_dir": data_dir})
    shutil.copytree(settings.index_dir, target.index_dir)
    return target


def clean_env(extra: dict[str, str]) -> dict[str, str]:
    """The current environment without any ``PA_*`` variable, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PA_")}
    env.update(extra)
    return env
