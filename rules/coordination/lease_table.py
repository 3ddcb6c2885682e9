"""Leases with fencing tokens in PostgreSQL, timed by the database clock only.

A lease row is ``(name, holder, token, acquired_at, expires_at)``. Every time comparison is made
by PostgreSQL against its own ``now()`` (one statement = one transaction, autocommit), so the
replicas' wall clocks never matter:

* **take**: insert the row (token 1), or, only if ``expires_at <= now()``, overwrite it with
  ``token = token + 1`` — one atomic ``INSERT … ON CONFLICT DO UPDATE … WHERE``;
* **renew**: ``UPDATE … SET expires_at = now() + ttl WHERE holder = me AND token = my token AND
  expires_at > now()`` — a lease that has already expired is never extended (someone may have
  taken it since);
* **verify** (the fence): the row still has my holder and token and has not expired;
* **release**: ``expires_at = now()`` for my holder and token, so the next taker need not wait.

The holder keeps a **local deadline** per lease on its monotonic clock: the instant just *before*
it sent the take/renew statement, plus ``ttl_s``, minus ``margin_s``. The database set
``expires_at`` at or after that instant, so the local deadline always falls ``margin_s`` or more
before the database lets anyone else take over — assuming the two clocks run at the same rate
(NTP-disciplined clocks differ by parts per million: micro-seconds over a TTL). A replica that
cannot reach PostgreSQL therefore knows on its own when to stop writing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from seamline.rules.coordination.database import Database
from seamline.rules.coordination.schema import LEASE

if TYPE_CHECKING:
    import psycopg


@dataclass(frozen=True, slots=True)
class Grant:
    """A lease this replica holds: ``deadline`` is local monotonic seconds (see the module doc)."""

    name: str
    token: int
    deadline: float


_TAKE = f"""
INSERT INTO {LEASE} AS l (name, holder, token, acquired_at, expires_at)
VALUES (%(name)s, %(holder)s, 1, now(), now() + make_interval(secs => %(ttl)s))
ON CONFLICT (name) DO UPDATE
   SET holder = EXCLUDED.holder, token = l.token + 1, acquired_at = now(), expires_at = EXCLUDED.expires_at
 WHERE l.expires_at <= now()
RETURNING token
"""

_RENEW = f"""
UPDATE {LEASE} AS l SET expires_at = now() + make_interval(secs => %(ttl)s)
  FROM unnest(%(names)s::text[], %(tokens)s::bigint[]) AS mine(name, token)
 WHERE l.name = mine.name AND l.token = mine.token AND l.holder = %(holder)s AND l.expires_at > now()
RETURNING l.name, l.token
"""

_VERIFY = f"SELECT 1 FROM {LEASE} WHERE name = %s AND holder = %s AND token = %s AND expires_at > now()"

_RELEASE = f"""
UPDATE {LEASE} AS l SET expires_at = now()
  FROM unnest(%(names)s::text[], %(tokens)s::bigint[]) AS mine(name, token)
 WHERE l.name = mine.name AND l.token = mine.token AND l.holder = %(holder)s AND l.expires_at > now()
"""


@dataclass(frozen=True, slots=True)
class LeaseRow:
    name: str
    holder: str
    token: int
    expires_in_s: float  # by the database clock; <= 0: expired


class LeaseTable:
    """Take, renew, verify and release leases named by the caller. Raises
    :class:`~seamline.rules.coordination.database.CoordinationUnavailable` when the database is not
    reachable; a ``None`` / missing answer means "held by someone else" or "lost"."""

    def __init__(self, db: Database, *, holder: str, ttl_s: float, margin_s: float,
                 clock: Callable[[], float] = time.monotonic, check_db: Database | None = None) -> None:
        if not 0 <= margin_s < ttl_s:
            raise ValueError(f"need 0 <= margin_s < ttl_s, got margin_s={margin_s} ttl_s={ttl_s}")
        self.db = db
        # the writers' fence checks on their own connection, so renewals never queue behind them
        self.check_db = check_db or db
        self.holder = holder
        self.ttl_s = ttl_s
        self.margin_s = margin_s
        self.clock = clock  # monotonic seconds: the local deadlines are on this clock

    def _deadline(self, sent_at: float) -> float:
        return sent_at + self.ttl_s - self.margin_s

    def take(self, name: str) -> Grant | None:
        """Take ``name`` if it is free or expired (a new, higher token); else ``None``."""
        sent_at = self.clock()

        def q(conn: psycopg.Connection) -> int | None:
            row = conn.execute(_TAKE, {"name": name, "holder": self.holder, "ttl": self.ttl_s}).fetchone()
            return int(row[0]) if row else None

        token = self.db.run(q)
        return Grant(name, token, self._deadline(sent_at)) if token is not None else None

    def renew(self, grants: Sequence[Grant]) -> list[Grant]:
        """Extend the grants still held; the ones missing from the answer are lost."""
        if not grants:
            return []
        sent_at = self.clock()
        args = {"names": [g.name for g in grants], "tokens": [g.token for g in grants], "holder": self.holder,
                "ttl": self.ttl_s}

        def q(conn: psycopg.Connection) -> set[tuple[str, int]]:
            return {(str(n), int(t)) for n, t in conn.execute(_RENEW, args).fetchall()}

        kept = self.db.run(q)
        return [Grant(g.name, g.token, self._deadline(sent_at)) for g in grants if (g.name, g.token) in kept]

    def verify(self, grant: Grant) -> bool:
        """True if the database still shows ``grant`` as the current, unexpired lease."""
        def q(conn: psycopg.Connection) -> bool:
            return conn.execute(_VERIFY, (grant.name, self.holder, grant.token)).fetchone() is not None

        return self.check_db.run(q)

    def release(self, grants: Sequence[Grant]) -> None:
        if not grants:
            return
        args = {"names": [g.name for g in grants], "tokens": [g.token for g in grants], "holder": self.holder}
        self.db.run(lambda conn: conn.execute(_RELEASE, args))

    def rows(self, prefix: str) -> list[LeaseRow]:
        """Every lease whose name starts with ``prefix`` (for status reports)."""
        def q(conn: psycopg.Connection) -> list[LeaseRow]:
            cur = conn.execute(f"SELECT name, holder, token, extract(epoch FROM expires_at - now()) FROM {LEASE} "
                               "WHERE starts_with(name, %s) ORDER BY name", (prefix,))
            return [LeaseRow(str(n), str(h), int(t), float(e)) for n, h, t, e in cur.fetchall()]

        return self.db.run(q)
