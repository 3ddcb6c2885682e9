"""The durable quarantine: messages ingest could not store, kept for inspection and replay.

SQLite (WAL, synchronous=FULL so a committed entry survives a crash before the MQTT ack).
Bounded: at most ``max_rows`` entries; beyond that the oldest are evicted and counted, so a storm
of garbage cannot fill the disk, and the newest evidence is kept.
One store object is used by one thread at a time (the batcher's writer thread, or a CLI command).
"""

from __future__ import annotations

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
"""


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

    @property
    def truncated(self) -> bool:
        return len(self.payload) < self.payload_len


class QuarantineStore:
    def __init__(self, path: Path, *, max_rows: int, max_payload_bytes: int = 300 * 1024) -> None:
        if max_rows < 1:
            raise ValueError("max_rows must be >= 1")
        self.path = Path(path)
        self._max_rows = max_rows
        self._max_payload = max_payload_bytes
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # check_same_thread off: created by the service thread, used by the writer thread only.
        self._db = sqlite3.connect(str(self.path), timeout=30, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        # kept in memory: COUNT(*) is a full scan in SQLite
        (self._rows,) = self._db.execute("SELECT COUNT(*) FROM quarantine").fetchone()
        self.added = 0
        self.evicted = 0

    def close(self) -> None:
        self._db.close()

    def add(self, entries: Sequence[QuarantineEntry]) -> int:
        """Store ``entries`` in one transaction (durable on return); return how many were evicted."""
        if not entries:
            return 0
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
            self._rows += len(rows)
            evicted = self._evict()
            self._rows -= evicted
        self.added += len(rows)
        self.evicted += evicted
        return evicted

    def _evict(self) -> int:
        excess = int(self._rows) - self._max_rows
        if excess <= 0:
            return 0
        self._db.execute(
            "DELETE FROM quarantine WHERE id IN (SELECT id FROM quarantine ORDER BY id LIMIT ?)", (excess,)
        )
        return excess

    def list(self, *, reason: str | None = None, limit: int = 1000, after_id: int = 0) -> list[QuarantinedItem]:
        """Entries (oldest first) with ``id > after_id``, optionally of one reason; at most ``limit``."""
        sql = "SELECT id, received_ms, source, topic, reason, detail, payload, payload_len FROM quarantine"
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
                payload=bytes(r[6]), payload_len=r[7],
            )
            for r in self._db.execute(sql, params)
        ]

    def counts(self) -> dict[str, int]:
        """Stored entries per reason."""
        rows = self._db.execute("SELECT reason, COUNT(*) FROM quarantine GROUP BY reason ORDER BY reason")
        return {str(r): int(n) for r, n in rows}

    def __len__(self) -> int:
        return int(self._rows)

    def delete(self, ids: Iterable[int]) -> int:
        """Remove entries (after a successful replay); return how many were removed."""
        id_list = [(i,) for i in ids]
        if not id_list:
            return 0
        with self._transaction():
            cur = self._db.executemany("DELETE FROM quarantine WHERE id = ?", id_list)
        self._rows -= int(cur.rowcount)
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
