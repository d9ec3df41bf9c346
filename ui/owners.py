"""Private conversation spaces without an identity provider: a signed, random owner token per browser.

The token is ``<owner>.<signature>``: 16 random bytes (hex) and an HMAC-SHA256 over them with a secret that
only the server knows (``owner-secret`` in the data folder, made once with mode 0600). It lives in the URL
(``?u=…`` next to ``?c=…``), so a reload or a bookmark reopens the same space, while a guessed or altered token
is rejected and gets a fresh, empty space. Anyone holding the full URL holds the space: behind the
municipality's SSO proxy the signed-in user's identity should be used instead (README, "Log-in").
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

SECRET_NAME = "owner-secret"
_SIG_HEX = 32


def load_secret(data_dir: Path) -> bytes:
    """The server's signing secret, created on first use (atomic: concurrent starts agree on one)."""
    path = Path(data_dir) / SECRET_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(secrets.token_hex(32))
    value = path.read_text(encoding="ascii").strip()
    if len(value) < 32:  # a half-written file from a killed start: both readers retry on a complete one
        raise RuntimeError("owner-secret er ufuldstændig; slet filen og start igen")
    return value.encode("ascii")


class OwnerTokens:
    """Issue and check owner tokens with one secret."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _sign(self, owner: str) -> str:
        return hmac.new(self._secret, owner.encode("ascii"), hashlib.sha256).hexdigest()[:_SIG_HEX]

    def issue(self) -> str:
        """A new token for a new private space."""
        owner = secrets.token_hex(16)
        return f"{owner}.{self._sign(owner)}"

    def owner(self, token: str | None) -> str | None:
        """The owner id of a valid token, else None (constant-time comparison)."""
        if not token or token.count(".") != 1:
            return None
        owner, sig = token.split(".")
        if len(owner) != 32 or not all(c in "0123456789abcdef" for c in owner):
            return None
        return owner if hmac.compare_digest(sig, self._sign(owner)) else None
