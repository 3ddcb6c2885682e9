"""The retained history: what the broker acknowledged, kept in the spool's SQLite file until the
platform confirms it is stored in the database (a ``confirm`` message), so that a ``resend`` can
be answered after the broker or the database lost messages.

A delivered machine/asset ``data`` or ``state`` message leaves ``messages`` for ``sent`` in the
ack's transaction (its asset and seq range read from the payload). It leaves ``sent`` when a
confirm covers its seq range, when it is older than the retention, or when the spool's byte
bound needs the room (oldest first, before any unsent message is dropped). Its bytes count
against ``spool.max_bytes`` together with the unsent messages. Standard library + orjson: this
runs on the gateway.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import orjson

from seamline.contracts import seqranges
from seamline.contracts.seqranges import Range

HISTORY_SCHEMA = """
CREATE TABLE IF NOT EXISTS sent (
    id INTEGER PRIMARY KEY,  -- the id the message had in the spool
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    priority INTEGER NOT NULL,
    asset TEXT NOT NULL,  -- '<area>/<asset>'
    seq_first INTEGER NOT NULL,
    seq_last INTEGER NOT NULL,
    acked_ms INTEGER NOT NULL,
    size INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sent_asset_seq ON sent (asset, seq_first);
CREATE INDEX IF NOT EXISTS sent_acked ON sent (acked_ms);
"""
CONFIRMED = "history_confirmed"
EXPIRED = "history_expired"
EVICTED = "history_evicted"  # forgotten for room before a confirm covered it
REPLAYED = "history_replayed"
_KINDS = ("data", "state")


@dataclass(frozen=True, slots=True)
class HistoryStats:
    messages: int
    bytes: int
    confirmed_total: int
    expired_total: int
    evicted_total: int
    replayed_total: int


def asset_and_seqs(topic: str, payload: bytes) -> tuple[str, int, int] | None:
    """``('<area>/<asset>', first seq, last seq)`` of a data or state message (the gateway's own
    self-telemetry included), else None (birth, status, lost, or a payload without seq)."""
    parts = topic.split("/")
    if len(parts) != 7 or parts[6] not in _KINDS:
        return None
    try:
        obj = orjson.loads(payload)
        seqs = [int(s["seq"]) for s in obj["samples"]] if parts[6] == "data" else [int(obj["seq"])]
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None
    if not seqs:
        return None
    return f"{parts[4]}/{parts[5]}", min(seqs), max(seqs)


def keep(db: sqlite3.Connection, rows: Iterable[tuple[int, str, bytes, int, int]], *, now_ms: int) -> tuple[int, int]:
    """Inside the ack's transaction: keep the acknowledged ``(id, topic, payload, priority, size)``
    rows that carry seq numbers. Returns the change of (rows kept, their bytes)."""
    n = total = 0
    for row_id, topic, payload, priority, size in rows:
        found = asset_and_seqs(topic, bytes(payload))
        if found is None:
            continue
        asset, first, last = found
        for (old,) in db.execute("DELETE FROM sent WHERE asset = ? AND seq_first = ? AND seq_last = ? RETURNING size",
                                 (asset, first, last)).fetchall():  # a replay acked again replaces its original
            n -= 1
            total -= int(old)
        db.execute(
            "INSERT OR REPLACE INTO sent (id, topic, payload, priority, asset, seq_first, seq_last, acked_ms, size) "
            "VALUES (?,?,?,?,?,?,?,?,?)", (row_id, topic, payload, priority, asset, first, last, now_ms, size))
        n += 1
        total += int(size)
    return n, total


def _delete(db: sqlite3.Connection, where: str, args: Sequence[object]) -> tuple[int, int]:
    sizes = db.execute(f"DELETE FROM sent WHERE {where} RETURNING size", args).fetchall()
    return len(sizes), sum(int(s) for (s,) in sizes)


def confirm(db: sqlite3.Connection, stored: Mapping[str, Sequence[Range]]) -> tuple[int, int]:
    """Forget what the platform has stored (per asset key, inclusive ranges). Returns (rows, bytes)."""
    n = total = 0
    for asset, ranges in stored.items():
        for first, last in seqranges.merge(ranges):
            k, b = _delete(db, "asset = ? AND seq_first >= ? AND seq_last <= ?", (asset, first, last))
            n += k
            total += b
    return n, total


def expire(db: sqlite3.Connection, *, before_ms: int) -> tuple[int, int]:
    return _delete(db, "acked_ms < ?", (before_ms,))


def evict_oldest(db: sqlite3.Connection, need_bytes: int) -> tuple[int, int]:
    """Forget the oldest kept messages until ``need_bytes`` are freed (or none are left)."""
    n = total = 0
    while total < need_bytes:
        rows = db.execute("SELECT id, size FROM sent ORDER BY id LIMIT 256").fetchall()
        if not rows:
            break
        ids: list[int] = []
        for row_id, size in rows:
            if total >= need_bytes:
                break
            ids.append(int(row_id))
            total += int(size)
        db.execute(f"DELETE FROM sent WHERE id IN ({','.join('?' * len(ids))})", ids)
        n += len(ids)
    return n, total


def lookup(db: sqlite3.Connection, asset: str, first: int, last: int) -> list[tuple[int, str, bytes, int, Range]]:
    """Kept messages of ``asset`` overlapping ``[first, last]``: (id, topic, payload, priority, range)."""
    rows = db.execute(
        "SELECT id, topic, payload, priority, seq_first, seq_last FROM sent WHERE asset = ? AND seq_first <= ? "
        "AND seq_last >= ? ORDER BY seq_first", (asset, last, first)).fetchall()
    return [(int(i), str(t), bytes(p), int(pr), (int(a), int(b))) for i, t, p, pr, a, b in rows]


def unconfirmed(
    db: sqlite3.Connection, *, acked_before_ms: int, now_ms: int, limit: int
) -> list[tuple[str, bytes, int]]:
    """Kept messages acknowledged before ``acked_before_ms`` that no confirm has covered since:
    the platform has not stored them (a tail the broker dropped shows no hole to ask for). Returns
    (topic, payload, priority) and restarts their clock, so each is replayed once per period."""
    rows = db.execute("SELECT id, topic, payload, priority FROM sent WHERE acked_ms < ? ORDER BY id LIMIT ?",
                      (acked_before_ms, limit)).fetchall()
    ids = [int(r[0]) for r in rows]
    if ids:
        db.execute(f"UPDATE sent SET acked_ms = ? WHERE id IN ({','.join('?' * len(ids))})", [now_ms, *ids])
    return [(str(t), bytes(p), int(pr)) for _i, t, p, pr in rows]


def pending(db: sqlite3.Connection, asset: str) -> set[Range]:
    """The seq range of each message of ``asset`` still unsent in ``messages`` (originals and
    replays alike: they will be delivered anyway)."""
    area, name = asset.split("/", 1)
    found: set[Range] = set()
    for topic, payload in db.execute("SELECT topic, payload FROM messages WHERE topic LIKE ?",
                                     (f"%/{area}/{name}/%",)):
        hit = asset_and_seqs(str(topic), bytes(payload))
        if hit is not None and hit[0] == asset:
            found.add((hit[1], hit[2]))
    return found


def pending_ranges(db: sqlite3.Connection, asset: str) -> list[Range]:
    """Seq ranges of ``asset`` still unsent in ``messages``, merged."""
    return seqranges.merge(pending(db, asset))


def replays_queued(db: sqlite3.Connection) -> bool:
    """Whether replays queued earlier are still unsent."""
    return db.execute("SELECT 1 FROM messages WHERE replay = 1 LIMIT 1").fetchone() is not None


def totals(db: sqlite3.Connection) -> tuple[int, int]:
    count, total = db.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM sent").fetchone()
    return int(count), int(total)
