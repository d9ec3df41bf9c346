"""Show the ingest pipeline's progress (``progress(done, total, message)``) in an ``st.progress`` bar."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def fraction(done: int, total: int) -> float:
    """``done / total`` clamped to [0, 1]; 0 when there is nothing to do yet."""
    return max(0.0, min(1.0, done / total)) if total > 0 else 0.0


def streamlit_progress(bar: Any) -> Callable[[int, int, str], None]:
    """A pipeline progress callback that updates ``bar`` (an ``st.progress`` element)."""

    def callback(done: int, total: int, message: str = "") -> None:
        bar.progress(fraction(done, total), text=message or None)

    return callback
