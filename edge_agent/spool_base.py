"""The spool's storage core (:mod:`seamline.edge_agent.spool` describes the design): its SQLite
schema and value types, the connection and its per-transaction durability, one write-transaction
context manager, and the append-then-bound step of a commit (drop policy, history forgotten first)."""

from __future__ import annotations

import contextlib
import enum
import logging
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from seamline.edge_agent import history
from seamline.edge_agent import quarantine as quarantine_table

log = logging.getLogger("seamline.edge_agent.spool")  # one logger for all the spool's parts

SCHEMA_VERSION = 1
DISK_FULL_DROPPED = "disk_full_dropped"
# Approximate SQLite cost of a row beyond topic and payload: record header, integer columns,
# the (priority, id) index entry and page slack. It makes many tiny messages count for what
# they really occupy.
ROW_OVERHEAD_BYTES = 64
# After a WAL checkpoint SQLite truncates the -wal file to this size, so a burst does not leave
# a large WAL on the gateway's SD card for ever.
WAL_SIZE_LIMIT_BYTES = 4 * 1024 * 1024
# SQLite's page cache (default 2000 KiB). Hot are the checkpoints (~60 pages for 200 machines),
# the newest messages and the oldest un-acked ones; the OS page cache holds the rest. 512 KiB:
# ~0.5 MB less RSS with 200 machines at the same CPU per batch (bench/gateway_footprint.py).
PAGE_CACHE_KIB = 512
# Rows examined per query when the drop policy runs (SQLite's default limit on bound parameters,
# used by the DELETE of the victims, is far above this).
_DROP_SCAN_ROWS = 256

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- AUTOINCREMENT: ids never reused, even when empty
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    priority INTEGER NOT NULL,
    retain INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    size INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_drop_order ON messages (priority, id);
