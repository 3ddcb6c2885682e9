"""The durable outbox: notifications waiting for their channel, in SQLite.

A webhook is answered 200 only after its messages are committed here (WAL, ``synchronous=FULL``),
so a crash before that makes Alertmanager retry, and a crash after it loses nothing. One row per
message and channel; a channel's worker always takes its oldest row (the ``id`` order), so a
message never overtakes an earlier one to the same channel. A row leaves the outbox when its
channel took it, or when it is dropped with a reason (too old, refused for good) - never silently.

Bounded in rows and bytes: a webhook that does not fit is refused as a whole (HTTP 503), and
Alertmanager keeps the alerts and tries again, which loses nothing either. ``seen`` remembers the
notifications taken in the last ``dedup_window_s`` (Alertmanager retries, HA peers both sending);
``sends`` the last send times per channel, so the rate limit holds across a restart.
"""

from __future__ import annotations

import enum
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from seamline.notify.message import OutboxMessage

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    channel TEXT NOT NULL,
    created_at REAL NOT NULL,
    next_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    bytes INTEGER NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_channel ON outbox (channel, id);
CREATE TABLE IF NOT EXISTS seen (key TEXT PRIMARY KEY, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS sends (channel TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS sends_channel ON sends (channel, at);
"""
# Send times older than this are of no use to any rate window (the longest allowed is a day).
SENDS_KEPT_S = 86_400.0


class Enqueued(enum.Enum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    FULL = "outbox_full"


@dataclass(frozen=True, slots=True)
class Row:
    id: int
    channel: str
    created_at: float  # unix seconds
    next_at: float  # not before (unix seconds)
    attempts: int
    message: OutboxMessage


@dataclass(frozen=True, slots=True)
class Depth:
    channel: str
    rows: int
    bytes: int
    oldest_created_at: float | None


class Outbox:
    """Thread-safe (one connection behind a lock: notifications are a few per second at most)."""

    def __init__(self, path: Path, *, max_rows: int, max_bytes: int, dedup_window_s: float) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.max_rows = max_rows
        self.max_bytes = max_bytes
        self.dedup_window_s = dedup_window_s
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def enqueue(self, key: str, messages: Sequence[OutboxMessage], *, now: float) -> Enqueued:
        """Store ``messages`` (one notification, all its channels) atomically, unless ``key`` was
        taken within the dedup window or they do not fit."""
        bodies = [(m.channel, m.model_dump_json().encode()) for m in messages]
        size = sum(len(b) for _, b in bodies)
        with self._lock, self._tx():
            self._db.execute("DELETE FROM seen WHERE at < ?", (now - self.dedup_window_s,))
            if self._db.execute("SELECT 1 FROM seen WHERE key = ?", (key,)).fetchone():
                return Enqueued.DUPLICATE
            rows, used = self._db.execute("SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM outbox").fetchone()
            if rows + len(bodies) > self.max_rows or used + size > self.max_bytes:
                return Enqueued.FULL
            self._db.executemany(
                "INSERT INTO outbox (channel, created_at, next_at, bytes, body) VALUES (?, ?, ?, ?, ?)",
                [(channel, now, now, len(body), body) for channel, body in bodies])
            if self.dedup_window_s > 0:
                self._db.execute("INSERT OR REPLACE INTO seen (key, at) VALUES (?, ?)", (key, now))
        return Enqueued.ACCEPTED

    def head(self, channel: str) -> Row | None:
        """The channel's oldest message."""
        with self._lock:
            r = self._db.execute(
                "SELECT id, channel, created_at, next_at, attempts, body FROM outbox WHERE channel = ? "
                "ORDER BY id LIMIT 1", (channel,)).fetchone()
        if r is None:
            return None
        return Row(id=r[0], channel=r[1], created_at=r[2], next_at=r[3], attempts=r[4],
                   message=OutboxMessage.model_validate_json(r[5]))

    def delivered(self, row: Row) -> None:
        """The channel took the message: it leaves the outbox."""
        with self._lock:
            self._db.execute("DELETE FROM outbox WHERE id = ?", (row.id,))

    def record_send(self, channel: str, *, now: float) -> None:
        """A request went to the channel (taken or not): it counts against the rate limit."""
        with self._lock, self._tx():
            self._db.execute("INSERT INTO sends (channel, at) VALUES (?, ?)", (channel, now))
            self._db.execute("DELETE FROM sends WHERE channel = ? AND at < ?", (channel, now - SENDS_KEPT_S))

    def retry_later(self, row: Row, *, next_at: float) -> None:
        with self._lock:
            self._db.execute("UPDATE outbox SET attempts = attempts + 1, next_at = ? WHERE id = ?", (next_at, row.id))

    def drop(self, row: Row) -> None:
        """Remove a message that will never be delivered (the caller counts and logs why)."""
        with self._lock:
            self._db.execute("DELETE FROM outbox WHERE id = ?", (row.id,))

    def recent_sends(self, channel: str, *, since: float) -> list[float]:
        with self._lock:
            rows = self._db.execute("SELECT at FROM sends WHERE channel = ? AND at >= ? ORDER BY at",
                                    (channel, since)).fetchall()
        return [r[0] for r in rows]

    def depth(self) -> list[Depth]:
        with self._lock:
            rows = self._db.execute(
                "SELECT channel, COUNT(*), SUM(bytes), MIN(created_at) FROM outbox GROUP BY channel").fetchall()
        return [Depth(channel=r[0], rows=r[1], bytes=r[2], oldest_created_at=r[3]) for r in rows]

    def _tx(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error) on an autocommit connection."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *_: object) -> None:
        self._db.execute("ROLLBACK" if exc_type is not None else "COMMIT")
