"""Alert states that survive a restart: one SQLite row per (rule, target) that is pending, firing or
recently resolved, with the labels and annotations last posted. WAL, ``synchronous=FULL``: a row
is on disk before the evaluation that changed it posts anything, so a restart resumes each alert
where it was - a firing alert keeps its ``startsAt`` (Alertmanager sees the same alert, no second
notification) and a resolve that had not been heard is posted again.

Replicas of one host share the file (next to the file lease); a replica only touches the rows of
enterprises it owns, so a takeover resumes the previous owner's alerts."""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from seamline.rules.alerts.lifecycle import AlertState, Phase

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alert_state (
    rule TEXT NOT NULL, target TEXT NOT NULL, enterprise TEXT NOT NULL, phase TEXT NOT NULL,
    since REAL, fired_at REAL, cleared_at REAL, resolved_at REAL,
    labels TEXT NOT NULL, annotations TEXT NOT NULL, updated REAL NOT NULL,
    PRIMARY KEY (rule, target))
"""


@dataclass(frozen=True, slots=True)
class StoredAlert:
    rule: str
    target: str
    enterprise: str
    state: AlertState
    labels: dict[str, str]
    annotations: dict[str, str]


def _s(t: datetime | None) -> float | None:
    return None if t is None else t.timestamp()


def _t(s: float | None) -> datetime | None:
    return None if s is None else datetime.fromtimestamp(s, tz=UTC)


class AlertStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), timeout=30, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(_SCHEMA)
        self._lock = threading.Lock()

    def load(self, enterprises: set[str] | None = None) -> dict[tuple[str, str], StoredAlert]:
        """Every stored alert (of ``enterprises``, if given)."""
        with self._lock:
            rows = self._db.execute("SELECT rule, target, enterprise, phase, since, fired_at, cleared_at, resolved_at,"
                                    " labels, annotations FROM alert_state").fetchall()
        out = {}
        for r in rows:
            if enterprises is not None and r[2] not in enterprises:
                continue
            state = AlertState(Phase(r[3]), _t(r[4]), _t(r[5]), _t(r[6]), _t(r[7]))
            out[(r[0], r[1])] = StoredAlert(r[0], r[1], r[2], state, json.loads(r[8]), json.loads(r[9]))
        return out

    def save(self, changes: list[StoredAlert], *, now: datetime) -> None:
        """Write changed rows in one transaction; inactive ones are deleted."""
        if not changes:
            return
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for a in changes:
                    if a.state.phase is Phase.INACTIVE:
                        self._db.execute("DELETE FROM alert_state WHERE rule = ? AND target = ?", (a.rule, a.target))
                        continue
                    s = a.state
                    self._db.execute(
                        "INSERT OR REPLACE INTO alert_state VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (a.rule, a.target, a.enterprise, s.phase.value, _s(s.since), _s(s.fired_at),
                         _s(s.cleared_at), _s(s.resolved_at), json.dumps(a.labels, sort_keys=True),
                         json.dumps(a.annotations, sort_keys=True, ensure_ascii=False), now.timestamp()))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def prune(self, *, resolved_before: datetime) -> int:
        """Forget episodes resolved before ``resolved_before`` (after the ledger's retention)."""
        with self._lock:
            cur = self._db.execute("DELETE FROM alert_state WHERE phase = ? AND resolved_at < ?",
                                   (Phase.RESOLVED.value, resolved_before.timestamp()))
            return cur.rowcount

    def close(self) -> None:
        with self._lock:
            self._db.close()
