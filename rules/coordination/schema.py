"""The coordination tables in PostgreSQL, created on first connection (idempotent).

* ``seamline_rules_lease`` — one row per lease (a static lease, or one per dynamic shard): holder,
  fencing ``token`` (only ever grows), ``acquired_at`` and ``expires_at`` on the database clock.
* ``seamline_rules_replica`` — the live replicas of a group: heartbeat rows that expire.
* ``seamline_rules_window`` — the window ledger: per (shard, scope, label, window start) its status
  (``pending`` → ``running`` → ``done``), the token and holder that last began it, when it was last
  computed, its point count and a digest of its points.
* ``seamline_rules_window_run`` — one row per computation (holder, token, digest): the audit trail
  of who computed which window, pruned with the ledger.

Several replicas may start at once: the DDL runs under a transaction-scoped advisory lock, since
``CREATE TABLE IF NOT EXISTS`` alone races on the catalog.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psycopg

# an arbitrary constant: the advisory lock key that serialises the DDL of all seamline replicas
_DDL_LOCK_KEY = 0x5EA3_11E5

LEASE = "seamline_rules_lease"
REPLICA = "seamline_rules_replica"
WINDOW = "seamline_rules_window"
WINDOW_RUN = "seamline_rules_window_run"

DDL = f"""
CREATE TABLE IF NOT EXISTS {LEASE} (
    name        text PRIMARY KEY,
    holder      text NOT NULL,
    token       bigint NOT NULL CHECK (token > 0),
    acquired_at timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS {REPLICA} (
    grp        text NOT NULL,
    replica    text NOT NULL,
    started_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (grp, replica)
);
CREATE TABLE IF NOT EXISTS {WINDOW} (
    shard        text NOT NULL,
    scope        text NOT NULL,
    label        text NOT NULL,
    window_start timestamptz NOT NULL,
    window_end   timestamptz NOT NULL,
    shift        text,
    status       text NOT NULL CHECK (status IN ('pending', 'running', 'done')),
    token        bigint NOT NULL DEFAULT 0,
    holder       text,
    started_at   timestamptz,
    computed_at  timestamptz,
    points       integer,
    digest       text,
    runs         integer NOT NULL DEFAULT 0,
    PRIMARY KEY (shard, scope, label, window_start)
);
CREATE INDEX IF NOT EXISTS {WINDOW}_open ON {WINDOW} (shard, window_start) WHERE status <> 'done';
CREATE INDEX IF NOT EXISTS {WINDOW}_end ON {WINDOW} (window_end);
CREATE TABLE IF NOT EXISTS {WINDOW_RUN} (
    id           bigserial PRIMARY KEY,
    shard        text NOT NULL,
    scope        text NOT NULL,
    label        text NOT NULL,
    window_start timestamptz NOT NULL,
    holder       text NOT NULL,
    token        bigint NOT NULL,
    recorded     boolean NOT NULL,
    finished_at  timestamptz NOT NULL,
    points       integer NOT NULL,
    digest       text NOT NULL
);
CREATE INDEX IF NOT EXISTS {WINDOW_RUN}_window ON {WINDOW_RUN} (shard, scope, label, window_start);
CREATE INDEX IF NOT EXISTS {WINDOW_RUN}_finished ON {WINDOW_RUN} (finished_at);
"""


def ensure_schema(conn: psycopg.Connection) -> None:
    """Create the tables and indexes if missing (safe to run from many replicas at once)."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_DDL_LOCK_KEY,))
        conn.execute(DDL)
