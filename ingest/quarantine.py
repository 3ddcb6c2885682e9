"""The durable quarantine: messages ingest could not store, kept for inspection and replay.

SQLite (WAL, synchronous=FULL so a committed entry survives a crash before the MQTT ack).
Bounded: at most ``max_rows`` entries and ``max_bytes`` of stored payload and detail; beyond
either the oldest are evicted and counted by reason, so a storm of garbage (or of 250 kB payloads)
cannot fill the disk, and the newest evidence is kept.

The totals live in the store (a one-row table kept by triggers in the same transaction as each
insert and delete), not in a process's memory: a ``quarantine replay`` running beside ingest
deletes rows, and ingest's next bound check sees it.

Lines InfluxDB refused (``db_rejected``) carry a retry schedule: ingest retries them with backoff
(:meth:`QuarantineStore.due_retries`, :meth:`QuarantineStore.retry_later`) until
``max_attempts``; after that they wait for a person (``seamline ingest quarantine replay``).
One store object is used by one thread at a time (the batcher's writer thread, or a CLI command).
"""

from __future__ import annotations

import builtins
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

SOURCE_MQTT = "mqtt"  # payload is the raw MQTT payload received on `topic`
SOURCE_DB = "db"  # payload is a line-protocol line InfluxDB refused

_SCHEMA = """
CREATE TABLE IF NOT EXISTS quarantine (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received_ms INTEGER NOT NULL,
    source TEXT NOT NULL,
    topic TEXT NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    payload BLOB NOT NULL,
    payload_len INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS quarantine_reason ON quarantine(reason, id);
CREATE TABLE IF NOT EXISTS quarantine_totals (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    rows INTEGER NOT NULL,
    bytes INTEGER NOT NULL
);
INSERT OR IGNORE INTO quarantine_totals
    SELECT 0, COUNT(*), COALESCE(SUM(length(payload) + length(detail)), 0) FROM quarantine;
CREATE TRIGGER IF NOT EXISTS quarantine_added AFTER INSERT ON quarantine BEGIN
    UPDATE quarantine_totals SET rows = rows + 1, bytes = bytes + length(NEW.payload) + length(NEW.detail)
    WHERE id = 0;
END;
CREATE TRIGGER IF NOT EXISTS quarantine_removed AFTER DELETE ON quarantine BEGIN
    UPDATE quarantine_totals SET rows = rows - 1, bytes = bytes - length(OLD.payload) - length(OLD.detail)
    WHERE id = 0;
END;
CREATE TRIGGER IF NOT EXISTS quarantine_redetailed AFTER UPDATE OF detail ON quarantine BEGIN
    UPDATE quarantine_totals SET bytes = bytes - length(OLD.detail) + length(NEW.detail) WHERE id = 0;
END;
"""
# Columns added after the first release (a store created by an older ingest gets them on open).
_MIGRATIONS = (
    ("attempts", "ALTER TABLE quarantine ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0"),
    ("retry_at_ms", "ALTER TABLE quarantine ADD COLUMN retry_at_ms INTEGER NOT NULL DEFAULT 0"),
)
# Evicting in chunks keeps one DELETE statement small when a bound shrinks a big store.
_EVICT_CHUNK = 500
# Default byte bound: a quarantine is evidence, not a second database.
DEFAULT_MAX_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class QuarantineEntry:
    """What goes in. ``payload`` is stored up to ``max_payload_bytes``; ``payload_len`` is the original."""

    received_ms: int  # UTC epoch ms when ingest received it
    source: str
    topic: str
    reason: str
    detail: str
    payload: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class QuarantinedItem:
    """What comes out: an entry with its id."""

    id: int
    received_ms: int
    source: str
    topic: str
    reason: str
    detail: str
    payload: bytes
    payload_len: int
    attempts: int = 0  # automatic retries made so far (db_rejected lines)

    @property
    def truncated(self) -> bool:
        return len(self.payload) < self.payload_len


