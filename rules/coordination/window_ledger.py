"""The window ledger in PostgreSQL (table ``seamline_rules_window``, runs in
``seamline_rules_window_run``): which windows of which shard are pending, running or done.

* :meth:`PgLedger.begin` marks a window ``running`` with the shard's token — in the same statement
  as the fence check (the lease row must still show this holder and token, unexpired): a stale
  owner cannot even start a window on the books.
* :meth:`PgLedger.finish` marks it ``done`` (point count, digest), again only under a current
  token, and appends a run row either way (``recorded`` says whether the ledger took it).
* A window left ``running`` under an *older* token (its owner died or lost the shard mid-window),
  or ``pending`` (enqueued by a backfill or by gap detection), is :meth:`claimable` by the shard's
  current owner, oldest first.

PostgreSQL being unreachable does not stop KPI computation: ``begin``/``finish`` then log and
return (the fence's local deadline still guards every write), and the window is caught up later
because it is not on the books as computed after it closed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from seamline.rules.coordination.database import CoordinationUnavailable, Database
from seamline.rules.coordination.schema import LEASE, WINDOW, WINDOW_RUN
from seamline.rules.kpi_points import FencingError, KpiPoint
from seamline.rules.ledger import WindowKey, digest
from seamline.rules.windows import Window

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

_FENCE = f"EXISTS (SELECT 1 FROM {LEASE} WHERE name = %(shard)s AND holder = %(holder)s AND token = %(token)s " \
         "AND expires_at > now())"
_KEY = "w.shard = %(shard)s AND w.scope = %(scope)s AND w.label = %(label)s AND w.window_start = %(start)s"

_BEGIN = f"""
INSERT INTO {WINDOW} AS w (shard, scope, label, window_start, window_end, shift, status, token, holder, started_at)
SELECT %(shard)s, %(scope)s, %(label)s, %(start)s, %(end)s, %(shift)s, 'running', %(token)s, %(holder)s, now()
 WHERE {_FENCE}
ON CONFLICT (shard, scope, label, window_start) DO UPDATE
   SET status = 'running', token = EXCLUDED.token, holder = EXCLUDED.holder, started_at = EXCLUDED.started_at,
       window_end = EXCLUDED.window_end
RETURNING 1
"""

_FINISH = f"""
WITH upd AS (
  UPDATE {WINDOW} AS w SET status = 'done', computed_at = now(), points = %(points)s, digest = %(digest)s,
         runs = w.runs + 1
   WHERE {_KEY} AND w.token = %(token)s AND {_FENCE}
  RETURNING 1)
INSERT INTO {WINDOW_RUN} (shard, scope, label, window_start, holder, token, recorded, finished_at, points, digest)
VALUES (%(shard)s, %(scope)s, %(label)s, %(start)s, %(holder)s, %(token)s, EXISTS (SELECT 1 FROM upd), now(),
        %(points)s, %(digest)s)
RETURNING recorded
"""

_ABANDON = f"UPDATE {WINDOW} AS w SET status = 'pending' WHERE {_KEY} AND w.token = %(token)s AND w.status = 'running'"

_ENQUEUE = f"""
INSERT INTO {WINDOW} AS w (shard, scope, label, window_start, window_end, shift, status)
SELECT * , 'pending' FROM unnest(%(shard)s::text[], %(scope)s::text[], %(label)s::text[],
                                 %(start)s::timestamptz[], %(end)s::timestamptz[], %(shift)s::text[])
ON CONFLICT (shard, scope, label, window_start) DO UPDATE SET status = 'pending' WHERE w.status = 'done'
"""

_CLAIMABLE = f"""
SELECT w.shard, w.scope, w.label, w.window_start, w.window_end, w.shift
  FROM {WINDOW} AS w JOIN unnest(%(shards)s::text[], %(tokens)s::bigint[]) AS mine(shard, token) ON w.shard = mine.shard
 WHERE w.status = 'pending'
    OR (w.status = 'running' AND (w.token < mine.token OR w.started_at < now() - make_interval(secs => %(stale)s)))
 ORDER BY w.window_start, w.label, w.scope
 LIMIT %(limit)s
"""

_RECORDED = f"""
SELECT scope, label, window_start, status = 'done' AND computed_at >= window_end + make_interval(secs => %(settle)s)
  FROM {WINDOW} WHERE shard = %(shard)s AND shift IS NULL AND window_start >= %(since)s
