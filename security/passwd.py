"""Mosquitto 2.0 password-file lines: ``user:$7$<iterations>$<salt b64>$<PBKDF2-HMAC-SHA512 b64>``,
the format ``mosquitto_passwd`` writes (12-byte salt, 64-byte derived key).

The iteration count is Mosquitto's own default (101). It only slows down guessing a weak password,
and seamline never has one: every password is 32 random bytes from :func:`new_password`; more
iterations would only cost broker CPU on every connect.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable

ITERATIONS = 101
SALT_BYTES = 12
_DIGEST = "sha512"
_KEY_BYTES = 64


class PasswdError(ValueError):
    """A user name or hash line Mosquitto would not accept."""


def new_password() -> str:
    """A fresh password: 32 random bytes, URL-safe base64 (43 characters, 256 bits)."""
    return secrets.token_urlsafe(32)


def hash_password(password: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """The ``$7$...`` hash of ``password`` (a random salt unless one is given, for checking)."""
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    key = hashlib.pbkdf2_hmac(_DIGEST, password.encode(), salt, iterations, _KEY_BYTES)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(key).decode()}"


def verify(password: str, hashed: str) -> bool:
    """Whether ``password`` matches a ``$7$`` hash (as Mosquitto checks it on CONNECT)."""
    parts = hashed.split("$")
    if len(parts) != 5 or parts[1] != "7" or not parts[2].isdigit():
        raise PasswdError("not a Mosquitto $7$ password hash")
    salt = base64.b64decode(parts[3])
    expected = hash_password(password, salt=salt, iterations=int(parts[2]))
    return hmac.compare_digest(expected, hashed)


def passwd_line(username: str, password: str) -> str:
    if not username or ":" in username or "\n" in username:
        raise PasswdError(f"user name {username!r} cannot be written to a Mosquitto password file")
    return f"{username}:{hash_password(password)}"


def render(users: Iterable[tuple[str, str]]) -> str:
    """A whole password file from (user name, password) pairs."""
    return "".join(passwd_line(u, p) + "\n" for u, p in users)
