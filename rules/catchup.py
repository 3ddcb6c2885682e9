"""The ledger job: windows never skipped, whoever owned them before.

Every ``ledger.every_s`` each replica, for the parts (shards) it owns:

1. **gap detection** — every closed ``5m``/``1h``/``1d`` window since the shard's first recorded
   window (at most ``ledger.horizon_h`` back) must be on the books as computed at least
   ``jobs.delay_s`` after it closed; one that is not (its owner died, the whole service was down
   longer than the ticks' recompute horizon, PostgreSQL was unreachable) is enqueued ``pending``.
   A window counts as missing only ``ledger.grace_s`` after its scheduled tick, so the cron ticks
   get to do their own work first. Shift windows are recomputed by the shift job over
   ``jobs.shift_lookback_days`` and are not gap-checked;
2. **work** — the pending windows, and the ones left ``running`` under an older token (the owner
   died or lost the shard mid-window), oldest first, at most ``ledger.batch`` per run, are
   computed through the same path as the ticks (ledger begin, compute, fenced write, finish).

A window computed twice is computed from the same inputs unless late data arrived in between, and
its points overwrite themselves (same series and timestamp), so a second computation changes
nothing — the integration tests check this by comparing the digests of every run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from seamline.rules.coordination.database import CoordinationUnavailable
from seamline.rules.coordination.window_ledger import Recorded
from seamline.rules.jobs import RulesService, Task, TickReport, by_zone, range_tasks, window_scope
from seamline.rules.ledger import WindowKey
from seamline.rules.master_data import MasterData
from seamline.rules.ownership import Part
from seamline.rules.windows import Window, WindowSize, aligned_windows

log = logging.getLogger(__name__)

ZONE_SIZES = ("5m", "1h", "1d")


class WorkLedger(Protocol):
    def enqueue(self, keys: Sequence[WindowKey]) -> int: ...

    def claimable(self, held: Sequence[tuple[str, int]], *, limit: int, stale_s: float) -> list[WindowKey]: ...

    def recorded(self, shard: str, *, since: datetime, settle_s: float) -> Recorded: ...

    def drop(self, key: WindowKey) -> None: ...

    def prune(self, *, keep_days: float) -> int: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class CatchupSettings:
    """All durations in seconds except ``horizon_h`` (hours) and ``keep_days`` (days)."""

    delay_s: float  # jobs.delay_s: a window's tick runs this long after it closes
    grace_s: float = 300.0
    horizon_h: float = 24.0
    batch: int = 50
    stale_s: float = 1800.0
    keep_days: float = 7.0
    prune_every_s: float = 3600.0


def missing_windows(expected: Sequence[Window], final_starts: frozenset[datetime]) -> list[Window]:
    """The expected windows not computed after they closed (pure)."""
    return [w for w in expected if w.start not in final_starts]


def due_windows(since: datetime, now: datetime, size: WindowSize, tz: ZoneInfo, *, settle_s: float) -> list[Window]:
    """Aligned windows of ``size`` from the one containing ``since`` whose end + ``settle_s`` is
    not after ``now`` (their final tick should have run), oldest first (pure)."""
    cutoff = now - timedelta(seconds=settle_s)
    return [w for w in aligned_windows(since, cutoff, size, tz) if w.end <= cutoff]


def gap_keys(part: Part, recorded: Recorded, now: datetime, s: CatchupSettings) -> list[WindowKey]:
    """The zone windows of ``part`` to enqueue: due, after the first recorded one, not final (pure)."""
    out: list[WindowKey] = []
    horizon = now - timedelta(hours=s.horizon_h)
    for tz, zone in by_zone(part.master).items():
        for size in ZONE_SIZES:
            first = recorded.first.get((tz, size))
            if first is None or size not in zone.kpi.windows:
                continue
            final = frozenset(t for sc, lb, t in recorded.final if sc == tz and lb == size)
            due = due_windows(max(first, horizon), now, WindowSize(size), ZoneInfo(tz), settle_s=s.delay_s + s.grace_s)
            out += [WindowKey(part.key, tz, size, w) for w in missing_windows(due, final) if w.start >= first]
    return out


def backfill_keys(master: MasterData, shard_of: Callable[[str], str], sizes: Sequence[str], start: datetime,
                  end: datetime) -> list[WindowKey]:
    """Every window of ``sizes`` overlapping ``[start, end)`` per shard (``shard_of(enterprise id)``
    names it): what a dynamic-shard backfill enqueues for the replicas to compute."""
    by_shard: dict[str, list[str]] = {}
    for e in master.enterprises:
        by_shard.setdefault(shard_of(e.id), []).append(e.id)
    keys: list[WindowKey] = []
    for shard, ids in sorted(by_shard.items()):
        keep = set(ids)
        sub = master.model_copy(update={"enterprises": [e for e in master.enterprises if e.id in keep]})
        for size in sizes:
            keys += [WindowKey(shard, window_scope(t.master, t.shift), t.label, t.window, t.shift)
                     for t in range_tasks(sub, size, start, end)]
    return keys


def task_for(key: WindowKey, part: Part) -> Task | None:
    """The task that computes ledger window ``key`` of ``part`` (``None`` if its enterprises are gone)."""
    if key.shift is not None:
        ent_id = key.scope.rsplit(":", 1)[0]
        ents = [e for e in part.master.enterprises if e.id == ent_id]
    else:
        ents = [e for e in part.master.enterprises if e.timezone == key.scope]
    if not ents:
        return None
    return Task(part.master.model_copy(update={"enterprises": ents}), key.window, key.label, key.shift, part)


class Catchup:
    """The ledger job of one replica (see the module doc)."""

    def __init__(self, service: RulesService, ledger: WorkLedger, settings: CatchupSettings) -> None:
        self.service = service
        self.ledger = ledger
        self.settings = settings
        self._pruned_at: float | None = None
        self.enqueued = 0
        self.computed = 0

    def run(self, *, now: datetime | None = None) -> TickReport:
        if self.service.lease.acquire() is None:
            return TickReport("ledger", 0, 0, 0, skipped=True)
        try:
            return self._run(now or self.service.clock())
        except CoordinationUnavailable as exc:  # already logged by the database layer
            log.debug("ledger job skipped: %s", exc)
            return TickReport("ledger", 0, 0, 0, skipped=True)

    def _run(self, at: datetime) -> TickReport:
        svc, s = self.service, self.settings
        parts = {p.key: p for p in svc.owner.parts(svc.master)}
        for part in parts.values():
            rec = self.ledger.recorded(part.key, since=at - timedelta(hours=s.horizon_h), settle_s=s.delay_s)
            gaps = gap_keys(part, rec, at, s)
            if gaps:
                self.enqueued += self.ledger.enqueue(gaps)
                log.info("%s: %d windows not computed after they closed; enqueued", part.key, len(gaps))
        keys = self.ledger.claimable([(p.key, p.token) for p in parts.values()], limit=s.batch, stale_s=s.stale_s)
        tasks: list[Task] = []
        for key in keys:
            task = task_for(key, parts[key.shard])
            if task is None:
                self.ledger.drop(key)
            else:
                tasks.append(task)
        report = svc.run_tasks(tasks, "ledger")
        self.computed += len(tasks)
        self._prune()
        return report

    def _prune(self) -> None:
        mono = time.monotonic()
        if self._pruned_at is None or mono - self._pruned_at >= self.settings.prune_every_s:
            self._pruned_at = mono
            n = self.ledger.prune(keep_days=self.settings.keep_days)
            if n:
                log.info("ledger: %d windows older than %g days pruned", n, self.settings.keep_days)
