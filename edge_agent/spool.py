"""The durable outgoing spool: every message is on disk before it is published, and leaves the
disk only after the broker's PUBACK (``ack``) or when the byte bound forces the drop policy.

SQLite in WAL mode. One transaction (``commit``) appends messages *and* the agent's checkpoint
blobs, so after ``kill -9`` the agent's derivation state and the spool always agree.

Durability, decided per transaction (``PRAGMA synchronous`` is a per-connection setting that may
change between transactions):

* ``commit`` runs with ``synchronous=FULL``: the WAL is fsynced before COMMIT returns, so a
  committed message also survives a power cut, not just ``kill -9``. The agent commits once per
  aggregation tick (a batch), so the price is one fsync per batch, not per message.
* ``ack`` runs with ``synchronous=NORMAL``: losing the last acks in a power cut only means those
  messages are published again, and duplicates are allowed downstream (the payloads carry
  sequence numbers). Acks come per PUBACK burst, so skipping their fsync is where the speed is.

Both survive ``kill -9`` (the WAL is in the OS page cache) and a torn last WAL frame (SQLite
discards frames after the last valid commit frame). ``bench/edge_publish.py`` measures both modes.

Bound: ``max_bytes`` counts :func:`message_size_bytes` of the stored messages (topic + payload +
a fixed per-row estimate), not the file size; SQLite reuses freed pages, so the file stays near
the high-water mark of that figure. Checkpoint blobs are not counted (a few per machine).

What the broker refuses leaves ``messages`` for the ``quarantine`` table (``quarantine``, see
:mod:`seamline.edge_agent.quarantine`), which has its own bound.

With ``history_retention_ms`` > 0, what the broker acknowledged is kept in the ``sent`` table until
the platform confirms it is stored (:mod:`seamline.edge_agent.history`); those bytes count against
``max_bytes`` too and are forgotten first when room is needed. A ``resend`` copies kept messages
back into ``messages`` marked as replays.

Disk: after a commit the WAL is checkpointed and truncated when it grew past its allowance; below
``reserve_bytes`` of free space on the filesystem the spool takes no more room (new messages
replace old ones by the drop policy); and a write SQLite refuses with *database or disk is full*
is not fatal: the batch is dropped by the policy, counted (``disk_full_dropped``), logged once per
episode, and writing resumes when space returns.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from seamline.contracts.seqranges import Range
from seamline.edge_agent import history
from seamline.edge_agent import quarantine as quarantine_table
from seamline.edge_agent.quarantine import QuarantineStats, Rejection

log = logging.getLogger(__name__)

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
# Rows examined per query when the drop policy runs and ids deleted per statement on ack
# (SQLite's default limit on bound parameters is far above this).
_DROP_SCAN_ROWS = 256
_ACK_CHUNK = 500

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


def _is_disk_full(exc: sqlite3.Error) -> bool:
    return getattr(exc, "sqlite_errorcode", None) == 13 or "disk is full" in str(exc)  # SQLITE_FULL


def _rollback(db: sqlite3.Connection) -> None:
    """Roll back if a transaction is still open: on SQLITE_FULL SQLite has already rolled it back, and
    a second ROLLBACK would hide the real error behind 'cannot rollback - no transaction is active'."""
    if db.in_transaction:
        db.execute("ROLLBACK")


def _counter_name(priority: Priority) -> str:
    return f"dropped_{int(priority)}"


class SqliteSpool:
    """Thread-safe (one lock): the agent commits from its thread, the uplink peeks and acks
    from its own. One process per spool file."""

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

    def commit(self, messages: Sequence[OutMessage], checkpoint: Mapping[str, bytes] | None = None) -> list[int]:
        """Append ``messages`` (ids increase, global FIFO) and upsert ``checkpoint`` in ONE
        fsynced transaction, then enforce ``max_bytes``: drop lowest priority first, oldest
        first within a priority (the new messages included), counting every drop.

        Returns the new ids (some may already be dropped if the spool was full). Raises
        ValueError for a message that alone exceeds ``max_bytes``; SpoolError if SQLite fails
        (nothing of the call is then stored).
        """
        rows = [self._row(m) for m in messages]
        with self._lock:
            try:
                ids = self._commit_rows(rows, checkpoint or {}, self._bound())
            except sqlite3.OperationalError as exc:
                if not _is_disk_full(exc):
                    raise SpoolError(f"spool {self._path}: commit failed: {exc}") from exc
                return self._commit_disk_full(rows, checkpoint or {}, exc)
            except sqlite3.Error as exc:
                raise SpoolError(f"spool {self._path}: commit failed: {exc}") from exc
            if self._disk_full:
                self._disk_full = False
                log.warning("spool %s: disk space is back, storing again (%d messages dropped while full)",
                            self._path, self._disk_full_dropped)
            self._fold_wal(force=self._low_on_disk())
            return ids

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

    def _bound(self) -> int:
        """``max_bytes``, or no growth at all while the filesystem is below its reserve."""
        if not self._reserve:
            return self._max_bytes
        try:
            free = self._free_bytes(self._path.parent)
        except OSError:
            return self._max_bytes
        if free >= self._reserve:
            return self._max_bytes
        return min(self._max_bytes, self._bytes + self._hist_bytes)

    def _low_on_disk(self) -> bool:
        """Free space under twice the reserve: fold the WAL back after every commit."""
        if not self._reserve:
            return False
        try:
            return self._free_bytes(self._path.parent) < 2 * self._reserve
        except OSError:
            return False

    def _commit_disk_full(self, rows: list[tuple[str, bytes, int, int, int]], checkpoint: Mapping[str, bytes],
                          exc: sqlite3.Error) -> list[int]:
        """SQLite refused the write for want of disk: fold the WAL back, forget the history and retry
        without growth; failing that, keep the checkpoint and drop the batch (counted)."""
        if not self._disk_full:
            log.error("spool %s: disk full (%s): new messages replace old ones by the drop policy, what does "
                      "not fit is dropped and counted (%s) until space returns", self._path, exc, DISK_FULL_DROPPED)
        self._disk_full = True
        self._fold_wal(force=True)
        for attempt in (rows, []):
            try:
                ids = self._commit_rows(attempt, checkpoint, min(self._max_bytes, self._bytes))
            except sqlite3.Error:
                continue
            if attempt:
                return ids
            break
        self._count_disk_full(len(rows))
        return []

    def _count_disk_full(self, n: int) -> None:
        self._disk_full_dropped += n
        try:  # may fail too while the disk is full; the in-memory figure stays right
            db = self._conn()
            self._write_counters(db, put=0, acked=0, dropped={}, extra={DISK_FULL_DROPPED: n})
        except sqlite3.Error:
            pass

    def _fold_wal(self, *, force: bool = False) -> None:
        """Checkpoint and truncate the WAL once it outgrew its allowance (or ``force``)."""
        wal = Path(f"{self._path}-wal")
        try:
            if force or wal.stat().st_size > min(WAL_SIZE_LIMIT_BYTES, max(self._max_bytes // 8, 64 * 1024)):
                self._conn().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except (OSError, sqlite3.Error):
            pass

    def footprint_bytes(self) -> int:
        """Bytes on disk: the database, its WAL and any rollback journal."""
        total = 0
        for suffix in ("", "-wal", "-journal", "-shm"):
            with contextlib.suppress(OSError):
                total += os.stat(f"{self._path}{suffix}").st_size
        return total

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

    def load_checkpoint(self, key: str) -> bytes | None:
        with self._lock:
            row = self._conn().execute("SELECT blob FROM checkpoints WHERE key = ?", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def checkpoints(self) -> dict[str, bytes]:
        with self._lock:
            rows = self._conn().execute("SELECT key, blob FROM checkpoints ORDER BY key").fetchall()
        return {str(k): bytes(b) for k, b in rows}

    def peek(self, *, after_id: int = 0, limit: int = 100) -> list[SpooledMessage]:
        """Up to ``limit`` stored messages with id > ``after_id``, in id (= commit) order."""
        if limit <= 0:
            return []
        with self._lock:
            rows = self._conn().execute(
                "SELECT id, topic, payload, priority, retain, created_ms, replay FROM messages "
                "WHERE id > ? ORDER BY id LIMIT ?",
                (after_id, limit),
            ).fetchall()
        return [
            SpooledMessage(id=int(i), topic=t, payload=bytes(p), priority=Priority(pr), retain=bool(r), created_ms=c,
                           replay=bool(rp))
            for i, t, p, pr, r, c, rp in rows
        ]

    def ack(self, ids: Iterable[int]) -> None:
        """Delete delivered messages (after PUBACK). Unknown ids (already acked or dropped) are
        ignored. Not fsynced: a lost ack only causes a duplicate publish."""
        wanted = sorted({int(i) for i in ids})
        if not wanted:
            return
        with self._lock:
            db = self._conn()
            self._set_sync("NORMAL")
            with self._write(db, "ack"):
                n, freed, kept, expired = self._ack_rows(db, wanted)
                self._write_counters(db, put=0, acked=n, dropped={}, extra={history.EXPIRED: expired[0]})
            self._count -= n
            self._bytes -= freed
            self._hist_count += kept[0] - expired[0]
            self._hist_bytes += kept[1] - expired[1]
            self._acked_total += n

    def _ack_rows(self, db: sqlite3.Connection, wanted: list[int]) -> tuple[int, int, tuple[int, int], tuple[int, int]]:
        n = freed = kept_n = kept_b = 0
        now = self._now_ms()
        for start in range(0, len(wanted), _ACK_CHUNK):
            chunk = wanted[start : start + _ACK_CHUNK]
            rows = db.execute(
                f"DELETE FROM messages WHERE id IN ({','.join('?' * len(chunk))}) "
                "RETURNING id, topic, payload, priority, size", chunk
            ).fetchall()
            n += len(rows)
            freed += sum(int(r[4]) for r in rows)
            if self._retention_ms:
                k, b = history.keep(db, rows, now_ms=now)
                kept_n += k
                kept_b += b
        expired = history.expire(db, before_ms=now - self._retention_ms) if self._retention_ms else (0, 0)
        return n, freed, (kept_n, kept_b), expired

    # -- the retained history: confirm and resend ---------------------------------------------

    def confirm(self, stored: Mapping[str, Sequence[Range]]) -> int:
        """Forget kept messages whose seq range the platform has stored (asset key ``area/asset``)."""
        with self._lock:
            db = self._conn()
            self._set_sync("NORMAL")
            with self._write(db, "confirm"):
                n, freed = history.confirm(db, stored)
                self._write_counters(db, put=0, acked=0, dropped={}, extra={history.CONFIRMED: n})
            self._hist_count -= n
            self._hist_bytes -= freed
            return n

    def replay_unconfirmed(self, *, older_than_ms: int, limit: int = 10_000) -> int:
        """Queue again (as replays) kept messages acknowledged more than ``older_than_ms`` ago that no
        confirm has covered; each at most once per ``older_than_ms``, and none while earlier replays
        are still queued (an uplink slower than the period would otherwise queue copies of copies).
        Returns how many."""
        with self._lock:
            db = self._conn()
            if history.replays_queued(db):
                return 0
            self._set_sync("NORMAL")
            now = self._now_ms()
            added = 0
            with self._write(db, "replay"):
                rows = history.unconfirmed(db, acked_before_ms=now - older_than_ms, now_ms=now, limit=limit)
                for topic, payload, priority in rows:
                    size = message_size_bytes(topic, payload)
                    db.execute("INSERT INTO messages (topic, payload, priority, retain, created_ms, size, replay) "
                               "VALUES (?,?,?,0,?,?,1)", (topic, payload, priority, now, size))
                    added += size
                self._write_counters(db, put=0, acked=0, dropped={}, extra={history.REPLAYED: len(rows)})
            # counted once committed: a rolled-back replay leaves the in-memory totals as they were
            self._count += len(rows)
            self._bytes += added
            return len(rows)

    def resend(self, wanted: Mapping[str, Sequence[Range]]) -> dict[str, list[Range]]:
        """Queue the kept messages overlapping ``wanted`` again (marked as replays, highest priority
        kept); return per asset what neither the history nor the unsent messages hold: lost."""
        from seamline.contracts import seqranges

        lost: dict[str, list[Range]] = {}
        with self._lock:
            db = self._conn()
            self._set_sync("NORMAL")
            with self._write(db, "resend"):
                queued = 0
                for asset, ranges in wanted.items():
                    unsent = history.pending(db, asset)  # delivered anyway: not queued twice
                    have: list[Range] = list(unsent)
                    for first, last in seqranges.merge(ranges):
                        for _id, topic, payload, priority, rng in history.lookup(db, asset, first, last):
                            if rng in unsent:
                                continue
                            unsent.add(rng)
                            db.execute(
                                "INSERT INTO messages (topic, payload, priority, retain, created_ms, size, replay) "
                                "VALUES (?,?,?,0,?,?,1)",
                                (topic, payload, priority, self._now_ms(), message_size_bytes(topic, payload)))
                            queued += 1
                            have.append(rng)
                    missing = seqranges.subtract(ranges, have)
                    if missing:
                        lost[asset] = missing
                # replays are copies: their kept originals stay until a confirm covers them
                self._write_counters(db, put=0, acked=0, dropped={}, extra={history.REPLAYED: queued})
            self._count, self._bytes = (int(v) for v in db.execute(
                "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM messages").fetchone())
            return lost

    def quarantine(self, rejections: Sequence[Rejection]) -> int:
        """Move messages the broker refused from the spool to the quarantine (one transaction),
        counting each by reason; the oldest quarantined ones are evicted past the quarantine's
        bound (:func:`seamline.edge_agent.quarantine.quarantine_bound`). Returns how many moved."""
        if not rejections:
            return 0
        with self._lock:
            db = self._conn()
            self._set_sync("NORMAL")  # like acks: a lost move means one more refused publish
            with self._write(db, "quarantine"):
                moved, freed, _evicted = quarantine_table.move(
                    db, rejections, now_ms=self._now_ms(),
                    max_bytes=quarantine_table.quarantine_bound(self._max_bytes))
            self._count -= moved
            self._bytes -= freed
            return moved

    def quarantine_stats(self) -> QuarantineStats:
        with self._lock:
            return quarantine_table.stats(self._conn())

    def quarantined(self, *, limit: int = 100) -> list[quarantine_table.QuarantinedMessage]:
        """The newest ``limit`` quarantined messages, oldest first."""
        with self._lock:
            return quarantine_table.listing(self._conn(), limit=limit)

    def stats(self) -> SpoolStats:
        with self._lock:
            db = self._conn()
            row = db.execute("SELECT created_ms FROM messages ORDER BY id LIMIT 1").fetchone()
            counters = dict(db.execute("SELECT name, value FROM counters").fetchall())
            hist = history.HistoryStats(
                messages=self._hist_count, bytes=self._hist_bytes,
                confirmed_total=int(counters.get(history.CONFIRMED, 0)),
                expired_total=int(counters.get(history.EXPIRED, 0)),
                evicted_total=int(counters.get(history.EVICTED, 0)),
                replayed_total=int(counters.get(history.REPLAYED, 0)))
            return SpoolStats(
                messages=self._count,
                bytes=self._bytes,
                oldest_created_ms=None if row is None else int(row[0]),
                dropped_total=sum(self._dropped.values()),
                dropped_by_priority=dict(self._dropped),
                put_total=self._put_total,
                acked_total=self._acked_total,
                history=hist,
                disk_full_dropped=self._disk_full_dropped,
                footprint_bytes=self.footprint_bytes(),
            )

    def close(self) -> None:
        """Close the file (idempotent). The last connection to close folds the WAL back in."""
        with self._lock:
            db, self._db = self._db, None
            if db is not None:
                db.close()

    def __enter__(self) -> SqliteSpool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
