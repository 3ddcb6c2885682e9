"""The spool on a nearly full disk: no growth below ``reserve_bytes`` of free space, the WAL folded
back when it outgrew its allowance (or always when space is short), and a write SQLite refuses with
*database or disk is full* dropped by the policy and counted (``disk_full_dropped``) instead of
failing: logged once per episode, writing resumes when space returns."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Mapping
from pathlib import Path

from seamline.edge_agent.spool_base import DISK_FULL_DROPPED, WAL_SIZE_LIMIT_BYTES, SpoolBase, log


def _is_disk_full(exc: sqlite3.Error) -> bool:
    return getattr(exc, "sqlite_errorcode", None) == 13 or "disk is full" in str(exc)  # SQLITE_FULL



class DiskGuard(SpoolBase):
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
