"""Live replicas of a group: each one upserts a heartbeat row that expires ``ttl_s`` later on the
database clock; the live set is the rows not yet expired. A replica that stops (killed, paused,
cut off) drops out of the set one TTL after its last heartbeat — the same moment its shard leases
expire — and a clean shutdown deletes its row at once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from seamline.rules.coordination.database import Database
from seamline.rules.coordination.schema import REPLICA

if TYPE_CHECKING:
    import psycopg

_HEARTBEAT = f"""
INSERT INTO {REPLICA} AS r (grp, replica, started_at, expires_at)
VALUES (%(grp)s, %(replica)s, now(), now() + make_interval(secs => %(ttl)s))
ON CONFLICT (grp, replica) DO UPDATE SET expires_at = EXCLUDED.expires_at
"""

_LIVE = f"SELECT replica FROM {REPLICA} WHERE grp = %s AND expires_at > now() ORDER BY replica"


class Membership:
    """Heartbeat of ``replica`` in ``group``; :meth:`heartbeat` returns the live set."""

    def __init__(self, db: Database, *, group: str, replica: str, ttl_s: float) -> None:
        self.db = db
        self.group = group
        self.replica = replica
        self.ttl_s = ttl_s

    def heartbeat(self) -> frozenset[str]:
        """Refresh this replica's row; return the live replicas (this one included)."""
        def q(conn: psycopg.Connection) -> frozenset[str]:
            conn.execute(_HEARTBEAT, {"grp": self.group, "replica": self.replica, "ttl": self.ttl_s})
            return frozenset(str(r) for (r,) in conn.execute(_LIVE, (self.group,)).fetchall())

        return self.db.run(q) | {self.replica}

    def live(self) -> frozenset[str]:
        """The live replicas, without heartbeating (for status reports)."""
        return self.db.run(lambda conn: frozenset(str(r) for (r,) in conn.execute(_LIVE, (self.group,)).fetchall()))

    def leave(self) -> None:
        """Delete this replica's row (clean shutdown): the others rebalance at their next refresh."""
        self.db.run(lambda conn: conn.execute(f"DELETE FROM {REPLICA} WHERE grp = %s AND replica = %s",
                                              (self.group, self.replica)))
