"""The spool's retained history at work (:mod:`seamline.edge_agent.history` keeps the table): a
confirm forgets what the platform stored, unconfirmed messages are queued again after a while, and
a resend queues the kept messages it asks for (as replays, never twice while still queued) and
returns what is gone for good."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from seamline.contracts.seqranges import Range
from seamline.edge_agent import history
from seamline.edge_agent.spool_base import SpoolBase, message_size_bytes


class ReplayOps(SpoolBase):
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
