"""InfluxDB 1.x with ``auth-enabled = true``: an admin and one user per service, each with only
the privilege its role needs on the seamline database (1.x grants are per database, not per
retention policy):

| user       | privilege | why |
|------------|-----------|-----|
| ingest     | WRITE     | writes raw telemetry, never reads |
| dashboards | READ      | Grafana and `seamline report` read, never write |
| rules      | ALL       | reads raw, writes KPIs (and grading, matching's plan record) |

Idempotent: existing users get their password reset and their grant applied again. The first
statement creates the admin, which InfluxDB accepts without credentials only while no admin
exists. Passwords travel only in statements; an error never repeats the statement's password."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import SecretStr

from seamline.storage.influxql import quote_ident, quote_string
from seamline.storage.query_client import QueryClient
from seamline.storage.query_errors import QueryError

Privilege = Literal["READ", "WRITE", "ALL"]
# The default roles of a seamline deployment (README "Security").
SERVICE_PRIVILEGES: dict[str, Privilege] = {"ingest": "WRITE", "dashboards": "READ", "rules": "ALL"}


class DbUsersError(Exception):
    """A statement was refused; the message names the user, never the password."""


@dataclass(frozen=True, slots=True)
class DbUser:
    name: str
    password: SecretStr
    privilege: Privilege


def _redacted(exc: QueryError, secret: SecretStr | None) -> str:
    text = str(exc)
    if secret is not None:
        for form in (quote_string(secret.get_secret_value()), secret.get_secret_value()):
            text = text.replace(form, "***")
    return text


def _run(client: QueryClient, statement: str, *, secret: SecretStr | None, what: str) -> None:
    try:
        client.query(statement)
    except QueryError as exc:
        raise DbUsersError(f"{what}: {_redacted(exc, secret)}") from None


def existing_users(client: QueryClient) -> set[str]:
    results = client.query("SHOW USERS")
    out: set[str] = set()
    for r in results:
        for series in r.get("series", []):
            cols = series.get("columns", [])
            out |= {str(row[cols.index("user")]) for row in series.get("values", []) if "user" in cols}
    return out


def ensure_admin(client: QueryClient, name: str, password: SecretStr) -> str:
    """Create the admin user (the only statement 1.x allows without credentials while no admin
    exists); ``client`` must carry these same credentials. Returns what was done."""
    stmt = f"CREATE USER {quote_ident(name)} WITH PASSWORD {quote_string(password.get_secret_value())} " \
           "WITH ALL PRIVILEGES"
    try:
        client.query(stmt)
    except QueryError as exc:
        if "already exists" in str(exc):
            return f"admin {name}: exists"
        raise DbUsersError(f"admin {name}: {_redacted(exc, password)}") from None
    return f"admin {name}: created"


def ensure_users(client: QueryClient, database: str, users: Sequence[DbUser]) -> list[str]:
    """Create or update ``users`` with exactly their privilege on ``database`` (``client`` as admin)."""
    have = existing_users(client)
    # GRANT needs the database; `seamline db init` adds its retention policies (idempotent both)
    _run(client, f"CREATE DATABASE {quote_ident(database)}", secret=None, what=f"database {database}")
    actions = []
    for u in users:
        pw = quote_string(u.password.get_secret_value())
        if u.name in have:
            _run(client, f"SET PASSWORD FOR {quote_ident(u.name)} = {pw}", secret=u.password, what=f"user {u.name}")
            actions.append(f"user {u.name}: password set")
        else:
            _run(client, f"CREATE USER {quote_ident(u.name)} WITH PASSWORD {pw}", secret=u.password,
                 what=f"user {u.name}")
            actions.append(f"user {u.name}: created")
        # revoke first so that a role narrowed since the last run loses what it had
        _run(client, f"REVOKE ALL ON {quote_ident(database)} FROM {quote_ident(u.name)}", secret=None,
             what=f"user {u.name}")
        _run(client, f"GRANT {u.privilege} ON {quote_ident(database)} TO {quote_ident(u.name)}", secret=None,
             what=f"user {u.name}")
        actions.append(f"user {u.name}: {u.privilege} on {database}")
    return actions