"""

_FIRST = f"SELECT scope, label, min(window_start) FROM {WINDOW} WHERE shard = %s AND shift IS NULL " \
         "GROUP BY scope, label"


@dataclass(frozen=True, slots=True)
class Recorded:
    """What the ledger knows of a shard's zone windows since some instant: the first window ever
    recorded per (scope, label), and which windows were computed after they closed (``final``)."""

    first: dict[tuple[str, str], datetime]
    final: frozenset[tuple[str, str, datetime]]


def _args(key: WindowKey, token: int, holder: str) -> dict[str, Any]:
    return {"shard": key.shard, "scope": key.scope, "label": key.label, "start": key.window.start,
            "end": key.window.end, "shift": key.shift, "token": token, "holder": holder}


class PgLedger:
    """The ledger of the windows computed by the replicas holding ``holder``'s leases."""

    def __init__(self, db: Database, *, holder: str) -> None:
        self.db = db
        self.holder = holder
        self.unrecorded = 0  # begin/finish calls that could not reach PostgreSQL

    def begin(self, key: WindowKey, token: int) -> None:
        args = _args(key, token, self.holder)
        try:
            ok = self.db.run(lambda conn: conn.execute(_BEGIN, args).fetchone() is not None)
        except CoordinationUnavailable as exc:
            self.unrecorded += 1
            log.debug("window %s %s %s not recorded as begun: %s", key.shard, key.label, key.window.start, exc)
            return
        if not ok:
            raise FencingError(f"lease {key.shard} (token {token}) is no longer held by {self.holder}")

    def finish(self, key: WindowKey, token: int, points: Sequence[KpiPoint]) -> None:
        args = _args(key, token, self.holder) | {"points": len(points), "digest": digest(points)}
        try:
            recorded = self.db.run(lambda conn: bool(conn.execute(_FINISH, args).fetchone()[0]))  # type: ignore[index]
        except CoordinationUnavailable as exc:
            self.unrecorded += 1
            log.debug("window %s %s %s not recorded as done: %s", key.shard, key.label, key.window.start, exc)
            return
        if not recorded:
            log.info("window %s %s %s computed under token %d but not recorded: the shard moved on",
                     key.shard, key.label, key.window.start.isoformat(), token)

    def abandon(self, key: WindowKey, token: int) -> None:
        try:
            self.db.run(lambda conn: conn.execute(_ABANDON, _args(key, token, self.holder)))
        except CoordinationUnavailable:
            self.unrecorded += 1

    def enqueue(self, keys: Sequence[WindowKey]) -> int:
        """Mark windows ``pending`` (new, or done before): their shard's owner computes them."""
        if not keys:
            return 0
        cols: dict[str, list[Any]] = {"shard": [], "scope": [], "label": [], "start": [], "end": [], "shift": []}
        for k in keys:
            for name, value in (("shard", k.shard), ("scope", k.scope), ("label", k.label),
                                ("start", k.window.start), ("end", k.window.end), ("shift", k.shift)):
                cols[name].append(value)
        return self.db.run(lambda conn: conn.execute(_ENQUEUE, cols).rowcount)

    def claimable(self, held: Sequence[tuple[str, int]], *, limit: int, stale_s: float) -> list[WindowKey]:
        """Pending windows, and running ones begun under an older token (or longer than ``stale_s``
        ago), of the shards in ``held`` ((lease name, token) pairs); oldest first."""
        if not held:
            return []
        args = {"shards": [s for s, _ in held], "tokens": [t for _, t in held], "limit": limit, "stale": stale_s}

        def q(conn: psycopg.Connection) -> list[WindowKey]:
            return [WindowKey(str(sh), str(sc), str(lb), Window(start, end), None if shift is None else str(shift))
                    for sh, sc, lb, start, end, shift in conn.execute(_CLAIMABLE, args).fetchall()]

        return self.db.run(q)

    def recorded(self, shard: str, *, since: datetime, settle_s: float) -> Recorded:
        """Zone windows of ``shard`` on the books (for gap detection): ``final`` = computed at least
        ``settle_s`` after the window closed."""
        def q(conn: psycopg.Connection) -> Recorded:
            first = {(str(sc), str(lb)): t for sc, lb, t in conn.execute(_FIRST, (shard,)).fetchall()}
            rows = conn.execute(_RECORDED, {"shard": shard, "since": since, "settle": settle_s}).fetchall()
            return Recorded(first, frozenset((str(sc), str(lb), t) for sc, lb, t, final in rows if final))

        return self.db.run(q)

    def drop(self, key: WindowKey) -> None:
        """Forget a window (its enterprises left the master data)."""
        self.db.run(lambda conn: conn.execute(f"DELETE FROM {WINDOW} AS w WHERE {_KEY}", _args(key, 0, self.holder)))

    def prune(self, *, keep_days: float) -> int:
        """Delete windows that ended, and runs that finished, more than ``keep_days`` ago."""
        def q(conn: psycopg.Connection) -> int:
            keep = {"keep": keep_days * 86400.0}
            n = conn.execute(f"DELETE FROM {WINDOW} WHERE window_end < now() - make_interval(secs => %(keep)s)",
                             keep).rowcount
            conn.execute(f"DELETE FROM {WINDOW_RUN} WHERE finished_at < now() - make_interval(secs => %(keep)s)",
                         keep)
            return n

        return self.db.run(q)

    def summary(self, prefix: str) -> dict[str, int]:
        """Windows per status of the shards whose name starts with ``prefix``."""
        return self.db.run(lambda conn: {str(s): int(n) for s, n in conn.execute(
            f"SELECT status, count(*) FROM {WINDOW} WHERE starts_with(shard, %s) GROUP BY status",
            (prefix,)).fetchall()})