class QuarantineStore:
    def __init__(self, path: Path, *, max_rows: int, max_bytes: int = DEFAULT_MAX_BYTES,
                 max_payload_bytes: int = 300 * 1024) -> None:
        if max_rows < 1 or max_bytes < 1:
            raise ValueError("max_rows and max_bytes must be >= 1")
        self.path = Path(path)
        self._max_rows = max_rows
        self._max_bytes = max_bytes
        self._max_payload = max_payload_bytes
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # check_same_thread off: created by the service thread, used by the writer thread only.
        self._db = sqlite3.connect(str(self.path), timeout=30, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        with self._transaction():
            self._db.execute(_SCHEMA.split(";", 1)[0])  # the table first, so migrations can inspect it
            columns = {r[1] for r in self._db.execute("PRAGMA table_info(quarantine)")}
            for column, sql in _MIGRATIONS:
                if column not in columns:
                    self._db.execute(sql)
        self._db.executescript(_SCHEMA)
        self.added = 0
        self.evicted = 0
        self.evicted_by_reason: dict[str, int] = {}

    def close(self) -> None:
        self._db.close()

    def totals(self) -> tuple[int, int]:
        """(entries, bytes of payload and detail) as stored now, by any process."""
        rows, size = self._db.execute("SELECT rows, bytes FROM quarantine_totals WHERE id = 0").fetchone()
        return int(rows), int(size)

    @property
    def bytes(self) -> int:
        return self.totals()[1]

    def add(self, entries: Sequence[QuarantineEntry]) -> dict[str, int]:
        """Store ``entries`` in one transaction (durable on return); return what was evicted to make
        room, per reason (empty when nothing was)."""
        if not entries:
            return {}
        rows = [
            (e.received_ms, e.source, e.topic, e.reason, e.detail, e.payload[: self._max_payload], len(e.payload))
            for e in entries
        ]
        with self._transaction():
            self._db.executemany(
                "INSERT INTO quarantine (received_ms, source, topic, reason, detail, payload, payload_len)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            evicted = self._evict()
        self.added += len(rows)
        for reason, n in evicted.items():
            self.evicted += n
            self.evicted_by_reason[reason] = self.evicted_by_reason.get(reason, 0) + n
        return evicted

    def _evict(self) -> dict[str, int]:
        """Delete the oldest entries until both bounds hold (inside the caller's transaction)."""
        evicted: dict[str, int] = {}
        while True:
            rows, size = self.totals()
            if rows <= self._max_rows and size <= self._max_bytes:
                return evicted
            victims: list[int] = []
            for item_id, reason, item_size in self._db.execute(
                    "SELECT id, reason, length(payload) + length(detail) FROM quarantine ORDER BY id LIMIT ?",
                    (_EVICT_CHUNK,)):
                if rows <= self._max_rows and size <= self._max_bytes:
                    break
                victims.append(item_id)
                evicted[reason] = evicted.get(reason, 0) + 1
                rows, size = rows - 1, size - int(item_size)
            if not victims:  # totals out of step with the rows (cannot happen with the triggers)
                return evicted
            self._db.executemany("DELETE FROM quarantine WHERE id = ?", [(i,) for i in victims])

    def list(self, *, reason: str | None = None, limit: int = 1000, after_id: int = 0) -> list[QuarantinedItem]:
        """Entries (oldest first) with ``id > after_id``, optionally of one reason; at most ``limit``."""
        sql = "SELECT id, received_ms, source, topic, reason, detail, payload, payload_len, attempts FROM quarantine"
        sql += " WHERE id > ?"
        params: list[object] = [after_id]
        if reason is not None:
            sql += " AND reason = ?"
            params.append(reason)
        sql += " ORDER BY id LIMIT ?"
        params.append(limit)
        return [
            QuarantinedItem(
                id=r[0], received_ms=r[1], source=r[2], topic=r[3], reason=r[4], detail=r[5],
                payload=bytes(r[6]), payload_len=r[7], attempts=r[8],
            )
            for r in self._db.execute(sql, params)
        ]

    def due_retries(self, *, reason: str, now_ms: int, max_attempts: int,
                    limit: int) -> builtins.list[QuarantinedItem]:
        """Entries of ``reason`` whose next automatic retry is due (fewer than ``max_attempts`` made)."""
        sql = ("SELECT id, received_ms, source, topic, reason, detail, payload, payload_len, attempts FROM quarantine"
               " WHERE reason = ? AND attempts < ? AND retry_at_ms <= ? ORDER BY id LIMIT ?")
        return [QuarantinedItem(id=r[0], received_ms=r[1], source=r[2], topic=r[3], reason=r[4], detail=r[5],
                                payload=bytes(r[6]), payload_len=r[7], attempts=r[8])
                for r in self._db.execute(sql, (reason, max_attempts, now_ms, limit))]

    def retry_later(self, item_id: int, *, attempts: int, retry_at_ms: int, detail: str) -> None:
        """An automatic retry failed again: count it and schedule the next."""
        with self._transaction():
            self._db.execute("UPDATE quarantine SET attempts = ?, retry_at_ms = ?, detail = ? WHERE id = ?",
                             (attempts, retry_at_ms, detail, item_id))

    def counts(self) -> dict[str, int]:
        """Stored entries per reason."""
        rows = self._db.execute("SELECT reason, COUNT(*) FROM quarantine GROUP BY reason ORDER BY reason")
        return {str(r): int(n) for r, n in rows}

    def __len__(self) -> int:
        return self.totals()[0]

    def delete(self, ids: Iterable[int]) -> int:
        """Remove entries (after a successful replay); return how many were removed."""
        id_list = [(i,) for i in ids]
        if not id_list:
            return 0
        with self._transaction():
            cur = self._db.executemany("DELETE FROM quarantine WHERE id = ?", id_list)
        return int(cur.rowcount)

    def update_reason(self, item_id: int, *, reason: str, detail: str) -> None:
        """After a failed replay: keep the entry with the reason it fails for now."""
        with self._transaction():
            self._db.execute("UPDATE quarantine SET reason = ?, detail = ? WHERE id = ?", (reason, detail, item_id))

    def _transaction(self) -> _Tx:
        return _Tx(self._db)


class _Tx:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *_: object) -> None:
        self._db.execute("ROLLBACK" if exc_type else "COMMIT")
