"""The rules service's jobs: which windows a tick computes, the tick itself (under the lease),
backfill, and the APScheduler 3.x schedule aligned to each enterprise's local wall clock.

* ``5m`` and ``1h``: cron at ``delay_s`` after each boundary (in the enterprise's zone); each tick
  recomputes the open window and the ``recompute_windows`` closed ones before it (late data).
* ``1d``: cron at local midnight + ``delay_s``; recomputes the last days the same way.
* ``shift``: every ``shift_every_min``; computes the shifts of the last ``shift_lookback_days``
  that have started (a running shift is computed so far, and finished once it is over).
* capacity feed every ``interval_min``; lease renewal every ``renew_s``;
* alert evaluation (:mod:`rules.alerts`) every ``alerts.interval_s`` (30 s) when configured.

A tick computes the parts this replica owns (:mod:`rules.ownership`: the whole master data under
one lease, or the dynamic shards it holds), each window begun and finished in the window ledger
(:mod:`rules.ledger`) and written under its part's fence. A tick that owns nothing does nothing; a
part whose lease is lost mid-way stops before its next write (:class:`rules.kpi_points.FencingError`)
while the other parts go on.
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
from seamline.rules.ledger import Ledger, NoLedger, WindowKey
from seamline.rules.master_data import Enterprise, MasterData
from seamline.rules.ownership import Ownership, Part, WholeLease
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
    part: Part | None = None  # the owned part it belongs to (None: backfill under the lease as a whole)
    record: bool = True  # begun and finished in the ledger (the periodic shift job is not: see below)

    def key(self) -> WindowKey | None:
        """The window's ledger key (``None`` outside an owned part, or not recorded)."""
        if self.part is None or not self.record or not self.master.enterprises:
            return None
        return WindowKey(self.part.key, window_scope(self.master, self.shift), self.label, self.window, self.shift)


def window_scope(master: MasterData, shift: str | None) -> str:
    """The ledger scope of a task's enterprises: their time zone (zone windows), or
    ``<enterprise>:<shift>`` (a shift window is one enterprise's)."""
    first = master.enterprises[0]
    return f"{first.id}:{shift}" if shift is not None else first.timezone


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
    ownership: Ownership | None = None  # default: the lease covers all of ``master``
    ledger: Ledger = field(default_factory=NoLedger)
    ticks: int = 0
    skipped_ticks: int = 0

    def __post_init__(self) -> None:
        if self.ownership is None:
            self.ownership = WholeLease(self.lease)

    @property
    def owner(self) -> Ownership:
        """Who owns what: ``owner.owns(enterprise_id)``, ``owner.fence_for(enterprise_id).check()``."""
        assert self.ownership is not None  # set in __post_init__
        return self.ownership

    def owned_tasks(self, master: MasterData, size: str, now: datetime) -> list[Task]:
        """The recent windows of ``size`` for the enterprises of ``master`` this replica owns."""
        wanted = {e.id for e in master.enterprises}
        out: list[Task] = []
        for part in self.owner.parts(self.master):
            mine = [e for e in part.master.enterprises if e.id in wanted]
            if mine:
                sub = part.master.model_copy(update={"enterprises": mine})
                # Shift windows are per enterprise and the shift job recomputes every shift of its
                # look-back each run: on the books they would cost a ledger row per enterprise and run
                # for nothing the next run does not redo. Zone windows (5m, 1h, 1d) are recorded.
                out += [Task(t.master, t.window, t.label, t.shift, part, record=size != "shift")
                        for t in recent_tasks(sub, size, now, lookback_days=self.shift_lookback_days)]
        return out

    def run_task(self, t: Task) -> tuple[int, int]:
        """Compute and write one window (begun and finished in the ledger); (points, statements)."""
        key = t.key()
        token = t.part.token if t.part is not None else 0
        if key is not None:
            self.ledger.begin(key, token)
        try:
            report = compute_window(self.source, t.master, t.window, label=t.label, shift=t.shift,
                                    energy=self.energy, batch_machines=self.batch_machines,
                                    green_ledger=self.green_ledger)
            written = self.writer.write(report.points, fence=t.part.fence if t.part is not None else None)
        except FencingError:
            raise
        except Exception:
            if key is not None:
                self.ledger.abandon(key, token)
            raise
        if key is not None:
            self.ledger.finish(key, token, report.points)
        return written, report.statements

    def run_tasks(self, tasks: list[Task], size: str, progress: Callable[[int, int], None] | None = None) -> TickReport:
        """Run ``tasks`` in order; a part whose fence fails is skipped from then on (the others go on)."""
        points = statements = 0
        fenced: set[str] = set()
        for i, t in enumerate(tasks):
            part = t.part.key if t.part is not None else ""
            if part in fenced:
                continue
            try:
                n, s = self.run_task(t)
            except FencingError as exc:
                log.warning("%s windows of %s stopped: %s", size, part or "this replica", exc)
                fenced.add(part)
                continue
            points += n
            statements += s
            if progress is not None:
                progress(i + 1, len(tasks))
        return TickReport(size, len(tasks), points, statements, fenced=bool(fenced))

    def tick(self, size: str, *, now: datetime | None = None) -> TickReport:
        """Recompute the recent windows of ``size`` of the parts this replica owns."""
        self.ticks += 1
        if self.lease.acquire() is None:
            self.skipped_ticks += 1
            return TickReport(size, 0, 0, 0, skipped=True)
        return self.run_tasks(self.owned_tasks(self.master, size, now or self.clock()), size)

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
             capacity_every_min: int | None, renew_s: float, misfire_grace_s: int,
             ledger: Callable[[], object] | None = None, ledger_every_s: float = 60.0,
             alerts: Callable[[], object] | None = None, alerts_every_s: float = 30.0) -> list[str]:
    """Add the jobs to an APScheduler 3.x scheduler; return their ids."""
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    common: dict[str, Any] = {"max_instances": 1, "coalesce": True, "misfire_grace_time": misfire_grace_s}
    at_start = {**common, "next_run_time": datetime.now(UTC)}  # lease and ledger: at once, then every interval
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
    if ledger is not None:
        scheduler.add_job(ledger, IntervalTrigger(seconds=ledger_every_s), id="ledger", **at_start)
        ids.append("ledger")
    if alerts is not None:  # alert evaluation (rules/alerts): at once, then every interval
        scheduler.add_job(alerts, IntervalTrigger(seconds=alerts_every_s), id="alerts", **at_start)
        ids.append("alerts")
    scheduler.add_job(service.lease.acquire, IntervalTrigger(seconds=renew_s), id="lease", **at_start)
    ids.append("lease")
    return ids


def _zone_tick(service: RulesService, size: str, part: MasterData) -> TickReport:
    """A tick for the enterprises of one zone only."""
    if service.lease.acquire() is None:
        service.skipped_ticks += 1
        return TickReport(size, 0, 0, 0, skipped=True)
    return service.run_tasks(service.owned_tasks(part, size, service.clock()), size)
