"""The rules service's jobs: which windows a tick computes, the tick itself (under the lease),
backfill, and the APScheduler 3.x schedule aligned to each enterprise's local wall clock.

* ``5m`` and ``1h``: cron at ``delay_s`` after each boundary (in the enterprise's zone); each tick
  recomputes the open window and the ``recompute_windows`` closed ones before it (late data).
* ``1d``: cron at local midnight + ``delay_s``; recomputes the last days the same way.
* ``shift``: every ``shift_every_min``; computes the shifts of the last ``shift_lookback_days``
  that have started (a running shift is computed so far, and finished once it is over).
* capacity feed every ``interval_min``; lease renewal every ``renew_s``.

A tick that does not hold the lease does nothing; one that loses it mid-way stops before the next
write (:class:`rules.kpi_points.FencingError`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from seamline.contracts.carbon import CarbonMessage
from seamline.rules.capacity_feed import CapacityFeed, FeedReport
from seamline.rules.energy_kpi import EnergySettings
from seamline.rules.engine import compute_window
from seamline.rules.green_feed import CarbonFeed
from seamline.rules.green_kpi import CertificateLedger
from seamline.rules.kpi_points import FencingError, KpiPointWriter
from seamline.rules.lease import Lease
from seamline.rules.master_data import Enterprise, MasterData
from seamline.rules.shift_calendar import ShiftCalendar, shift_instances
from seamline.rules.source import WindowSource
from seamline.rules.windows import Window, WindowSize, aligned_windows, recent_windows

log = logging.getLogger(__name__)

SIZES = ("5m", "1h", "shift", "1d")


@dataclass(frozen=True, slots=True)
class Task:
    """One window to compute for a subset of the master data (same zone, or one enterprise)."""

    master: MasterData
    window: Window
    label: str
    shift: str | None = None


def by_zone(master: MasterData) -> dict[str, MasterData]:
    """The master data split by enterprise time zone (windows align per zone)."""
    zones: dict[str, list[Enterprise]] = {}
    for ent in master.enterprises:
        zones.setdefault(ent.timezone, []).append(ent)
    return {tz: master.model_copy(update={"enterprises": ents}) for tz, ents in zones.items()}


def _shift_tasks(master: MasterData, span: Window, *, started_before: datetime) -> Iterator[Task]:
    for ent in master.enterprises:
        one = master.model_copy(update={"enterprises": [ent]})
        cal = ShiftCalendar.for_enterprise(master, ent)
        for inst in shift_instances(cal, span):
            if inst.window.start < started_before:
                yield Task(one, inst.window, "shift", inst.name)


def recent_tasks(master: MasterData, size: str, now: datetime, *, lookback_days: int = 1) -> list[Task]:
    """The windows a tick at ``now`` recomputes."""
    if size == "shift":
        span = Window(now - timedelta(days=lookback_days, hours=12), now + timedelta(seconds=1))
        return list(_shift_tasks(master, span, started_before=now))
    out = []
    for tz, part in by_zone(master).items():
        for w in recent_windows(now, WindowSize(size), ZoneInfo(tz), master.kpi.recompute_windows):
            out.append(Task(part, w, size))
    return out


def range_tasks(master: MasterData, size: str, start: datetime, end: datetime) -> list[Task]:
    """Every window of ``size`` overlapping ``[start, end)`` (for backfill)."""
    if size == "shift":
        return list(_shift_tasks(master, Window(start, end), started_before=end))
    out = []
    for tz, part in by_zone(master).items():
        out += [Task(part, w, size) for w in aligned_windows(start, end, WindowSize(size), ZoneInfo(tz))]
    return sorted(out, key=lambda t: t.window.start)


@dataclass(frozen=True, slots=True)
class TickReport:
    size: str
    windows: int
    points: int
    statements: int
    skipped: bool = False
    fenced: bool = False


@dataclass(slots=True, kw_only=True)
class RulesService:
    source: WindowSource
    master: MasterData
    writer: KpiPointWriter
    lease: Lease
    feed: CapacityFeed | None = None
    carbon: CarbonFeed | None = None  # green share and carbon per line, with the capacity feed
    green_ledger: CertificateLedger | None = None  # certificates used by earlier hours of the month
    energy: EnergySettings | None = None
    batch_machines: int = 300
    shift_lookback_days: int = 1
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    ticks: int = 0
    skipped_ticks: int = 0

    def run_tasks(self, tasks: list[Task], size: str, progress: Callable[[int, int], None] | None = None) -> TickReport:
        points = statements = 0
        for i, t in enumerate(tasks):
            report = compute_window(self.source, t.master, t.window, label=t.label, shift=t.shift,
                                    energy=self.energy, batch_machines=self.batch_machines,
                                    green_ledger=self.green_ledger)
            points += self.writer.write(report.points)
            statements += report.statements
            if progress is not None:
                progress(i + 1, len(tasks))
        return TickReport(size, len(tasks), points, statements)

    def tick(self, size: str, *, now: datetime | None = None) -> TickReport:
        """Recompute the recent windows of ``size`` if this replica holds the lease."""
        self.ticks += 1
        if self.lease.acquire() is None:
            self.skipped_ticks += 1
            return TickReport(size, 0, 0, 0, skipped=True)
        at = now or self.clock()
        try:
            return self.run_tasks(recent_tasks(self.master, size, at, lookback_days=self.shift_lookback_days), size)
        except FencingError as exc:
            log.warning("tick %s stopped: %s", size, exc)
            return TickReport(size, 0, 0, 0, fenced=True)

    def publish_carbon(self, *, now: datetime | None = None) -> list[CarbonMessage] | None:
        """Publish every line's carbon message; None when not configured or the lease is not held."""
        if self.carbon is None or self.lease.acquire() is None:
            return None
        try:
            return self.carbon.run(now or self.clock())
        except FencingError as exc:
            log.warning("carbon feed stopped: %s", exc)
            return None

    def publish_capacity(self, *, now: datetime | None = None) -> FeedReport | None:
        if self.feed is None or self.lease.acquire() is None:
            return None
        try:
            return self.feed.run(now or self.clock())
        except FencingError as exc:
            log.warning("capacity feed stopped: %s", exc)
            return None


