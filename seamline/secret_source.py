"""Where a secret comes from: a file (``*_file``, first line, trailing newline stripped) or an
environment variable named in the config (``*_env``), never a command-line argument or a URL,
which end up in shell history and ``ps``. Errors name the file or the variable, never the value."""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Mapping
from pathlib import Path

from pydantic import SecretStr

# A password or token file is a few dozen bytes; a big file is the wrong file (a key, a log).
MAX_SECRET_BYTES = 64 * 1024


class SecretSourceError(ValueError):
    """The secret's file cannot be read or is empty, or its environment variable is unset or empty."""


def read_secret_file(path: Path, *, what: str) -> SecretStr:
    """The secret in ``path``: its content without the trailing newline(s)."""
    path = Path(path).expanduser()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SecretSourceError(f"{what}: cannot read {path}: {exc.strerror or type(exc).__name__}") from None
    if len(raw) > MAX_SECRET_BYTES:
        raise SecretSourceError(f"{what}: {path} is {len(raw)} bytes, too large for a secret")
    try:
        text = raw.decode().rstrip("\r\n")
    except UnicodeDecodeError:
        raise SecretSourceError(f"{what}: {path} is not UTF-8 text") from None
    if not text:
        raise SecretSourceError(f"{what}: {path} is empty")
    return SecretStr(text)


def read_secret_env(name: str, *, what: str, environ: Mapping[str, str] | None = None) -> SecretStr:
    """The secret in environment variable ``name`` (``environ`` defaults to ``os.environ``)."""
    value = (os.environ if environ is None else environ).get(name)
    if not value:
        raise SecretSourceError(f"{what}: environment variable {name} is not set or empty")
    return SecretStr(value)


def resolve_secret(
    *, value: object = None, file: object = None, env: object = None, what: str,
    environ: Mapping[str, str] | None = None,
) -> SecretStr | None:
    """One secret from at most one of an inline ``value``, a ``file`` path or an ``env`` variable
    name (config-loader input, hence the loose types); None when none is given."""
    given = [k for k, v in (("value", value), ("file", file), ("env", env)) if v not in (None, "")]
    if len(given) > 1:
        raise SecretSourceError(f"{what}: give only one of the secret, its _file or its _env")
    if file not in (None, ""):
        return read_secret_file(Path(str(file)), what=what)
    if env not in (None, ""):
        return read_secret_env(str(env), what=what, environ=environ)
    if value is None or isinstance(value, SecretStr):
        return value
    if not isinstance(value, str):
        # never repr the value: a numeric password would be printed
        raise SecretSourceError(f"{what}: expected a string (quote it in YAML)")
    return SecretStr(value)


def redact_url(url: str) -> str:
    """``url`` with whatever stands before ``@`` in its authority (user:password) replaced by
    ``***``; safe to print for any string, parseable or not."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url if "@" not in url else "***@" + url.rpartition("@")[2]
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        authority = "***@" + authority.rpartition("@")[2]
    return f"{scheme}://{authority}{slash}{path}"


def url_problem(url: str, *, schemes: tuple[str, ...], credentials_ok: bool = False) -> str | None:
    """Why ``url`` is not a usable ``scheme://host[:port][/path]`` without credentials, or None.
    The reason never quotes the URL (it may hold a password)."""
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError for a port that is not a number 0..65535
    except ValueError:
        return "not a valid URL (check the host and the port number)"
    if parts.scheme not in schemes:
        return f"expected {' or '.join(s + '://' for s in schemes)}host:port"
    if not parts.hostname:
        return "no host name"
    if not credentials_ok and (parts.username is not None or parts.password is not None):
        return "credentials do not belong in the URL: use username and password_file / password_env"
    return None
