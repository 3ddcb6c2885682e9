"""The local quarantine: what the broker refused (PUBACK reason >= 0x80, e.g. 0x87 not authorised),
kept in the spool's SQLite file instead of deleted, so a misconfigured ACL or a wrong topic loses
nothing silently: it is counted by reason, logged, and listed by ``seamline edge quarantine list``.

A refused message leaves the spool's ``messages`` table (it would be refused again on every
reconnect and block nothing but the operator's view) and enters ``quarantine`` in the same
transaction. The quarantine has its own byte bound; past it the oldest quarantined messages are
evicted and counted. Standard library only: this runs on the gateway.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

QUARANTINE_SCHEMA = """
CREATE TABLE IF NOT EXISTS quarantine (
    id INTEGER PRIMARY KEY,  -- the id the message had in the spool
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    retain INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    rejected_ms INTEGER NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    size INTEGER NOT NULL
);
"""
# Of the spool's byte bound, the share the quarantine may use on top of it. Refusals come from a
# configuration error (ACL, topic), so they arrive at the telemetry rate until someone fixes it:
# a tenth keeps hours of evidence without letting a refused stream eat the gateway's disk.
QUARANTINE_SHARE = 0.1
REJECTED_PREFIX = "rejected:"
EVICTED_COUNTER = "quarantine_evicted"
# Longest detail text kept per message: a broker reason string, not a payload.
_MAX_DETAIL_CHARS = 300


@dataclass(frozen=True, slots=True)
class Rejection:
    """A spool message that will not be delivered: ``reason`` is a short stable code
    (``broker_0x87``, ``oversized``, ``invalid_topic``), ``detail`` says it for a person."""

    spool_id: int
    reason: str
    detail: str


@dataclass(frozen=True, slots=True)
class QuarantinedMessage:
    id: int
    topic: str
    payload: bytes
    retain: bool
    created_ms: int  # when the agent committed it (UTC ms)
    rejected_ms: int  # when the refusal came back (UTC ms)
    reason: str
    detail: str


@dataclass(frozen=True, slots=True)
class QuarantineStats:
    messages: int
    bytes: int
    rejected_by_reason: dict[str, int]  # every refusal ever counted, evicted ones included
    evicted_total: int


def broker_reason(code: int) -> str:
    """The reason code of a refused PUBACK, e.g. ``broker_0x87`` (not authorised)."""
    return f"broker_0x{code:02x}"


def quarantine_bound(spool_max_bytes: int) -> int:
    return max(1, int(spool_max_bytes * QUARANTINE_SHARE))


def move(
    db: sqlite3.Connection, rejections: Sequence[Rejection], *, now_ms: int, max_bytes: int
) -> tuple[int, int, int]:
    """Inside the caller's transaction: move each rejected message from ``messages`` to
    ``quarantine``, count it by reason, then evict the oldest quarantined messages beyond
    ``max_bytes``. Returns (moved, spool bytes freed, evicted). Unknown ids (already dropped by
    the spool bound) are counted as refused but have nothing to keep."""
    moved = freed = 0
    for r in rejections:
        _bump(db, REJECTED_PREFIX + r.reason, 1)
        row = db.execute(
            "DELETE FROM messages WHERE id = ? RETURNING topic, payload, retain, created_ms, size", (r.spool_id,)
        ).fetchone()
        if row is None:
            continue
        topic, payload, retain, created_ms, size = row
        db.execute(
            "INSERT OR REPLACE INTO quarantine (id, topic, payload, retain, created_ms, rejected_ms, reason, detail, "
            "size) VALUES (?,?,?,?,?,?,?,?,?)",
            (r.spool_id, topic, payload, retain, created_ms, now_ms, r.reason, r.detail[:_MAX_DETAIL_CHARS], size),
        )
        moved += 1
        freed += int(size)
    evicted = _evict(db, max_bytes)
    return moved, freed, evicted


def _evict(db: sqlite3.Connection, max_bytes: int) -> int:
    total = int(db.execute("SELECT COALESCE(SUM(size), 0) FROM quarantine").fetchone()[0])
    evicted = 0
    while total > max_bytes:
        row = db.execute("SELECT id, size FROM quarantine ORDER BY id LIMIT 1").fetchone()
        if row is None:
            break
        db.execute("DELETE FROM quarantine WHERE id = ?", (row[0],))
        total -= int(row[1])
        evicted += 1
    if evicted:
        _bump(db, EVICTED_COUNTER, evicted)
    return evicted


def _bump(db: sqlite3.Connection, name: str, delta: int) -> None:
    db.execute(
        "INSERT INTO counters (name, value) VALUES (?, ?) "
        "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
        (name, delta),
    )


def stats(db: sqlite3.Connection) -> QuarantineStats:
    count, total = db.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM quarantine").fetchone()
    counters = dict(db.execute("SELECT name, value FROM counters").fetchall())
    by_reason = {str(k)[len(REJECTED_PREFIX):]: int(v) for k, v in counters.items()
                 if str(k).startswith(REJECTED_PREFIX)}
    return QuarantineStats(messages=int(count), bytes=int(total), rejected_by_reason=dict(sorted(by_reason.items())),
                           evicted_total=int(counters.get(EVICTED_COUNTER, 0)))


def listing(db: sqlite3.Connection, *, limit: int) -> list[QuarantinedMessage]:
    """The newest ``limit`` quarantined messages, oldest first."""
    rows = db.execute(
        "SELECT id, topic, payload, retain, created_ms, rejected_ms, reason, detail FROM "
        "(SELECT * FROM quarantine ORDER BY id DESC LIMIT ?) ORDER BY id", (limit,)
    ).fetchall()
    return [QuarantinedMessage(id=int(i), topic=t, payload=bytes(p), retain=bool(r), created_ms=int(c),
                               rejected_ms=int(rj), reason=str(rs), detail=str(d))
            for i, t, p, r, c, rj, rs, d in rows]


class QuarantineReadError(Exception):
    """The spool file cannot be read (missing, not a spool)."""


def read(path: Path, *, limit: int = 100) -> tuple[QuarantineStats, list[QuarantinedMessage]]:
    """Read a spool file's quarantine without writing to it (safe while the agent runs)."""
    if not Path(path).is_file():
        raise QuarantineReadError(f"no spool file at {path}")
    try:
        db = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise QuarantineReadError(f"cannot open spool {path}: {exc}") from exc
    try:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "counters" not in tables:
            raise QuarantineReadError(f"{path} is not an edge spool")
        if "quarantine" not in tables:  # a spool written before the quarantine existed
            return stats_without_table(db), []
        return stats(db), listing(db, limit=limit)
    except sqlite3.Error as exc:
        raise QuarantineReadError(f"cannot read spool {path}: {exc}") from exc
    finally:
        db.close()


def stats_without_table(db: sqlite3.Connection) -> QuarantineStats:
    counters = dict(db.execute("SELECT name, value FROM counters").fetchall())
    return QuarantineStats(messages=0, bytes=0, rejected_by_reason={},
                           evicted_total=int(counters.get(EVICTED_COUNTER, 0)))
