"""Pure helpers of the UI: intent detection, upload names, progress parsing, admin secret check."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from pydantic import SecretStr

from ui.admin import check_secret
from ui.intent import detect_template_intent, starts_request
from ui.progress import fraction, streamlit_progress
from ui.uploads import UploadRejected, sanitize_filename


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Lav et udkast til en samarbejdsaftale", "samarbejdsaftale"),
        ("lav et udkast til samarbejdsaftale", "samarbejdsaftale"),
        ("Kan du lave en kommunikationsplan?", "kommunikationsplan"),
        ("Hjælp mig med at skrive en evalueringsplan", "evalueringsplan"),
        ("Hvad skal en samarbejdsaftale indeholde?", None),
        ("Hvordan laver man en samarbejdsaftale?", None),
        ("Hvordan laver man en god aftale?", None),
    ],
)
def test_detect_template_intent(text: str, expected: str | None) -> None:
    assert detect_template_intent(text) == expected


def test_intent_respects_available_templates() -> None:
    assert detect_template_intent("Lav en kommunikationsplan", ["samarbejdsaftale"]) is None
    assert detect_template_intent("lav en partnerskabsaftale", {"samarbejdsaftale": ["partnerskabsaftale"]}) == (
        "samarbejdsaftale")
    assert starts_request("Lav en evalueringsplan") and not starts_request("vi vil lave en evalueringsplan senere")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/aftale.md", "aftale.md"),
        ("C:\\Users\\x\\Ny Aftale.DOCX", "ny-aftale.docx"),
        ("Æblegrød på Østergade.pdf", "aeblegroed-paa-oestergade.pdf"),
        (".skjult.txt", "skjult.txt"),
        ("side.HTM", "side.htm"),
    ],
)
def test_sanitize_filename(name: str, expected: str) -> None:
    assert sanitize_filename(name) == expected


@pytest.mark.parametrize("name", ["virus.exe", "noextension", "arkiv.tar.gz"])
def test_sanitize_rejects_other_types(name: str) -> None:
    with pytest.raises(UploadRejected):
        sanitize_filename(name)


def test_progress_callback_updates_the_bar() -> None:
    calls: list[tuple[float, str | None]] = []
    bar = SimpleNamespace(progress=lambda value, text=None: calls.append((value, text)))
    callback = streamlit_progress(bar)
    callback(3, 4, "Læser fil.md")
    callback(0, 0, "")
    assert calls == [(0.75, "Læser fil.md"), (0.0, None)]
    assert fraction(5, 4) == 1.0


def test_check_secret() -> None:
    with_secret = SimpleNamespace(admin_secret=SecretStr("rigtig"))
    assert check_secret("rigtig", with_secret)
    assert not check_secret("forkert", with_secret)
    assert not check_secret("", SimpleNamespace(admin_secret=None))
    assert not check_secret("", SimpleNamespace(admin_secret=SecretStr("")))
