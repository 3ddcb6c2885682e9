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

import sqlite3
from collections.abc import Iterable, Mapping, Sequence

from seamline.edge_agent import history
from seamline.edge_agent import quarantine as quarantine_table
from seamline.edge_agent.quarantine import QuarantineStats, Rejection
from seamline.edge_agent.spool_base import (
    DISK_FULL_DROPPED,
    PAGE_CACHE_KIB,
    ROW_OVERHEAD_BYTES,
    SCHEMA_VERSION,
    WAL_SIZE_LIMIT_BYTES,
    OutMessage,
    Priority,
    SpooledMessage,
    SpoolError,
    SpoolStats,
    log,
    message_size_bytes,
)
from seamline.edge_agent.spool_disk import DiskGuard, _is_disk_full
from seamline.edge_agent.spool_replay import ReplayOps

__all__ = [
    "DISK_FULL_DROPPED", "PAGE_CACHE_KIB", "ROW_OVERHEAD_BYTES", "SCHEMA_VERSION", "WAL_SIZE_LIMIT_BYTES",
    "OutMessage", "Priority", "SpoolError", "SpoolStats", "SpooledMessage", "SqliteSpool", "message_size_bytes",
]

# Ids deleted per statement on ack (SQLite's default limit on bound parameters is far above this).
_ACK_CHUNK = 500


class SqliteSpool(DiskGuard, ReplayOps):
    """Thread-safe (one lock): the agent commits from its thread, the uplink peeks and acks
    from its own. One process per spool file."""

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