CREATE TABLE IF NOT EXISTS checkpoints (key TEXT PRIMARY KEY, blob BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
"""


class Priority(enum.IntEnum):
    """Lower value = dropped first when the spool is full."""

    TELEMETRY = 0  # self-telemetry of the gateway
    AGGREGATE = 1  # periodic aggregates / samples
    STATE = 2  # state changes, kept longest


@dataclass(frozen=True, slots=True)
class OutMessage:
    topic: str
    payload: bytes
    priority: Priority
    retain: bool = False


@dataclass(frozen=True, slots=True)
class SpooledMessage:
    id: int
    topic: str
    payload: bytes
    priority: Priority
    retain: bool
    created_ms: int  # wall clock, ms since the Unix epoch, when it was committed
    replay: bool = False  # republished from the retained history for a resend


@dataclass(frozen=True, slots=True)
class SpoolStats:
    messages: int
    bytes: int  # sum of message_size_bytes over stored messages
    oldest_created_ms: int | None
    dropped_total: int
    dropped_by_priority: dict[Priority, int]
    put_total: int
    acked_total: int
    history: history.HistoryStats | None = None
    disk_full_dropped: int = 0
    footprint_bytes: int = 0  # database + WAL + journal files


class SpoolError(Exception):
    """The spool file cannot be opened or written (corrupt, disk full, closed)."""


def message_size_bytes(topic: str, payload: bytes) -> int:
    """What one message counts against ``max_bytes``: UTF-8 topic + payload + row overhead."""
    return len(topic.encode("utf-8")) + len(payload) + ROW_OVERHEAD_BYTES


def _wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000



def _rollback(db: sqlite3.Connection) -> None:
    """Roll back if a transaction is still open: on SQLITE_FULL SQLite has already rolled it back, and
    a second ROLLBACK would hide the real error behind 'cannot rollback - no transaction is active'."""
    if db.in_transaction:
        db.execute("ROLLBACK")


def _counter_name(priority: Priority) -> str:
    return f"dropped_{int(priority)}"

class SpoolBase:
    """What the spool's parts share: the file, its lock and the in-memory totals."""

    def __init__(
        self, path: Path, *, max_bytes: int, now_ms: Callable[[], int] = _wall_clock_ms,
        commit_sync: Literal["FULL", "NORMAL"] = "FULL", history_retention_ms: int = 0,
        reserve_bytes: int = 0, free_bytes: Callable[[Path], int] | None = None,
        fault: Callable[[str], None] | None = None,
    ) -> None:
        """``commit_sync`` NORMAL trades power-cut durability of the last commits for speed
        (still safe against kill -9); see the module docstring and bench/edge_publish.py.
        ``history_retention_ms`` > 0 keeps acknowledged messages until confirmed (0: deleted at
        once). ``reserve_bytes``: free space left on the filesystem. ``free_bytes`` and ``fault``
        (called before each write transaction with its name; may raise ``sqlite3.Error``) are
        test hooks."""
        if max_bytes <= 0:
            raise ValueError(f"max_bytes must be > 0, got {max_bytes}")
        if commit_sync not in ("FULL", "NORMAL"):
            raise ValueError(f"commit_sync must be FULL or NORMAL, got {commit_sync!r}")
        self._commit_sync = commit_sync
        self._path = Path(path)
        self._max_bytes = max_bytes
        self._now_ms = now_ms
        self._retention_ms = max(0, int(history_retention_ms))
        self._reserve = max(0, int(reserve_bytes))
        self._free_bytes = free_bytes or (lambda p: shutil.disk_usage(p).free)
        self._fault = fault
        self._disk_full = False
        self._lock = threading.Lock()
        self._sync: str | None = None
        try:
            self._db: sqlite3.Connection | None = sqlite3.connect(
                self._path, isolation_level=None, check_same_thread=False
            )
            self._setup()
        except sqlite3.Error as exc:
            raise SpoolError(f"cannot open spool {self._path}: {exc}") from exc

    def _setup(self) -> None:
        db = self._conn()
        mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise SpoolError(f"spool {self._path}: journal_mode WAL refused (got {mode})")
        db.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT_BYTES}")
        db.execute(f"PRAGMA cache_size=-{PAGE_CACHE_KIB}")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version not in (0, SCHEMA_VERSION):
            raise SpoolError(f"spool {self._path} has schema version {version}, expected {SCHEMA_VERSION}")
        db.executescript(_SCHEMA)
        db.executescript(quarantine_table.QUARANTINE_SCHEMA)  # new table, same version: older files gain it
        db.executescript(history.HISTORY_SCHEMA)
        if "replay" not in {r[1] for r in db.execute("PRAGMA table_info(messages)")}:
            db.execute("ALTER TABLE messages ADD COLUMN replay INTEGER NOT NULL DEFAULT 0")
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        count, total = db.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM messages").fetchone()
        self._count = int(count)
        self._bytes = int(total)
        counters = dict(db.execute("SELECT name, value FROM counters").fetchall())
        self._put_total = int(counters.get("put_total", 0))
        self._acked_total = int(counters.get("acked_total", 0))
        self._dropped = {p: int(counters.get(_counter_name(p), 0)) for p in Priority}
        self._disk_full_dropped = int(counters.get(DISK_FULL_DROPPED, 0))
        self._hist_count, self._hist_bytes = history.totals(db)

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise SpoolError(f"spool {self._path} is closed")
        return self._db

    def _set_sync(self, mode: str) -> None:
        if self._sync != mode:
            self._conn().execute(f"PRAGMA synchronous={mode}")
            self._sync = mode

    @property
    def path(self) -> Path:
        return self._path

    @property
    def max_bytes(self) -> int:
        return self._max_bytes

    def _commit_rows(self, rows: list[tuple[str, bytes, int, int, int]], checkpoint: Mapping[str, bytes],
                     bound: int) -> list[int]:
        db = self._conn()
        self._set_sync(self._commit_sync)
        self._transaction(db, "commit")
        try:
            ids, added = self._insert(db, rows, checkpoint)
            dropped, dropped_bytes, forgotten = self._enforce_bound(db, self._bytes + self._hist_bytes + added, bound)
            self._write_counters(db, put=len(rows), acked=0, dropped=dropped)
            db.execute("COMMIT")
        except BaseException:
            _rollback(db)
            raise
        self._count += len(rows) - sum(dropped.values())
        self._bytes += added - dropped_bytes
        self._hist_count -= forgotten[0]
        self._hist_bytes -= forgotten[1]
        self._put_total += len(rows)
        for p, n in dropped.items():
            self._dropped[p] += n
        return ids

    @contextlib.contextmanager
    def _write(self, db: sqlite3.Connection, name: str) -> Iterator[None]:
        """One write transaction: committed when the block ends, rolled back if it raises; an
        SQLite error becomes a :class:`SpoolError` naming ``name``."""
        try:
            self._transaction(db, name)
            try:
                yield
                db.execute("COMMIT")
            except BaseException:
                _rollback(db)
                raise
        except sqlite3.Error as exc:
            raise SpoolError(f"spool {self._path}: {name} failed: {exc}") from exc

    def _transaction(self, db: sqlite3.Connection, name: str) -> None:
        if self._fault is not None:
            self._fault(name)
        db.execute("BEGIN IMMEDIATE")

    def _row(self, m: OutMessage) -> tuple[str, bytes, int, int, int]:
        if not isinstance(m.topic, str) or not m.topic:
            raise ValueError(f"topic must be a non-empty string, got {m.topic!r}")
        if not isinstance(m.payload, bytes | bytearray | memoryview):
            raise ValueError(f"payload must be bytes, got {type(m.payload).__name__}")
        priority = Priority(m.priority)
        size = message_size_bytes(m.topic, bytes(m.payload))
        if size > self._max_bytes:
            raise ValueError(f"message on {m.topic!r} counts {size} bytes, more than max_bytes={self._max_bytes}")
        return (m.topic, bytes(m.payload), int(priority), int(bool(m.retain)), size)

    def _insert(
        self, db: sqlite3.Connection, rows: list[tuple[str, bytes, int, int, int]], checkpoint: Mapping[str, bytes]
    ) -> tuple[list[int], int]:
        now = self._now_ms()
        ids: list[int] = []
        added = 0
        for topic, payload, priority, retain, size in rows:
            cur = db.execute(
                "INSERT INTO messages (topic, payload, priority, retain, created_ms, size) VALUES (?,?,?,?,?,?)",
                (topic, payload, priority, retain, now, size),
            )
            ids.append(int(cur.lastrowid or 0))
            added += size
        for key, blob in checkpoint.items():
            db.execute(
                "INSERT INTO checkpoints (key, blob) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET blob = excluded.blob",
                (str(key), bytes(blob)),
            )
        return ids, added

    def _enforce_bound(
        self, db: sqlite3.Connection, total: int, bound: int
    ) -> tuple[dict[Priority, int], int, tuple[int, int]]:
        """Forget the oldest kept history, then delete lowest-priority, oldest unsent rows until
        ``total`` <= ``bound``; return the drops, their bytes and (history rows, bytes) forgotten."""
        dropped = {p: 0 for p in Priority}
        forgotten = (0, 0)
        if total > bound and self._hist_bytes:
            forgotten = history.evict_oldest(db, total - bound)
            if forgotten[0]:
                db.execute("INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET "
                           "value = value + excluded.value", (history.EVICTED, forgotten[0]))
            total -= forgotten[1]
        freed = 0
        while total - freed > bound:
            victims: list[int] = []
            scan = db.execute(
                "SELECT id, priority, size FROM messages ORDER BY priority, id LIMIT ?", (_DROP_SCAN_ROWS,)
            ).fetchall()
            if not scan:
                raise SpoolError(f"spool {self._path}: byte count {total - freed} with no rows left")
            for row_id, priority, size in scan:
                if total - freed <= bound:
                    break
                victims.append(int(row_id))
                dropped[Priority(priority)] += 1
                freed += int(size)
            db.execute(f"DELETE FROM messages WHERE id IN ({','.join('?' * len(victims))})", victims)
        return dropped, freed, forgotten

    def _write_counters(self, db: sqlite3.Connection, *, put: int, acked: int, dropped: Mapping[Priority, int],
                        extra: Mapping[str, int] | None = None) -> None:
        deltas = {"put_total": put, "acked_total": acked}
        deltas.update({_counter_name(p): n for p, n in dropped.items()})
        deltas.update(extra or {})
        for name, delta in deltas.items():
            if delta:
                db.execute(
                    "INSERT INTO counters (name, value) VALUES (?, ?) "
                    "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
                    (name, delta),
                )
