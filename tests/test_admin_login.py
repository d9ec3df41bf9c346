"""Maintainer login hardening: increasing delay, lockout after N failures, one log line per attempt, no secret."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from _ui_support import ADMIN_SECRET, APP, copy_index, settings_env
from conftest import make_settings
from pydantic import SecretStr
from streamlit.testing.v1 import AppTest

from assistant.settings import Settings, get_settings
from ui.admin import _THROTTLES, LoginPolicy, LoginThrottle, check_secret, login_throttle


class FakeClock:
    """A clock the test moves; ``sleep`` advances it and records each wait."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 3))
        self.now += seconds


def _secret_checker(secret: str):  # type: ignore[no-untyped-def]
    settings = make_settings(Path("/tmp"), admin_secret=SecretStr(secret))
    return lambda given: check_secret(given, settings)


def test_delay_grows_and_lockout_follows(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    throttle = LoginThrottle(LoginPolicy(max_failures=5, lockout_s=600, base_delay_s=1, max_delay_s=4),
                             clock=clock, sleep=clock.sleep)
    check = _secret_checker("rigtig-hemmelighed")
    caplog.set_level(logging.INFO, logger="ui.admin")

    results = [throttle.attempt(f"gæt-{n}", check, client="10.0.0.7") for n in range(5)]
    assert [r.ok for r in results] == [False] * 5
    assert [r.attempts_left for r in results[:4]] == [4, 3, 2, 1]
    assert clock.sleeps == [1, 2, 4, 4]  # doubling, capped at max_delay_s
    assert results[4].locked_s == 600

    # locked: even the right secret is refused without being checked, and without waiting
    locked = throttle.attempt("rigtig-hemmelighed", check, client="10.0.0.7")
    assert not locked.ok and locked.locked_s == pytest.approx(600)
    assert clock.sleeps == [1, 2, 4, 4]
    clock.now += 601
    assert throttle.attempt("rigtig-hemmelighed", check, client="10.0.0.8").ok
    assert throttle.failures == 0 and throttle.delay() == 0

    lines = [r.getMessage() for r in caplog.records if r.name == "ui.admin"]
    assert len(lines) == 7  # one per attempt
    assert sum("login failed" in line for line in lines) == 5 and "locked for 600 s" in lines[4]
    assert "refused" in lines[5] and "succeeded" in lines[6] and "10.0.0.7" in lines[0]
    assert not any("gæt" in line or "rigtig-hemmelighed" in line for line in lines)


def test_a_failure_only_delays_the_next_attempt_by_what_is_left() -> None:
    clock = FakeClock()
    throttle = LoginThrottle(LoginPolicy(base_delay_s=2), clock=clock, sleep=clock.sleep)
    check = _secret_checker("rigtig")
    throttle.attempt("forkert", check)
    clock.now += 1.5  # the maintainer took 1.5 s to type again
    assert throttle.attempt("rigtig", check).ok
    assert clock.sleeps == [0.5]


# --- the real page (AppTest) ---------------------------------------------------------------------------------
@pytest.fixture
def admin_env(corpus_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The app with a maintainer secret on a private copy of the real index (its own login throttle)."""
    for key in list(os.environ):
        if key.startswith("PA_"):
            monkeypatch.delenv(key)
    for key, value in settings_env(copy_index(corpus_settings, tmp_path / "data")).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("PA_ADMIN_SECRET", ADMIN_SECRET)
    monkeypatch.setenv("PA_CONFIG", str(tmp_path / "ingen.toml"))
    get_settings.cache_clear()
    _THROTTLES.pop(str(tmp_path / "data"), None)
    yield tmp_path / "data"
    get_settings.cache_clear()
    _THROTTLES.pop(str(tmp_path / "data"), None)


def _login_page() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    return at.switch_page("views/vedligeholdelse.py").run()


def _submit(at: AppTest, secret: str) -> AppTest:
    at.text_input(key="admin_secret_input").input(secret)
    return next(b for b in at.button if b.label == "Log ind").click().run()


def test_page_locks_after_repeated_failures(admin_env: Path, caplog: pytest.LogCaptureFixture) -> None:
    throttle = login_throttle(get_settings())
    throttle.policy = LoginPolicy(max_failures=3, lockout_s=900, base_delay_s=0.01, max_delay_s=0.05)
    caplog.set_level(logging.INFO, logger="ui.admin")
    leftover = admin_env / "uploads" / ".pending" / "afbrudt"
    leftover.mkdir(parents=True)
    (leftover / "halv.pdf").write_bytes(b"%PDF-1.4 halv")
    os.utime(leftover, (1, 1))  # from a process killed long ago
    at = _login_page()
    assert not leftover.exists()  # cleaned when the maintainer page starts
    for left in (2, 1):
        at = _submit(at, "forkert-gæt")
        assert [e.value for e in at.error] == ["Forkert adgangskode."]
        assert any(f"{left} forsøg tilbage" in c.value for c in at.caption)
    at = _submit(at, "forkert-gæt")
    assert any("login er spærret" in e.value and "15 minutter" in e.value for e in at.error)
    # a new session (a new browser tab) is locked too, and the right secret does not get in
    at = _submit(_login_page(), ADMIN_SECRET)
    assert any("spærret" in e.value for e in at.error) and not at.metric
    assert not any(b.label == "Log ud" for b in at.button)
    messages = [r.getMessage() for r in caplog.records if r.name == "ui.admin"]
    assert len([m for m in messages if "maintainer login" in m]) == 4
    assert not any(ADMIN_SECRET in m or "forkert-gæt" in m for m in messages)
