"""Signed owner tokens: valid ones give back their owner, forged or altered ones are rejected."""

from __future__ import annotations

from pathlib import Path

from ui.owners import OwnerTokens, load_secret


def test_token_round_trip_and_forgery(tmp_path: Path) -> None:
    tokens = OwnerTokens(load_secret(tmp_path))
    token = tokens.issue()
    owner = tokens.owner(token)
    assert owner and token.startswith(owner + ".")
    assert tokens.owner(tokens.issue()) != owner  # every browser its own space
    forged = owner + "." + "0" * 32
    for bad in (forged, owner, "", None, token + "x", "../" + token, token.upper()):
        assert tokens.owner(bad) is None
    other_server = OwnerTokens(load_secret(tmp_path / "andet"))
    assert other_server.owner(token) is None


def test_secret_is_made_once_and_private(tmp_path: Path) -> None:
    first = load_secret(tmp_path)
    assert load_secret(tmp_path) == first
    assert (tmp_path / "owner-secret").stat().st_mode & 0o077 == 0