def _cron_fields(size: str, delay_s: int) -> dict[str, Any]:
    minute, second = divmod(delay_s, 60)
    if size == "5m":
        return {"minute": f"{minute % 5}-59/5", "second": second}
    if size == "1h":
        return {"minute": minute, "second": second}
    return {"hour": minute // 60, "minute": minute % 60, "second": second}


def schedule(scheduler: Any, service: RulesService, *, delay_s: int, shift_every_min: int,
             capacity_every_min: int | None, renew_s: float, misfire_grace_s: int) -> list[str]:
    """Add the jobs to an APScheduler 3.x scheduler; return their ids."""
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    common = {"max_instances": 1, "coalesce": True, "misfire_grace_time": misfire_grace_s}
    ids: list[str] = []
    for tz, part in by_zone(service.master).items():
        for size in ("5m", "1h", "1d"):
            if size not in part.kpi.windows:
                continue
            job_id = f"{size}@{tz}"
            scheduler.add_job(_zone_tick, CronTrigger(timezone=ZoneInfo(tz), **_cron_fields(size, delay_s)),
                              args=(service, size, part), id=job_id, **common)
            ids.append(job_id)
    if "shift" in service.master.kpi.windows:
        scheduler.add_job(service.tick, IntervalTrigger(minutes=shift_every_min), args=("shift",), id="shift",
                          **common)
        ids.append("shift")
    if capacity_every_min is not None and service.feed is not None:
        scheduler.add_job(service.publish_capacity, IntervalTrigger(minutes=capacity_every_min), id="capacity",
                          **common)
        ids.append("capacity")
    if capacity_every_min is not None and service.carbon is not None:
        scheduler.add_job(service.publish_carbon, IntervalTrigger(minutes=capacity_every_min), id="carbon", **common)
        ids.append("carbon")
    scheduler.add_job(service.lease.acquire, IntervalTrigger(seconds=renew_s), id="lease", **common)
    ids.append("lease")
    return ids


def _zone_tick(service: RulesService, size: str, part: MasterData) -> TickReport:
    """A tick for the enterprises of one zone only."""
    if service.lease.acquire() is None:
        service.skipped_ticks += 1
        return TickReport(size, 0, 0, 0, skipped=True)
    try:
        return service.run_tasks(recent_tasks(part, size, service.clock()), size)
    except FencingError as exc:
        log.warning("tick %s stopped: %s", size, exc)
        return TickReport(size, 0, 0, 0, fenced=True)
